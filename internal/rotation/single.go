package rotation

import (
	"context"
	"errors"
	"fmt"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/pgrole"
)

// singleUser changes the password of the secret's own user, logged in as that user.
type singleUser struct{ r *Rotator }

func (singleUser) pendingUser(current string) (string, error) { return current, nil }

// prepare contacts no database: setSecret checks everything before it changes anything,
// with the password it is about to replace.
func (singleUser) prepare(context.Context, string, dbsecret.Secret, reads) error { return nil }

// set changes the user's password, logged in as the user.
//
// Cases it handles:
//   - AWSCURRENT logs in: change the password from that session.
//   - AWSCURRENT is refused: the pending password logs in (an earlier attempt, or a
//     twin, finished the step): done. Else AWSPREVIOUS, when it names the same user on
//     the same server (the secret was changed before the database): use it. Neither:
//     fail and say how to repair.
//   - the test query fails as the user before any change (a bad TEST_QUERY, a missing
//     grant): fail, nothing changed.
//   - after the change, the pending credentials do not log in or the test query fails
//     with them for a reason a retry will not change: the way back (restore) puts back
//     the password this step itself logged in with, from the session it still holds, and
//     fails: the application keeps working and a later rotation sets a new password.
//   - twin invocations: both set the same value; the second finds it already set.
func (s singleUser) set(ctx context.Context, arn, token string, current dbsecret.Secret, pendingRead func() (dbsecret.Secret, error), rd reads) error {
	r := s.r
	db, old, err := s.loginBefore(ctx, arn, current, pendingRead, rd)
	if err != nil || db == nil {
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))
	pending, err := pendingRead()
	if err != nil {
		return err
	}
	if !madeFrom(r.Config.Password, pending.Password, old.Password, token) {
		return notMade(provenWith(old, current))
	}
	if err := r.probe(ctx, db, old.Username); err != nil {
		return fmt.Errorf("%w: %s with the current credentials, before any change (nothing changed): %w", ErrProbe, EnvTestQuery, err)
	}
	if err := pgrole.SetPassword(ctx, db, pending.Username, pending.Password); err != nil {
		if ok, lerr := r.logsIn(ctx, pending); lerr == nil && ok {
			return nil // a twin set it
		}
		return dbError("change password", pending.Username, err)
	}
	verr := r.verify(ctx, rd, pending)
	if verr == nil || transient(verr) {
		// A transient failure is testSecret's to retry: the pending password is set.
		return nil
	}
	return s.restore(ctx, db, old, verr)
}

// loginBefore logs in with the password the database holds before the change: AWSCURRENT,
// else AWSPREVIOUS of the same user on the same server. A nil session and nil error mean
// the pending password already logs in: nothing to do.
func (s singleUser) loginBefore(ctx context.Context, arn string, current dbsecret.Secret, pendingRead func() (dbsecret.Secret, error), rd reads) (DB, dbsecret.Secret, error) {
	r := s.r
	db, err := rd.login(ctx, r, current)
	if err == nil || !errors.Is(err, ErrDBAuth) {
		return db, current, err
	}
	pending, perr := pendingRead()
	if perr != nil {
		return nil, dbsecret.Secret{}, perr
	}
	// AWSCURRENT is refused. The pending password goes to its server only when that server
	// is the one of the version before (a retried step: this step already set it), never to
	// a server AWSCURRENT was moved to since: whoever wrote that could be running it.
	prev, perr := r.getSecret(ctx, arn, "", StagePrevious)
	if perr == nil && !prev.SameServer(current) {
		return nil, dbsecret.Secret{}, fmt.Errorf("%w (AWSCURRENT), on %s:%d, while AWSPREVIOUS names %s:%d: the secret was moved to another server whose credentials are refused; "+
			"no other password is sent there: check the host in AWSCURRENT, set its password in that database, then retry", err, current.Host, current.Port, prev.Host, prev.Port)
	}
	if ok, lerr := r.logsIn(ctx, pending); lerr != nil || ok {
		return nil, dbsecret.Secret{}, lerr
	}
	if perr != nil || prev.Username != pending.Username || !prev.SameServer(pending) {
		return nil, dbsecret.Secret{}, fmt.Errorf("%w (AWSCURRENT) and no usable AWSPREVIOUS: set the user's password in the database to the AWSCURRENT value, then retry", err)
	}
	db, err = r.connect(ctx, prev)
	if err != nil {
		return nil, dbsecret.Secret{}, fmt.Errorf("neither AWSCURRENT nor AWSPREVIOUS logs in: %w: set the user's password in the database to the AWSCURRENT value, then retry", err)
	}
	return db, prev, nil
}

// restore is set's way back: it puts back old's password, the one set logged in with,
// through the session it logged in with, and returns cause with what was done.
func (s singleUser) restore(ctx context.Context, db DB, old dbsecret.Secret, cause error) error {
	if err := pgrole.SetPassword(ctx, db, old.Username, old.Password); err != nil {
		return fmt.Errorf("%w; putting the previous password back failed: %w: the database holds AWSPENDING's password", cause, dbError("restore password", old.Username, err))
	}
	s.r.logger().WarnContext(ctx, "pending credentials failed: previous password put back", "username", old.Username)
	return fmt.Errorf("%w; the previous password was put back, so the application keeps working: fix %s or the user's grants and retry the rotation", cause, EnvTestQuery)
}
