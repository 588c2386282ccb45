package awscheck

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// rewrite replaces old with new in every string of a policy document (account ids, ARNs,
// the organization id), on a copy.
func rewrite(t *testing.T, doc map[string]any, old, new string) map[string]any {
	t.Helper()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%q is not in the policy %s", old, b)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(b), old, new)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// The org state's parts the mutations change: the central bus, the two members (the one in
// the organization, the one the bus lists) and their forwarding roles, a central rule.
type orgParts struct {
	bus, orgMember, listedMember string
	orgRole, listedRole          *Principal
	centralRule                  *Rule
}

func orgOf(t *testing.T, e *Env) orgParts {
	t.Helper()
	o, err := findOrg(e)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func findOrg(e *Env) (orgParts, error) {
	var o orgParts
	if e.Org == nil || len(e.BusPolicies) != 1 {
		return o, fmt.Errorf("%s: no organization or not one central bus", e.Name)
	}
	for bus := range e.BusPolicies {
		o.bus = bus
	}
	for _, ru := range e.Rules {
		for _, tg := range ru.Targets {
			switch acct := arnAccount(ru.ARN); {
			case tg.RoleARN == "" && acct == e.Org.Central:
				o.centralRule = ru
			case contains(e.Org.Accounts, acct):
				o.orgMember, o.orgRole = acct, e.Principals[tg.RoleARN]
			case tg.RoleARN != "":
				o.listedMember, o.listedRole = acct, e.Principals[tg.RoleARN]
			}
		}
	}
	if o.orgRole == nil || o.listedRole == nil || o.centralRule == nil {
		return o, fmt.Errorf("%s: want a member in the organization, a listed member and a central rule: %+v", e.Name, o)
	}
	return o, nil
}

// Issue 21: the organization path (internal/awscheck/tf/org) broken one way at a time.
var orgMutations = []mutation{
	{
		name: "central bus policy admitting another organization", env: "org",
		apply: func(t *testing.T, e *Env) {
			o := orgOf(t, e)
			e.BusPolicies[o.bus] = rewrite(t, e.BusPolicies[o.bus], e.Org.ID, "o-awscheckother1")
		},
		want: func(e *Env) []string {
			return []string{"of " + orgOfEnv(e).orgMember + ")", "events:PutEvents", orgOfEnv(e).bus, "DENIED", "the resource's policy does not allow it"}
		},
	},
	{
		name: "central bus policy listing another account", env: "org",
		apply: func(t *testing.T, e *Env) {
			o := orgOf(t, e)
			e.BusPolicies[o.bus] = rewrite(t, e.BusPolicies[o.bus], ":"+o.listedMember+":", ":111100002222:")
		},
		want: func(e *Env) []string {
			return []string{"of " + orgOfEnv(e).listedMember + ")", "events:PutEvents", orgOfEnv(e).bus, "DENIED", "the resource's policy does not allow it"}
		},
	},
	{
		name: "forwarding role's policy naming another bus", env: "org",
		apply: func(t *testing.T, e *Env) {
			o := orgOf(t, e)
			for i, doc := range o.orgRole.Policies {
				o.orgRole.Policies[i] = rewrite(t, doc, o.bus, o.bus+"-other")
			}
		},
		want: func(e *Env) []string {
			return []string{orgOfEnv(e).orgRole.ARN, "events:PutEvents", orgOfEnv(e).bus, "DENIED", "its role's policies do not allow it"}
		},
	},
	{
		name: "forwarding role's trust without aws:SourceAccount", env: "org",
		apply: func(t *testing.T, e *Env) {
			o := orgOf(t, e)
			o.orgRole.Trust = deepCopy(o.orgRole.Trust)
			for _, st := range statements(o.orgRole.Trust) {
				delete(st, "Condition")
			}
		},
		want: func(e *Env) []string {
			return []string{"another account", "sts:AssumeRole", orgOfEnv(e).orgRole.ARN, "ALLOWED, and AWS must refuse it"}
		},
	},
	{
		name: "forwarding role's trust for another service", env: "org",
		apply: func(t *testing.T, e *Env) {
			o := orgOf(t, e)
			o.listedRole.Trust = rewrite(t, o.listedRole.Trust, "events.amazonaws.com", "lambda.amazonaws.com")
		},
		want: func(e *Env) []string {
			return []string{"of " + orgOfEnv(e).listedMember + ")", "sts:AssumeRole", orgOfEnv(e).listedRole.ARN, "DENIED"}
		},
	},
	{
		name: "auditor permission's source ARN naming another rule", env: "org",
		apply: func(t *testing.T, e *Env) {
			o := orgOf(t, e)
			f := e.function(o.centralRule.Targets[0].ARN)
			f.Policy = rewrite(t, f.Policy, o.centralRule.ARN+`"`, o.centralRule.ARN+`-other"`)
		},
		want: func(e *Env) []string {
			ru := orgOfEnv(e).centralRule
			return []string{"rule " + ru.Name + " of", "lambda:InvokeFunction", ru.Targets[0].ARN, "DENIED", "the resource's policy does not allow it"}
		},
	},
}

// orgOfEnv is orgOf for the want functions, which have no *testing.T (apply has checked
// the state already).
func orgOfEnv(e *Env) orgParts {
	o, _ := findOrg(e)
	return o
}
