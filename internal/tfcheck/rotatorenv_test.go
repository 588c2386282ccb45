package tfcheck

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/rotaudit/rotaudit/internal/rotation"
)

// adminARN stands for the admin secret's ARN, which the alternating rotator pins.
const adminARN = "arn:aws:secretsmanager:us-east-1:111111111111:secret:rotaudit/test/admin-AbCdEf"

// rotatorModule is the one place the rotator's Lambda environment is written; the
// rotators of modules/secret-rotation and modules/rotaudit are calls of it.
var rotatorModule = filepath.Join("modules", "_internal", "rotator")

// literalDefaults returns the defaults of m's variables that have one; each must be a
// literal so the tests can evaluate the module with them.
func literalDefaults(t *testing.T, m *Module) map[string]cty.Value {
	t.Helper()
	defaults := map[string]cty.Value{}
	for _, v := range m.Variables {
		if !v.HasDefault {
			continue
		}
		for _, b := range m.Blocks("variable", v.Name) {
			val, diags := b.Block.Body.Attributes["default"].Expr.Value(nil)
			if diags.HasErrors() {
				t.Fatalf("%s: variable %s: default is not a literal: %v", m.Dir, v.Name, diags)
			}
			defaults[v.Name] = val
		}
	}
	return defaults
}

// TestRotatorEnvironmentAcceptedByRotator evaluates the rotator module's Lambda
// environment with the module's own variable defaults (plus overrides) and loads it with
// the rotator's config loader: the values Terraform writes must be values the Go code
// accepts, not only the right names.
func TestRotatorEnvironmentAcceptedByRotator(t *testing.T) {
	repo(t)
	m, err := Load(rotatorModule)
	if err != nil {
		t.Fatal(err)
	}
	_, a := moduleEnvironment(t, rotatorModule, "function")
	var env hcl.Expression = a.Expr
	defaults := literalDefaults(t, m)
	const endpoint = "https://secretsmanager.eu-west-1.amazonaws.com"

	tests := []struct {
		name      string
		strategy  string
		overrides map[string]cty.Value
		check     func(t *testing.T, c rotation.Config)
	}{
		{"defaults", "single-user", nil, func(t *testing.T, c rotation.Config) {
			if c.Strategy != rotation.SingleUser || c.AllowPlaintext || c.Password.Length != 32 || c.TestQuery != "SELECT 1" || c.SecretsManagerEndpoint != endpoint {
				t.Errorf("defaults load as %+v", c)
			}
			if !c.Password.RequireEachIncludedType {
				t.Error("REQUIRE_EACH_INCLUDED_TYPE default lost")
			}
		}},
		{"alternating users, plaintext, 40 chars", "alternating-users", map[string]cty.Value{
			"db_allow_plaintext": cty.True,
			"password_length":    cty.NumberIntVal(40),
			"exclude_numbers":    cty.True,
			// Two databases with one master: the pin names it once.
			"master_secret_arns": cty.ListVal([]cty.Value{cty.StringVal(adminARN), cty.StringVal(adminARN)}),
		}, func(t *testing.T, c rotation.Config) {
			if c.Strategy != rotation.AlternatingUsers || !c.AllowPlaintext || c.Password.Length != 40 || !c.Password.ExcludeNumbers {
				t.Errorf("overrides load as %+v", c)
			}
		}},
		{"own endpoint", "single-user", map[string]cty.Value{
			"secrets_manager_endpoint": cty.StringVal("http://127.0.0.1:4566"),
		}, func(t *testing.T, c rotation.Config) {
			if c.SecretsManagerEndpoint != "http://127.0.0.1:4566" {
				t.Errorf("endpoint loads as %q", c.SecretsManagerEndpoint)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]cty.Value{"strategy": cty.StringVal(tt.strategy)}
			for k, v := range defaults {
				vars[k] = v
			}
			for k, v := range tt.overrides {
				vars[k] = v
			}
			ctx := &hcl.EvalContext{
				Variables: map[string]cty.Value{
					"var":   cty.ObjectVal(vars),
					"local": cty.ObjectVal(map[string]cty.Value{"sm_service": cty.StringVal("secretsmanager.eu-west-1.amazonaws.com")}),
				},
				Functions: map[string]function.Function{
					"tostring": stdlib.MakeToFunc(cty.String),
					"coalesce": stdlib.CoalesceFunc,
					"join":     stdlib.JoinFunc,
					"distinct": stdlib.DistinctFunc,
				},
			}
			val, diags := env.Value(ctx)
			if diags.HasErrors() {
				t.Fatalf("evaluate the Lambda environment: %v", diags)
			}
			got := map[string]string{}
			for k, v := range val.AsValueMap() {
				got[k] = v.AsString()
			}
			c, err := rotation.LoadConfig(rotation.MapEnv(got))
			if err != nil {
				t.Fatalf("the rotator rejects the environment Terraform writes: %v\n%v", err, got)
			}
			if pinned := fmt.Sprint(c.MasterSecretARNs); (tt.strategy == string(rotation.AlternatingUsers)) != (pinned == fmt.Sprint([]string{adminARN})) {
				t.Fatalf("%s rotator pins masters %s", tt.strategy, pinned)
			}
			tt.check(t, c)
		})
	}
}

