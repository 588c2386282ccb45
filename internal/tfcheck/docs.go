package tfcheck

import (
	"errors"
	"fmt"
	"strings"
)

// The generated part of a module README sits between these markers; everything around
// them is written by hand.
const (
	BeginDocs = "<!-- BEGIN_TF_DOCS -->"
	EndDocs   = "<!-- END_TF_DOCS -->"
)

// ErrNoMarkers is returned by SpliceDocs when a README lacks the markers.
var ErrNoMarkers = errors.New("README has no " + BeginDocs + " ... " + EndDocs + " section")

// Markdown renders the inputs and outputs tables of a module.
func Markdown(m *Module) string {
	var b strings.Builder
	b.WriteString("## Inputs\n\n")
	if len(m.Variables) == 0 {
		b.WriteString("No inputs.\n")
	} else {
		b.WriteString("| Name | Description | Type | Default | Required |\n")
		b.WriteString("|------|-------------|------|---------|:--------:|\n")
		for _, v := range m.Variables {
			def, req := "n/a", "yes"
			if v.HasDefault {
				def, req = code(v.Default), "no"
			}
			desc := v.Description
			if v.Sensitive {
				desc += " (sensitive)"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", v.Name, cell(desc), code(v.Type), def, req)
		}
	}
	b.WriteString("\n## Outputs\n\n")
	if len(m.Outputs) == 0 {
		b.WriteString("No outputs.\n")
	} else {
		b.WriteString("| Name | Description |\n")
		b.WriteString("|------|-------------|\n")
		for _, o := range m.Outputs {
			desc := o.Description
			if o.Sensitive {
				desc += " (sensitive)"
			}
			fmt.Fprintf(&b, "| `%s` | %s |\n", o.Name, cell(desc))
		}
	}
	return b.String()
}

// SpliceDocs replaces the generated section of readme with docs.
func SpliceDocs(readme, docs string) (string, error) {
	i := strings.Index(readme, BeginDocs)
	j := strings.Index(readme, EndDocs)
	if i < 0 || j < i {
		return "", ErrNoMarkers
	}
	return readme[:i] + BeginDocs + "\n" + docs + EndDocs + readme[j+len(EndDocs):], nil
}

// cell makes text safe inside a Markdown table cell.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// code renders HCL source as inline code on one line.
func code(s string) string {
	s = cell(s)
	s = strings.ReplaceAll(s, "{ ", "{")
	s = strings.ReplaceAll(s, " }", "}")
	if strings.Contains(s, "`") {
		return "``" + s + "``"
	}
	return "`" + s + "`"
}
