package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
	"github.com/rotaudit/rotaudit/internal/audit/pglog"
)

// DB-xx: the database's own logins, read from PostgreSQL's connection log and correlated
// with the rotation history the Secrets Manager rules keep (noteRotation). Each rule is a
// rule_db_*.go file; this is what they share and how a login reaches them.

// srcPostgres is the event source of the findings the DB-xx rules make from log lines.
const srcPostgres = "postgresql"

// EvaluateLogin runs the DB-xx rules on one login from PostgreSQL's log and returns its
// findings (new or updates), deduplicated like those of CloudTrail records.
func (e *Engine) EvaluateLogin(ctx context.Context, l *pglog.Login) ([]Finding, error) {
	if !e.cfg.DBLogins.enabled() || l.Kind == pglog.Disconnected {
		return nil, nil
	}
	rec := loginRecord(l)
	ev := event{rec: rec, principal: rec.Principal()}
	ev.norm = ev.principal
	for _, r := range e.dbRules {
		n := len(ev.hits)
		if err := r.dbEval(ctx, e, &ev, l); err != nil {
			return nil, fmt.Errorf("rule %s: login %s: %w", r.ID, rec.EventID, err)
		}
		ev.claim(n, r)
	}
	if l.Kind == pglog.Authorized {
		// The last login of each watched user tells, at the next rotation, which user of a
		// pair the clients were using (DB-06).
		if slices.Contains(e.cfg.DBLogins.Users, l.User) {
			if _, _, err := e.store.Swap(ctx, LastLoginKey(l.User), lastLoginValue(l.Time), l.Time, l.Time.Add(e.cfg.BaselineTTL.Duration)); err != nil {
				return nil, err
			}
		}
	}
	return e.findings(ctx, &ev)
}

// loginRecord presents a login as a record, so that findings carry it the way they carry
// CloudTrail events: the role as the actor, the client's address as the source.
func loginRecord(l *pglog.Login) *cloudtrail.Record {
	return &cloudtrail.Record{
		EventVersion: "pglog", EventSource: srcPostgres, EventName: l.Kind.String(), EventType: "PostgreSQLLog",
		EventTime: l.Time.UTC().Format(time.RFC3339Nano), Time: l.Time, EventID: l.ID(),
		SourceIPAddress: l.Host, UserAgent: "database " + l.Database,
		UserIdentity: cloudtrail.UserIdentity{Type: "PostgreSQLRole", PrincipalID: "postgresql:role/" + l.User, UserName: l.User},
		ErrorMessage: l.Reason,
	}
}

func (d *DBLogins) fromClient(host string) bool {
	if host == "[local]" {
		return true // the server's own host: bootstrap and maintenance
	}
	if len(d.networks) == 0 {
		return false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	for _, p := range d.networks {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

func dbResource(l *pglog.Login) []Resource {
	return []Resource{{UID: "postgresql:role/" + l.User, Name: l.User, Type: "PostgreSQL::Role"}}
}

// rotationHistory is what noteRotation keeps: the times of the recent rotation events
// and of the last successful rotation.
type rotationHistory struct {
	Events    []int64 `json:"events"`
	Succeeded int64   `json:"succeeded,omitempty"`
}

const maxRotationEvents = 32

// noteRotation records a Rotation* event of a watched secret, and at a success which user
// of each alternating pair the clients were using until then.
func (e *Engine) noteRotation(ctx context.Context, rec *cloudtrail.Record) error {
	h, err := e.rotations(ctx, rec.Time)
	if err != nil {
		return err
	}
	h.Events = append(h.Events, rec.Time.Unix())
	if len(h.Events) > maxRotationEvents {
		h.Events = h.Events[len(h.Events)-maxRotationEvents:]
	}
	if rec.EventName == "RotationSucceeded" {
		h.Succeeded = rec.Time.Unix()
		for _, pair := range e.cfg.DBLogins.AlternatingPairs {
			prev, last := "", int64(0)
			for _, u := range pair {
				v, found, err := e.store.Get(ctx, LastLoginKey(u), rec.Time)
				if err != nil {
					return err
				}
				if t, ok := ParseLastLogin(v); found && ok && t.Unix() > last {
					prev, last = u, t.Unix()
				}
			}
			if prev != "" {
				if _, _, err := e.store.Swap(ctx, previousUserKey(pair), previousUserValue(prev, rec.Time), rec.Time, rec.Time.Add(e.cfg.BaselineTTL.Duration)); err != nil {
					return err
				}
			}
		}
	}
	b, _ := json.Marshal(h)
	_, _, err = e.store.Swap(ctx, "rotations", string(b), rec.Time, rec.Time.Add(e.cfg.BaselineTTL.Duration))
	return err
}

func (e *Engine) rotations(ctx context.Context, now time.Time) (rotationHistory, error) {
	var h rotationHistory
	v, found, err := e.store.Get(ctx, "rotations", now)
	if err != nil || !found {
		return h, err
	}
	json.Unmarshal([]byte(v), &h)
	return h, nil
}
