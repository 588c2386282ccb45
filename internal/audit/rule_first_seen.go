package audit

import (
	"context"
	"fmt"
	"time"
)

// ruleFirstSeen is RA-02: who reads each watched secret, from where, with what.
func ruleFirstSeen() *Rule {
	return &Rule{
		ID: "RA-02", Name: "First-seen principal, network or user agent for a watched secret",
		Rationale: "Stolen credentials are used from somewhere new: a new role, a new /24 (or /48) network, a " +
			"new SDK or tool. Each watched secret learns who reads it, from where and with what during a " +
			"learning period, then reports combinations it has not seen. Trusted networks and service " +
			"addresses never count as new networks, and the deployer's reads through Terraform, routine for " +
			"RA-01, are neither learnt nor reported.",
		calls: on(srcSecrets, reads...),
		eval:  evalFirstSeen,
	}
}

func evalFirstSeen(ctx context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	if !isRead(rec.EventName) || rec.Failed() || isService(ev.principal) || e.routineDeploy(ev) {
		return nil // the deployment's Terraform refreshes are routine here as for RA-01
	}
	p := ev.secret()
	expires := rec.Time.Add(e.cfg.BaselineTTL.Duration)
	var own *baseline // the principal's networks and tools across secrets, loaded once
	for _, id := range secretIDs(rec, p) {
		name, ok := e.cfg.watched(ownAccount(ev.rec), id)
		if !ok {
			continue
		}
		sb, err := e.loadBaseline(ctx, "baseline|secret|"+name, rec.Time)
		if err != nil {
			return err
		}
		if sb.First == 0 {
			// A new entry: the learning start outlives it (an unused secret's entry
			// expires; its learning does not start again).
			_, since, err := e.store.Remember(ctx, "learn|"+name, rec.Time, rec.Time.Add(100*365*24*time.Hour))
			if err != nil {
				return err
			}
			sb.First, sb.dirty = since.Unix(), true
		}
		since := time.Unix(sb.First, 0).UTC()
		learning := rec.Time.Sub(since) < e.cfg.LearningPeriod.Duration
		for _, dim := range []struct{ kind, value, what string }{
			{"principal", ev.norm, "principal"},
			{"network", e.cfg.network(rec.SourceIPAddress), "source network"},
			{"agent", uaFamily(rec.UserAgent), "user-agent family"},
		} {
			if dim.value == "" {
				continue
			}
			// Refreshed on use: a principal that keeps reading stays known however long
			// the deployment lives; only what has not been seen for baseline_ttl is new again.
			fresh := sb.touch(dim.kind+"|"+dim.value, rec.Time, expires)
			if fresh {
				if fresh, err = e.legacyNew(ctx, "base|"+name+"|"+dim.kind+"|"+dim.value, rec.Time); err != nil {
					return err
				}
			}
			if dim.kind != "principal" {
				// A network or tool the principal already uses for another watched secret
				// is not news (the rotator reaches its secrets through every NAT gateway).
				if own == nil {
					if own, err = e.loadBaseline(ctx, "baseline|principal|"+ev.norm, rec.Time); err != nil {
						return err
					}
				}
				freshForPrincipal := own.touch(dim.kind+"|"+dim.value, rec.Time, expires)
				if fresh && freshForPrincipal {
					if freshForPrincipal, err = e.legacyNew(ctx, "base|@"+ev.norm+"|"+dim.kind+"|"+dim.value, rec.Time); err != nil {
						return err
					}
				}
				fresh = fresh && freshForPrincipal
			}
			if !fresh || learning {
				continue
			}
			sev := Low
			if dim.kind == "principal" {
				sev = Medium
			}
			ev.add(hit{
				severity: sev, dedup: name + "|" + dim.kind + "|" + dim.value,
				title: fmt.Sprintf("new %s %s for %s", dim.what, dim.value, name),
				desc: fmt.Sprintf("%s read %s from %s with %q: the %s %s had not read this secret before (baseline learning ended %s).",
					ev.principal, name, rec.SourceIPAddress, rec.UserAgent, dim.what, dim.value, since.Add(e.cfg.LearningPeriod.Duration).Format(time.RFC3339)),
				resources: []Resource{secretResource(name)},
			})
		}
		if err := e.saveBaseline(ctx, sb, rec.Time, expires); err != nil {
			return err
		}
	}
	if own != nil {
		return e.saveBaseline(ctx, own, rec.Time, expires)
	}
	return nil
}