// TestRotatorModuleWritesItsStrategy: the rotators of modules/secret-rotation and
// modules/rotaudit are calls of modules/_internal/rotator with strategy = each.key (in
// modules/rotaudit, the strategy each.key begins with), and
// that module writes its strategy to ROTATION_STRATEGY, as CheckRotationStrategies assumes
// when it reads a rotation's strategy from the call.
func TestRotatorModuleWritesItsStrategy(t *testing.T) {
	repo(t)
	fn, _ := moduleEnvironment(t, rotatorModule, "function")
	if e := envExpr(fn.Block, "ROTATION_STRATEGY"); e == nil || exprText(fn.File.Src, e) != "var.strategy" {
		t.Errorf("%s: ROTATION_STRATEGY is not var.strategy", rotatorModule)
	}
	for _, dir := range []string{filepath.Join("modules", "secret-rotation"), filepath.Join("modules", "rotaudit")} {
		_, b := moduleCall(t, dir, "rotator")
		if !isRotatorModule(b.Block) {
			t.Errorf("%s: module \"rotator\" has source %s, want ../_internal/rotator", dir, source(b.File.Src, b.Block.Body.Attributes["source"]))
		}
		// modules/rotaudit's rotators are keyed by strategy and network: the strategy is how
		// the key begins.
		want := "each.key"
		if dir == filepath.Join("modules", "rotaudit") {
			want = `regex("^(single-user|alternating-users)", each.key)[0]`
		}
		if got := source(b.File.Src, b.Block.Body.Attributes["strategy"]); got != want {
			t.Errorf("%s: module \"rotator\" passes strategy = %q, want %s", dir, got, want)
		}
	}
}

// TestRotatorDefaultsAreSecretRotations: modules/rotaudit leaves the password and
// connection settings at modules/_internal/rotator's defaults, which it documents as
// modules/secret-rotation's. So every setting both declare has the same default in both,
// and modules/secret-rotation passes its own variable through.
func TestRotatorDefaultsAreSecretRotations(t *testing.T) {
	repo(t)
	inner, err := Load(rotatorModule)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("modules", "secret-rotation")
	outer, call := moduleCall(t, dir, "rotator")
	args := call.Block.Body.Attributes
	innerDefaults, outerDefaults := literalDefaults(t, inner), literalDefaults(t, outer)
	// The Lambda's own sizing and placement are named differently (lambda_*) or have
	// defaults of their own purpose; the settings are the environment's.
	settings := []string{
		"secrets_manager_endpoint", "password_length", "exclude_characters", "exclude_numbers",
		"exclude_punctuation", "exclude_uppercase", "exclude_lowercase", "require_each_included_type",
		"test_query", "db_ca_bundle", "db_allow_plaintext", "db_allow_insecure_password_auth",
		"allow_privileged_users", "clone_member_of_user",
	}
	for _, name := range settings {
		want, ok := innerDefaults[name]
		if !ok {
			t.Errorf("%s: variable %s has no default", rotatorModule, name)
			continue
		}
		if got, ok := outerDefaults[name]; !ok || !got.RawEquals(want) {
			t.Errorf("%s: variable %s defaults to %#v, %s's to %#v", dir, name, got, rotatorModule, want)
		}
		if got := source(call.File.Src, args[name]); got != "var."+name {
			t.Errorf("%s: module \"rotator\" passes %s = %q, want var.%s", dir, name, got, name)
		}
	}
}
