package rotation

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
)

const earlyARN = "arn:aws:secretsmanager:us-east-1:1:secret:app-AbCdEf"

// earlyRotator is a rotator whose memo holds body as earlyARN's AWSCURRENT, logging in
// through dial.
func earlyRotator(t *testing.T, body string, dial Dialer) *Rotator {
	t.Helper()
	cfg, err := LoadConfig(MapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	r := &Rotator{Config: cfg, Dial: dial}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r.memo.learn(earlyARN, "v1", StageCurrent, body, described(earlyARN, t0, map[string][]string{"v1": {StageCurrent}}))
	return r
}

// countingEarlyRotator is earlyRotator with earlyBody on a fake cluster, counting the
// logins it sends.
func countingEarlyRotator(t *testing.T) (*Rotator, *atomic.Int32) {
	c := newFakeCluster()
	dials := new(atomic.Int32)
	return earlyRotator(t, earlyBody, func(ctx context.Context, cfg *pgx.ConnConfig) (DB, error) {
		dials.Add(1)
		return c.dial(ctx, cfg)
	}), dials
}

const earlyBody = `{"engine":"postgres","host":"db.internal","port":5432,"username":"app","password":"old-pass","dbname":"rates","ssl":false}`

// TestEarlyLoginIsTakenOnlyForItsOwnValue: the step gets the early session only for a
// login with exactly the value it was made with, and only once; any other login is the
// step's own.
func TestEarlyLoginIsTakenOnlyForItsOwnValue(t *testing.T) {
	r, dials := countingEarlyRotator(t)
	ctx := context.Background()
	e := r.startEarlyLogin(ctx, earlyARN, "", StageCurrent, false)
	if e == nil {
		t.Fatal("no early login although the memo holds AWSCURRENT")
	}
	same, err := dbsecret.Parse([]byte(earlyBody))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		change func(*dbsecret.Secret)
	}{
		{"another password", func(s *dbsecret.Secret) { s.Password = "new-pass" }},
		{"another host", func(s *dbsecret.Secret) { s.Host = "elsewhere.internal" }},
		{"another port", func(s *dbsecret.Secret) { s.Port = 5433 }},
		{"another database", func(s *dbsecret.Secret) { s.DBName = "other" }},
		{"another user", func(s *dbsecret.Secret) { s.Username = "app_clone" }},
		{"TLS asked for", func(s *dbsecret.Secret) { v := true; s.SSL = &v }},
	} {
		other := same
		c.change(&other)
		if _, ok, _ := e.take(other); ok {
			t.Errorf("%s: the early session was handed to a login it was not made for", c.name)
		}
	}
	db, ok, err := e.take(same)
	if !ok || err != nil || db == nil {
		t.Fatalf("take with the same value = %v, %v, %v; want the early session", db, ok, err)
	}
	if _, ok, _ := e.take(same); ok {
		t.Error("the early session was handed out twice")
	}
	rd := reads{early: e}
	db2, err := rd.login(ctx, r, same)
	if err != nil || db2 == nil {
		t.Fatalf("a second login with the same value: %v", err)
	}
	if n := dials.Load(); n != 2 {
		t.Errorf("%d logins made, want 2 (the early one, then the step's own second)", n)
	}
	e.release(ctx) // taken: nothing to close
}

// TestEarlyLoginReleaseStopsALoginUnderWay: a step that ends without taking its early
// login (refused by DescribeSecret, say) stops a login still under way rather than
// waiting for the database's connect timeout.
func TestEarlyLoginReleaseStopsALoginUnderWay(t *testing.T) {
	started := make(chan struct{})
	r := earlyRotator(t, earlyBody, func(ctx context.Context, _ *pgx.ConnConfig) (DB, error) {
		close(started)
		<-ctx.Done() // a server that never answers
		return nil, ctx.Err()
	})
	ctx := context.Background()
	e := r.startEarlyLogin(ctx, earlyARN, "", StageCurrent, false)
	if e == nil {
		t.Fatal("no early login although the memo holds AWSCURRENT")
	}
	<-started
	done := make(chan struct{})
	go func() {
		e.release(ctx)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("release still waiting for the login after 10 s: the login was not stopped")
	}
}

// TestNoEarlyLoginWithoutAPrediction: nothing is sent when the memo holds no value for
// the stage, or one that does not parse.
func TestNoEarlyLoginWithoutAPrediction(t *testing.T) {
	dial := func(context.Context, *pgx.ConnConfig) (DB, error) {
		t.Error("a login was started without a prediction")
		return nil, nil
	}
	ctx := context.Background()
	if e := earlyRotator(t, earlyBody, dial).startEarlyLogin(ctx, earlyARN, "token", StagePending, false); e != nil {
		t.Error("an early login for AWSPENDING, which the memo does not hold")
	}
	if e := earlyRotator(t, `{"host":`, dial).startEarlyLogin(ctx, earlyARN, "", StageCurrent, false); e != nil {
		t.Error("an early login from a remembered value that does not parse")
	}
	var none Rotator
	if e := none.startEarlyLogin(ctx, earlyARN, "", StageCurrent, false); e != nil {
		t.Error("an early login with an empty memo")
	}
}

// TestGuardedEarlyLoginNeedsTheGuardsMark: alternating users' early proof goes out only
// with a version the guard passed for on this instance (memo.markGuarded): a value the
// memo merely read, as AWSCURRENT's writer left it, may name any server.
func TestGuardedEarlyLoginNeedsTheGuardsMark(t *testing.T) {
	r, dials := countingEarlyRotator(t)
	ctx := context.Background()
	if e := r.startEarlyLogin(ctx, earlyARN, "", StageCurrent, true); e != nil {
		e.release(ctx)
		t.Fatal("an early proof with a version the guard never passed for")
	}
	r.memo.markGuarded(earlyARN, "v0") // a version the memo does not hold: no mark
	r.memo.markGuarded("other-secret", "v1")
	if e := r.startEarlyLogin(ctx, earlyARN, "", StageCurrent, true); e != nil {
		e.release(ctx)
		t.Fatal("an early proof after marks of other versions and secrets")
	}
	if n := dials.Load(); n != 0 {
		t.Fatalf("%d login(s) sent without the guard's mark", n)
	}
	r.memo.markGuarded(earlyARN, "v1")
	e := r.startEarlyLogin(ctx, earlyARN, "", StageCurrent, true)
	if e == nil {
		t.Fatal("no early proof with the version the guard passed for")
	}
	e.release(ctx)
	// A marked version the memo evicts loses its mark with its value.
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	learn := func(v string) {
		r.memo.learn(earlyARN, v, StagePending, earlyBody, described(earlyARN, t0, map[string][]string{v: {StagePending}}))
	}
	learn("v2")
	r.memo.madeCurrent(earlyARN, "v2")
	learn("v3")
	learn("v4")
	if _, ok := r.memo.peek(earlyARN, "v1"); ok {
		t.Fatal("the memo still holds v1 after three newer versions")
	}
	if r.memo.isGuarded(earlyARN, "v1") {
		t.Error("v1 was evicted but is still marked")
	}
}
