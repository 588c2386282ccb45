package audit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/rotaudit/rotaudit/internal/audit/pglog"
)

// ruleDBStaleAlternate is DB-06: the previous user of an alternating pair still in use.
func ruleDBStaleAlternate() *Rule {
	return &Rule{
		ID: "DB-06", Name: "Previous user of an alternating pair still used long after rotation",
		Rationale: "With alternating users, the rotation hands clients the other user; the previous one keeps " +
			"working until the next rotation changes its password. A client still logging in with it long after " +
			"the rotation never refreshed its secret, and the next rotation will lock it out.",
		dbEval: evalDBStaleAlternate,
	}
}

func evalDBStaleAlternate(ctx context.Context, e *Engine, ev *event, l *pglog.Login) error {
	d := &e.cfg.DBLogins
	if l.Kind != pglog.Authorized {
		return nil
	}
	for _, pair := range d.AlternatingPairs {
		if l.User != pair[0] && l.User != pair[1] {
			continue
		}
		v, found, err := e.store.Get(ctx, previousUserKey(pair), l.Time)
		if err != nil || !found {
			return err
		}
		p, ok := ParsePreviousUser(previousUserKey(pair), v)
		rotated := p.Rotated
		if !ok || p.User != l.User || l.Time.Sub(rotated) < d.StaleAfter.Duration {
			return nil
		}
		ev.add(hit{
			severity: Medium, dedup: l.User + "|" + l.Host + "|" + strconv.FormatInt(rotated.Unix(), 10),
			title:     fmt.Sprintf("%s still used from %s %s after rotation", l.User, l.Host, l.Time.Sub(rotated).Round(time.Minute)),
			desc:      fmt.Sprintf("The rotation of %s made the other user of the pair %v current, but a client at %s still logs in as %s: it never refreshed its secret and the next rotation will lock it out.", rotated.Format(time.RFC3339), pair, l.Host, l.User),
			resources: dbResource(l),
		})
	}
	return nil
}
