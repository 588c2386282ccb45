package tfcheck

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
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
	keys       []string
	masterRefs []string // what the masterarn value may refer to; empty when absent
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
	locals := localExprs(m)
	values, masters := secretValues(m, locals)
	rotated := map[string]bool{}
	for _, b := range m.Blocks("resource", "aws_secretsmanager_secret_rotation") {
		name := b.Name()
		secrets := refs(b.File.Src, b.Block.Body.Attributes["secret_id"], locals)
		for _, r := range secrets {
			rotated[r] = true
		}
		secret := strings.Join(secrets, " or ")
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
		isMaster := slices.ContainsFunc(secrets, func(r string) bool { return masters[r] })
		if isMaster && !slices.Equal(strategies, []string{strategySingle}) {
			out = append(out, fmt.Sprintf("%s: %s rotates the master secret %s with %s, which may be %s: a master has no master of its own and must rotate single-user",
				m.Dir, name, secret, fn, strings.Join(strategies, " or ")))
		}
		if !slices.Contains(strategies, strategyAlternating) {
			continue
		}
		known := false
		for _, r := range secrets {
			v, ok := values[r]
			if !ok {
				// A secret made by a child module (module.x[...].app_secret_arn): its value is
				// the one that module writes.
				v, ok = childSecretValue(m, b.File.Src, b.Block.Body.Attributes["secret_id"])
			}
			if !ok {
				continue
			}
			known = true
			if !slices.Contains(v.keys, "masterarn") {
				out = append(out, fmt.Sprintf("%s: %s may rotate %s with alternating users (%s), but its value has no masterarn (keys %v)",
					m.Dir, name, r, fn, v.keys))
			}
		}
		if !known {
			out = append(out, fmt.Sprintf("%s: %s may rotate %s with alternating users (%s), but the module does not write that secret's value, so nothing proves it has masterarn",
				m.Dir, name, secret, fn))
		}
	}
	// Every secret the module creates rotates (this also stands in for checkov's
	// CKV2_AWS_57, which cannot follow a secret_id through a local).
	for _, b := range m.Blocks("resource", "aws_secretsmanager_secret") {
		if id := "aws_secretsmanager_secret." + b.Block.Labels[1]; !rotated[id] {
			out = append(out, fmt.Sprintf("%s: %s has no aws_secretsmanager_secret_rotation", m.Dir, id))
		}
	}
	return out
}

// secretValues reads the first value of every secret version the module writes, by secret,
// and the secrets some value's masterarn names.
func secretValues(m *Module, locals map[string]localExpr) (map[string]secretValue, map[string]bool) {
	values := map[string]secretValue{}
	masters := map[string]bool{}
	for _, b := range m.Blocks("resource", "aws_secretsmanager_secret_version") {
		ids := refs(b.File.Src, b.Block.Body.Attributes["secret_id"], locals)
		for _, attr := range []string{"secret_string", "secret_string_wo"} {
			if a, ok := b.Block.Body.Attributes[attr]; ok {
				v := readSecretValue(b.File.Src, a.Expr, locals)
				for _, id := range ids {
					values[id] = v
				}
				for _, r := range v.masterRefs {
					masters[r] = true
				}
			}
		}
	}
	return values, masters
}

// childSecretValue follows a secret_id of the form module.NAME[KEY].OUTPUT (or
// module.NAME.OUTPUT) into the called module: the output's secret, and the value that module
// writes into it. ok is false when the reference is of another form or leads nowhere.
func childSecretValue(m *Module, src []byte, a *hclsyntax.Attribute) (secretValue, bool) {
	if a == nil {
		return secretValue{}, false
	}
	if v, ok := childSecretOfMap(m, src, a); ok {
		return v, true
	}
	var call, output string
	switch e := a.Expr.(type) {
	case *hclsyntax.RelativeTraversalExpr:
		ix, ok := e.Source.(*hclsyntax.IndexExpr)
		if !ok || len(e.Traversal) != 1 {
			return secretValue{}, false
		}
		col, ok := ix.Collection.(*hclsyntax.ScopeTraversalExpr)
		if !ok || col.Traversal.RootName() != "module" || len(col.Traversal) != 2 {
			return secretValue{}, false
		}
		call = col.Traversal[1].(hcl.TraverseAttr).Name
		attr, ok := e.Traversal[0].(hcl.TraverseAttr)
		if !ok {
			return secretValue{}, false
		}
		output = attr.Name
	case *hclsyntax.ScopeTraversalExpr:
		t := e.Traversal
		if t.RootName() != "module" || len(t) != 3 {
			return secretValue{}, false
		}
		call = t[1].(hcl.TraverseAttr).Name
		attr, ok := t[2].(hcl.TraverseAttr)
		if !ok {
			return secretValue{}, false
		}
		output = attr.Name
	default:
		return secretValue{}, false
	}
	return childOutputSecretValue(m, call, output)
}

