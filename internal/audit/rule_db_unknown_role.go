package audit

import (
	"context"
	"fmt"
	"slices"

	"github.com/rotaudit/rotaudit/internal/audit/pglog"
)

// ruleDBUnknownRole is DB-05: a login by a role no watched secret holds.
func ruleDBUnknownRole() *Rule {
	return &Rule{
		ID: "DB-05", Name: "Login by a role that no watched secret names",
		Rationale: "Every legitimate login uses a role whose password a watched secret holds and rotation " +
			"changes. A role outside them was created by someone, keeps its password forever and escapes " +
			"rotation and the audit of secret reads: a backdoor.",
		dbEval: evalDBUnknownRole,
	}
}

func (d *DBLogins) known(user string) bool {
	return slices.Contains(d.Users, user) || slices.Contains(d.AdminUsers, user) || slices.Contains(d.IgnoreUsers, user)
}

func evalDBUnknownRole(_ context.Context, e *Engine, ev *event, l *pglog.Login) error {
	if l.Kind != pglog.Authorized || e.cfg.DBLogins.known(l.User) {
		return nil
	}
	ev.add(hit{
		severity: High, dedup: l.User,
		title:     fmt.Sprintf("login by role %s, which no watched secret holds", l.User),
		desc:      fmt.Sprintf("Role %s logged in to database %s from %s. No watched secret holds its password, so rotation never changes it and no secret read precedes its use.", l.User, l.Database, l.Host),
		resources: dbResource(l),
	})
	return nil
}
