package rotation

import (
	"context"
	"sync"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
)

// earlyLogin is a step's first database login, started beside its DescribeSecret and
// reads with the value the memo (memo.go) predicts the step will log in with: on a warm
// instance setSecret (single user's own login, alternating users' proof on the master's
// server, guard.go) and testSecret then wait for the slower of the two
// round trips instead of their sum, here about 3 ms of a 35 ms rotation, on AWS a whole
// Secrets Manager call.
//
// What keeps it safe: the login changes nothing, and the step takes its session only
// when, after all its checks, it logs in with exactly that value (same user, password,
// host, port, database and TLS choice), so the step decides what it always decided and
// only the login's timing moves. A prediction the step does not confirm (the stage moved,
// the rotation was cancelled) sent a password the memo read from this secret to the server
// that same value names, as the previous step did; its session is closed unused. The
// result, refusal included, is the step's own login: a refused password is tried once.
type earlyLogin struct {
	s    dbsecret.Secret
	wait func() (DB, error)
	// cancel stops a login still under way that the step did not take (a step refused
	// early returns at once, not after the database's connect timeout).
	cancel context.CancelFunc

	mu    sync.Mutex
	taken bool
}

// startEarlyLogin starts the login with the memo's prediction of id's version that holds
// stage (version "": the one last seen current), or returns nil when the memo holds none
// or what it holds does not parse (the step then reads and fails as it would). With
// guarded, only a version whose server the guard proved on this instance qualifies
// (memo.markGuarded): alternating users' first login is the guard's own proof, and a value
// the memo merely read (AWSCURRENT as createSecret found it) may name any server.
func (r *Rotator) startEarlyLogin(ctx context.Context, id, version, stage string, guarded bool) *earlyLogin {
	predicted, ok := r.memo.predict(id, version, stage)
	if !ok || guarded && !r.memo.isGuarded(id, predicted) {
		return nil
	}
	body, ok := r.memo.peek(id, predicted)
	if !ok {
		return nil
	}
	s, err := parseSecret(body, id, stage)
	if err != nil {
		return nil
	}
	lctx, cancel := context.WithCancel(ctx)
	return &earlyLogin{s: s, cancel: cancel, wait: async(func() (DB, error) { return r.connect(lctx, s) })}
}

// take returns the early login's result when it was made with s's credentials, once.
func (e *earlyLogin) take(s dbsecret.Secret) (db DB, ok bool, err error) {
	if e == nil || !sameLogin(e.s, s) {
		return nil, false, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.taken {
		return nil, false, nil
	}
	e.taken = true
	db, err = e.wait()
	return db, true, err
}

// release closes the early session when the step did not take it, stopping the login if
// it is still under way. A session the step took is the step's to close; only the login's
// context ends here (it bounds the connection's setup, not the session).
func (e *earlyLogin) release(ctx context.Context) {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.taken {
		e.cancel()
		return
	}
	e.taken = true
	e.cancel()
	if db, err := e.wait(); err == nil {
		db.Close(context.WithoutCancel(ctx))
	}
}

// sameLogin reports whether a and b log in the same way: the same user and password on
// the same server and database, with the same TLS choice.
func sameLogin(a, b dbsecret.Secret) bool {
	return a.SameServer(b) && a.Username == b.Username && a.Password == b.Password &&
		(a.SSL == nil) == (b.SSL == nil) && (a.SSL == nil || *a.SSL == *b.SSL)
}

// login logs in with s, through the step's early login when it was made with s.
func (rd reads) login(ctx context.Context, r *Rotator, s dbsecret.Secret) (DB, error) {
	if db, ok, err := rd.early.take(s); ok {
		return db, err
	}
	return r.connect(ctx, s)
}
