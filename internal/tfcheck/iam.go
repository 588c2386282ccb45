package tfcheck

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Statement is one statement block of a `data "aws_iam_policy_document"`.
type Statement struct {
	Dir      string // module directory
	Document string // the data source's name
	Sid      string
	Wildcard bool   // resources holds the literal "*"
	Comment  string // the comment lines right above the block
	File     string
	Line     int
}

// Key identifies a statement for allow-lists: "dir data-name sid".
func (s Statement) Key() string { return s.Dir + " " + s.Document + " " + s.Sid }

// Statements returns every statement (plain or dynamic) of every policy document in m.
func Statements(m *Module) []Statement {
	var out []Statement
	for _, doc := range m.Blocks("data", "aws_iam_policy_document") {
		for _, b := range doc.Block.Body.Blocks {
			body := b.Body
			if b.Type == "dynamic" && len(b.Labels) == 1 && b.Labels[0] == "statement" {
				for _, c := range b.Body.Blocks {
					if c.Type == "content" {
						body = c.Body
					}
				}
			} else if b.Type != "statement" {
				continue
			}
			out = append(out, Statement{
				Dir:      m.Dir,
				Document: doc.Block.Labels[1],
				Sid:      stringAttr(body, "sid"),
				Wildcard: hasLiteralStar(body.Attributes["resources"]),
				Comment:  commentAbove(doc.File.Src, b.DefRange().Start.Line),
				File:     doc.File.Path,
				Line:     b.DefRange().Start.Line,
			})
		}
	}
	return out
}

// hasLiteralStar reports whether a list attribute holds the string "*".
func hasLiteralStar(a *hclsyntax.Attribute) bool {
	if a == nil {
		return false
	}
	tuple, ok := a.Expr.(*hclsyntax.TupleConsExpr)
	if !ok {
		return false
	}
	for _, e := range tuple.Exprs {
		v, diags := e.Value(nil)
		if !diags.HasErrors() && v.Type().Equals(cty.String) && v.AsString() == "*" {
			return true
		}
	}
	return false
}

// commentAbove returns the contiguous # comment lines just above line (1-based).
func commentAbove(src []byte, line int) string {
	lines := strings.Split(string(src), "\n")
	var got []string
	for i := line - 2; i >= 0; i-- {
		t := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(t, "#") {
			break
		}
		got = append([]string{strings.TrimSpace(strings.TrimPrefix(t, "#"))}, got...)
	}
	return strings.Join(got, " ")
}

// InlinePolicies returns the names of blocks whose attributes build an IAM policy with
// jsonencode (an object with a Statement key) instead of a policy document.
func InlinePolicies(m *Module) []string {
	var out []string
	for _, f := range m.Files {
		for _, b := range f.Body.Blocks {
			found := false
			_ = hclsyntax.VisitAll(b.Body, func(n hclsyntax.Node) hcl.Diagnostics {
				call, ok := n.(*hclsyntax.FunctionCallExpr)
				if !ok || call.Name != "jsonencode" || len(call.Args) != 1 {
					return nil
				}
				if keys, ok := ObjectKeys(call.Args[0]); ok {
					for _, k := range keys {
						if k == "Statement" {
							found = true
						}
					}
				}
				return nil
			})
			if found {
				out = append(out, BlockIn{File: f, Block: b}.Name())
			}
		}
	}
	return out
}

// Grant is one action an Allow statement of a policy document names.
type Grant struct {
	Action    string
	Resources string // source text of the statement's resources
	Sid       string
}

// Allowed returns the actions every Allow statement (plain or dynamic) of the policy
// document named document grants, in source order. An action that is not a literal
// string is skipped: the checks built on it compare against literal SDK calls.
func Allowed(m *Module, document string) []Grant {
	var out []Grant
	for _, doc := range m.Blocks("data", "aws_iam_policy_document") {
		if len(doc.Block.Labels) != 2 || doc.Block.Labels[1] != document {
			continue
		}
		for _, b := range doc.Block.Body.Blocks {
			body := statementBody(b)
			if body == nil || stringAttr(body, "effect") == "Deny" {
				continue
			}
			tuple, ok := exprOf(body.Attributes["actions"]).(*hclsyntax.TupleConsExpr)
			if !ok {
				continue
			}
			for _, e := range tuple.Exprs {
				v, diags := e.Value(nil)
				if diags.HasErrors() || !v.Type().Equals(cty.String) {
					continue
				}
				out = append(out, Grant{Action: v.AsString(), Resources: source(doc.File.Src, body.Attributes["resources"]), Sid: stringAttr(body, "sid")})
			}
		}
	}
	return out
}

// statementBody returns the body of a statement block, or of a dynamic "statement"
// block's content; nil for any other block.
func statementBody(b *hclsyntax.Block) *hclsyntax.Body {
	if b.Type == "statement" {
		return b.Body
	}
	if b.Type == "dynamic" && len(b.Labels) == 1 && b.Labels[0] == "statement" {
		for _, c := range b.Body.Blocks {
			if c.Type == "content" {
				return c.Body
			}
		}
	}
	return nil
}

// exprOf is a's expression, nil for a nil attribute.
func exprOf(a *hclsyntax.Attribute) hclsyntax.Expression {
	if a == nil {
		return nil
	}
	return a.Expr
}
