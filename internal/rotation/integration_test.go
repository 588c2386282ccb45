package rotation_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rotaudit/rotaudit/internal/lambdakit"
	"github.com/rotaudit/rotaudit/internal/pgrole"
	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/rotation/driver"
	"github.com/rotaudit/rotaudit/internal/rotation/rotationtest"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

func newRotator(f *rotationtest.Fixture, strategy rotation.Strategy, logs *testenv.Buffer) *rotation.Rotator {
	cfg, _ := rotation.LoadConfig(rotation.MapEnv(nil))
	cfg.Strategy = strategy
	cfg.MasterSecretARNs = []string{f.MasterARN}
	r := &rotation.Rotator{SM: f.SM, Dial: rotation.PgxDialer, Config: cfg}
	if logs != nil {
		r.Log = lambdakit.NewLogger(logs)
	}
	return r
}

var strategies = []rotation.Strategy{rotation.SingleUser, rotation.AlternatingUsers}

// TestTenRotations rotates each strategy ten times in a row and checks after each what an
// application relies on; objects created between rotations must reach both users.
func TestTenRotations(t *testing.T) {
	testenv.Integration(t) // every subtest needs the stack
	for _, strategy := range strategies {
		t.Run(string(strategy), func(t *testing.T) {
			f := rotationtest.New(t, rotationtest.Options{})
			r := newRotator(f, strategy, nil)
			ctx := context.Background()
			master := f.Get(t, "", "AWSCURRENT") // placeholder to keep types; replaced below
			_ = master
			for i := 1; i <= 10; i++ {
				old := f.Get(t, "", "AWSCURRENT")
				oldVersion := f.CurrentVersion(t)
				if i == 4 || i == 7 {
					// A migration between rotations: a new table, granted to the user in use.
					m := masterConn(t, f)
					tbl := fmt.Sprintf("added_%d", i)
					for _, s := range []string{
						"CREATE TABLE " + pgrole.Ident(tbl) + " (x int)",
						"GRANT SELECT, INSERT ON " + pgrole.Ident(tbl) + " TO " + pgrole.Ident(old.Username),
					} {
						if _, err := m.Exec(ctx, s); err != nil {
							t.Fatal(err)
						}
					}
				}
				token := f.StartRotation(t)
				if err := driver.Run(ctx, r, f.SecretARN, token, nil); err != nil {
					t.Fatalf("rotation %d: %v", i, err)
				}
				f.CheckFinished(t, token, oldVersion)
				cur := f.Get(t, "", "AWSCURRENT")
				if !rotationtest.LogsIn(cur) {
					t.Fatalf("rotation %d: AWSCURRENT (%s) does not log in", i, cur.Username)
				}
				if x, ok := cur.Extra("owner_note"); !ok || string(x) != `{"kept":true}` {
					t.Fatalf("rotation %d: unknown key owner_note lost: %s", i, x)
				}
				switch strategy {
				case rotation.SingleUser:
					if cur.Username != f.User {
						t.Fatalf("username changed to %q", cur.Username)
					}
					if rotationtest.LogsIn(old) {
						t.Fatalf("rotation %d: the old password still logs in", i)
					}
				case rotation.AlternatingUsers:
					if cur.Username == old.Username {
						t.Fatalf("rotation %d: username did not alternate (%q)", i, cur.Username)
					}
					if !rotationtest.LogsIn(old) {
						t.Fatalf("rotation %d: the previous user %s no longer logs in", i, old.Username)
					}
					diff, err := pgrole.Compare(ctx, masterConn(t, f), f.User, f.User+"_clone")
					if err != nil {
						t.Fatal(err)
					}
					if len(diff) > 0 {
						t.Fatalf("rotation %d: the users of the pair differ: %v", i, diff)
					}
					// Both users really can read every table, the ones added on the way too.
					for _, s := range []struct{ u, p string }{{cur.Username, cur.Password}, {old.Username, old.Password}} {
						c, err := f.Connect(s.u, s.p)
						if err != nil {
							t.Fatal(err)
						}
						for _, tbl := range []string{f.Table, "added_4", "added_7"} {
							if i < 4 && tbl != f.Table || i < 7 && tbl == "added_7" {
								continue
							}
							if _, err := c.Exec(ctx, "SELECT * FROM "+pgrole.Ident(tbl)); err != nil {
								t.Fatalf("rotation %d: %s cannot read %s: %v", i, s.u, tbl, err)
							}
						}
						c.Close(ctx)
					}
				}
			}
		})
	}
}

