package audit

import (
	"context"
	"fmt"

	"github.com/rotaudit/rotaudit/internal/audit/pglog"
)

// ruleDBFailureBurst is DB-03: bursts of failed database logins.
func ruleDBFailureBurst() *Rule {
	return &Rule{
		ID: "DB-03", Name: "Burst of failed logins per source or per user",
		Rationale: "Guessing passwords, or trying a list of stolen ones, fails many times within minutes: from " +
			"one address against several users, or against one user from several addresses.",
		dbEval: evalDBFailureBurst,
	}
}

func evalDBFailureBurst(ctx context.Context, e *Engine, ev *event, l *pglog.Login) error {
	if l.Kind != pglog.Failed {
		return nil
	}
	w := e.cfg.DBLogins.FailureBurst
	member := l.ID()
	for _, by := range []struct{ key, what, dedup string }{
		{"dbfail|src|" + l.Host, "from " + l.Host, "source|" + l.Host},
		{"dbfail|user|" + l.User, "for user " + l.User, "user|" + l.User},
	} {
		n, err := e.store.Count(ctx, by.key, member, l.Time, l.Time.Add(-w.Window.Duration), l.Time.Add(w.Window.Duration))
		if err != nil {
			return err
		}
		if n < w.Count {
			continue
		}
		ev.add(hit{
			severity: Medium, dedup: by.dedup,
			title:     fmt.Sprintf("%d failed database logins %s within %s", n, by.what, w.Window.Duration),
			desc:      fmt.Sprintf("%d logins %s failed within %s (threshold %d), the latest as %s from %s: %s.", n, by.what, w.Window.Duration, w.Count, l.User, l.Host, l.Reason),
			resources: dbResource(l),
		})
	}
	return nil
}
