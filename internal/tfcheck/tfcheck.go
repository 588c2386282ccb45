// Package tfcheck reads the project's Terraform with hashicorp/hcl and checks what
// `terraform validate`, the plans and tflint (steps of make tf-check) do not: the
// environments differ only in values; module calls against the called module's
// variables and outputs; typed and described variables; IAM statements with "*"
// resources allow-listed; each role allows the AWS calls the Go code makes, and whoever
// may call RotateSecret may invoke the rotator; Lambda environments accepted by the Go
// code that reads them; the audit's event patterns shared with its rules; and module
// READMEs generated from the code. The checks live in the tests; this file holds the
// loader and the small helpers they share.
package tfcheck

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// ErrNotModule is returned by Load for a directory without .tf files.
var ErrNotModule = errors.New("no .tf files")

// File is one parsed .tf file with its source, kept for source-text rendering.
type File struct {
	Path string
	Src  []byte
	Body *hclsyntax.Body
}

// Variable is one `variable` block.
type Variable struct {
	Name        string
	Type        string // source text of the type expression; empty when missing
	Description string // empty when missing
	Default     string // source text of the default; empty when there is none
	HasDefault  bool
	Sensitive   bool
	File        string
	Line        int
}

// Required reports whether a caller must set the variable.
func (v Variable) Required() bool { return !v.HasDefault }

// Output is one `output` block.
type Output struct {
	Name        string
	Description string
	Sensitive   bool
	Value       hclsyntax.Expression
}

// Call is one `module` block.
type Call struct {
	Name   string
	Source string
	Args   []string // arguments other than the meta-arguments
	File   string
	Line   int
}

// Module is a directory of .tf files: a reusable module or a root.
type Module struct {
	Dir       string
	Files     []File
	Variables []Variable
	Outputs   []Output
	Calls     []Call
}

// isMetaArg reports whether a module block argument is a meta-argument, not an input.
func isMetaArg(name string) bool {
	switch name {
	case "source", "version", "providers", "count", "for_each", "depends_on":
		return true
	}
	return false
}

// Load parses every .tf file in dir (not below it).
func Load(dir string) (*Module, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("load %s: %w", dir, ErrNotModule)
	}
	sort.Strings(paths)
	m := &Module{Dir: dir}
	p := hclparse.NewParser()
	for _, path := range paths {
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", dir, err)
		}
		f, diags := p.ParseHCL(src, path)
		if diags.HasErrors() {
			return nil, fmt.Errorf("load %s: parse: %w", dir, diags)
		}
		body := f.Body.(*hclsyntax.Body)
		file := File{Path: path, Src: src, Body: body}
		m.Files = append(m.Files, file)
		for _, b := range body.Blocks {
			switch {
			case b.Type == "variable" && len(b.Labels) == 1:
				m.Variables = append(m.Variables, readVariable(file, b))
			case b.Type == "output" && len(b.Labels) == 1:
				o := Output{Name: b.Labels[0], Description: stringAttr(b.Body, "description")}
				if a, ok := b.Body.Attributes["value"]; ok {
					o.Value = a.Expr
				}
				o.Sensitive = source(file.Src, b.Body.Attributes["sensitive"]) == "true"
				m.Outputs = append(m.Outputs, o)
			case b.Type == "module" && len(b.Labels) == 1:
				c := Call{Name: b.Labels[0], Source: stringAttr(b.Body, "source"), File: path, Line: b.DefRange().Start.Line}
				for name := range b.Body.Attributes {
					if !isMetaArg(name) {
						c.Args = append(c.Args, name)
					}
				}
				sort.Strings(c.Args)
				m.Calls = append(m.Calls, c)
			}
		}
	}
	sort.Slice(m.Variables, func(i, j int) bool { return m.Variables[i].Name < m.Variables[j].Name })
	sort.Slice(m.Outputs, func(i, j int) bool { return m.Outputs[i].Name < m.Outputs[j].Name })
	return m, nil
}

func readVariable(f File, b *hclsyntax.Block) Variable {
	v := Variable{Name: b.Labels[0], File: f.Path, Line: b.DefRange().Start.Line}
	v.Type = source(f.Src, b.Body.Attributes["type"])
	v.Description = stringAttr(b.Body, "description")
	if a, ok := b.Body.Attributes["default"]; ok {
		v.HasDefault = true
		v.Default = source(f.Src, a)
	}
	v.Sensitive = source(f.Src, b.Body.Attributes["sensitive"]) == "true"
	return v
}

