package tfcheck

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// The rotation strategies of the rotator (internal/rotation): the function reads one of
// them from ROTATION_STRATEGY.
const (
	strategySingle      = "single-user"
	strategyAlternating = "alternating-users"
)

var allStrategies = []string{strategySingle, strategyAlternating}

// secretValue is what a module writes as a secret's first value.
type secretValue struct {
	keys      []string
	masterARN string // normalised reference of the masterarn value; "" when absent
}

// CheckRotationStrategies reports every aws_secretsmanager_secret_rotation whose secret
// cannot be rotated by the strategy of the function it names:
//   - alternating users needs "masterarn" in the secret's value (the master changes the
//     other user's password), so the module must write that key;
//   - a master secret (one that another secret's masterarn names) has no master of its
//     own, so it must rotate single-user, whatever a variable says.
//
// The strategy comes from the function's ROTATION_STRATEGY: a literal, each.key of a
// for_each'd function indexed by a literal or a variable, or a variable. A variable counts
// as every value its validation's contains([...], var.x) allows (both strategies without
// one), because a check on the defaults alone would pass a configuration that breaks the
// day someone sets the variable.
func CheckRotationStrategies(m *Module) []string {
	var out []string
	values := map[string]secretValue{}
	masters := map[string]bool{}
	for _, b := range m.Blocks("resource", "aws_secretsmanager_secret_version") {
		id := ref(b.File.Src, b.Block.Body.Attributes["secret_id"])
		for _, attr := range []string{"secret_string", "secret_string_wo"} {
			if a, ok := b.Block.Body.Attributes[attr]; ok {
				v := readSecretValue(b.File.Src, a.Expr)
				values[id] = v
				if v.masterARN != "" {
					masters[v.masterARN] = true
				}
			}
		}
	}
	for _, b := range m.Blocks("resource", "aws_secretsmanager_secret_rotation") {
		name := b.Name()
		secret := ref(b.File.Src, b.Block.Body.Attributes["secret_id"])
		fnAttr, ok := b.Block.Body.Attributes["rotation_lambda_arn"]
		if !ok {
			out = append(out, fmt.Sprintf("%s: %s has no rotation_lambda_arn", m.Dir, name))
			continue
		}
		strategies, fn, err := rotationStrategies(m, fnAttr.Expr)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: %s: %v", m.Dir, name, err))
			continue
		}
		if masters[secret] && !slices.Equal(strategies, []string{strategySingle}) {
			out = append(out, fmt.Sprintf("%s: %s rotates the master secret %s with %s, which may be %s: a master has no master of its own and must rotate single-user",
				m.Dir, name, secret, fn, strings.Join(strategies, " or ")))
		}
		if slices.Contains(strategies, strategyAlternating) {
			v, known := values[secret]
			switch {
			case !known:
				out = append(out, fmt.Sprintf("%s: %s may rotate %s with alternating users (%s), but the module does not write that secret's value, so nothing proves it has masterarn",
					m.Dir, name, secret, fn))
			case !slices.Contains(v.keys, "masterarn"):
				out = append(out, fmt.Sprintf("%s: %s may rotate %s with alternating users (%s), but its value has no masterarn (keys %v)",
					m.Dir, name, secret, fn, v.keys))
			}
		}
	}
	return out
}

// ref normalises a reference to a secret: aws_secretsmanager_secret.x (any index and
// attribute), else the expression's source text (local.admin_secret_arn, var.arn).
func ref(src []byte, a *hclsyntax.Attribute) string {
	if a == nil {
		return ""
	}
	return refExpr(src, a.Expr)
}

func refExpr(src []byte, e hclsyntax.Expression) string {
	if t, ok := e.(*hclsyntax.ScopeTraversalExpr); ok && len(t.Traversal) >= 2 && t.Traversal.RootName() == "aws_secretsmanager_secret" {
		if n, ok := t.Traversal[1].(hcl.TraverseAttr); ok {
			return "aws_secretsmanager_secret." + n.Name
		}
	}
	if r, ok := e.(*hclsyntax.RelativeTraversalExpr); ok {
		if ix, ok := r.Source.(*hclsyntax.IndexExpr); ok {
			return refExpr(src, ix.Collection)
		}
	}
	rng := e.Range()
	return strings.TrimSpace(string(src[rng.Start.Byte:rng.End.Byte]))
}

// readSecretValue reads jsonencode({...}) of a secret version.
func readSecretValue(src []byte, e hclsyntax.Expression) secretValue {
	var v secretValue
	call, ok := e.(*hclsyntax.FunctionCallExpr)
	if !ok || call.Name != "jsonencode" || len(call.Args) != 1 {
		return v
	}
	obj, ok := call.Args[0].(*hclsyntax.ObjectConsExpr)
	if !ok {
		return v
	}
	for _, item := range obj.Items {
		k := hcl.ExprAsKeyword(item.KeyExpr)
		if k == "" {
			continue
		}
		v.keys = append(v.keys, k)
		if k == "masterarn" {
			v.masterARN = refExpr(src, item.ValueExpr)
		}
	}
	sort.Strings(v.keys)
	return v
}