// childOutputRef reads module.NAME[KEY].OUTPUT[ID].ATTR: an output that is a map of one
// kind of secret (a further app user's secrets, by id).
var childOutputRef = regexp.MustCompile(`^module\.([A-Za-z0-9_-]+)\[[^\]]+\]\.([A-Za-z0-9_-]+)\[[^\]]+\]\.[A-Za-z0-9_]+$`)

// childSecretOfMap follows module.NAME[KEY].OUTPUT[ID].ATTR into the called module.
func childSecretOfMap(m *Module, src []byte, a *hclsyntax.Attribute) (secretValue, bool) {
	r := a.Expr.Range()
	if r.End.Byte > len(src) {
		return secretValue{}, false
	}
	g := childOutputRef.FindStringSubmatch(strings.TrimSpace(string(src[r.Start.Byte:r.End.Byte])))
	if g == nil {
		return secretValue{}, false
	}
	return childOutputSecretValue(m, g[1], g[2])
}

// childOutputSecretValue is the value the called module call writes into the secret its
// output names: the output's reference, or the one secret resource its expression reads.
func childOutputSecretValue(m *Module, call, output string) (secretValue, bool) {
	var source string
	for _, c := range m.Calls {
		if c.Name == call {
			source = c.Source
		}
	}
	if !strings.HasPrefix(source, "./") && !strings.HasPrefix(source, "../") {
		return secretValue{}, false
	}
	child, err := Load(filepath.Join(m.Dir, source))
	if err != nil {
		return secretValue{}, false
	}
	var expr hclsyntax.Expression
	var src []byte
	for _, b := range child.Blocks("output", output) {
		if v, ok := b.Block.Body.Attributes["value"]; ok {
			expr, src = v.Expr, b.File.Src
		}
	}
	if expr == nil {
		return secretValue{}, false
	}
	values, _ := secretValues(child, localExprs(child))
	if v, ok := values[refExpr(src, expr)]; ok {
		return v, true
	}
	var secrets []string
	for _, t := range expr.Variables() {
		if t.RootName() == "aws_secretsmanager_secret" && len(t) >= 2 {
			if n, ok := t[1].(hcl.TraverseAttr); ok && !slices.Contains(secrets, n.Name) {
				secrets = append(secrets, n.Name)
			}
		}
	}
	if len(secrets) != 1 {
		return secretValue{}, false
	}
	v, ok := values["aws_secretsmanager_secret."+secrets[0]]
	return v, ok
}

// localExprs maps every local value's name to its expression.
func localExprs(m *Module) map[string]localExpr {
	out := map[string]localExpr{}
	for _, b := range m.Blocks("locals", "") {
		for name, a := range b.Block.Body.Attributes {
			out[name] = localExpr{src: b.File.Src, expr: a.Expr}
		}
	}
	return out
}

type localExpr struct {
	src  []byte
	expr hclsyntax.Expression
}

// refs returns the secrets an attribute may refer to: the normalised reference, and for
// local.x the references of its definition's branches (a conditional counts as both).
func refs(src []byte, a *hclsyntax.Attribute, locals map[string]localExpr) []string {
	if a == nil {
		return nil
	}
	return refsExpr(src, a.Expr, locals, 0)
}

