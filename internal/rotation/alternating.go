package rotation

import (
	"context"
	"errors"
	"fmt"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/pgrole"
)

// alternatingUsers switches between name and name_clone: the master (the secret at
// masterarn, pinned by MASTER_SECRET_ARNS) gives the other user of the pair the current
// user's grants and a new password, so the previous credentials keep working until the
// next rotation. The master acts only once the guard (guard.go) has passed.
type alternatingUsers struct{ r *Rotator }

func (alternatingUsers) pendingUser(current string) (string, error) { return Partner(current) }

// prepare checks what needs no database before anything is stored: the pair's names and
// that masterarn is a master this function may use. The guard proper runs in setSecret,
// right before the master acts: the secret can change between the steps, so a check here
// would have to be repeated there, and AWS's function contacts no database in this step
// either.
func (a alternatingUsers) prepare(_ context.Context, _ string, current dbsecret.Secret, _ reads) error {
	if _, err := Partner(current.Username); err != nil {
		return err
	}
	return a.r.Config.checkMasterARN(current.MasterARN)
}

// set creates or updates the other user of the pair with the master's authority.
//
// Cases it handles:
//   - the guard first: the master is pinned and lives on the user's server or its
//     primary, AWSCURRENT (or AWSPREVIOUS of the same user) logs in on the server the
//     master will act on, and the test query runs in that session, so a bad TEST_QUERY
//     fails before any change. No password, the master's or the pending one, is sent
//     anywhere before that.
//   - the master logs in and, in one transaction, checks both users of the pair again,
//     copies the user's grants to the other user and sets its password: a crash leaves
//     either nothing or everything done, and retrying repeats it harmlessly.
//   - twin invocations: one creates the clone and the other's transaction fails; then
//     the pending login succeeds and the step is done.
func (a alternatingUsers) set(ctx context.Context, arn, token string, current dbsecret.Secret, pendingRead func() (dbsecret.Secret, error), rd reads) error {
	r := a.r
	master, err := r.masterFrom(ctx, current, rd.masterRead(ctx, r, current))
	if err != nil {
		return err
	}
	own, proven, err := r.proveCurrent(ctx, arn, current, master, rd)
	if err != nil {
		return err
	}
	pending, err := pendingRead()
	if err != nil {
		own.Close(context.WithoutCancel(ctx))
		return err
	}
	if !madeFrom(r.Config.Password, pending.Password, proven.Password, token) {
		own.Close(context.WithoutCancel(ctx))
		return notMade(provenWith(proven, current))
	}
	err = r.probe(ctx, own, current.Username)
	own.Close(context.WithoutCancel(ctx))
	if err != nil {
		return fmt.Errorf("%w: %s with the current credentials, before any change (nothing changed): %w", ErrProbe, EnvTestQuery, err)
	}
	err = a.act(ctx, master, current, pending)
	if err != nil && !errors.Is(err, ErrUnsafeUser) && !errors.Is(err, ErrInvalidSecret) {
		// The guard has passed: the pending login may go to the user's server now. A
		// twin may have done the work while this attempt failed. (Not after a refusal:
		// that login would only add a failed attempt for a role the secret must not name.)
		if ok, lerr := r.logsIn(ctx, pending); lerr == nil && ok {
			err = nil
		}
	}
	if err == nil {
		// The next rotation's proof may start early with this version (early.go).
		r.memo.markGuarded(rd.id, token)
	}
	return err
}

// act is the master's transaction: check both users, mirror, set the password, commit.
// Closing the session without COMMIT rolls back whatever was done, which is the way back.
// A session that committed is kept for the next setSecret (mastersession.go); any other
// is closed.
func (a alternatingUsers) act(ctx context.Context, master, current, pending dbsecret.Secret) error {
	r := a.r
	db, fresh, err := r.masterBegin(ctx, master)
	if err != nil {
		return fmt.Errorf("log in as master user %s: %w", master.Username, err)
	}
	committed := false
	defer func() {
		if committed {
			r.masters.put(ctx, master, db)
		} else {
			db.Close(context.WithoutCancel(ctx))
		}
	}()
	compare, err := r.checkPairRoles(ctx, db, current.Username, pending.Username, master.Username)
	if err != nil {
		return err
	}
	// The mirror refuses, before it changes anything, a partner holding what the user
	// lacks (checkPair's comparison, made from the mirror's own reads).
	if err := r.mirror(ctx, db, current, pending, compare); err != nil {
		var more *pgrole.ExceedsError
		if errors.As(err, &more) {
			return partnerExceeds(current.Username, pending.Username, more.More)
		}
		return dbError("mirror "+current.Username+" to "+pending.Username, master.Username, err)
	}
	if err := pgrole.SetPassword(ctx, db, pending.Username, pending.Password); err != nil {
		return dbError("set password", master.Username, err)
	}
	if fresh {
		if err := boundIdle(ctx, db); err != nil {
			return dbError("set idle_session_timeout", master.Username, err)
		}
	}
	if _, err := db.Exec(ctx, "COMMIT"); err != nil {
		return dbError("commit", master.Username, err)
	}
	committed = true
	return nil
}

// Partner returns the other user of an alternating pair: name <-> name_clone.
func Partner(user string) (string, error) {
	var p string
	if base, ok := cutSuffix(user, CloneSuffix); ok && base != "" {
		p = base
	} else {
		p = user + CloneSuffix
	}
	if len(p) > pgrole.MaxNameLen {
		return "", fmt.Errorf("%w: key \"username\": %q would need the partner user %q of %d bytes, over PostgreSQL's %d; shorten the username",
			ErrInvalidSecret, user, p, len(p), pgrole.MaxNameLen)
	}
	return p, nil
}

func cutSuffix(s, suffix string) (string, bool) {
	if len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix {
		return s[:len(s)-len(suffix)], true
	}
	return s, false
}
