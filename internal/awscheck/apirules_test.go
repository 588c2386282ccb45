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