func refsExpr(src []byte, e hclsyntax.Expression, locals map[string]localExpr, depth int) []string {
	if c, ok := e.(*hclsyntax.ConditionalExpr); ok && depth < 4 {
		return append(refsExpr(src, c.TrueResult, locals, depth+1), refsExpr(src, c.FalseResult, locals, depth+1)...)
	}
	if t, ok := e.(*hclsyntax.ScopeTraversalExpr); ok && t.Traversal.RootName() == "local" && len(t.Traversal) == 2 && depth < 4 {
		if l, ok := locals[t.Traversal[1].(hcl.TraverseAttr).Name]; ok {
			return append([]string{refExpr(src, e)}, refsExpr(l.src, l.expr, locals, depth+1)...)
		}
	}
	return []string{refExpr(src, e)}
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
func readSecretValue(src []byte, e hclsyntax.Expression, locals map[string]localExpr) secretValue {
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
			v.masterRefs = refsExpr(src, item.ValueExpr, locals, 0)
		}
	}
	sort.Strings(v.keys)
	return v
}

// rotationStrategies returns the strategies the function named by expr may rotate with,
// and the function's name for messages. The function is an aws_lambda_function of this
// module, a module call of modules/_internal/lambda-function (its environment argument) or
// one of modules/_internal/rotator (its strategy argument, which that module writes to
// ROTATION_STRATEGY; TestRotatorModuleWritesItsStrategy keeps it so).
func rotationStrategies(m *Module, expr hclsyntax.Expression) ([]string, string, error) {
	const notAFunction = "rotation_lambda_arn is not a reference to an aws_lambda_function or a Lambda module of this module"
	var kind, fnName string
	var key hclsyntax.Expression // index of a for_each'd function; nil when none
	isFunction := func(t hcl.Traversal) bool {
		return t.RootName() == "aws_lambda_function" || t.RootName() == "module"
	}
	switch e := expr.(type) {
	case *hclsyntax.ScopeTraversalExpr:
		t := e.Traversal
		if !isFunction(t) || len(t) < 2 {
			return nil, "", errors.New(notAFunction)
		}
		kind, fnName = t.RootName(), t[1].(hcl.TraverseAttr).Name
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
		if !ok || !isFunction(col.Traversal) || len(col.Traversal) != 2 {
			return nil, "", errors.New(notAFunction)
		}
		kind, fnName = col.Traversal.RootName(), col.Traversal[1].(hcl.TraverseAttr).Name
		key = ix.Key
	default:
		return nil, "", errors.New(notAFunction)
	}
	label := kind + "." + fnName
	var fns []BlockIn
	if kind == "module" {
		fns = m.Blocks("module", fnName)
	} else {
		fns = slices.DeleteFunc(m.Blocks("resource", "aws_lambda_function"), func(b BlockIn) bool { return len(b.Block.Labels) != 2 || b.Block.Labels[1] != fnName })
	}
	if len(fns) == 0 {
		return nil, "", fmt.Errorf("%s does not exist", label)
	}
	fn := fns[0]
	strategyExpr := envExpr(fn.Block, "ROTATION_STRATEGY")
	if a, ok := fn.Block.Body.Attributes["strategy"]; ok && kind == "module" && isRotatorModule(fn.Block) {
		strategyExpr = a.Expr
	}
	if strategyExpr == nil {
		return nil, "", fmt.Errorf("%s sets no ROTATION_STRATEGY", label)
	}
	// strategy = regex("^(single-user|alternating-users)", each.key)[0]: the strategy is
	// how the index the rotation uses begins (modules/rotaudit's rotators, one per strategy
	// and network: "single-user", "single-user-net1a2b3c").
	if keyPrefixStrategy(strategyExpr) {
		if key == nil {
			return nil, "", fmt.Errorf("%s takes its strategy from each.key but is referenced without an index", label)
		}
		return prefixValues(key), label + "[" + exprText(fn.File.Src, key) + "]", nil
	}
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

// keyPrefixStrategy reports whether e is regex("^(single-user|alternating-users)",
// each.key)[0]: the strategy with which each.key begins.
func keyPrefixStrategy(e hclsyntax.Expression) bool {
	// HCL parses a literal index as a traversal of its source: (regex(...))[0].
	rel, ok := e.(*hclsyntax.RelativeTraversalExpr)
	if !ok || len(rel.Traversal) != 1 {
		return false
	}
	if ix, ok := rel.Traversal[0].(hcl.TraverseIndex); !ok || !ix.Key.Type().Equals(cty.Number) || !ix.Key.RawEquals(cty.NumberIntVal(0)) {
		return false
	}
	call, ok := rel.Source.(*hclsyntax.FunctionCallExpr)
	if !ok || call.Name != "regex" || len(call.Args) != 2 {
		return false
	}
	pattern, diags := call.Args[0].Value(nil)
	if diags.HasErrors() || !pattern.Type().Equals(cty.String) || pattern.AsString() != "^("+strings.Join(allStrategies, "|")+")" {
		return false
	}
	t, ok := call.Args[1].(*hclsyntax.ScopeTraversalExpr)
	return ok && len(t.Traversal) == 2 && t.Traversal.RootName() == "each" && t.Traversal[1].(hcl.TraverseAttr).Name == "key"
}

// prefixValues returns the strategies an index may begin with: the one a literal or a
// template's literal start begins with, else every strategy.
func prefixValues(key hclsyntax.Expression) []string {
	var start string
	switch k := key.(type) {
	case *hclsyntax.LiteralValueExpr:
		if k.Val.Type().Equals(cty.String) {
			start = k.Val.AsString()
		}
	case *hclsyntax.TemplateExpr:
		if len(k.Parts) > 0 {
			if v, diags := k.Parts[0].Value(nil); !diags.HasErrors() && v.Type().Equals(cty.String) {
				start = v.AsString()
			}
		}
	}
	// The function's regex takes the strategy from the key's first characters, whatever
	// follows them (neither strategy's name begins the other's).
	for _, s := range allStrategies {
		if strings.HasPrefix(start, s) {
			return []string{s}
		}
	}
	return slices.Sorted(slices.Values(allStrategies))
}

// isRotatorModule reports whether the module call fn has modules/_internal/rotator as its
// source.
func isRotatorModule(fn *hclsyntax.Block) bool {
	a, ok := fn.Body.Attributes["source"]
	if !ok {
		return false
	}
	v, diags := a.Expr.Value(nil)
	return !diags.HasErrors() && v.Type().Equals(cty.String) && strings.HasSuffix(v.AsString(), "_internal/rotator")
}

// envExpr returns the expression of one key of a Lambda's environment variables: the
// environment { variables = {...} } of an aws_lambda_function, or the environment = {...}
// argument of a Lambda module call.
func envExpr(fn *hclsyntax.Block, name string) hclsyntax.Expression {
	var vars *hclsyntax.Attribute
	if fn.Type == "module" {
		vars = fn.Body.Attributes["environment"]
	}
	for _, b := range fn.Body.Blocks {
		if b.Type == "environment" {
			vars = b.Body.Attributes["variables"]
		}
	}
	if vars == nil {
		return nil
	}
	obj, ok := vars.Expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		return nil
	}
	for _, item := range obj.Items {
		if hcl.ExprAsKeyword(item.KeyExpr) == name {
			return item.ValueExpr
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
	// A value read from the module's locals per instance (local.x[each.key].strategy) may be
	// either strategy: the secret must then prove it can rotate with both.
	if followsLocals(e) {
		return slices.Clone(allStrategies), nil
	}
	t, ok := e.(*hclsyntax.ScopeTraversalExpr)
	if !ok || t.Traversal.RootName() != "var" || len(t.Traversal) != 2 {
		return nil, fmt.Errorf("cannot tell the rotation strategy of %T: use a literal, each.key, a variable or a local", e)
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

// followsLocals reports whether e reads only local values and each.key/each.value, at least
// one local among them.
func followsLocals(e hclsyntax.Expression) bool {
	vars := e.Variables()
	if len(vars) == 0 {
		return false
	}
	hasLocal := false
	for _, v := range vars {
		switch v.RootName() {
		case "local":
			hasLocal = true
		case "each":
		default:
			return false
		}
	}
	return hasLocal
}
