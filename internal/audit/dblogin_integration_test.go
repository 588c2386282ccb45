package audit_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/rotaudit/rotaudit/internal/devstack"

	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/audit"
	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
	"github.com/rotaudit/rotaudit/internal/audit/pglog"
	"github.com/rotaudit/rotaudit/internal/audit/state"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// TestDatabaseLoginsOnStack drives real logins against the stack's PostgreSQL (a good
// one, one with the password a rotation just retired, one by a role no secret holds),
// reads them back from the server's own log, and requires exactly the expected findings:
// DB-01 for the stale password, DB-05 for the foreign role, nothing for the good login.
func TestDatabaseLoginsOnStack(t *testing.T) {
	env := testenv.Stack(t)
	if env.ServerLog == "" {
		t.Skip("docker stack: PostgreSQL's log stays inside the container; the native stack writes it to .stack/pg/postgres.log")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	super := env.Super(t, "")
	app, foreign := testenv.Unique("audit_app"), testenv.Unique("audit_foreign")
	oldPW, newPW, foreignPW := password(t), password(t), password(t)
	for role, pw := range map[string]string{app: oldPW, foreign: foreignPW} {
		if _, err := super.Exec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", pgx.Identifier{role}.Sanitize(), pw)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { super.Exec(context.Background(), "DROP ROLE IF EXISTS "+pgx.Identifier{role}.Sanitize()) })
	}
	logStart := fileSize(t, env.ServerLog)

	login := func(user, pw string) error {
		dsn := fmt.Sprintf("host=127.0.0.1 port=%d user=%s password=%s dbname=postgres sslmode=disable connect_timeout=5", env.PGPort, user, pw)
		c, err := pgx.Connect(ctx, dsn)
		if err == nil {
			c.Close(ctx)
		}
		return err
	}
	if err := login(app, oldPW); err != nil {
		t.Fatalf("good login: %v", err)
	}
	// The rotation: the password changes in the database, and Secrets Manager reports
	// RotationSucceeded (here handed to the engine directly).
	if _, err := super.Exec(ctx, fmt.Sprintf("ALTER ROLE %s PASSWORD '%s'", pgx.Identifier{app}.Sanitize(), newPW)); err != nil {
		t.Fatal(err)
	}
	rotated := time.Now().UTC()
	time.Sleep(20 * time.Millisecond) // the log's clock has millisecond steps
	if err := login(app, oldPW); err == nil {
		t.Fatal("the retired password still logs in")
	}
	if err := login(app, newPW); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	if err := login(foreign, foreignPW); err != nil {
		t.Fatalf("foreign role login: %v", err)
	}

	// Read our logins back from the server's log (other tests log in concurrently: keep
	// only our two roles), waiting briefly for the last lines to be written.
	var logins []pglog.Login
	for deadline := time.Now().Add(10 * time.Second); ; {
		logins = readLogins(t, env.ServerLog, logStart, app, foreign)
		if len(logins) >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	kinds := map[pglog.Kind]int{}
	for _, l := range logins {
		kinds[l.Kind]++
		if l.Host != "127.0.0.1" {
			t.Errorf("login %+v: client address not taken from its connection line", l)
		}
	}
	if kinds[pglog.Authorized] != 3 || kinds[pglog.Failed] != 1 {
		t.Fatalf("log shows %v, want 3 logins and 1 failure: %+v", kinds, logins)
	}

	cfg, err := audit.ParseConfig([]byte(fmt.Sprintf(`{
  "watched_secrets": [{"name_prefix": "rotaudit/local/"}],
  "db_logins": {"users": [%q], "admin_users": ["rotaudit_admin"], "ignore_users": ["postgres"]}
}`, app)))
	if err != nil {
		t.Fatal(err)
	}
	e := audit.NewEngine(cfg, state.NewMemory())
	succeeded := &cloudtrail.Record{EventVersion: "1.09", EventSource: "secretsmanager.amazonaws.com", EventName: "RotationSucceeded", EventType: "AwsServiceEvent",
		EventTime: rotated.Format(time.RFC3339Nano), Time: rotated, EventID: "rotation-1", SourceIPAddress: "secretsmanager.amazonaws.com",
		UserIdentity:        cloudtrail.UserIdentity{AccountID: "123456789012", InvokedBy: "secretsmanager.amazonaws.com"},
		AdditionalEventData: []byte(`{"SecretId":"arn:aws:secretsmanager:us-east-1:123456789012:secret:rotaudit/local/app-AbCdEf"}`)}
	var got []string
	fed := false
	for i := range logins {
		l := &logins[i]
		if !fed && l.Time.After(rotated) {
			if _, err := e.Evaluate(ctx, succeeded); err != nil {
				t.Fatal(err)
			}
			fed = true
		}
		fs, err := e.EvaluateLogin(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			t.Logf("%s %s: %s", f.FindingInfo.Analytic.UID, f.Severity, f.FindingInfo.Desc)
			got = append(got, f.FindingInfo.Analytic.UID+" "+f.Actor.User.Name)
		}
	}
	slices.Sort(got)
	want := []string{"DB-01 " + app, "DB-05 " + foreign}
	if !slices.Equal(got, want) {
		t.Fatalf("findings %v, want exactly %v", got, want)
	}
}

func password(t *testing.T) string {
	t.Helper()
	pw, err := devstack.Password(24)
	if err != nil {
		t.Fatal(err)
	}
	return pw
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("PostgreSQL's log: %v", err)
	}
	return st.Size()
}

// readLogins parses the log from offset and keeps the logins of users, in time order.
func readLogins(t *testing.T, path string, offset int64, users ...string) []pglog.Login {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	var out []pglog.Login
	if _, _, err := pglog.Stream(f, func(l *pglog.Login) error {
		if slices.Contains(users, l.User) && l.Kind != pglog.Disconnected {
			out = append(out, *l)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}
