package dbcreds_test

import (
	"context"
	"testing"
	"time"

	"github.com/rotaudit/rotaudit/internal/devstack"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rotaudit/rotaudit/internal/dbcreds"
	"github.com/rotaudit/rotaudit/internal/loadharness"
	"github.com/rotaudit/rotaudit/internal/ratesdb"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// TestPoolFollowsPasswordChange: on the real stack, a pool built by PoolConfig keeps its
// open sessions after the password changes, and its next new session, rejected with the
// cached value, succeeds through Do once the secret holds the new password.
func TestPoolFollowsPasswordChange(t *testing.T) {
	env := testenv.Stack(t)
	f := loadharness.NewFixture(t, env, loadharness.FixtureOptions{Demo: ratesdb.DemoOptions{Seed: 1, From: ratesdb.DefaultDemo.From, Days: 3, RoutesPerOrigin: 2}})
	sm := secretsmanager.NewFromConfig(env.AWS(t))
	ctx := context.Background()
	c, err := dbcreds.New(ctx, sm, dbcreds.Options{SecretID: f.AppSecretID, MinBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := c.PoolConfig(dbcreds.PoolOptions{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	held, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()

	old := c.Current().Secret
	pw, _ := devstack.Password(24)
	f.SetPassword(t, old.Username, pw)
	var n int
	if err := held.QueryRow(ctx, "SELECT count(*) FROM ports").Scan(&n); err != nil || n == 0 {
		t.Fatalf("open session after the password change: %d %v", n, err)
	}
	// A new connection with the cached (old) value is rejected...
	conn2, err := pool.Acquire(ctx)
	if err == nil {
		conn2.Release()
		t.Fatal("a new session logged in with the old password: the test changed nothing")
	}
	if !dbcreds.IsAuthFailure(err) {
		t.Fatalf("want a rejected login, got %v", err)
	}
	// ...until the secret holds the new password: Do refreshes and retries.
	next := old
	next.Password = pw
	body, _ := next.Marshal()
	go func() {
		time.Sleep(200 * time.Millisecond)
		sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(f.AppSecretID), SecretString: aws.String(string(body))})
	}()
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	calls := 0
	err = c.Do(qctx, func(ctx context.Context) error {
		calls++
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return err
		}
		defer conn.Release()
		return conn.QueryRow(ctx, "SELECT count(*) FROM prices").Scan(&n)
	})
	if err != nil || calls < 2 {
		t.Fatalf("Do: %v after %d calls", err, calls)
	}
	if got := c.Current().Secret.Password; got != pw {
		t.Fatal("cache does not hold the new password")
	}
	// The app role may read and nothing more.
	if _, err := held.Exec(ctx, "DELETE FROM prices"); err == nil {
		t.Fatal("the app role could delete prices")
	}
}
