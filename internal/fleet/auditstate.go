package fleet

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/rotaudit/rotaudit/internal/audit"
	"github.com/rotaudit/rotaudit/internal/audit/state"
)

// auditView is what the auditor's state table says about the fleet: RA-06 findings whose
// dedup window is still open (a recent RotationFailed or RotationAbandoned), and, for each
// alternating pair, the user a rotation retired and its last login.
type auditView struct {
	failures []rotationFailure
	stale    []StaleUser
}

type rotationFailure struct {
	secret, event string
	at            time.Time
}

// readAuditState reads the state table once (a Scan for the three key prefixes).
func readAuditState(ctx context.Context, o Options) (auditView, error) {
	if o.State == nil {
		return auditView{}, fmt.Errorf("state table %s: no DynamoDB client", o.StateTable)
	}
	entries, err := state.ScanPrefix(ctx, o.State, o.StateTable, o.Now,
		audit.DedupKeyPrefix(audit.RotationHealthRuleID), audit.PreviousUserKeyPrefix, audit.LastLoginKeyPrefix)
	if err != nil {
		return auditView{}, err
	}
	var v auditView
	lastLogin := map[string]time.Time{}
	var prevs []audit.PreviousUser
	for _, e := range entries {
		if secret, event, ok := audit.ParseRotationFailureKey(e.Key); ok {
			v.failures = append(v.failures, rotationFailure{secret: secret, event: event, at: e.First.UTC()})
		} else if p, ok := audit.ParsePreviousUser(e.Key, e.Value); ok {
			prevs = append(prevs, p)
		} else if user, ok := strings.CutPrefix(e.Key, audit.LastLoginKeyPrefix); ok {
			if t, ok := audit.ParseLastLogin(e.Value); ok {
				lastLogin[user] = t
			}
		}
	}
	for _, p := range prevs {
		last, ok := lastLogin[p.User]
		if ok && last.Sub(p.Rotated) >= o.StaleAfter {
			v.stale = append(v.stale, StaleUser{Pair: p.Pair, User: p.User, Rotated: p.Rotated, LastLogin: last})
		}
	}
	sort.Slice(v.stale, func(i, j int) bool { return v.stale[i].User < v.stale[j].User })
	return v, nil
}

// apply marks the rows the audit has something on and returns the stale users no row took.
// A pair belongs to the row whose user is one of its two users: the row's Username comes
// from TagUsername or the value, so without either a stale user stays unattributed (and
// still needs a person).
func (v auditView) apply(rows []Row, o Options) []StaleUser {
	for i := range rows {
		r := &rows[i]
		for _, f := range v.failures {
			if f.secret == r.Name || f.secret == r.ARN {
				r.fail("the auditor reported %s at %s (RA-06): see the rotator's log", f.event, f.at.Format(time.RFC3339))
			}
		}
	}
	var rest []StaleUser
	for _, s := range v.stale {
		taken := false
		for i := range rows {
			r := &rows[i]
			if r.Username != "" && (r.Username == s.Pair[0] || r.Username == s.Pair[1]) {
				r.PreviousUserLoggingIn = true
				r.fail("%s", s)
				taken = true
			}
		}
		if !taken {
			rest = append(rest, s)
		}
	}
	return rest
}
