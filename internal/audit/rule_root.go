package audit

import (
	"context"
	"fmt"
	"strings"
)

// ruleRoot is RA-12: the root user.
func ruleRoot() *Rule {
	return &Rule{
		ID: "RA-12", Name: "Root account activity",
		Rationale: "The root user bypasses every IAM policy this project relies on and should be used " +
			"for almost nothing; any call or sign-in with it deserves a look, also one a service makes with " +
			"the root's credentials (invokedBy), but not the housekeeping services log as root without them.",
		root: true,
		eval: evalRoot,
	}
}

func evalRoot(_ context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	if rec.UserIdentity.Type != "Root" || rec.EventType == "AwsServiceEvent" {
		return nil
	}
	sev := High
	if rec.Failed() || strings.Contains(string(rec.ResponseElements), `"Failure"`) {
		sev = Medium
	}
	via := ""
	if u := rec.UserIdentity; u.InvokedBy != "" {
		// Services write as "Root" for their own housekeeping (CloudTrail delivering log
		// files): no ARN, no access key. A service acting with the root user's credentials
		// (the console's calls, a stack run as root) carries them, and is the root at work.
		if u.ARN == "" && u.AccessKeyID == "" {
			return nil
		}
		sev, via = Medium, " through "+u.InvokedBy
	}
	ev.add(hit{
		severity: sev, dedup: rec.EventName,
		title:     fmt.Sprintf("root account %s from %s%s", rec.EventName, rec.SourceIPAddress, via),
		desc:      fmt.Sprintf("The root user of account %s called %s (%s) from %s with %q%s.", rec.RecipientAccountID, rec.EventName, rec.EventSource, rec.SourceIPAddress, rec.UserAgent, via),
		resources: []Resource{{UID: firstNonEmpty(rec.RecipientAccountID, rec.UserIdentity.AccountID), Type: "AWS::Account"}},
	})
	return nil
}
