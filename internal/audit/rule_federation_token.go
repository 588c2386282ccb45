package audit

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// ruleFederationToken is RA-15: federation tokens, credentials that outlive the key.
func ruleFederationToken() *Rule {
	return &Rule{
		ID: "RA-15", Name: "Federation token made by an IAM user",
		Rationale: "GetFederationToken turns a user's access key into temporary credentials that stay valid for " +
			"up to 36 hours after the key is deactivated or deleted, so revoking the stolen key does not end the " +
			"intrusion. Nothing in this deployment uses federation tokens. It is High when the session policy lets " +
			"the token read a watched secret or decrypt with its key and the user can reach them, Medium when the " +
			"session policy grants them but the audit does not know the user's own grants, Low otherwise.",
		calls: on(srcSTS, "GetFederationToken"),
		eval:  evalFederationToken,
	}
}

func evalFederationToken(ctx context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	var p struct {
		Name       string `json:"name"`
		Policy     string `json:"policy"`
		PolicyArns []struct {
			ARN string `json:"arn"`
		} `json:"policyArns"`
	}
	rec.Params(&p)
	grants, what := false, ""
	if pol, ok := parsePolicy(p.Policy); ok {
		what, grants = e.cfg.grants(pol)
	}
	for _, a := range p.PolicyArns {
		if slices.Contains(broadPolicies, a.ARN[strings.LastIndexByte(a.ARN, '/')+1:]) {
			grants, what = true, "the managed policy "+a.ARN
		}
	}
	reach, err := e.userReaches(ctx, rec.UserIdentity.UserName, rec.Time)
	if err != nil {
		return err
	}
	sev, why := Low, "its session policy grants none of the watched secrets or keys"
	switch {
	case grants && reach:
		sev, why = High, "the user can reach the watched secrets and the session policy allows "+what
	case grants:
		sev, why = Medium, "the session policy allows "+what
	}
	ev.add(hit{
		severity: e.failedSeverity(ev, sev), dedup: p.Name,
		title: fmt.Sprintf("federation token %q made by %s%s", p.Name, ev.principal, attempt(ev)),
		desc: fmt.Sprintf("%s called GetFederationToken (federated user %q) from %s with %q: %s. The token outlives the access key that made it.%s",
			ev.principal, p.Name, rec.SourceIPAddress, rec.UserAgent, why, attempt(ev)),
		resources: []Resource{{UID: ev.principal, Type: "AWS::IAM::User"}},
	})
	return nil
}
