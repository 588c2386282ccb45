package tfcheck

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/rotaudit/rotaudit/internal/audit"
)

// TestGeneratedAuditConfigAcceptedByAuditor evaluates the audit-alerts module's
// local.audit_config (the AUDIT_CONFIG document) with HCL and the Terraform functions it
// uses, then hands the result to the auditor's own parser, which rejects unknown keys:
// the Terraform side and the Go side cannot drift apart unnoticed.
func TestGeneratedAuditConfigAcceptedByAuditor(t *testing.T) {
	repo(t)
	m, err := Load(filepath.Join("modules", "audit-alerts"))
	if err != nil {
		t.Fatal(err)
	}
	var expr hcl.Expression
	for _, b := range m.Blocks("locals", "") {
		if a, ok := b.Block.Body.Attributes["audit_config"]; ok {
			expr = a.Expr
		}
	}
	if expr == nil {
		t.Fatal("modules/audit-alerts has no local audit_config")
	}

	strs := func(s ...string) cty.Value {
		if len(s) == 0 {
			return cty.ListValEmpty(cty.String)
		}
		vals := make([]cty.Value, len(s))
		for i, v := range s {
			vals[i] = cty.StringVal(v)
		}
		return cty.ListVal(vals)
	}
	settings := func(learning, ttl, dedup string) cty.Value {
		v := func(s string) cty.Value {
			if s == "" {
				return cty.NullVal(cty.String)
			}
			return cty.StringVal(s)
		}
		return cty.ObjectVal(map[string]cty.Value{"learning_period": v(learning), "baseline_ttl": v(ttl), "dedup_window": v(dedup)})
	}
	const (
		app     = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:rotaudit/dev/app-AbCdEf"
		admin   = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:rotaudit/dev/admin-GhIjKl"
		key     = "arn:aws:kms:eu-west-1:111111111111:key/0b6c5f5e-1111-2222-3333-444455556666"
		reader  = "arn:aws:iam::111111111111:role/rotaudit-dev-api-task-20260101"
		rotator = "arn:aws:iam::111111111111:role/rotaudit-dev-rotator"
	)
	tests := []struct {
		name    string
		vars    map[string]cty.Value
		wantErr string // empty: the auditor must accept the document
	}{
		{"dev root", map[string]cty.Value{
			"watched_secret_arns": strs(app, admin), "kms_key_arns": strs(key, key),
			"reader_arns": strs(reader), "rotator_arns": strs(rotator), "deployer_arns": strs(),
			"trusted_networks": strs("10.40.0.0/16"), "ecs_families": strs("rotaudit-dev-rates-api", "rotaudit-dev-postgres"),
			"ecs_clusters": strs("rotaudit-dev"), "audit_settings": settings("", "", ""),
		}, ""},
		{"local root, module defaults", map[string]cty.Value{
			"watched_secret_arns": strs(app), "kms_key_arns": strs(), "reader_arns": strs(), "rotator_arns": strs(rotator),
			"deployer_arns": strs(), "trusted_networks": strs(), "ecs_families": strs(), "ecs_clusters": strs(),
			"audit_settings": settings("0s", "2160h", "30m"),
		}, ""},
		{"a non-secret ARN is refused by the auditor", map[string]cty.Value{
			"watched_secret_arns": strs(key), "kms_key_arns": strs(), "reader_arns": strs(), "rotator_arns": strs(),
			"deployer_arns": strs(), "trusted_networks": strs(), "ecs_families": strs(), "ecs_clusters": strs(),
			"audit_settings": settings("", "", ""),
		}, "watched_secrets[0].arn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := &hcl.EvalContext{
				Variables: map[string]cty.Value{"var": cty.ObjectVal(tt.vars)},
				Functions: map[string]function.Function{"jsonencode": stdlib.JSONEncodeFunc, "merge": stdlib.MergeFunc},
			}
			v, diags := expr.Value(ctx)
			if diags.HasErrors() {
				t.Fatalf("evaluate local.audit_config: %v", diags)
			}
			doc := v.AsString()
			_, err := audit.ParseConfig([]byte(doc))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("the auditor rejects the generated AUDIT_CONFIG: %v\n%s", err, doc)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("ParseConfig err = %v, want one naming %s\n%s", err, tt.wantErr, doc)
			}
		})
	}
}
