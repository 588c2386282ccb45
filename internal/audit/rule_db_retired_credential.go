package audit

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/rotaudit/rotaudit/internal/audit/pglog"
)

// ruleDBRetiredCredential is DB-01: a password that rotation retired, tried.
func ruleDBRetiredCredential() *Rule {
	return &Rule{
		ID: "DB-01", Name: "Login attempt with a credential that rotation retired",
		Rationale: "After a rotation the old password no longer works, so a failed password login for a " +
			"watched user, from somewhere that is not one of the API's tasks, is most likely someone trying the " +
			"password they copied before the rotation: a stolen credential, caught the first time it is used.",
		dbEval: evalDBRetiredCredential,
	}
}

func evalDBRetiredCredential(ctx context.Context, e *Engine, ev *event, l *pglog.Login) error {
	d := &e.cfg.DBLogins
	if l.Kind != pglog.Failed || !slices.Contains(d.Users, l.User) && !slices.Contains(d.AdminUsers, l.User) || len(d.networks) > 0 && d.fromClient(l.Host) {
		return nil
	}
	h, err := e.rotations(ctx, l.Time)
	if err != nil || h.Succeeded == 0 || h.Succeeded > l.Time.Unix() {
		return err
	}
	rotated := time.Unix(h.Succeeded, 0).UTC()
	ev.add(hit{
		severity: High, dedup: l.User + "|" + l.Host,
		title:     fmt.Sprintf("%s tried a retired password from %s", l.User, l.Host),
		desc:      fmt.Sprintf("A password login as %s from %s failed at %s, after the rotation of %s (%s): someone is using a password that rotation retired, most likely copied before it.", l.User, l.Host, l.Time.UTC().Format(time.RFC3339), rotated.Format(time.RFC3339), l.Reason),
		resources: dbResource(l),
	})
	return nil
}