// masterConn connects as the fixture's master with its current secret.
func masterConn(t *testing.T, f *rotationtest.Fixture) *pgx.Conn {
	t.Helper()
	out, err := f.SM.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(f.MasterARN), VersionStage: aws.String("AWSCURRENT")})
	if err != nil {
		t.Fatal(err)
	}
	var pw string
	for _, kv := range strings.Split(strings.Trim(aws.ToString(out.SecretString), "{}"), ",") {
		if k, v, ok := strings.Cut(kv, ":"); ok && k == `"password"` {
			pw = strings.Trim(v, `"`)
		}
	}
	return f.As(t, f.Master, pw)
}

// TestNoSecretsInLogs checks the function's own log and PostgreSQL's server log with
// log_statement = 'all' for the passwords and the RotationToken.
func TestNoSecretsInLogs(t *testing.T) {
	testenv.Integration(t) // every subtest needs the stack
	for _, strategy := range strategies {
		t.Run(string(strategy), func(t *testing.T) {
			f := rotationtest.New(t, rotationtest.Options{LogStatements: true, LogUserStatements: strategy == rotation.SingleUser})
			serverLog := f.Env.ServerLog
			var offset int64
			if serverLog != "" {
				st, err := os.Stat(serverLog)
				if err != nil {
					t.Fatalf("PostgreSQL's server log on the native stack: %v", err)
				}
				offset = st.Size()
			}
			logs := &testenv.Buffer{}
			r := newRotator(f, strategy, logs)
			token := f.StartRotation(t)
			const rotationToken = "ROTATION-TOKEN-must-not-be-logged-7c1e"
			for _, step := range rotation.Steps() {
				ev := rotation.Event{Step: step, SecretID: f.SecretARN, ClientRequestToken: token, RotationToken: rotationToken}
				if err := r.Handle(context.Background(), ev); err != nil {
					t.Fatalf("%s: %v", step, err)
				}
			}
			newPW := f.Get(t, "", "AWSCURRENT").Password
			out := logs.String()
			for _, secret := range []string{newPW, f.UserPassword, rotationToken} {
				if strings.Contains(out, secret) {
					t.Fatalf("function log contains a secret value:\n%s", out)
				}
			}
			if strings.Count(out, `"outcome":"done"`) != 4 {
				t.Fatalf("want four step records, got:\n%s", out)
			}
			if serverLog == "" {
				t.Skip("docker stack: PostgreSQL's server log stays in its container, so the server-side check needs the native stack")
			}
			data, err := os.ReadFile(serverLog)
			if err != nil {
				t.Fatalf("PostgreSQL's server log: %v", err)
			}
			tail := string(data[offset:])
			cur := f.Get(t, "", "AWSCURRENT")
			if !strings.Contains(tail, "ALTER ROLE "+pgrole.Ident(cur.Username)+" PASSWORD 'SCRAM-SHA-256$4096:") {
				t.Fatalf("the server log does not show the rotation's ALTER ROLE: log_statement was not in effect, the check below would prove nothing\n%s", lastLines(tail, 20))
			}
			for _, secret := range []string{newPW, f.UserPassword} {
				if strings.Contains(tail, secret) {
					t.Fatal("the PostgreSQL server log contains a password")
				}
			}
		})
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// TestRepeatedAndConcurrentSteps runs every step several times in a row and several
// times at once, as Secrets Manager's retries and duplicate invocations do.
func TestRepeatedAndConcurrentSteps(t *testing.T) {
	testenv.Integration(t) // every subtest needs the stack
	for _, strategy := range strategies {
		t.Run(string(strategy), func(t *testing.T) {
			f := rotationtest.New(t, rotationtest.Options{})
			r := newRotator(f, strategy, nil)
			ctx := context.Background()
			for round := 0; round < 2; round++ {
				oldVersion := f.CurrentVersion(t)
				token := f.StartRotation(t)
				var pendingPW string
				for _, step := range rotation.Steps() {
					ev := rotation.Event{Step: step, SecretID: f.SecretARN, ClientRequestToken: token}
					var wg sync.WaitGroup
					errs := make([]error, 4)
					for i := range errs {
						wg.Add(1)
						go func() { defer wg.Done(); errs[i] = r.Handle(ctx, ev) }()
					}
					wg.Wait()
					for i, err := range errs {
						if err != nil {
							t.Fatalf("%s, concurrent call %d: %v", step, i, err)
						}
					}
					for i := 0; i < 2; i++ {
						if err := r.Handle(ctx, ev); err != nil {
							t.Fatalf("%s, repeat %d: %v", step, i, err)
						}
					}
					if step == rotation.StepCreate {
						pendingPW = f.Get(t, token, "AWSPENDING").Password
					}
				}
				f.CheckFinished(t, token, oldVersion)
				cur := f.Get(t, "", "AWSCURRENT")
				if cur.Password != pendingPW {
					t.Fatal("the value made by the first createSecrets was replaced by a repeat")
				}
				if !rotationtest.LogsIn(cur) {
					t.Fatal("AWSCURRENT does not log in")
				}
			}
		})
	}
}

// faults makes the rotator fail right after the n-th Secrets Manager call or database
// statement (counting logins), after the call itself took effect.
type faults struct {
	mu    sync.Mutex
	n     int
	count int
	fired string
}

var errInjected = errors.New("injected fault")

func (f *faults) hit(what string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count++
	if f.count == f.n {
		f.fired = what
		return fmt.Errorf("%w after %s", errInjected, what)
	}
	return nil
}

type faultySM struct {
	rotation.SecretsManager
	f *faults
}

func (s faultySM) DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, o ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	out, err := s.SecretsManager.DescribeSecret(ctx, in, o...)
	return lost(s.f, "DescribeSecret", out, err)
}

func (s faultySM) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, o ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	out, err := s.SecretsManager.GetSecretValue(ctx, in, o...)
	return lost(s.f, "GetSecretValue "+aws.ToString(in.VersionStage), out, err)
}

