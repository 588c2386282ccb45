package awscheck

import (
	"context"
	"os"
	"testing"
)

// The evaluator honours the conditions the check depends on: a service principal's
// aws:SourceArn and aws:SourceAccount on a function's policy, kms:ViaService on an identity
// policy, an explicit deny in a secret's policy; across accounts, an identity policy and a
// bus policy that must both allow, aws:PrincipalOrgID, a trust policy's aws:SourceAccount. Needs the evaluator installed (make
// aws-check runs npm ci); skipped without it.
func TestEvaluatorConditions(t *testing.T) {
	if _, err := os.Stat("evaluator/node_modules/@cloud-copilot/iam-simulate"); err != nil {
		if os.Getenv("AWSCHECK_STATES") != "" {
			t.Fatal("the evaluator is not installed (npm ci in internal/awscheck/evaluator)")
		}
		t.Skip("the evaluator is not installed: make aws-check installs it")
	}
	const (
		acct   = "111122223333"
		fn     = "arn:aws:lambda:eu-west-1:111122223333:function:rotator"
		secret = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:app-AbCdEf"
		other  = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:other-AbCdEf"
		key    = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
		role   = "arn:aws:iam::111122223333:role/reader"
		bus    = "arn:aws:events:eu-west-1:111122223333:event-bus/central"
		member = "arn:aws:iam::444455556666:role/forward"
	)
	fnPolicy := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"Service": "secretsmanager.amazonaws.com"}, "Action": "lambda:InvokeFunction", "Resource": fn,
		"Condition": map[string]any{"ArnLike": map[string]any{"AWS:SourceArn": secret}, "StringEquals": map[string]any{"AWS:SourceAccount": acct}},
	}}}
	viaSM := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key,
		"Condition": map[string]any{"StringEquals": map[string]any{"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}},
	}}}
	keyPolicy := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::" + acct + ":root"}, "Action": "kms:*", "Resource": "*",
	}}}
	denyOthers := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Deny", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
		"Condition": map[string]any{"ArnNotLike": map[string]any{"aws:PrincipalArn": []any{"arn:aws:iam::111122223333:role/api"}}},
	}}}
	putOnBus := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Action": "events:PutEvents", "Resource": bus,
	}}}
	busPolicy := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"AWS": "*"}, "Action": "events:PutEvents", "Resource": bus,
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
	}}}
	trust := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole",
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": "444455556666"}},
	}}}
	inOrg := map[string]any{"aws:PrincipalArn": member, "aws:PrincipalAccount": "444455556666", "aws:PrincipalOrgID": "o-a1b2c3d4e5"}
	tests := []struct {
		name string
		req  Request
		want Decision
	}{
		{"rotation of its secret", Request{Principal: "secretsmanager.amazonaws.com", Action: "lambda:InvokeFunction", Resource: fn, ResourcePolicy: fnPolicy,
			Context: map[string]any{"aws:SourceArn": secret, "aws:SourceAccount": acct}}, Allowed},
		{"rotation of another secret", Request{Principal: "secretsmanager.amazonaws.com", Action: "lambda:InvokeFunction", Resource: fn, ResourcePolicy: fnPolicy,
			Context: map[string]any{"aws:SourceArn": other, "aws:SourceAccount": acct}}, "ImplicitlyDenied"},
		{"decrypt through Secrets Manager", Request{Principal: role, Action: "kms:Decrypt", Resource: key, ResourcePolicy: keyPolicy,
			IdentityPolicies: []map[string]any{viaSM}, Context: map[string]any{"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}}, Allowed},
		{"decrypt directly", Request{Principal: role, Action: "kms:Decrypt", Resource: key, ResourcePolicy: keyPolicy,
			IdentityPolicies: []map[string]any{viaSM}, Context: map[string]any{}}, "ImplicitlyDenied"},
		{"read by a principal the secret's policy does not name", Request{Principal: role, Action: "secretsmanager:GetSecretValue", Resource: secret, ResourcePolicy: denyOthers,
			IdentityPolicies: []map[string]any{allowAll}, Context: map[string]any{"aws:PrincipalArn": role}}, "ExplicitlyDenied"},
		{"a member of the organization puts on the central bus", Request{Principal: member, Action: "events:PutEvents", Resource: bus, ResourcePolicy: busPolicy,
			IdentityPolicies: []map[string]any{putOnBus}, Context: inOrg}, Allowed},
		{"across accounts the identity policy alone is not enough", Request{Principal: member, Action: "events:PutEvents", Resource: bus,
			IdentityPolicies: []map[string]any{putOnBus}, Context: inOrg}, "ImplicitlyDenied"},
		{"across accounts the bus policy alone is not enough", Request{Principal: member, Action: "events:PutEvents", Resource: bus, ResourcePolicy: busPolicy,
			Context: inOrg}, "ImplicitlyDenied"},
		{"a principal of another organization", Request{Principal: member, Action: "events:PutEvents", Resource: bus, ResourcePolicy: busPolicy,
			IdentityPolicies: []map[string]any{putOnBus}, Context: map[string]any{"aws:PrincipalArn": member, "aws:PrincipalOrgID": "o-zzzzzzzzzz"}}, "ImplicitlyDenied"},
		{"EventBridge of the role's account assumes it", Request{Principal: "events.amazonaws.com", Action: "sts:AssumeRole", Resource: member, ResourcePolicy: trust,
			Context: map[string]any{"aws:SourceAccount": "444455556666"}}, Allowed},
		{"EventBridge of another account", Request{Principal: "events.amazonaws.com", Action: "sts:AssumeRole", Resource: member, ResourcePolicy: trust,
			Context: map[string]any{"aws:SourceAccount": "999988887777"}}, "ImplicitlyDenied"},
	}
	var reqs []Request
	for _, tc := range tests {
		tc.req.AccountID = resourceAccount(tc.req.Resource, acct)
		reqs = append(reqs, tc.req)
	}
	got, err := Evaluator{Dir: "evaluator"}.Evaluate(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got[i] != tc.want {
				t.Errorf("got %s, want %s", got[i], tc.want)
			}
		})
	}
}
