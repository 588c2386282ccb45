package awscheck

import (
	"fmt"
	"sort"
	"strings"
)

// Rule is an EventBridge rule with its targets, as EventBridge delivers to them.
type Rule struct {
	ARN, Name, Bus string // Bus: the bus's name ("default" for the account's default bus)
	Targets        []RuleTarget
}

// RuleTarget is one target of a rule: a function, another bus (RoleARN the role
// EventBridge assumes to put the events there), or something the check does not evaluate.
type RuleTarget struct {
	ARN, RoleARN string
}

// Organization is what AWS Organizations would say of the accounts of a state: the
// organization's id and the accounts in it (their principals carry aws:PrincipalOrgID).
// internal/awscheck/tf/org declares it (terraform_data.awscheck_organization): the
// emulator has no organization.
type Organization struct {
	ID, Central string
	Accounts    []string
}

// foreignAccount stands for an account that is neither the deployment's nor the
// organization's: its EventBridge rules and principals must be refused.
const (
	foreignAccount = "999988887777"
	foreignOrgID   = "o-awscheckforeign"
)

// newEvents reads the rules, their targets, the buses' policies and the organization.
func (e *Env) newEvents(byType map[string][]Resource) error {
	e.BusPolicies = map[string]map[string]any{}
	busARN := map[string]string{}
	for _, r := range byType["aws_cloudwatch_event_bus"] {
		busARN[r.str("name")] = r.str("arn")
	}
	for _, r := range byType["aws_cloudwatch_event_bus_policy"] {
		p, err := parsePolicy(r.str("policy"))
		if err != nil {
			return fmt.Errorf("%s: %w", r.Address, err)
		}
		e.BusPolicies[busARN[r.str("event_bus_name")]] = p
	}
	rules := map[[2]string]*Rule{}
	for _, r := range byType["aws_cloudwatch_event_rule"] {
		ru := &Rule{ARN: r.str("arn"), Name: r.str("name"), Bus: busName(r.str("event_bus_name"))}
		rules[[2]string{ru.Bus, ru.Name}] = ru
		e.Rules = append(e.Rules, ru)
	}
	for _, r := range byType["aws_cloudwatch_event_target"] {
		if ru, ok := rules[[2]string{busName(r.str("event_bus_name")), r.str("rule")}]; ok {
			ru.Targets = append(ru.Targets, RuleTarget{ARN: r.str("arn"), RoleARN: r.str("role_arn")})
		}
	}
	sort.Slice(e.Rules, func(i, j int) bool { return e.Rules[i].ARN < e.Rules[j].ARN })
	for _, r := range byType["terraform_data"] {
		if !strings.HasSuffix(r.Address, "terraform_data.awscheck_organization") {
			continue
		}
		in, _ := r.Values["input"].(map[string]any)
		id, _ := in["id"].(string)
		central, _ := in["central"].(string)
		e.Org = &Organization{ID: id, Central: central, Accounts: toStrings(in["accounts"])}
		e.Skipped = append(e.Skipped, "the organization trail (moto cannot read a trail back)",
			"the auditor's own resources (a function of its name stands in; its calls are checked in every environment)")
	}
	return nil
}

func busName(n string) string {
	if n == "" {
		return "default"
	}
	return n
}

// eventCalls: what EventBridge does for each rule, as AWS evaluates it.
//   - A target on a bus, through a role: EventBridge assumes the role (its trust policy,
//     with the rule's aws:SourceAccount and aws:SourceArn), then the role puts the events on
//     the bus (its identity policy and, across accounts, the bus's policy too, with
//     aws:PrincipalOrgID when the role's account is in the organization).
//     https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html
//   - A target that is a function: EventBridge invokes it (the function's policy, with the
//     rule's aws:SourceArn and aws:SourceAccount).
//     https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html
//
// Each grant to EventBridge is also asked for by a rule of the same name in another
// account, and each bus policy by a principal outside the organization holding
// events:PutEvents on everything: AWS must refuse those (the confused deputy; a bus open to
// anyone).
func (e *Env) eventCalls() []Call {
	var out []Call
	for _, ru := range e.Rules {
		acct := arnAccount(ru.ARN)
		src := map[string]any{"aws:SourceAccount": acct, "aws:SourceArn": ru.ARN}
		foreign := map[string]any{"aws:SourceAccount": foreignAccount, "aws:SourceArn": strings.Replace(ru.ARN, ":"+acct+":", ":"+foreignAccount+":", 1)}
		caller := fmt.Sprintf("EventBridge (rule %s of %s)", ru.Name, acct)
		foreignCaller := fmt.Sprintf("EventBridge (rule %s of another account, %s)", ru.Name, foreignAccount)
		service := func(caller, action, res string, policy, ctx map[string]any, refused string) Call {
			return Call{Caller: caller, Action: action, Resource: res, Principal: "events.amazonaws.com",
				ResourcePolicy: policy, Context: ctx, Refused: refused, event: true}
		}
		for _, t := range ru.Targets {
			switch {
			case t.RoleARN != "":
				var trust map[string]any
				var identity []map[string]any
				if p := e.Principals[t.RoleARN]; p != nil {
					trust, identity = p.Trust, p.Policies
				}
				out = append(out,
					service(caller, "sts:AssumeRole", t.RoleARN, trust, src, ""),
					service(foreignCaller, "sts:AssumeRole", t.RoleARN, trust, foreign, "the role is for its own account's rules"))
				if strings.Contains(t.ARN, ":event-bus/") {
					out = append(out, Call{
						Caller: caller + " as " + t.RoleARN, Action: "events:PutEvents", Resource: t.ARN,
						Principal: t.RoleARN, Identity: identity, ResourcePolicy: e.BusPolicies[t.ARN],
						Context: e.orgContext(t.RoleARN), event: true,
					})
				}
			case strings.Contains(t.ARN, ":function:"):
				var policy map[string]any
				if f := e.function(t.ARN); f != nil {
					policy = f.Policy
				}
				out = append(out,
					service(caller, "lambda:InvokeFunction", t.ARN, policy, src, ""),
					service(foreignCaller, "lambda:InvokeFunction", t.ARN, policy, foreign, "the function is for the deployment's own rules"))
			}
		}
	}
	for _, bus := range sortedKeys(e.BusPolicies) {
		outsider := "arn:aws:iam::" + foreignAccount + ":role/awscheck-outsider"
		out = append(out, Call{
			Caller: "a role of an account outside the organization, with events:PutEvents on *", Action: "events:PutEvents",
			Resource: bus, Principal: outsider, Identity: []map[string]any{allowAll}, ResourcePolicy: e.BusPolicies[bus],
			Context: map[string]any{"aws:PrincipalArn": outsider, "aws:PrincipalAccount": foreignAccount, "aws:PrincipalOrgID": foreignOrgID},
			Refused: "the bus admits the organization and the listed accounts only", event: true,
		})
	}
	return out
}

// orgContext: the context AWS sets for a principal of any account of the state, with
// aws:PrincipalOrgID when its account is in the organization.
func (e *Env) orgContext(principal string) map[string]any {
	acct := arnAccount(principal)
	c := map[string]any{"aws:PrincipalArn": principal, "aws:PrincipalAccount": acct}
	if e.Org != nil && contains(e.Org.Accounts, acct) {
		c["aws:PrincipalOrgID"] = e.Org.ID
	}
	return c
}

// arnAccount: the account in an ARN, "" when it names none.
func arnAccount(arn string) string { return resourceAccount(arn, "") }
