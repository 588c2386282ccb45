package audit

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// RA-11 and RA-12: IAM grants and persistence, and the root user.

type iamParams struct {
	RoleName       string `json:"roleName"`
	UserName       string `json:"userName"`
	GroupName      string `json:"groupName"`
	PolicyName     string `json:"policyName"`
	PolicyArn      string `json:"policyArn"`
	PolicyDocument string `json:"policyDocument"`
	VersionID      string `json:"versionId"`
}

// broadPolicies are AWS managed policies that read every secret or decrypt with any key.
var broadPolicies = []string{"AdministratorAccess", "PowerUserAccess", "SecretsManagerReadWrite", "IAMFullAccess"}

func ruleIAM(_ context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	if rec.Failed() {
		return nil
	}
	var p iamParams
	if !rec.Params(&p) {
		return nil
	}
	target := firstNonEmpty(p.RoleName, p.UserName, p.GroupName, p.PolicyArn)
	deployer := e.cfg.isDeployer(ev.norm)
	allowedTarget := p.RoleName != "" && e.cfg.allowedRoleName(p.RoleName)
	sev, why := Severity(0), ""
	switch rec.EventName {
	case "PutRolePolicy", "PutUserPolicy", "PutGroupPolicy", "CreatePolicyVersion":
		pol, ok := parsePolicy(p.PolicyDocument)
		if !ok {
			return nil
		}
		what, grants := e.cfg.grants(pol)
		if !grants {
			return nil
		}
		switch {
		case deployer && allowedTarget:
			return nil
		case deployer:
			sev = Medium
		default:
			sev = High
		}
		why = "the policy allows " + what
	case "AttachRolePolicy", "AttachUserPolicy", "AttachGroupPolicy":
		name := p.PolicyArn[strings.LastIndexByte(p.PolicyArn, '/')+1:]
		if !slices.Contains(broadPolicies, name) || deployer && allowedTarget {
			return nil
		}
		sev, why = High, "the managed policy "+name+" lets it read every secret and decrypt with any key"
	case "UpdateAssumeRolePolicy":
		if !allowedTarget {
			return nil
		}
		pol, ok := parsePolicy(p.PolicyDocument)
		if ok {
			if who, open := e.cfg.opensOutside(pol, rec.RecipientAccountID); open {
				sev, why = Critical, "the role that reads the secret can now be assumed by "+who
				break
			}
		}
		if deployer {
			return nil
		}
		sev, why = High, "the trust policy of a role that reads the secret was changed"
	case "SetDefaultPolicyVersion":
		if deployer {
			return nil
		}
		sev, why = Low, "the active version of a managed policy was switched (its content is not in the event)"
	default:
		return nil
	}
	ev.add(hit{
		rule: e.rule("RA-11"), severity: sev, dedup: target + "|" + rec.EventName + "|" + p.PolicyName,
		title:     fmt.Sprintf("%s on %s by %s", rec.EventName, target, ev.principal),
		desc:      fmt.Sprintf("%s called %s on %s: %s.", ev.principal, rec.EventName, target, why),
		resources: []Resource{{UID: target, Type: "AWS::IAM::Policy"}},
	})
	return nil
}

// allowedRoleName reports whether name is the name of a reader or rotator role.
func (c *Config) allowedRoleName(name string) bool {
	for _, set := range []map[string]bool{c.readers, c.rotators} {
		for arn := range set {
			if strings.HasSuffix(arn, ":role/"+name) {
				return true
			}
		}
	}
	return false
}

// --- RA-12 ---

func ruleRoot(_ context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	if rec.UserIdentity.Type != "Root" || rec.UserIdentity.InvokedBy != "" || rec.EventType == "AwsServiceEvent" {
		return nil
	}
	sev := High
	if rec.Failed() || strings.Contains(string(rec.ResponseElements), `"Failure"`) {
		sev = Medium
	}
	ev.add(hit{
		rule: e.rule("RA-12"), severity: sev, dedup: rec.EventName,
		title:     fmt.Sprintf("root account %s from %s", rec.EventName, rec.SourceIPAddress),
		desc:      fmt.Sprintf("The root user of account %s called %s (%s) from %s with %q.", rec.RecipientAccountID, rec.EventName, rec.EventSource, rec.SourceIPAddress, rec.UserAgent),
		resources: []Resource{{UID: firstNonEmpty(rec.RecipientAccountID, rec.UserIdentity.AccountID), Type: "AWS::Account"}},
	})
	return nil
}

// rule finds a rule by id.
func (e *Engine) rule(id string) *Rule { return e.byID[id] }