func (s faultySM) PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, o ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	out, err := s.SecretsManager.PutSecretValue(ctx, in, o...)
	return lost(s.f, "PutSecretValue", out, err)
}

func (s faultySM) UpdateSecretVersionStage(ctx context.Context, in *secretsmanager.UpdateSecretVersionStageInput, o ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error) {
	out, err := s.SecretsManager.UpdateSecretVersionStage(ctx, in, o...)
	return lost(s.f, "UpdateSecretVersionStage "+aws.ToString(in.VersionStage), out, err)
}

// lost returns a call's result, unless the fault for what fires: then its error instead,
// as when the call took effect and its answer was lost.
func lost[T any](f *faults, what string, out T, err error) (T, error) {
	if ferr := f.hit(what); ferr != nil {
		var zero T
		return zero, ferr
	}
	return out, err
}

type faultyDB struct {
	rotation.DB
	f *faults
}

func (d faultyDB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := d.DB.Exec(ctx, sql, args...)
	return lost(d.f, "SQL "+firstWords(sql), tag, err)
}

func (d faultyDB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := d.DB.Query(ctx, sql, args...)
	if ferr := d.f.hit("SQL " + firstWords(sql)); ferr != nil {
		if err == nil {
			rows.Close()
		}
		return nil, ferr
	}
	return rows, err
}

func (d faultyDB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return faultyRow{d.DB.QueryRow(ctx, sql, args...), d.f, firstWords(sql)}
}

type faultyRow struct {
	pgx.Row
	f   *faults
	sql string
}

func (r faultyRow) Scan(dst ...any) error {
	err := r.Row.Scan(dst...)
	if ferr := r.f.hit("SQL " + r.sql); ferr != nil {
		return ferr
	}
	return err
}

func firstWords(sql string) string {
	w := strings.Fields(sql)
	if len(w) > 3 {
		w = w[:3]
	}
	return strings.Join(w, " ")
}

