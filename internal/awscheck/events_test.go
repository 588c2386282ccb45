package awscheck

import (
	"fmt"
	"strings"
	"testing"
)

// TestEventCalls: the calls EventBridge makes for a member's forwarding rule and a central
// rule, with the context AWS sets, read from a state of three accounts shaped as
// internal/awscheck/tf/org applies it. No evaluator: what is asked, not what is answered.
func TestEventCalls(t *testing.T) {
	const (
		central, member, listed = "111111111111", "222222222222", "333333333333"
		bus                     = "arn:aws:events:eu-west-1:" + central + ":event-bus/audit"
		fn                      = "arn:aws:lambda:eu-west-1:" + central + ":function:auditor"
		centralRule             = "arn:aws:events:eu-west-1:" + central + ":rule/audit/to-auditor"
	)
	res := func(typ string, v map[string]any) Resource {
		return Resource{Address: typ + ".x", Type: typ, Values: v}
	}
	var rs []Resource
	for _, acct := range []string{member, listed} {
		role := "arn:aws:iam::" + acct + ":role/forward-" + acct
		rs = append(rs,
			res("aws_iam_role", map[string]any{"arn": role, "name": "forward-" + acct,
				"assume_role_policy": `{"Statement":[{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sts:AssumeRole"}]}`}),
			res("aws_iam_role_policy", map[string]any{"role": "forward-" + acct,
				"policy": `{"Statement":[{"Effect":"Allow","Action":"events:PutEvents","Resource":"` + bus + `"}]}`}),
			res("aws_cloudwatch_event_rule", map[string]any{"arn": "arn:aws:events:eu-west-1:" + acct + ":rule/fwd-" + acct, "name": "fwd-" + acct, "event_bus_name": "default"}),
			res("aws_cloudwatch_event_target", map[string]any{"rule": "fwd-" + acct, "event_bus_name": "default", "arn": bus, "role_arn": role}))
	}
	rs = append(rs,
		res("aws_cloudwatch_event_bus", map[string]any{"arn": bus, "name": "audit"}),
		res("aws_cloudwatch_event_bus_policy", map[string]any{"event_bus_name": "audit", "policy": `{"Statement":[]}`}),
		res("aws_cloudwatch_event_rule", map[string]any{"arn": centralRule, "name": "to-auditor", "event_bus_name": "audit"}),
		res("aws_cloudwatch_event_target", map[string]any{"rule": "to-auditor", "event_bus_name": "audit", "arn": fn}),
		res("aws_lambda_function", map[string]any{"arn": fn, "function_name": "auditor", "role": "arn:aws:iam::" + central + ":role/auditor"}),
		res("aws_lambda_permission", map[string]any{"function_name": fn, "statement_id": "s", "action": "lambda:InvokeFunction",
			"principal": "events.amazonaws.com", "source_arn": centralRule}),
		res("terraform_data", map[string]any{"input": map[string]any{"id": "o-a1b2c3d4e5", "central": central, "accounts": []any{central, member}}}))
	rs[len(rs)-1].Address = "terraform_data.awscheck_organization"

	e, err := NewEnv("org", rs)
	if err != nil {
		t.Fatal(err)
	}
	if e.Account != central || e.Region != "eu-west-1" {
		t.Errorf("account %s, region %s: want the central account's and its functions' region", e.Account, e.Region)
	}
	got := map[string]Call{}
	for _, c := range e.eventCalls() {
		got[fmt.Sprintf("%s %s %s refused=%t", c.Principal, c.Action, c.Resource, c.Refused != "")+" "+fmt.Sprint(c.Context["aws:SourceAccount"])] = c
	}
	ctxOf := func(key string) map[string]any {
		t.Helper()
		c, ok := got[key]
		if !ok {
			var keys []string
			for k := range got {
				keys = append(keys, k)
			}
			t.Fatalf("no call %q; calls:\n%s", key, strings.Join(keys, "\n"))
		}
		return c.Context
	}
	for _, acct := range []string{member, listed} {
		role := "arn:aws:iam::" + acct + ":role/forward-" + acct
		ctx := ctxOf("events.amazonaws.com sts:AssumeRole " + role + " refused=false " + acct)
		if ctx["aws:SourceArn"] != "arn:aws:events:eu-west-1:"+acct+":rule/fwd-"+acct {
			t.Errorf("AssumeRole of %s: source ARN %v, want its rule", acct, ctx["aws:SourceArn"])
		}
		ctxOf("events.amazonaws.com sts:AssumeRole " + role + " refused=true " + foreignAccount)
		var put *Call
		for _, c := range e.eventCalls() {
			if c.Principal == role && c.Action == "events:PutEvents" {
				put = &c
			}
		}
		if put == nil || put.Resource != bus || len(put.Identity) != 1 || put.ResourcePolicy == nil {
			t.Fatalf("PutEvents of %s: %+v, want the role's policy and the bus's", acct, put)
		}
		// Only the member in the organization carries its id.
		if org, in := put.Context["aws:PrincipalOrgID"]; (acct == member) != in || (in && org != "o-a1b2c3d4e5") {
			t.Errorf("PutEvents of %s: aws:PrincipalOrgID %v", acct, org)
		}
	}
	ctx := ctxOf("events.amazonaws.com lambda:InvokeFunction " + fn + " refused=false " + central)
	if ctx["aws:SourceArn"] != centralRule {
		t.Errorf("invoke: source ARN %v, want the central rule", ctx["aws:SourceArn"])
	}
	ctxOf("events.amazonaws.com lambda:InvokeFunction " + fn + " refused=true " + foreignAccount)
}
