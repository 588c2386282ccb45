package awscheck

import "fmt"

// APIRules checks the applied resources against request rules AWS enforces and moto does
// not, for the resource types this deployment uses. tflint's AWS ruleset is not installed
// here (.tflint.hcl runs the bundled Terraform rules only, with no plugin downloads), and
// module validations only see the values a module is given; these see what was applied.
func APIRules(env string, rs []Resource) []Finding {
	var out []Finding
	add := func(format string, args ...any) {
		out = append(out, Finding{Env: env, Message: fmt.Sprintf(format, args...)})
	}
	num := func(m map[string]any, k string) (int, bool) {
		f, ok := m[k].(float64)
		return int(f), ok && f > 0
	}
	for _, r := range rs {
		switch r.Type {
		case "aws_s3_bucket_lifecycle_configuration":
			// S3 refuses a rule whose expiration is not later than its transitions, and a
			// transition to STANDARD_IA or ONEZONE_IA before 30 days.
			// https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-transition-general-considerations.html
			for _, rule := range r.blocks("rule") {
				id, _ := rule["id"].(string)
				exp := 0
				for _, e := range asBlocks(rule["expiration"]) {
					exp, _ = num(e, "days")
				}
				for _, tr := range asBlocks(rule["transition"]) {
					d, ok := num(tr, "days")
					if !ok {
						continue
					}
					class, _ := tr["storage_class"].(string)
					if exp > 0 && exp <= d {
						add("%s (bucket %s, rule %s): expiration after %d days is not later than the transition to %s after %d: S3 refuses PutBucketLifecycleConfiguration", r.Address, r.str("bucket"), id, exp, class, d)
					}
					if (class == "STANDARD_IA" || class == "ONEZONE_IA") && d < 30 {
						add("%s (rule %s): transition to %s after %d days: S3 requires at least 30", r.Address, id, class, d)
					}
				}
			}
		case "aws_kms_key":
			// https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html
			if d, ok := num(r.Values, "deletion_window_in_days"); ok && (d < 7 || d > 30) {
				add("%s: deletion window %d days: KMS accepts 7 to 30", r.Address, d)
			}
		case "aws_secretsmanager_secret":
			// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html
			if d, ok := num(r.Values, "recovery_window_in_days"); ok && (d < 7 || d > 30) {
				add("%s: recovery window %d days: Secrets Manager accepts 0 (no recovery) or 7 to 30", r.Address, d)
			}
		}
	}
	return out
}

func asBlocks(v any) []map[string]any {
	l, _ := v.([]any)
	var out []map[string]any
	for _, x := range l {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
