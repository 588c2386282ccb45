package audit

import (
	"context"
	"fmt"
)

// ruleUserCredentials is RA-14: credentials made for another IAM user.
func ruleUserCredentials() *Rule {
	return &Rule{
		ID: "RA-14", Name: "Access key or console password made for another IAM user",
		Rationale: "Whoever makes an access key or a console password (login profile) for another user can act " +
			"as that user from then on, with credentials nobody rotates and the user never asked for. A user " +
			"making its own access key is routine; making one for someone else is how an intruder keeps a way in " +
			"after the first credential is revoked. It is High when the user can reach a watched secret or key " +
			"(an allowed principal, or one granted it as RA-11 saw), Medium otherwise; the deployment doing it " +
			"through Terraform is reported only for a user that reaches the secrets.",
		calls: on(srcIAM, "CreateAccessKey", "CreateLoginProfile", "UpdateLoginProfile"),
		eval:  evalUserCredentials,
	}
}

func evalUserCredentials(ctx context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	var p struct {
		UserName string `json:"userName"`
	}
	rec.Params(&p)
	self := rec.UserIdentity.Type == "IAMUser" && p.UserName == rec.UserIdentity.UserName
	if p.UserName == "" || self || isService(ev.principal) {
		return nil // no userName: the caller's own key
	}
	reach, err := e.userReaches(ctx, p.UserName, rec.Time)
	if err != nil {
		return err
	}
	sev, where := Medium, ""
	if reach {
		sev, where = High, ", a user that can reach the watched secrets,"
	}
	if e.routineDeploy(ev) {
		if !reach {
			return nil
		}
		sev = Medium
	}
	what := map[string]string{
		"CreateAccessKey":    "an access key",
		"CreateLoginProfile": "a console password",
		"UpdateLoginProfile": "a new console password",
	}[rec.EventName]
	ev.add(hit{
		severity: e.failedSeverity(ev, sev), dedup: p.UserName + "|" + rec.EventName,
		title: fmt.Sprintf("%s made %s for user %s%s", ev.principal, what, p.UserName, attempt(ev)),
		desc: fmt.Sprintf("%s called %s: user %s%s now has %s that its caller knows.%s",
			ev.principal, rec.EventName, p.UserName, where, what, attempt(ev)),
		resources: []Resource{{UID: p.UserName, Name: p.UserName, Type: "AWS::IAM::User"}},
	})
	return nil
}
