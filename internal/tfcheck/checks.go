package tfcheck

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// CheckVariables reports every variable without a type or a description.
func CheckVariables(m *Module) []string {
	var out []string
	for _, v := range m.Variables {
		if strings.TrimSpace(v.Type) == "" {
			out = append(out, fmt.Sprintf("%s:%d: variable %q has no type", v.File, v.Line, v.Name))
		}
		if strings.TrimSpace(v.Description) == "" {
			out = append(out, fmt.Sprintf("%s:%d: variable %q has no description", v.File, v.Line, v.Name))
		}
	}
	return out
}

// CheckOutputs reports every output without a description.
func CheckOutputs(m *Module) []string {
	var out []string
	for _, o := range m.Outputs {
		if strings.TrimSpace(o.Description) == "" {
			out = append(out, fmt.Sprintf("%s: output %q has no description", m.Dir, o.Name))
		}
	}
	return out
}

// CheckCalls loads the module of every local module call in root and reports arguments
// the module does not declare, required variables the call leaves out, and references
// module.NAME.OUTPUT (and module.NAME.OUTPUT["key"] for literal object outputs) that do
// not exist.
func CheckCalls(root *Module) []string {
	var out []string
	called := map[string]*Module{}
	for _, c := range root.Calls {
		if !strings.HasPrefix(c.Source, "./") && !strings.HasPrefix(c.Source, "../") {
			out = append(out, fmt.Sprintf("%s:%d: module %q: source %q is not a local path", c.File, c.Line, c.Name, c.Source))
			continue
		}
		m, err := Load(filepath.Join(root.Dir, c.Source))
		if err != nil {
			out = append(out, fmt.Sprintf("%s:%d: module %q: %v", c.File, c.Line, c.Name, err))
			continue
		}
		called[c.Name] = m
		for _, arg := range c.Args {
			if _, ok := m.Variable(arg); !ok {
				out = append(out, fmt.Sprintf("%s:%d: module %q passes %q, which %s does not declare", c.File, c.Line, c.Name, arg, c.Source))
			}
		}
		for _, v := range m.Variables {
			if v.Required() && !slices.Contains(c.Args, v.Name) {
				out = append(out, fmt.Sprintf("%s:%d: module %q leaves out required variable %q", c.File, c.Line, c.Name, v.Name))
			}
		}
	}
	seen := map[string]bool{}
	for _, t := range root.Traversals() {
		if t.RootName() != "module" || len(t) < 3 {
			continue
		}
		name, ok := t[1].(hcl.TraverseAttr)
		if !ok {
			continue
		}
		m, ok := called[name.Name]
		if !ok {
			if !slices.ContainsFunc(root.Calls, func(c Call) bool { return c.Name == name.Name }) {
				out = appendOnce(out, seen, fmt.Sprintf("%s: reference to undeclared module %q", root.Dir, name.Name))
			}
			continue
		}
		rest := t[2:]
		if _, isIndex := rest[0].(hcl.TraverseIndex); isIndex { // module with count or for_each
			rest = rest[1:]
		}
		if len(rest) == 0 {
			continue
		}
		attr, ok := rest[0].(hcl.TraverseAttr)
		if !ok {
			continue
		}
		o, ok := m.Output(attr.Name)
		if !ok {
			out = appendOnce(out, seen, fmt.Sprintf("%s: module.%s.%s: %s has no output %q", root.Dir, name.Name, attr.Name, m.Dir, attr.Name))
			continue
		}
		if len(rest) > 1 {
			if idx, ok := rest[1].(hcl.TraverseIndex); ok && idx.Key.Type().Equals(cty.String) {
				if keys, ok := ObjectKeys(unwrap(o.Value)); ok && !slices.Contains(keys, idx.Key.AsString()) {
					out = appendOnce(out, seen, fmt.Sprintf("%s: module.%s.%s[%q]: the output has keys %v", root.Dir, name.Name, attr.Name, idx.Key.AsString(), keys))
				}
			}
		}
	}
	return out
}

func unwrap(e hclsyntax.Expression) hclsyntax.Expression {
	for {
		p, ok := e.(*hclsyntax.ParenthesesExpr)
		if !ok {
			return e
		}
		e = p.Expression
	}
}

func appendOnce(out []string, seen map[string]bool, s string) []string {
	if seen[s] {
		return out
	}
	seen[s] = true
	return append(out, s)
}

// CheckWildcards reports statements with a "*" resource that are not in allowed (keyed by
// Statement.Key) or lack a "checked:" comment saying why, and allow-list entries that
// match nothing (so the list cannot go stale).
func CheckWildcards(stmts []Statement, allowed map[string]string) []string {
	var out []string
	used := map[string]bool{}
	for _, s := range stmts {
		if !s.Wildcard {
			continue
		}
		if _, ok := allowed[s.Key()]; !ok {
			out = append(out, fmt.Sprintf("%s:%d: statement %q of %s uses resource \"*\" and is not allow-listed", s.File, s.Line, s.Sid, s.Document))
			continue
		}
		used[s.Key()] = true
		if !strings.Contains(s.Comment, "checked:") {
			out = append(out, fmt.Sprintf("%s:%d: statement %q of %s uses resource \"*\" without a \"# checked: why\" comment above it", s.File, s.Line, s.Sid, s.Document))
		}
	}
	for k := range allowed {
		if !used[k] {
			out = append(out, fmt.Sprintf("allow-list entry %q matches no statement with resource \"*\"", k))
		}
	}
	slices.Sort(out)
	return out
}
