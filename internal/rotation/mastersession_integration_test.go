package rotation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/pgrole"
	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/rotation/rotationtest"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// masterDials counts the logins as one user and keeps the last session it opened.
type masterDials struct {
	mu   sync.Mutex
	user string
	n    int
	last rotation.DB
}

func (d *masterDials) dial(ctx context.Context, cfg *pgx.ConnConfig) (rotation.DB, error) {
	db, err := rotation.PgxDialer(ctx, cfg)
	d.mu.Lock()
	defer d.mu.Unlock()
	if cfg.User == d.user && err == nil {
		d.n++
		d.last = db
	}
	return db, err
}

func (d *masterDials) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}

// TestMasterSessionKeptForTheNextSetSecret: alternating users' setSecret keeps the
// master's committed session for the next one on the same instance (mastersession.go):
// the next rotation makes no master login, and the server is asked to end the session
// after a minute idle. A new master password (the master was rotated) means a new login,
// and the session of the old one is closed; a kept session the server ended is replaced
// by a new login, and the rotation succeeds.
func TestMasterSessionKeptForTheNextSetSecret(t *testing.T) {
	testenv.Integration(t)
	ctx := context.Background()
	f := rotationtest.New(t, rotationtest.Options{})
	dials := &masterDials{user: f.Master}
	r := newRotator(f, rotation.AlternatingUsers, nil)
	r.Dial = dials.dial
	super := f.Env.Super(t, "")
	sessions := func() int {
		var n int
		if err := super.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE usename = $1", f.Master).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	rotate := func(label string) {
		t.Helper()
		old := f.CurrentVersion(t)
		token := f.StartRotation(t)
		for _, step := range rotation.Steps() {
			if err := r.Handle(ctx, rotation.Event{Step: step, SecretID: f.SecretARN, ClientRequestToken: token}); err != nil {
				t.Fatalf("%s, %s: %v", label, step, err)
			}
		}
		f.CheckFinished(t, token, old)
		if cur := f.Get(t, "", "AWSCURRENT"); !rotationtest.LogsIn(cur) {
			t.Fatalf("%s: AWSCURRENT does not log in", label)
		}
	}

	fixture := sessions() // the fixture's own, which made the tables
	rotate("first rotation")
	if n := dials.count(); n != 1 {
		t.Fatalf("first rotation: %d master logins, want 1", n)
	}
	if f.Major >= 14 {
		var idle string
		if err := dials.last.QueryRow(ctx, "SHOW idle_session_timeout").Scan(&idle); err != nil {
			t.Fatal(err)
		}
		if idle != "1min" {
			t.Errorf("kept master session's idle_session_timeout = %q, want 1min", idle)
		}
	}
	rotate("second rotation")
	if n := dials.count(); n != 1 {
		t.Fatalf("second rotation: %d master logins in all, want still 1 (the kept session)", n)
	}

	// The master is rotated: its secret holds a new password.
	out, err := f.SM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(f.MasterARN)})
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &v); err != nil {
		t.Fatal(err)
	}
	pw := testenv.Unique("pw")
	v["password"] = pw
	body, _ := json.Marshal(v)
	testenv.Exec(t, super, "ALTER ROLE "+pgrole.Ident(f.Master)+" PASSWORD "+testenv.Literal(pw))
	if _, err := f.SM.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(f.MasterARN), SecretString: aws.String(string(body))}); err != nil {
		t.Fatal(err)
	}
	rotate("rotation after the master's rotation")
	if n := dials.count(); n != 2 {
		t.Fatalf("after the master's rotation: %d master logins in all, want 2", n)
	}
	// The old password's session was closed when the new one was made: one is kept.
	waitFor(t, "one kept master session left", func() bool { return sessions() == fixture+1 })

	// The server ends the kept session (as idle_session_timeout would): the next
	// rotation logs in anew.
	var pid int
	if err := dials.last.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	testenv.Exec(t, super, fmt.Sprintf("SELECT pg_terminate_backend(%d)", pid))
	waitFor(t, "the kept session ended", func() bool { return sessions() == fixture })
	rotate("rotation after the kept session ended")
	if n := dials.count(); n != 3 {
		t.Fatalf("after the kept session ended: %d master logins in all, want 3", n)
	}
}

// waitFor polls cond until it holds, failing after gateBound (the server ends a backend
// shortly after it is told to, not at once).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(gateBound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, gateBound)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
