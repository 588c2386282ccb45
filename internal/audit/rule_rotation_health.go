package audit

import (
	"context"
	"fmt"
)

// RotationHealthRuleID is RA-06's id, the rule whose open findings `rotaudit fleet` reads.
const RotationHealthRuleID = "RA-06"

// ruleRotationHealth is RA-06: failed rotations, and the history the DB-xx rules read.
func ruleRotationHealth() *Rule {
	return &Rule{
		ID: RotationHealthRuleID, Name: "Rotation failed or abandoned",
		Rationale: "A failed rotation leaves the old password in use past its lifetime and can leave " +
			"AWSPENDING behind, blocking the next rotation. Secrets Manager reports it only as a service " +
			"event, which nobody reads unless something alerts on it.",
		// Every Rotation* service event: the failures alert, and the starts and
		// successes are the rotation history the DB-xx rules correlate logins with.
		calls: on(srcSecrets, "Rotation*"),
		eval:  evalRotationHealth,
	}
}

func evalRotationHealth(ctx context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	var add struct {
		SecretID string `json:"SecretId"`
	}
	rec.Additional(&add)
	id := add.SecretID
	if id == "" {
		if ids := secretIDs(rec, ev.secret()); len(ids) > 0 {
			id = ids[0]
		}
	}
	name, watched := e.cfg.watched(ownAccount(ev.rec), id)
	if watched && e.cfg.DBLogins.enabled() {
		if err := e.noteRotation(ctx, rec); err != nil {
			return err
		}
	}
	if rec.EventName != "RotationFailed" && rec.EventName != "RotationAbandoned" {
		return nil
	}
	sev := High
	if !watched {
		sev = Low
	}
	if name == "" {
		name = "(secret not named in the event)"
	}
	ev.add(hit{
		severity: sev, dedup: name + "|" + rec.EventName,
		title: fmt.Sprintf("%s for %s", rec.EventName, name),
		desc: fmt.Sprintf("Secrets Manager reported %s for %s: %s. The previous password stays current; check the rotator's logs and remove a stale AWSPENDING before the next attempt.",
			rec.EventName, name, firstNonEmpty(rec.ErrorMessage, "no message")),
		resources: []Resource{secretResource(name)},
	})
	return nil
}