// TestFaultInjection fails the rotation after every Secrets Manager call and every SQL
// statement in turn, then retries the whole rotation with the same token as Secrets
// Manager does. The application must never be locked out: after the failure AWSCURRENT
// or AWSPENDING logs in, and after the retry AWSCURRENT does.
func TestFaultInjection(t *testing.T) {
	testenv.Integration(t) // every subtest needs the stack
	for _, strategy := range strategies {
		t.Run(string(strategy), func(t *testing.T) {
			f := rotationtest.New(t, rotationtest.Options{})
			healthy := newRotator(f, strategy, nil)
			ctx := context.Background()
			points, absorbed := 0, 0
			for n := 1; ; n++ {
				fl := &faults{n: n}
				faulty := newRotator(f, strategy, nil)
				faulty.SM = faultySM{f.SM, fl}
				faulty.Dial = func(ctx context.Context, cfg *pgx.ConnConfig) (rotation.DB, error) {
					db, err := rotation.PgxDialer(ctx, cfg)
					if err != nil {
						return nil, err
					}
					if ferr := fl.hit("login " + cfg.User); ferr != nil {
						db.Close(ctx)
						return nil, ferr
					}
					return faultyDB{db, fl}, nil
				}
				oldVersion := f.CurrentVersion(t)
				token := f.StartRotation(t)
				err := driver.Run(ctx, faulty, f.SecretARN, token, nil)
				if fl.fired == "" {
					if err != nil {
						t.Fatalf("rotation without a fault failed: %v", err)
					}
					points = n - 1
					break
				}
				if err == nil {
					// The step saw through the fault (the change had happened, the pending
					// login proved it): the rotation must simply be complete.
					f.CheckFinished(t, token, oldVersion)
					absorbed++
					continue
				}
				if !errors.Is(err, errInjected) {
					t.Fatalf("fault %d (after %s): err = %v, want the injected fault", n, fl.fired, err)
				}
				cur := f.Get(t, "", "AWSCURRENT")
				if !rotationtest.LogsIn(cur) && !pendingLogsIn(t, f) {
					t.Fatalf("fault %d (after %s): neither AWSCURRENT nor AWSPENDING logs in: locked out", n, fl.fired)
				}
				if err := driver.Run(ctx, healthy, f.SecretARN, token, nil); err != nil {
					t.Fatalf("fault %d (after %s): retry: %v", n, fl.fired, err)
				}
				if f.CurrentVersion(t) == oldVersion {
					t.Fatalf("fault %d: the retry did not make the token current", n)
				}
				f.CheckFinished(t, token, oldVersion)
				if cur := f.Get(t, "", "AWSCURRENT"); !rotationtest.LogsIn(cur) {
					t.Fatalf("fault %d (after %s): after the retry AWSCURRENT does not log in", n, fl.fired)
				}
			}
			if points < 10 {
				t.Fatalf("only %d fault points: the injection is not reaching the calls", points)
			}
			t.Logf("%s: injected a fault at each of %d points (%d absorbed by the step itself)", strategy, points, absorbed)
		})
	}
}

func pendingLogsIn(t *testing.T, f *rotationtest.Fixture) bool {
	for v, labels := range f.Stages(t) {
		for _, l := range labels {
			if l == "AWSPENDING" {
				out, err := f.SM.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(f.SecretARN), VersionId: aws.String(v), VersionStage: aws.String("AWSPENDING")})
				if err != nil {
					return false
				}
				_ = out
				return rotationtest.LogsIn(f.Get(t, v, "AWSPENDING"))
			}
		}
	}
	return false
}

// TestDatabaseDownDuringSet makes every login of setSecret hit a closed port: a clear
// "unreachable" error, AWSCURRENT still works, and a retry once the database is back
// finishes the rotation.
func TestDatabaseDownDuringSet(t *testing.T) {
	testenv.Integration(t) // every subtest needs the stack
	for _, strategy := range strategies {
		t.Run(string(strategy), func(t *testing.T) {
			f := rotationtest.New(t, rotationtest.Options{})
			r := newRotator(f, strategy, nil)
			ctx := context.Background()
			closed := closedPort(t)
			down := newRotator(f, strategy, nil)
			down.Dial = func(ctx context.Context, cfg *pgx.ConnConfig) (rotation.DB, error) {
				cfg = cfg.Copy()
				cfg.Host, cfg.Port = "127.0.0.1", closed
				return rotation.PgxDialer(ctx, cfg)
			}
			oldVersion := f.CurrentVersion(t)
			token := f.StartRotation(t)
			ev := func(step string) rotation.Event {
				return rotation.Event{Step: step, SecretID: f.SecretARN, ClientRequestToken: token}
			}
			if err := r.Handle(ctx, ev(rotation.StepCreate)); err != nil {
				t.Fatal(err)
			}
			err := down.Handle(ctx, ev(rotation.StepSet))
			if !errors.Is(err, rotation.ErrDBUnreachable) || !strings.Contains(err.Error(), "check host, port") {
				t.Fatalf("err = %v, want ErrDBUnreachable with advice", err)
			}
			if !rotationtest.LogsIn(f.Get(t, "", "AWSCURRENT")) {
				t.Fatal("AWSCURRENT stopped working while the database was down")
			}
			if err := driver.Run(ctx, r, f.SecretARN, token, nil); err != nil {
				t.Fatalf("retry: %v", err)
			}
			f.CheckFinished(t, token, oldVersion)
		})
	}
}

