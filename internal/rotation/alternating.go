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

// prepare runs the guard through the user's own session, before anything is stored, and
// the test query with the current credentials, so a bad TEST_QUERY fails before any
// change.
func (a alternatingUsers) prepare(ctx context.Context, arn string, current dbsecret.Secret, rd reads) error {
	r := a.r
	partner, err := Partner(current.Username)
	if err != nil {
		return err
	}
	master, err := r.masterFrom(ctx, current, rd.masterRead(ctx, r, current))
	if err != nil {
		return err
	}
	db, err := r.proveCurrent(ctx, arn, current, master)
	if err != nil {
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))
	if err := r.checkPair(ctx, db, current.Username, partner, master.Username, false); err != nil {
		return err
	}
	if err := r.probe(ctx, db, current.Username); err != nil {
		return fmt.Errorf("%w: %s with the current credentials, before any change: %w", ErrProbe, EnvTestQuery, err)
	}
	return nil
}

// set creates or updates the other user of the pair with the master's authority.
//
// Cases it handles:
//   - the guard first, again (the secret may have changed since createSecret): the
//     master is pinned and lives on the user's server or its primary, and AWSCURRENT (or
//     AWSPREVIOUS of the same user) logs in on the server the master will act on. No
//     password, the master's or the pending one, is sent anywhere before that.
//   - the master logs in and, in one transaction, checks both users of the pair again,
//     copies the user's grants to the other user and sets its password: a crash leaves
//     either nothing or everything done, and retrying repeats it harmlessly.
//   - twin invocations: one creates the clone and the other's transaction fails; then
//     the pending login succeeds and the step is done.
func (a alternatingUsers) set(ctx context.Context, arn string, current, pending dbsecret.Secret, rd reads) error {
	r := a.r
	master, err := r.masterFrom(ctx, current, rd.masterRead(ctx, r, current))
	if err != nil {
		return err
	}
	own, err := r.proveCurrent(ctx, arn, current, master)
	if err != nil {
		return err
	}
	own.Close(context.WithoutCancel(ctx))
	err = a.act(ctx, master, current, pending)
	if err != nil && !errors.Is(err, ErrUnsafeUser) && !errors.Is(err, ErrInvalidSecret) {
		// The guard has passed: the pending login may go to the user's server now. A
		// twin may have done the work while this attempt failed. (Not after a refusal:
		// that login would only add a failed attempt for a role the secret must not name.)
		if ok, lerr := r.logsIn(ctx, pending); lerr == nil && ok {
			return nil
		}
	}
	return err
}

// act is the master's transaction: check both users, mirror, set the password, commit.
// Closing the session without COMMIT rolls back whatever was done, which is the way back.
func (a alternatingUsers) act(ctx context.Context, master, current, pending dbsecret.Secret) error {
	r := a.r
	db, err := r.connect(ctx, master)
	if err != nil {
		return fmt.Errorf("log in as master user %s: %w", master.Username, err)
	}
	defer db.Close(context.WithoutCancel(ctx))
	if _, err := db.Exec(ctx, "BEGIN"); err != nil {
		return dbError("begin", master.Username, err)
	}
	if err := r.checkPair(ctx, db, current.Username, pending.Username, master.Username, true); err != nil {
		return err
	}
	if err := r.mirror(ctx, db, current, pending); err != nil {
		return dbError("mirror "+current.Username+" to "+pending.Username, master.Username, err)
	}
	if err := pgrole.SetPassword(ctx, db, pending.Username, pending.Password); err != nil {
		return dbError("set password", master.Username, err)
	}
	if _, err := db.Exec(ctx, "COMMIT"); err != nil {
		return dbError("commit", master.Username, err)
	}
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
