package awscheck

import (
	"strings"
	"testing"
)

func TestAPIRules(t *testing.T) {
	lifecycle := func(exp, transition float64, class string) Resource {
		rule := map[string]any{"id": "r", "transition": []any{map[string]any{"days": transition, "storage_class": class}}}
		if exp > 0 {
			rule["expiration"] = []any{map[string]any{"days": exp}}
		}
		return Resource{Address: "aws_s3_bucket_lifecycle_configuration.this", Type: "aws_s3_bucket_lifecycle_configuration",
			Values: map[string]any{"bucket": "b", "rule": []any{rule}}}
	}
	// policy is a resource of type typ whose policy document has n characters besides white
	// space (with white space between them, which IAM does not count); key names its owner.
	policy := func(typ, key, owner string, n int) Resource {
		doc := strings.Repeat("ab \n", n/2) + strings.Repeat("c", n%2)
		v := map[string]any{"policy": doc, key: owner}
		if key == "assume_role_policy" {
			v = map[string]any{"assume_role_policy": doc, "name": "r"}
		}
		return Resource{Address: typ + ".this", Type: typ, Values: v}
	}
	// lambdaEnv is a function whose environment has n bytes, names and values.
	lambdaEnv := func(n int) Resource {
		return Resource{Address: "aws_lambda_function.f", Type: "aws_lambda_function", Values: map[string]any{"function_name": "f",
			"environment": []any{map[string]any{"variables": map[string]any{"A": strings.Repeat("x", n-2), "B": ""}}}}}
	}
	tests := []struct {
		name string
		r    Resource
		want string // "" = no finding
	}{
		{"expiration after the transition", lifecycle(365, 90, "GLACIER"), ""},
		{"expiration on the transition's day", lifecycle(90, 90, "GLACIER"), "not later than the transition"},
		{"no expiration", lifecycle(0, 90, "GLACIER"), ""},
		{"infrequent access too early", lifecycle(365, 10, "STANDARD_IA"), "at least 30"},
		{"key window too short", Resource{Type: "aws_kms_key", Values: map[string]any{"deletion_window_in_days": 5.0}}, "7 to 30"},
		{"key window", Resource{Type: "aws_kms_key", Values: map[string]any{"deletion_window_in_days": 7.0}}, ""},
		{"no recovery", Resource{Type: "aws_secretsmanager_secret", Values: map[string]any{"recovery_window_in_days": 0.0}}, ""},
		{"recovery too short", Resource{Type: "aws_secretsmanager_secret", Values: map[string]any{"recovery_window_in_days": 3.0}}, "0 (no recovery) or 7 to 30"},
		{"managed policy at the quota", policy("aws_iam_policy", "name", "p", 6144), ""},
		{"managed policy over it", policy("aws_iam_policy", "name", "p", 6145), "6145 characters"},
		{"one inline policy at the role's quota", policy("aws_iam_role_policy", "role", "r", 10240), ""},
		{"group policy over its quota", policy("aws_iam_group_policy", "group", "g", 5121), "group g"},
		{"trust policy over the default quota", policy("aws_iam_role", "assume_role_policy", "", 2049), "trust policy has 2049"},
		{"lambda environment at 4 KB", lambdaEnv(4096), ""},
		{"lambda environment over 4 KB", lambdaEnv(4097), "4097 bytes"},
		{"secret policy over its quota", Resource{Type: "aws_secretsmanager_secret_policy", Values: map[string]any{"policy": strings.Repeat("x", 20481)}}, "20481 characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := APIRules("x", []Resource{tc.r})
			switch {
			case tc.want == "" && len(got) > 0:
				t.Errorf("unexpected finding %s", got[0])
			case tc.want != "" && (len(got) != 1 || !strings.Contains(got[0].Message, tc.want)):
				t.Errorf("got %v, want one finding with %q", got, tc.want)
			}
		})
	}
}

func TestStableName(t *testing.T) {
	for in, want := range map[string]string{
		"rotaudit-dev-api-task-20261207045938119300000003": "rotaudit-dev-api-task",
		"rotaudit-dev-rotator-single-user":                 "rotaudit-dev-rotator-single-user",
	} {
		if got := stableName(in); got != want {
			t.Errorf("stableName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAPIRulesSumARolesInlinePolicies: a role's inline policies count together, both
// aws_iam_role_policy resources and the role's own inline_policy blocks, where the provider
// also lists the former (counted once, by name).
func TestAPIRulesSumARolesInlinePolicies(t *testing.T) {
	half := strings.Repeat("x", 5200)
	rs := []Resource{
		{Address: "aws_iam_role_policy.a", Type: "aws_iam_role_policy", Values: map[string]any{"role": "r", "name": "a", "policy": half}},
		{Address: "aws_iam_role.r", Type: "aws_iam_role", Values: map[string]any{"name": "r", "assume_role_policy": "{}",
			"inline_policy": []any{map[string]any{"name": "a", "policy": half}, map[string]any{"name": "b", "policy": half}}}},
		{Address: "aws_iam_role_policy.other", Type: "aws_iam_role_policy", Values: map[string]any{"role": "other", "name": "a", "policy": half}},
		{Address: "aws_iam_role.other", Type: "aws_iam_role", Values: map[string]any{"name": "other", "assume_role_policy": "{}",
			"inline_policy": []any{map[string]any{"name": "a", "policy": half}}}},
	}
	got := APIRules("x", rs)
	if len(got) != 1 || !strings.Contains(got[0].Message, "role r: its inline policies have 10400 characters") {
		t.Fatalf("got %v, want one finding on role r's 10400 characters", got)
	}
}
