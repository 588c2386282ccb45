package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
	"github.com/rotaudit/rotaudit/internal/audit/pglog"
)

// DB-xx: the database's own logins, read from PostgreSQL's connection log and correlated
// with the rotation history the Secrets Manager rules keep (noteRotation).

// srcPostgres is the event source of the findings the DB-xx rules make from log lines.
const srcPostgres = "postgresql"

// DBRules returns the rules that read PostgreSQL logins, in id order.
func DBRules() []*Rule {
	return []*Rule{
		{
			ID: "DB-01", Name: "Login attempt with a credential that rotation retired",
			Rationale: "After a rotation the old password no longer works, so a failed password login for a " +
				"watched user, from somewhere that is not one of the API's tasks, is most likely someone trying the " +
				"password they copied before the rotation: a stolen credential, caught the first time it is used.",
			dbEval: dbRetiredCredential,
		},
		{
			ID: "DB-02", Name: "Successful login from outside the API's and rotator's subnets",
			Rationale: "Only the API's tasks and the rotator log in to the database, from their subnets. A login " +
				"that succeeds from anywhere else is the credentials in use outside the deployment, whatever " +
				"CloudTrail shows of how they were obtained.",
			dbEval: dbOutsideNetworks,
		},
		{
			ID: "DB-03", Name: "Burst of failed logins per source or per user",
			Rationale: "Guessing passwords, or trying a list of stolen ones, fails many times within minutes: from " +
				"one address against several users, or against one user from several addresses.",
			dbEval: dbFailureBurst,
		},
		{
			ID: "DB-04", Name: "Admin user logging in outside a rotation or bootstrap window",
			Rationale: "The master or admin login exists for the rotator (alternating users) and the bootstrap; " +
				"neither happens outside a rotation. An admin session at any other time is a person or a program " +
				"holding the most powerful database credential.",
			dbEval: dbAdminOutsideRotation,
		},
		{
			ID: "DB-05", Name: "Login by a role that no watched secret names",
			Rationale: "Every legitimate login uses a role whose password a watched secret holds and rotation " +
				"changes. A role outside them was created by someone, keeps its password forever and escapes " +
				"rotation and the audit of secret reads: a backdoor.",
			dbEval: dbUnknownRole,
		},
		{
			ID: "DB-06", Name: "Previous user of an alternating pair still used long after rotation",
			Rationale: "With alternating users, the rotation hands clients the other user; the previous one keeps " +
				"working until the next rotation changes its password. A client still logging in with it long after " +
				"the rotation never refreshed its secret, and the next rotation will lock it out.",
			dbEval: dbStaleAlternate,
		},
	}
}

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
		if err := r.dbEval(ctx, e, &ev, l); err != nil {
			return nil, fmt.Errorf("rule %s: login %s: %w", r.ID, rec.EventID, err)
		}
	}
	if l.Kind == pglog.Authorized {
		// The last login of each watched user tells, at the next rotation, which user of a
		// pair the clients were using (DB-06).
		if slices.Contains(e.cfg.DBLogins.Users, l.User) {
			if _, _, err := e.store.Swap(ctx, "dblast|"+l.User, strconv.FormatInt(l.Time.Unix(), 10), l.Time, l.Time.Add(e.cfg.BaselineTTL.Duration)); err != nil {
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

func (d *DBLogins) known(user string) bool {
	return slices.Contains(d.Users, user) || slices.Contains(d.AdminUsers, user) || slices.Contains(d.IgnoreUsers, user)
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
				v, found, err := e.store.Get(ctx, "dblast|"+u, rec.Time)
				if err != nil {
					return err
				}
				if t, _ := strconv.ParseInt(v, 10, 64); found && t > last {
					prev, last = u, t
				}
			}
			if prev != "" {
				if _, _, err := e.store.Swap(ctx, "dbprev|"+pair[0]+"|"+pair[1], prev+"|"+strconv.FormatInt(rec.Time.Unix(), 10), rec.Time, rec.Time.Add(e.cfg.BaselineTTL.Duration)); err != nil {
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

// --- the rules ---

func dbRetiredCredential(ctx context.Context, e *Engine, ev *event, l *pglog.Login) error {
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
		rule: e.rule("DB-01"), severity: High, dedup: l.User + "|" + l.Host,
		title:     fmt.Sprintf("%s tried a retired password from %s", l.User, l.Host),
		desc:      fmt.Sprintf("A password login as %s from %s failed at %s, after the rotation of %s (%s): someone is using a password that rotation retired, most likely copied before it.", l.User, l.Host, l.Time.UTC().Format(time.RFC3339), rotated.Format(time.RFC3339), l.Reason),
		resources: dbResource(l),
	})
	return nil
}

func dbOutsideNetworks(_ context.Context, e *Engine, ev *event, l *pglog.Login) error {
	d := &e.cfg.DBLogins
	if l.Kind != pglog.Authorized || len(d.networks) == 0 || d.fromClient(l.Host) || slices.Contains(d.IgnoreUsers, l.User) {
		return nil
	}
	ev.add(hit{
		rule: e.rule("DB-02"), severity: High, dedup: l.User + "|" + l.Host,
		title:     fmt.Sprintf("%s logged in from %s, outside the client subnets", l.User, l.Host),
		desc:      fmt.Sprintf("%s logged in to database %s from %s, which is not in db_logins.client_networks: the credential is in use outside the deployment.", l.User, l.Database, l.Host),
		resources: dbResource(l),
	})
	return nil
}

func dbFailureBurst(ctx context.Context, e *Engine, ev *event, l *pglog.Login) error {
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
			rule: e.rule("DB-03"), severity: Medium, dedup: by.dedup,
			title:     fmt.Sprintf("%d failed database logins %s within %s", n, by.what, w.Window.Duration),
			desc:      fmt.Sprintf("%d logins %s failed within %s (threshold %d), the latest as %s from %s: %s.", n, by.what, w.Window.Duration, w.Count, l.User, l.Host, l.Reason),
			resources: dbResource(l),
		})
	}
	return nil
}