// rotationStrategies returns the strategies the function named by expr may rotate with,
// and the function's name for messages.
func rotationStrategies(m *Module, expr hclsyntax.Expression) ([]string, string, error) {
	var fnName string
	var key hclsyntax.Expression // index of a for_each'd function; nil when none
	switch e := expr.(type) {
	case *hclsyntax.ScopeTraversalExpr:
		t := e.Traversal
		if t.RootName() != "aws_lambda_function" || len(t) < 2 {
			return nil, "", fmt.Errorf("rotation_lambda_arn is not a reference to an aws_lambda_function of this module")
		}
		fnName = t[1].(hcl.TraverseAttr).Name
		if len(t) > 2 {
			if ix, ok := t[2].(hcl.TraverseIndex); ok {
				key = &hclsyntax.LiteralValueExpr{Val: ix.Key}
			}
		}
	case *hclsyntax.RelativeTraversalExpr:
		ix, ok := e.Source.(*hclsyntax.IndexExpr)
		if !ok {
			return nil, "", fmt.Errorf("rotation_lambda_arn: unsupported expression")
		}
		col, ok := ix.Collection.(*hclsyntax.ScopeTraversalExpr)
		if !ok || col.Traversal.RootName() != "aws_lambda_function" || len(col.Traversal) != 2 {
			return nil, "", fmt.Errorf("rotation_lambda_arn is not a reference to an aws_lambda_function of this module")
		}
		fnName = col.Traversal[1].(hcl.TraverseAttr).Name
		key = ix.Key
	default:
		return nil, "", fmt.Errorf("rotation_lambda_arn is not a reference to an aws_lambda_function of this module")
	}
	fns := m.Blocks("resource", "aws_lambda_function")
	i := slices.IndexFunc(fns, func(b BlockIn) bool { return len(b.Block.Labels) == 2 && b.Block.Labels[1] == fnName })
	if i < 0 {
		return nil, "", fmt.Errorf("aws_lambda_function.%s does not exist", fnName)
	}
	fn := fns[i]
	strategyExpr := envExpr(fn.Block, "ROTATION_STRATEGY")
	if strategyExpr == nil {
		return nil, "", fmt.Errorf("aws_lambda_function.%s sets no ROTATION_STRATEGY", fnName)
	}
	label := "aws_lambda_function." + fnName
	// ROTATION_STRATEGY = each.key: the strategy is the index the rotation uses.
	if t, ok := strategyExpr.(*hclsyntax.ScopeTraversalExpr); ok && t.Traversal.RootName() == "each" {
		if key == nil {
			return nil, "", fmt.Errorf("%s takes its strategy from each.key but is referenced without an index", label)
		}
		s, err := possibleValues(m, key)
		return s, label + "[" + exprText(fn.File.Src, key) + "]", err
	}
	s, err := possibleValues(m, strategyExpr)
	return s, label, err
}

// envExpr returns the expression of one key of a Lambda's environment variables.
func envExpr(fn *hclsyntax.Block, name string) hclsyntax.Expression {
	for _, b := range fn.Body.Blocks {
		if b.Type != "environment" {
			continue
		}
		a, ok := b.Body.Attributes["variables"]
		if !ok {
			return nil
		}
		obj, ok := a.Expr.(*hclsyntax.ObjectConsExpr)
		if !ok {
			return nil
		}
		for _, item := range obj.Items {
			if hcl.ExprAsKeyword(item.KeyExpr) == name {
				return item.ValueExpr
			}
		}
	}
	return nil
}

// possibleValues: a literal strategy, or every value a variable's validation allows.
func possibleValues(m *Module, e hclsyntax.Expression) ([]string, error) {
	if v, diags := e.Value(nil); !diags.HasErrors() && v.Type().Equals(cty.String) {
		s := v.AsString()
		if !slices.Contains(allStrategies, s) {
			return nil, fmt.Errorf("unknown rotation strategy %q", s)
		}
		return []string{s}, nil
	}
	t, ok := e.(*hclsyntax.ScopeTraversalExpr)
	if !ok || t.Traversal.RootName() != "var" || len(t.Traversal) != 2 {
		return nil, fmt.Errorf("cannot tell the rotation strategy of %T: use a literal, each.key or a variable", e)
	}
	name := t.Traversal[1].(hcl.TraverseAttr).Name
	if allowed := validatedValues(m, name); len(allowed) > 0 {
		return allowed, nil
	}
	return slices.Clone(allStrategies), nil
}

// validatedValues returns the list of contains([...], var.name) in the variable's
// validation, sorted; nil when there is none.
func validatedValues(m *Module, name string) []string {
	var out []string
	for _, b := range m.Blocks("variable", name) {
		for _, v := range b.Block.Body.Blocks {
			if v.Type != "validation" {
				continue
			}
			cond, ok := v.Body.Attributes["condition"]
			if !ok {
				continue
			}
			_ = hclsyntax.VisitAll(cond.Expr, func(n hclsyntax.Node) hcl.Diagnostics {
				call, ok := n.(*hclsyntax.FunctionCallExpr)
				if !ok || call.Name != "contains" || len(call.Args) != 2 {
					return nil
				}
				list, ok := call.Args[0].(*hclsyntax.TupleConsExpr)
				if !ok {
					return nil
				}
				for _, item := range list.Exprs {
					if val, diags := item.Value(nil); !diags.HasErrors() && val.Type().Equals(cty.String) {
						out = append(out, val.AsString())
					}
				}
				return nil
			})
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func exprText(src []byte, e hclsyntax.Expression) string {
	if l, ok := e.(*hclsyntax.LiteralValueExpr); ok && l.Val.Type().Equals(cty.String) {
		return fmt.Sprintf("%q", l.Val.AsString())
	}
	r := e.Range()
	if r.End.Byte > len(src) || r.Start.Byte >= r.End.Byte {
		return "?"
	}
	return string(src[r.Start.Byte:r.End.Byte])
}