// closedPort is a port that refuses connections for the rest of the test: reserved, never
// listening, so no parallel test can start a server on it.
func closedPort(t *testing.T) uint16 {
	p, _ := testenv.ReservePort(t)
	return uint16(p)
}

// TestBadInput checks refusals on the real emulator: nothing may change.
func TestBadInput(t *testing.T) {
	f := rotationtest.New(t, rotationtest.Options{})
	ctx := context.Background()
	r := newRotator(f, rotation.SingleUser, nil)
	token := f.StartRotation(t)
	prev := f.CurrentVersion(t)

	put := func(t *testing.T, value string) string {
		out, err := testenv.CreateSecret(ctx, f.SM, &secretsmanager.CreateSecretInput{Name: aws.String(testenv.Unique("rotaudit-test/bad")), SecretString: aws.String(value)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			f.SM.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: out.ARN, ForceDeleteWithoutRecovery: aws.Bool(true)})
		})
		return aws.ToString(out.ARN)
	}
	disabled := put(t, `{"engine":"postgres","host":"h","username":"u","password":"p"}`)
	dOut, _ := f.SM.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(disabled)})
	var disabledVersion string
	for v := range dOut.VersionIdsToStages {
		disabledVersion = v
	}

	tests := []struct {
		name    string
		ev      rotation.Event
		want    error
		wantMsg string
	}{
		{"token not a version", rotation.Event{Step: rotation.StepCreate, SecretID: f.SecretARN, ClientRequestToken: driver.NewToken()}, rotation.ErrNotPending, "not a version"},
		{"token is AWSCURRENT already: skipped", rotation.Event{Step: rotation.StepSet, SecretID: f.SecretARN, ClientRequestToken: prev}, nil, ""},
		{"rotation disabled", rotation.Event{Step: rotation.StepCreate, SecretID: disabled, ClientRequestToken: disabledVersion}, rotation.ErrRotationDisabled, "enable rotation"},
		{"unknown secret", rotation.Event{Step: rotation.StepCreate, SecretID: "rotaudit-test/does-not-exist-" + driver.NewToken(), ClientRequestToken: token}, rotation.ErrSecretsManager, "ResourceNotFoundException"},
		{"bad step", rotation.Event{Step: "deleteSecret", SecretID: f.SecretARN, ClientRequestToken: token}, rotation.ErrInvalidEvent, "Step"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fmt.Sprint(f.Stages(t))
			err := r.Handle(ctx, tt.ev)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
			} else if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tt.want, tt.wantMsg)
			}
			if after := fmt.Sprint(f.Stages(t)); after != before {
				t.Fatalf("labels changed from %s to %s", before, after)
			}
		})
	}

	// Malformed current versions: the steps refuse and change nothing.
	for _, tc := range []struct{ name, value, key string }{
		{"wrong engine", `{"engine":"mysql","host":"h","username":"u","password":"p"}`, `"engine"`},
		{"not JSON", `engine=postgres`, "not a JSON object"},
		{"port out of range", `{"engine":"postgres","host":"h","port":70000,"username":"u","password":"p"}`, `"port"`},
		{"no password", `{"engine":"postgres","host":"h","username":"u"}`, `"password"`},
	} {
		t.Run("current "+tc.name, func(t *testing.T) {
			bad := rotationtest.New(t, rotationtest.Options{})
			if _, err := bad.SM.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(bad.SecretARN), SecretString: aws.String(tc.value), VersionStages: []string{"AWSCURRENT"}}); err != nil {
				t.Fatal(err)
			}
			tok := bad.StartRotation(t)
			before := fmt.Sprint(bad.Stages(t))
			err := newRotator(bad, rotation.SingleUser, nil).Handle(ctx, rotation.Event{Step: rotation.StepCreate, SecretID: bad.SecretARN, ClientRequestToken: tok})
			if !errors.Is(err, rotation.ErrInvalidSecret) || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("err = %v, want ErrInvalidSecret naming %s", err, tc.key)
			}
			if strings.Contains(err.Error(), `"p"`) {
				t.Fatalf("error shows the password: %v", err)
			}
			if after := fmt.Sprint(bad.Stages(t)); after != before {
				t.Fatalf("labels changed from %s to %s", before, after)
			}
		})
	}
}

