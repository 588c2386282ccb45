package awscheck

import (
	"fmt"
	"sort"
	"unicode"
)

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
	// Policy sizes: IAM counts the characters that are not white space, and an inline
	// policy's quota is the sum over the user, group or role it is in.
	// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
	// The provider reads a role's inline policies into its inline_policy blocks as well, so
	// they are counted by name: "role x" -> policy name -> characters.
	inline := map[string]map[string]int{}
	inlineQuota := map[string]int{}
	addInline := func(kind, owner, name, doc string, quota int) {
		k := kind + " " + owner
		if inline[k] == nil {
			inline[k] = map[string]int{}
		}
		inline[k][name] = policyChars(doc)
		inlineQuota[k] = quota
	}
	for _, r := range rs {
		switch r.Type {
		case "aws_iam_policy":
			if n := policyChars(r.str("policy")); n > managedPolicyQuota {
				add("%s (%s): the policy has %d characters (white space aside): IAM refuses a managed policy over %d (LimitExceeded)", r.Address, r.str("name"), n, managedPolicyQuota)
			}
		case "aws_iam_role_policy":
			addInline("role", r.str("role"), r.str("name"), r.str("policy"), rolePolicyQuota)
		case "aws_iam_group_policy":
			addInline("group", r.str("group"), r.str("name"), r.str("policy"), groupPolicyQuota)
		case "aws_iam_user_policy":
			addInline("user", r.str("user"), r.str("name"), r.str("policy"), userPolicyQuota)
		case "aws_iam_role":
			for _, b := range r.blocks("inline_policy") {
				name, _ := b["name"].(string)
				doc, _ := b["policy"].(string)
				addInline("role", r.str("name"), name, doc, rolePolicyQuota)
			}
			if n := policyChars(r.str("assume_role_policy")); n > trustPolicyQuota {
				add("%s (%s): the trust policy has %d characters (white space aside): IAM refuses one over %d unless the account's quota was raised (to 4096 at most)", r.Address, r.str("name"), n, trustPolicyQuota)
			}
		case "aws_lambda_function":
			// https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
			n := 0
			for _, e := range r.blocks("environment") {
				vars, _ := e["variables"].(map[string]any)
				for k, v := range vars {
					s, _ := v.(string)
					n += len(k) + len(s)
				}
			}
			if n > lambdaEnvironmentQuota {
				add("%s (%s): its environment has %d bytes (names and values): Lambda refuses one over %d", r.Address, r.str("function_name"), n, lambdaEnvironmentQuota)
			}
		case "aws_secretsmanager_secret_policy":
			// https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html
			if n := len(r.str("policy")); n > secretPolicyQuota {
				add("%s: the resource policy has %d characters: Secrets Manager refuses one over %d", r.Address, n, secretPolicyQuota)
			}
		case "aws_kms_key":
			// https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html
			if n := len(r.str("policy")); n > keyPolicyQuota {
				add("%s: the key policy has %d bytes: KMS refuses one over %d", r.Address, n, keyPolicyQuota)
			}
		}
	}
	owners := make([]string, 0, len(inline))
	for k := range inline {
		owners = append(owners, k)
	}
	sort.Strings(owners)
	for _, k := range owners {
		n := 0
		for _, c := range inline[k] {
			n += c
		}
		if n > inlineQuota[k] {
			add("%s: its inline policies have %d characters together (white space aside): IAM refuses more than %d", k, n, inlineQuota[k])
		}
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

// The size quotas of policies (AWS's defaults; only the trust policy's can be raised).
const (
	managedPolicyQuota = 6144
	rolePolicyQuota    = 10240
	groupPolicyQuota   = 5120
	userPolicyQuota    = 2048
	trustPolicyQuota   = 2048
	secretPolicyQuota  = 20480
	keyPolicyQuota     = 32768
	// lambdaEnvironmentQuota bounds a function's environment variables, names and values.
	lambdaEnvironmentQuota = 4096
)

// policyChars counts a policy document's characters as IAM does, white space aside.
func policyChars(doc string) int {
	n := 0
	for _, c := range doc {
		if !unicode.IsSpace(c) {
			n++
		}
	}
	return n
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
