package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// ruleTrailRedirected is RA-19: where a trail sends its notifications, its encryption
// and its CloudWatch Logs copy.
func ruleTrailRedirected() *Rule {
	return &Rule{
		ID: "RA-19", Name: "Trail's SNS topic, KMS key or CloudWatch Logs redirected",
		Rationale: "Besides its bucket, a trail sends a notification of each log file to an SNS topic, encrypts " +
			"the files with a KMS key and copies the events to a CloudWatch Logs group where alarms and the " +
			"auditor's own subscriptions read them. Pointing any of these elsewhere hides the logs or hands them " +
			"out: a key of another account makes the files unreadable here and readable there, a log group or " +
			"topic of another account receives every event. Each setting is learnt from CreateTrail and " +
			"UpdateTrail; a destination in another account is High, a change within the account Medium, " +
			"turning encryption or the log copy off Medium, and the deployment's changes through Terraform " +
			"within the account are routine.",
		calls: on(srcTrail, "CreateTrail", "UpdateTrail"),
		eval:  evalTrailRedirected,
	}
}

// trailDestinations is what RA-19 remembers of a trail.
type trailDestinations struct {
	SNS string `json:"sns,omitempty"`
	KMS string `json:"kms,omitempty"`
	CWL string `json:"cwl,omitempty"`
}

func evalTrailRedirected(ctx context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	var p struct {
		Name string  `json:"name"`
		SNS  *string `json:"snsTopicName"`
		KMS  *string `json:"kmsKeyId"`
		CWL  *string `json:"cloudWatchLogsLogGroupArn"`
	}
	if !rec.Params(&p) {
		return nil
	}
	trail := trailName(p.Name)
	if trail == "" || !e.cfg.watchedTrail(trail) {
		return nil
	}
	key := "traildest|" + ownAccount(rec) + "|" + trail
	var old trailDestinations
	prev, known, err := e.store.Get(ctx, key, rec.Time)
	if err != nil {
		return err
	}
	if known {
		json.Unmarshal([]byte(prev), &old)
	}
	now := old
	var why []string
	sev := Severity(0)
	raise := func(s Severity, r string) {
		why = append(why, r)
		sev = max(sev, s)
	}
	routine := e.routineDeploy(ev)
	for _, d := range []struct {
		v    *string
		have *string
		what string
		off  string
	}{
		{p.SNS, &now.SNS, "notification topic", ""},
		{p.KMS, &now.KMS, "encryption key", "log file encryption with a KMS key turned off"},
		{p.CWL, &now.CWL, "CloudWatch Logs group", "the copy of events to CloudWatch Logs turned off (alarms and subscriptions on it go quiet)"},
	} {
		if d.v == nil || *d.v == *d.have {
			continue
		}
		was := *d.have
		*d.have = *d.v
		switch acct := e.cfg.outsideAccount(rec, *d.v); {
		case acct != "":
			raise(High, fmt.Sprintf("%s set to %s, in account %s", d.what, *d.v, acct))
		case *d.v == "" && d.off != "" && was != "":
			if !routine {
				raise(Medium, d.off)
			}
		case was != "" && *d.v != "" && !routine:
			raise(Medium, fmt.Sprintf("%s moved from %s to %s", d.what, was, *d.v))
		}
	}
	if !rec.Failed() {
		b, _ := json.Marshal(now)
		if _, _, err := e.store.Swap(ctx, key, string(b), rec.Time, rec.Time.Add(e.cfg.BaselineTTL.Duration)); err != nil {
			return err
		}
	}
	if sev == 0 {
		return nil
	}
	done := strings.Join(why, "; ")
	ev.add(hit{
		severity: e.failedSeverity(ev, sev), dedup: trail + "|" + digest([]byte(done)),
		title:     fmt.Sprintf("%s redirected trail %s%s", ev.principal, trail, attempt(ev)),
		desc:      fmt.Sprintf("%s called %s on trail %s: %s.%s", ev.principal, rec.EventName, trail, done, attempt(ev)),
		resources: []Resource{{UID: trail, Name: trail, Type: "AWS::CloudTrail::Trail"}},
	})
	return nil
}
