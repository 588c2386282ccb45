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

// TestRotatorEnvironmentAcceptedByRotator evaluates the secret-rotation module's Lambda
// environment with the module's own variable defaults (plus overrides) and loads it with
// the rotator's config loader: the values Terraform writes must be values the Go code
// accepts, not only the right names.
func TestRotatorEnvironmentAcceptedByRotator(t *testing.T) {
	repo(t)
	dir := filepath.Join("modules", "secret-rotation")
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	calls := m.Blocks("module", "rotator")
	if len(calls) != 1 {
		t.Fatalf("%s: want one module \"rotator\", found %d", dir, len(calls))
	}
	a, ok := calls[0].Block.Body.Attributes["environment"]
	if !ok {
		t.Fatalf("%s: module \"rotator\" passes no environment", dir)
	}
	var env hcl.Expression = a.Expr
	defaults := map[string]cty.Value{}
	for _, v := range m.Variables {
		if !v.HasDefault {
			continue
		}
		for _, b := range m.Blocks("variable", v.Name) {
			val, diags := b.Block.Body.Attributes["default"].Expr.Value(nil)
			if diags.HasErrors() {
				t.Fatalf("variable %s: default is not a literal: %v", v.Name, diags)
			}
			defaults[v.Name] = val
		}
	}
	const endpoint = "https://secretsmanager.eu-west-1.amazonaws.com"

	tests := []struct {
		name      string
		strategy  string // each.key of the rotator function
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
		}, func(t *testing.T, c rotation.Config) {
			if c.Strategy != rotation.AlternatingUsers || !c.AllowPlaintext || c.Password.Length != 40 || !c.Password.ExcludeNumbers {
				t.Errorf("overrides load as %+v", c)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]cty.Value{}
			for k, v := range defaults {
				vars[k] = v
			}
			for k, v := range tt.overrides {
				vars[k] = v
			}
			ctx := &hcl.EvalContext{
				Variables: map[string]cty.Value{
					"var": cty.ObjectVal(vars),
					"local": cty.ObjectVal(map[string]cty.Value{
						"sm_endpoint": cty.StringVal(endpoint),
						"secret_arns": cty.ObjectVal(map[string]cty.Value{"admin": cty.StringVal(adminARN)}),
					}),
					"each": cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(tt.strategy), "value": cty.StringVal(tt.strategy)}),
				},
				Functions: map[string]function.Function{"tostring": stdlib.MakeToFunc(cty.String)},
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
