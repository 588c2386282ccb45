package audit

import (
	"context"
	"fmt"
)

// ruleEnumeration is RA-03: one principal harvesting many watched secrets.
func ruleEnumeration() *Rule {
	return &Rule{
		ID: "RA-03", Name: "Secret enumeration",
		Rationale: "An intruder with a foothold reads every secret it can reach. A principal reading many " +
			"distinct secrets within a short window, or calling BatchGetSecretValue with filters (which reads " +
			"whatever matches rather than what it names), is harvesting, not using, credentials. Only watched " +
			"secrets count, and a deployer's reads through Terraform, which refreshes every secret it manages on " +
			"each plan, are routine as they are for RA-01; so are the readers' and rotators' reads, which are of the " +
			"watched secrets by design (a rotator rotating many secrets reads each; RA-13 follows where they read from).",
		calls: on(srcSecrets, reads...),
		eval:  evalEnumeration,
	}
}

func evalEnumeration(ctx context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	if !isRead(rec.EventName) || isService(ev.principal) || e.routineDeploy(ev) || e.cfg.isReader(ev.norm) || e.cfg.isRotator(ev.norm) {
		// Terraform refreshes every secret version it manages on each plan; the readers and
		// rotators read the watched secrets by design (a rotator rotating many reads each).
		return nil
	}
	p := ev.secret()
	if rec.EventName == "BatchGetSecretValue" && len(p.Filters) > 0 {
		ev.add(hit{
			severity: e.failedSeverity(ev, High), dedup: "filters",
			title: fmt.Sprintf("BatchGetSecretValue with filters by %s%s", ev.principal, attempt(ev)),
			desc: fmt.Sprintf("%s read every secret matching a filter (%d filters) in one call: this harvests secrets rather than reading a known one.",
				ev.principal, len(p.Filters)),
		})
	}
	w := e.cfg.Enumeration
	for _, id := range secretIDs(rec, p) {
		// Only the watched secrets count: reads of others are not this audit's concern,
		// and counting them made every busy application look like a harvester.
		name, ok := e.cfg.watched(ownAccount(ev.rec), id)
		if !ok {
			continue
		}
		n, err := e.store.Count(ctx, "enum|"+ev.norm, name, rec.Time, rec.Time.Add(-w.Window.Duration), rec.Time.Add(w.Window.Duration))
		if err != nil {
			return err
		}
		if n >= w.Count {
			ev.add(hit{
				severity: High, dedup: "distinct",
				title: fmt.Sprintf("%s read %d distinct secrets within %s", ev.principal, n, w.Window.Duration),
				desc: fmt.Sprintf("%s has read %d different watched secrets in the last %s (threshold %d), the latest %s.",
					ev.principal, n, w.Window.Duration, w.Count, name),
			})
			break
		}
	}
	return nil
}
