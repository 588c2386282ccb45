package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
)

// ruleIAMGrant is RA-11: IAM grants of the watched secrets and keys.
func ruleIAMGrant() *Rule {
	return &Rule{
		ID: "RA-11", Name: "IAM change granting read of a watched secret or decrypt with its key",
		Rationale: "The allow-list of RA-01 is only as good as IAM: an inline policy, a customer-managed " +
			"policy created and attached, a new policy version, a broad AWS policy, or a changed trust policy " +
			"of any role that was granted the secret (or of any role, when it opens to another account) can " +
			"quietly add a reader. Grants made by the deployment to the allowed roles are routine; anything " +
			"else is reported.",
		calls: on(srcIAM, "PutRolePolicy", "PutUserPolicy", "PutGroupPolicy", "CreatePolicy", "CreatePolicyVersion", "AttachRolePolicy",
			"AttachUserPolicy", "AttachGroupPolicy", "UpdateAssumeRolePolicy", "SetDefaultPolicyVersion"),
		eval: evalIAMGrant,
	}
}

type iamParams struct {
	RoleName       string `json:"roleName"`
	UserName       string `json:"userName"`
	GroupName      string `json:"groupName"`
	PolicyName     string `json:"policyName"`
	PolicyArn      string `json:"policyArn"`
	PolicyDocument string `json:"policyDocument"`
	VersionID      string `json:"versionId"`
	Path           string `json:"path"`
}

func evalIAMGrant(ctx context.Context, e *Engine, ev *event) error {
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
	ttl := rec.Time.Add(e.cfg.BaselineTTL.Duration)
	// grant rates a grant of the secret or the key at sev, or says it is not reported: a
	// deployer granting a role of the deployment is expected, any other grant by a deployer
	// is Medium. A role that has been granted (by anyone) is remembered: a later change of
	// its trust policy hands that grant to whoever it now trusts.
	grant := func(sev Severity) (Severity, bool, error) {
		if p.RoleName != "" {
			if _, _, err := e.store.Swap(ctx, "grantee|"+p.RoleName, rec.EventName, rec.Time, ttl); err != nil {
				return 0, false, err
			}
		}
		if p.UserName != "" { // new credentials for this user reach the secret (RA-14, RA-15)
			if _, _, err := e.store.Swap(ctx, granteeUserKey(p.UserName), rec.EventName, rec.Time, ttl); err != nil {
				return 0, false, err
			}
		}
		switch {
		case deployer && allowedTarget:
			return 0, false, nil
		case deployer:
			return Medium, true, nil
		}
		return sev, true, nil
	}
	sev, why := Severity(0), ""
	switch rec.EventName {
	case "CreatePolicy":
		// Not a grant yet: remember a customer-managed policy that grants the secret or
		// key, so that attaching it is judged like an inline grant.
		pol, ok := parsePolicy(p.PolicyDocument)
		if !ok {
			return nil
		}
		if what, grants := e.cfg.grants(pol); grants {
			arn := createdPolicyARN(rec, &p)
			if _, _, err := e.store.Swap(ctx, "grantpol|"+arn, what, rec.Time, ttl); err != nil {
				return err
			}
		}
		return nil
	case "PutRolePolicy", "PutUserPolicy", "PutGroupPolicy", "CreatePolicyVersion":
		pol, ok := parsePolicy(p.PolicyDocument)
		if !ok {
			return nil
		}
		what, grants := e.cfg.grants(pol)
		if !grants {
			return nil
		}
		if rec.EventName == "CreatePolicyVersion" {
			if _, _, err := e.store.Swap(ctx, "grantpol|"+p.PolicyArn, what, rec.Time, ttl); err != nil {
				return err
			}
		}
		var report bool
		var err error
		if sev, report, err = grant(High); err != nil || !report {
			return err
		}
		why = "the policy allows " + what
	case "AttachRolePolicy", "AttachUserPolicy", "AttachGroupPolicy":
		name := p.PolicyArn[strings.LastIndexByte(p.PolicyArn, '/')+1:]
		custom, found, err := e.store.Get(ctx, "grantpol|"+p.PolicyArn, rec.Time)
		if err != nil {
			return err
		}
		switch {
		case slices.Contains(broadPolicies, name):
			sev, why = High, "the managed policy "+name+" lets it read every secret and decrypt with any key"
		case found:
			sev, why = High, "the customer-managed policy "+name+" allows "+custom
		default:
			return nil
		}
		var report bool
		if sev, report, err = grant(sev); err != nil || !report {
			return err
		}
	case "UpdateAssumeRolePolicy":
		known := allowedTarget
		if !known {
			_, found, err := e.store.Get(ctx, "grantee|"+p.RoleName, rec.Time)
			if err != nil {
				return err
			}
			known = found
		}
		pol, ok := parsePolicy(p.PolicyDocument)
		if ok {
			if who, open := e.cfg.opensOutside(pol, rec.RecipientAccountID); open {
				// Any role opened to an outside account is a backdoor, whatever it can do
				// today: the auditor does not see every grant it holds.
				sev, why = High, "the role can now be assumed by "+who
				if known {
					sev, why = Critical, "the role that can read the secret or decrypt with its key can now be assumed by "+who
				}
				break
			}
		}
		if deployer || !known {
			return nil
		}
		sev, why = High, "the trust policy of a role that can read the secret was changed"
	case "SetDefaultPolicyVersion":
		if deployer {
			return nil
		}
		sev, why = Low, "the active version of a managed policy was switched (its content is not in the event)"
	default:
		return nil
	}
	ev.add(hit{
		severity: sev, dedup: target + "|" + rec.EventName + "|" + p.PolicyName,
		title:     fmt.Sprintf("%s on %s by %s", rec.EventName, target, ev.principal),
		desc:      fmt.Sprintf("%s called %s on %s: %s.", ev.principal, rec.EventName, target, why),
		resources: []Resource{{UID: target, Type: "AWS::IAM::Policy"}},
	})
	return nil
}

// createdPolicyARN is the ARN of the policy a CreatePolicy call made: from the response
// when the trail has it, else built from the account, path and name.
func createdPolicyARN(rec *cloudtrail.Record, p *iamParams) string {
	var resp struct {
		Policy struct {
			ARN string `json:"arn"`
		} `json:"policy"`
	}
	if len(rec.ResponseElements) > 0 && json.Unmarshal(rec.ResponseElements, &resp) == nil && resp.Policy.ARN != "" {
		return resp.Policy.ARN
	}
	path := firstNonEmpty(p.Path, "/")
	return "arn:aws:iam::" + firstNonEmpty(rec.RecipientAccountID, rec.UserIdentity.AccountID) + ":policy" + path + p.PolicyName
}