// source returns the source text of an attribute's expression ("" for nil).
func source(src []byte, a *hclsyntax.Attribute) string {
	if a == nil {
		return ""
	}
	r := a.Expr.Range()
	return string(src[r.Start.Byte:r.End.Byte])
}

// stringAttr evaluates a literal string attribute; "" when missing or not a constant.
func stringAttr(body *hclsyntax.Body, name string) string {
	a, ok := body.Attributes[name]
	if !ok {
		return ""
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() || v.IsNull() || !v.Type().Equals(cty.String) {
		return ""
	}
	return v.AsString()
}

// Variable returns the named variable.
func (m *Module) Variable(name string) (Variable, bool) {
	for _, v := range m.Variables {
		if v.Name == name {
			return v, true
		}
	}
	return Variable{}, false
}

// Output returns the named output.
func (m *Module) Output(name string) (Output, bool) {
	for _, o := range m.Outputs {
		if o.Name == name {
			return o, true
		}
	}
	return Output{}, false
}

// Blocks returns every top-level block of the given type and first label (any label
// when label is empty), with the file it is in.
func (m *Module) Blocks(typ, label string) []BlockIn {
	var out []BlockIn
	for _, f := range m.Files {
		for _, b := range f.Body.Blocks {
			if b.Type == typ && (label == "" || (len(b.Labels) > 0 && b.Labels[0] == label)) {
				out = append(out, BlockIn{File: f, Block: b})
			}
		}
	}
	return out
}

// BlockIn is a block with the file that holds it.
type BlockIn struct {
	File  File
	Block *hclsyntax.Block
}

// Name is "type.label1.label2".
func (b BlockIn) Name() string {
	return strings.Join(append([]string{b.Block.Type}, b.Block.Labels...), ".")
}

// Traversals returns every variable reference in every expression of the module (the
// addresses in moved blocks are not references).
func (m *Module) Traversals() []hcl.Traversal {
	var out []hcl.Traversal
	for _, f := range m.Files {
		for _, b := range f.Body.Blocks {
			// A moved block's from and to are resource addresses, not references.
			if b.Type == "moved" {
				continue
			}
			_ = hclsyntax.VisitAll(b.Body, func(n hclsyntax.Node) hcl.Diagnostics {
				if a, ok := n.(*hclsyntax.Attribute); ok {
					out = append(out, a.Expr.Variables()...)
				}
				return nil
			})
		}
		for _, a := range f.Body.Attributes {
			out = append(out, a.Expr.Variables()...)
		}
	}
	return out
}

// ObjectKeys returns the literal keys of an object constructor expression; ok is false
// when expr is not one or a key is not literal.
func ObjectKeys(expr hclsyntax.Expression) (keys []string, ok bool) {
	obj, isObj := expr.(*hclsyntax.ObjectConsExpr)
	if !isObj {
		return nil, false
	}
	for _, item := range obj.Items {
		if k := hcl.ExprAsKeyword(item.KeyExpr); k != "" {
			keys = append(keys, k)
			continue
		}
		v, diags := item.KeyExpr.Value(nil)
		if diags.HasErrors() || !v.Type().Equals(cty.String) {
			return nil, false
		}
		keys = append(keys, v.AsString())
	}
	return keys, true
}

// Roots lists, relative to repo, every directory that Terraform is run in or that a
// root calls: modules/*, modules/*/examples/*, envs/*.
func Roots(repo string) ([]string, error) {
	var dirs []string
	for _, pattern := range []string{"modules/*", "modules/_internal/*", "modules/*/examples/*", "envs/*"} {
		matches, err := filepath.Glob(filepath.Join(repo, pattern))
		if err != nil {
			return nil, err
		}
		for _, d := range matches {
			if tf, _ := filepath.Glob(filepath.Join(d, "*.tf")); len(tf) > 0 {
				rel, err := filepath.Rel(repo, d)
				if err != nil {
					return nil, err
				}
				dirs = append(dirs, rel)
			}
		}
	}
	sort.Strings(dirs)
	return dirs, nil
}

// readFile is os.ReadFile, named for the tests that only read.
func readFile(path string) ([]byte, error) { return os.ReadFile(path) }