// TestNoSilentTLSDowngrade: a secret without "ssl" and no DB_ALLOW_PLAINTEXT must use
// verified TLS; the local server has none, so the step fails saying so.
func TestNoSilentTLSDowngrade(t *testing.T) {
	f := rotationtest.New(t, rotationtest.Options{})
	ctx := context.Background()
	cur := f.Get(t, "", "AWSCURRENT")
	cur.SSL = nil
	body, _ := cur.Marshal()
	if _, err := f.SM.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(f.SecretARN), SecretString: aws.String(string(body)), VersionStages: []string{"AWSCURRENT"}}); err != nil {
		t.Fatal(err)
	}
	r := newRotator(f, rotation.SingleUser, nil)
	token := f.StartRotation(t)
	// Single-user setSecret logs in with AWSCURRENT before it changes anything: the
	// refusal comes there, and the database keeps its password.
	err := driver.Run(ctx, r, f.SecretARN, token, nil)
	if !errors.Is(err, rotation.ErrDBTLS) || !strings.Contains(err.Error(), "DB_ALLOW_PLAINTEXT") || !strings.Contains(err.Error(), rotation.StepSet) {
		t.Fatalf("err = %v, want ErrDBTLS with advice from setSecret", err)
	}
	if !rotationtest.LogsIn(cur) {
		t.Fatal("the database password changed although the database refused plaintext")
	}
	r.Config.AllowPlaintext = true
	if err := driver.Run(ctx, r, f.SecretARN, token, nil); err != nil {
		t.Fatalf("with DB_ALLOW_PLAINTEXT=true: %v", err)
	}
}

// TestErrorsSayWhatFailed covers the failures an operator must tell apart: the user's
// password changed behind the secret's back (login refused), the master lacking a
// privilege, and Secrets Manager unreachable.
func TestErrorsSayWhatFailed(t *testing.T) {
	testenv.Integration(t) // every subtest needs the stack
	ctx := context.Background()
	t.Run("login refused", func(t *testing.T) {
		f := rotationtest.New(t, rotationtest.Options{})
		super := f.Env.Super(t, "")
		if err := pgrole.SetPassword(ctx, super, f.User, "changed-by-hand-123"); err != nil {
			t.Fatal(err)
		}
		r := newRotator(f, rotation.SingleUser, nil)
		err := driver.Run(ctx, r, f.SecretARN, f.StartRotation(t), nil)
		if !errors.Is(err, rotation.ErrDBAuth) || !strings.Contains(err.Error(), "set the user's password in the database to the AWSCURRENT value") {
			t.Fatalf("err = %v, want ErrDBAuth with advice", err)
		}
	})
	t.Run("master lacks CREATEROLE", func(t *testing.T) {
		f := rotationtest.New(t, rotationtest.Options{})
		super := f.Env.Super(t, "")
		if _, err := super.Exec(ctx, "ALTER ROLE "+pgrole.Ident(f.Master)+" NOCREATEROLE"); err != nil {
			t.Fatal(err)
		}
		r := newRotator(f, rotation.AlternatingUsers, nil)
		err := driver.Run(ctx, r, f.SecretARN, f.StartRotation(t), nil)
		if !errors.Is(err, rotation.ErrDBPrivilege) || !strings.Contains(err.Error(), "lacks CREATEROLE") {
			t.Fatalf("err = %v, want ErrDBPrivilege", err)
		}
		if !rotationtest.LogsIn(f.Get(t, "", "AWSCURRENT")) {
			t.Fatal("AWSCURRENT stopped working")
		}
	})
	t.Run("secrets manager unreachable", func(t *testing.T) {
		f := rotationtest.New(t, rotationtest.Options{})
		cfg := f.Env.AWS(t)
		cfg.RetryMaxAttempts = 1
		dead := "http://127.0.0.1:" + fmt.Sprint(closedPort(t))
		r := newRotator(f, rotation.SingleUser, nil)
		r.SM = secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = &dead })
		err := r.Handle(ctx, rotation.Event{Step: rotation.StepCreate, SecretID: f.SecretARN, ClientRequestToken: driver.NewToken()})
		if !errors.Is(err, rotation.ErrSecretsManager) || !strings.Contains(err.Error(), "unreachable") {
			t.Fatalf("err = %v, want ErrSecretsManager unreachable", err)
		}
	})
}
