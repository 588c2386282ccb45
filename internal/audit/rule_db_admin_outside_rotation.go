package audit

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/rotaudit/rotaudit/internal/audit/pglog"
)

// ruleDBAdminOutsideRotation is DB-04: the admin user logging in outside a rotation.
func ruleDBAdminOutsideRotation() *Rule {
	return &Rule{
		ID: "DB-04", Name: "Admin user logging in outside a rotation or bootstrap window",
		Rationale: "The master or admin login exists for the rotator (alternating users) and the bootstrap; " +
			"neither happens outside a rotation. An admin session at any other time is a person or a program " +
			"holding the most powerful database credential.",
		dbEval: evalDBAdminOutsideRotation,
	}
}

func evalDBAdminOutsideRotation(ctx context.Context, e *Engine, ev *event, l *pglog.Login) error {
	d := &e.cfg.DBLogins
	if l.Kind != pglog.Authorized || !slices.Contains(d.AdminUsers, l.User) || l.Host == "[local]" {
		return nil
	}
	h, err := e.rotations(ctx, l.Time)
	if err != nil {
		return err
	}
	for _, t := range h.Events {
		if dt := l.Time.Sub(time.Unix(t, 0)); dt < d.AdminWindow.Duration && dt > -d.AdminWindow.Duration {
			return nil
		}
	}
	ev.add(hit{
		severity: Medium, dedup: l.User + "|" + l.Host,
		title:     fmt.Sprintf("admin user %s logged in from %s outside a rotation", l.User, l.Host),
		desc:      fmt.Sprintf("%s logged in to database %s from %s with no rotation within %s: the admin credential is used outside the rotator and the bootstrap.", l.User, l.Database, l.Host, d.AdminWindow.Duration),
		resources: dbResource(l),
	})
	return nil
}
