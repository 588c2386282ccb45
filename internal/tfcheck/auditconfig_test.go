package tfcheck

import (
	"encoding/json"
	"path/filepath"
	"slices"
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
		return cty.ObjectVal(map[string]cty.Value{"learning_period": v(learning), "baseline_ttl": v(ttl), "dedup_window": v(dedup), "cross_account_window": v("")})
	}
	// The optional sections at their module defaults: empty lists, db_logins unset.
	unset := map[string]cty.Value{
		"trails":             cty.ListValEmpty(cty.Object(map[string]cty.Type{"arn": cty.String, "bucket": cty.String})),
		"databases":          strs(),
		"vpc_endpoint_ids":   strs(),
		"ecs_registries":     strs(),
		"db_logins":          dbLogins(nil),
		"member_account_ids": strs(),
	}
	with := func(base map[string]cty.Value, extra map[string]cty.Value) map[string]cty.Value {
		out := map[string]cty.Value{}
		for _, m := range []map[string]cty.Value{unset, base, extra} {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	const (
		app     = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:rotaudit/dev/app-AbCdEf"
		admin   = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:rotaudit/dev/admin-GhIjKl"
		key     = "arn:aws:kms:eu-west-1:111111111111:key/0b6c5f5e-1111-2222-3333-444455556666"
		reader  = "arn:aws:iam::111111111111:role/rotaudit-dev-api-task-20260101"
		rotator = "arn:aws:iam::111111111111:role/rotaudit-dev-rotator"
	)
	devRoot := map[string]cty.Value{
		"watched_secret_arns": strs(app, admin), "kms_key_arns": strs(key, key),
		"reader_arns": strs(reader), "rotator_arns": strs(rotator), "deployer_arns": strs(),
		"trusted_networks": strs("10.40.0.0/16"), "ecs_families": strs("rotaudit-dev-rates-api", "rotaudit-dev-postgres"),
		"ecs_clusters": strs("rotaudit-dev"), "audit_settings": settings("", "", ""),
	}
	trail := cty.ListVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{
		"arn": cty.StringVal("arn:aws:cloudtrail:eu-west-1:111111111111:trail/rotaudit-dev"), "bucket": cty.StringVal("rotaudit-dev-cloudtrail"),
	})})
	tests := []struct {
		name     string
		vars     map[string]cty.Value
		wantErr  string   // empty: the auditor must accept the document
		wantKeys []string // top-level keys the document must hold
		noKeys   []string // top-level keys it must leave out
	}{
		{"dev root", with(devRoot, nil), "", nil, []string{"trails", "databases", "vpc_endpoints", "db_logins"}},
		{"security account of an organization", with(devRoot, map[string]cty.Value{"member_account_ids": strs("222222222222", "333333333333"),
			"audit_settings": cty.ObjectVal(map[string]cty.Value{"learning_period": cty.NullVal(cty.String), "baseline_ttl": cty.NullVal(cty.String),
				"dedup_window": cty.NullVal(cty.String), "cross_account_window": cty.StringVal("2h")})}),
			"", []string{"account_id", "member_accounts", "cross_account_window"}, nil},
		{"single account names no accounts", with(devRoot, nil), "", nil, []string{"account_id", "member_accounts"}},
		{"dev root with every optional section", with(devRoot, map[string]cty.Value{
			"trails": trail, "databases": strs("rotaudit-dev"), "vpc_endpoint_ids": strs("vpce-0123456789abcdef0"),
			"ecs_registries": strs("111111111111.dkr.ecr.eu-west-1.amazonaws.com/rotaudit-dev/rates-api:"),
			"db_logins": dbLogins(map[string]cty.Value{
				"users": strs("rates_app", "rates_app_clone"), "admin_users": strs("rotaudit_admin"), "ignore_users": strs("rdsadmin"),
				"client_networks":   strs("10.40.0.0/16"),
				"alternating_pairs": cty.ListVal([]cty.Value{strs("rates_app", "rates_app_clone")}),
				"failure_burst":     cty.ObjectVal(map[string]cty.Value{"count": cty.NumberIntVal(5), "window": cty.StringVal("5m")}),
				"stale_after":       cty.StringVal("24h"),
			}),
		}), "", []string{"trails", "databases", "vpc_endpoints", "db_logins"}, nil},
		{"local root, module defaults", with(map[string]cty.Value{
			"watched_secret_arns": strs(app), "kms_key_arns": strs(), "reader_arns": strs(), "rotator_arns": strs(rotator),
			"deployer_arns": strs(), "trusted_networks": strs(), "ecs_families": strs(), "ecs_clusters": strs(),
			"audit_settings": settings("0s", "2160h", "30m"),
		}, nil), "", nil, []string{"trails", "databases", "vpc_endpoints", "db_logins"}},
		{"a non-secret ARN is refused by the auditor", with(map[string]cty.Value{
			"watched_secret_arns": strs(key), "kms_key_arns": strs(), "reader_arns": strs(), "rotator_arns": strs(),
			"deployer_arns": strs(), "trusted_networks": strs(), "ecs_families": strs(), "ecs_clusters": strs(),
			"audit_settings": settings("", "", ""),
		}, nil), "watched_secrets[0].arn", nil, nil},
		{"a bucket the auditor refuses reaches it by name", with(devRoot, map[string]cty.Value{
			"trails": cty.ListVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{
				"arn": cty.StringVal("arn:aws:cloudtrail:eu-west-1:111111111111:trail/rotaudit-dev"), "bucket": cty.StringVal("Bad_Bucket"),
			})}),
		}), "trails[0].bucket", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := &hcl.EvalContext{
				Variables: map[string]cty.Value{"var": cty.ObjectVal(tt.vars), "local": cty.ObjectVal(map[string]cty.Value{"account_id": cty.StringVal("111111111111")})},
				Functions: map[string]function.Function{"jsonencode": stdlib.JSONEncodeFunc, "merge": stdlib.MergeFunc, "length": tfLength},
			}
			v, diags := expr.Value(ctx)
			if diags.HasErrors() {
				t.Fatalf("evaluate local.audit_config: %v", diags)
			}
			doc := v.AsString()
			var top map[string]json.RawMessage
			if err := json.Unmarshal([]byte(doc), &top); err != nil {
				t.Fatalf("AUDIT_CONFIG is not a JSON object: %v\n%s", err, doc)
			}
			for _, k := range tt.wantKeys {
				if _, ok := top[k]; !ok {
					t.Errorf("AUDIT_CONFIG has no %q although it was set\n%s", k, doc)
				}
			}
			for _, k := range tt.noKeys {
				if _, ok := top[k]; ok {
					t.Errorf("AUDIT_CONFIG has %q although it was left unset\n%s", k, doc)
				}
			}
			cfg, err := audit.ParseConfig([]byte(doc))
			if err == nil && slices.Contains(tt.wantKeys, "db_logins") && len(cfg.DBLogins.AlternatingPairs) != 1 {
				t.Errorf("db_logins.alternating_pairs = %v, want the one pair set", cfg.DBLogins.AlternatingPairs)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("the auditor rejects the generated AUDIT_CONFIG: %v\n%s", err, doc)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("ParseConfig err = %v, want one naming %s\n%s", err, tt.wantErr, doc)
			}
		})
	}
}

// dbLogins builds the module's db_logins object: every optional attribute null unless set,
// as Terraform fills in an object type's optional attributes.
func dbLogins(set map[string]cty.Value) cty.Value {
	list := cty.List(cty.String)
	types := map[string]cty.Type{
		"users": list, "admin_users": list, "ignore_users": list, "client_networks": list,
		"alternating_pairs": cty.List(list),
		"failure_burst":     cty.Object(map[string]cty.Type{"count": cty.Number, "window": cty.String}),
		"admin_window":      cty.String, "stale_after": cty.String,
	}
	attrs := map[string]cty.Value{}
	for k, ty := range types {
		attrs[k] = cty.NullVal(ty)
		if v, ok := set[k]; ok {
			attrs[k] = v
		}
	}
	return cty.ObjectVal(attrs)
}

// tfLength is Terraform's length: of a collection or tuple its elements, of an object its
// attributes (cty's stdlib length refuses objects).
var tfLength = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "value", Type: cty.DynamicPseudoType}},
	Type:   function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v := args[0]
		if v.Type().IsObjectType() {
			return cty.NumberIntVal(int64(len(v.Type().AttributeTypes()))), nil
		}
		return v.Length(), nil
	},
})