func dbAdminOutsideRotation(ctx context.Context, e *Engine, ev *event, l *pglog.Login) error {
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
		rule: e.rule("DB-04"), severity: Medium, dedup: l.User + "|" + l.Host,
		title:     fmt.Sprintf("admin user %s logged in from %s outside a rotation", l.User, l.Host),
		desc:      fmt.Sprintf("%s logged in to database %s from %s with no rotation within %s: the admin credential is used outside the rotator and the bootstrap.", l.User, l.Database, l.Host, d.AdminWindow.Duration),
		resources: dbResource(l),
	})
	return nil
}

func dbUnknownRole(_ context.Context, e *Engine, ev *event, l *pglog.Login) error {
	if l.Kind != pglog.Authorized || e.cfg.DBLogins.known(l.User) {
		return nil
	}
	ev.add(hit{
		rule: e.rule("DB-05"), severity: High, dedup: l.User,
		title:     fmt.Sprintf("login by role %s, which no watched secret holds", l.User),
		desc:      fmt.Sprintf("Role %s logged in to database %s from %s. No watched secret holds its password, so rotation never changes it and no secret read precedes its use.", l.User, l.Database, l.Host),
		resources: dbResource(l),
	})
	return nil
}

func dbStaleAlternate(ctx context.Context, e *Engine, ev *event, l *pglog.Login) error {
	d := &e.cfg.DBLogins
	if l.Kind != pglog.Authorized {
		return nil
	}
	for _, pair := range d.AlternatingPairs {
		if l.User != pair[0] && l.User != pair[1] {
			continue
		}
		v, found, err := e.store.Get(ctx, "dbprev|"+pair[0]+"|"+pair[1], l.Time)
		if err != nil || !found {
			return err
		}
		prev, at, _ := strings.Cut(v, "|")
		t, _ := strconv.ParseInt(at, 10, 64)
		rotated := time.Unix(t, 0).UTC()
		if prev != l.User || l.Time.Sub(rotated) < d.StaleAfter.Duration {
			return nil
		}
		ev.add(hit{
			rule: e.rule("DB-06"), severity: Medium, dedup: l.User + "|" + l.Host + "|" + at,
			title:     fmt.Sprintf("%s still used from %s %s after rotation", l.User, l.Host, l.Time.Sub(rotated).Round(time.Minute)),
			desc:      fmt.Sprintf("The rotation of %s made the other user of the pair %v current, but a client at %s still logs in as %s: it never refreshed its secret and the next rotation will lock it out.", rotated.Format(time.RFC3339), pair, l.Host, l.User),
			resources: dbResource(l),
		})
	}
	return nil
}
