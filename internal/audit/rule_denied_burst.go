package audit

import (
	"context"
	"fmt"
)

// ruleDeniedBurst is RA-04: denied probing of Secrets Manager and KMS.
func ruleDeniedBurst() *Rule {
	return &Rule{
		ID: "RA-04", Name: "Burst of AccessDenied on Secrets Manager or KMS",
		Rationale: "Probing for secrets and keys produces denials before it produces success. One denial is " +
			"a misconfiguration; several from one principal within minutes is someone trying doors.",
		failures: []string{srcSecrets, srcKMS},
		eval:     evalDeniedBurst,
	}
}

func evalDeniedBurst(ctx context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	if !rec.AccessDenied() {
		return nil
	}
	w := e.cfg.AccessDenied
	member := rec.EventID
	if member == "" {
		member = rec.EventTime + rec.EventName
	}
	n, err := e.store.Count(ctx, "denied|"+ev.norm, member, rec.Time, rec.Time.Add(-w.Window.Duration), rec.Time.Add(w.Window.Duration))
	if err != nil {
		return err
	}
	if n >= w.Count {
		ev.add(hit{
			severity: Medium, dedup: "burst",
			title: fmt.Sprintf("%d denied Secrets Manager/KMS calls by %s", n, ev.principal),
			desc: fmt.Sprintf("%s was denied %d times within %s (threshold %d), the latest %s %s.",
				ev.principal, n, w.Window.Duration, w.Count, rec.EventSource, rec.EventName),
		})
	}
	return nil
}
