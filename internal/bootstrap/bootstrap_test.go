package bootstrap_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/bootstrap"
	"github.com/rotaudit/rotaudit/internal/bootstrap/bootstraptest"
	"github.com/rotaudit/rotaudit/internal/ratesdb"
	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/rotation/driver"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

func run(t *testing.T, f *bootstraptest.Fixture, c bootstrap.Config, log *bytes.Buffer) (bootstrap.Result, error) {
	t.Helper()
	b := &bootstrap.Bootstrapper{SM: f.SM, Config: c, Log: slog.New(slog.NewJSONHandler(log, nil))}
	return b.Run(context.Background())
}

// TestFirstDeployment is issue 8 §4 on the real PostgreSQL and emulator: a master that is
// CREATEROLE but not a superuser (as on RDS) and also the rotation's admin, an empty
// database, an app secret without password. One run makes it work; the next changes
// nothing, also after an alternating rotation moved the secret to the clone.
func TestFirstDeployment(t *testing.T) {
	testenv.Integration(t) // every subtest needs the stack
	for _, rdsManaged := range []bool{false, true} {
		name := "full master secret"
		if rdsManaged {
			name = "RDS-managed master secret"
		}
		t.Run(name, func(t *testing.T) {
			f := bootstraptest.New(t, bootstraptest.Options{RDSManagedMaster: rdsManaged})
			ctx := context.Background()
			var offset int64
			if f.Env.ServerLog != "" {
				st, err := os.Stat(f.Env.ServerLog)
				if err != nil {
					t.Fatalf("PostgreSQL's server log on the native stack: %v", err)
				}
				offset = st.Size()
			}
			var log bytes.Buffer
			res, err := run(t, f, f.Config(), &log)
			if err != nil {
				t.Fatalf("bootstrap: %v\nlog:\n%s", err, log.String())
			}
			if !res.Changed || len(res.Migrated) == 0 || len(res.Apps) != 1 || !res.Apps[0].PasswordSet || len(res.RoleChanges) == 0 {
				t.Fatalf("first run: %+v", res)
			}
			app := testenv.CurrentSecret(t, f.SM, f.AppSecretARN)
			if app.Username != f.App || app.DBName != f.Database || app.Engine != "postgres" || app.MasterARN != f.MasterSecretARN || len(app.Password) != 32 {
				t.Fatalf("app secret after the bootstrap: %v master %q", app, app.MasterARN)
			}
			if strings.Contains(log.String(), app.Password) || strings.Contains(log.String(), f.MasterPassword) {
				t.Fatal("the bootstrap logged a password")
			}
			if f.Env.ServerLog != "" {
				data, err := os.ReadFile(f.Env.ServerLog)
				if err != nil {
					t.Fatal(err)
				}
				tail := string(data[offset:])
				if !strings.Contains(tail, "ALTER ROLE "+pgx.Identifier{f.App}.Sanitize()+" PASSWORD 'SCRAM-SHA-256$4096:") {
					t.Fatal("the server log lacks the bootstrap's ALTER ROLE: log_statement was not in effect, the check below would prove nothing")
				}
				if strings.Contains(tail, app.Password) {
					t.Fatal("the PostgreSQL server log contains the app password")
				}
			}

			// The app reads (the tables are empty on a first deployment) and does nothing else.
			conn := testenv.Login(t, app)
			var n int
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM prices").Scan(&n); err != nil {
				t.Fatalf("the app cannot read prices: %v", err)
			}
			for _, stmt := range []string{"INSERT INTO regions VALUES ('x','x',NULL)", "CREATE TABLE t (a int)", "DROP TABLE prices"} {
				if _, err := conn.Exec(ctx, stmt); err == nil {
					t.Errorf("the app may: %s", stmt)
				}
			}
			var owner string
			var direct int
			super := f.Env.Super(t, f.Database)
			if err := super.QueryRow(ctx, "SELECT tableowner FROM pg_tables WHERE tablename = 'prices'").Scan(&owner); err != nil || owner != f.Master {
				t.Fatalf("prices owned by %q (%v), want the master %s", owner, err, f.Master)
			}
			if err := super.QueryRow(ctx, `SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a WHERE c.relname = 'prices' AND a.grantee = $1::regrole`, f.App).Scan(&direct); err != nil || direct != 0 {
				t.Fatalf("the app login holds %d privileges of its own (%v): grants go to the reader role", direct, err)
			}

			version := f.CurrentVersion(t, f.AppSecretARN)
			again, err := run(t, f, f.Config(), &log)
			if err != nil || again.Changed || again.Apps[0].PasswordSet || f.CurrentVersion(t, f.AppSecretARN) != version {
				t.Fatalf("second run changed something: %+v, %v", again, err)
			}

			if rdsManaged {
				// The rotator reads an RDS-managed master secret only once issue 9 §4 lands.
				return
			}
			// The master rotates the app secret to the clone; the bootstrap accepts the clone.
			cfg, _ := rotation.LoadConfig(rotation.MapEnv(nil))
			cfg.Strategy = rotation.AlternatingUsers
			cfg.AllowPlaintext = true
			cfg.MasterSecretARNs = []string{f.MasterSecretARN}
			r := &rotation.Rotator{SM: f.SM, Dial: rotation.PgxDialer, Config: cfg, AllowDisabled: true}
			token, _, err := driver.Start(ctx, r, f.AppSecretARN)
			if err == nil {
				err = driver.Run(ctx, r, f.AppSecretARN, token, nil)
			}
			if err != nil {
				t.Fatalf("alternating rotation with the master: %v", err)
			}
			if u := testenv.CurrentSecret(t, f.SM, f.AppSecretARN).Username; u != f.App+"_clone" {
				t.Fatalf("rotated to %s", u)
			}
			version = f.CurrentVersion(t, f.AppSecretARN)
			third, err := run(t, f, f.Config(), &log)
			if err != nil || third.Changed || f.CurrentVersion(t, f.AppSecretARN) != version {
				t.Fatalf("run after a rotation: %+v, %v", third, err)
			}
			testenv.Login(t, testenv.CurrentSecret(t, f.SM, f.AppSecretARN))

			// A password the database refuses is replaced.
			if _, err := super.Exec(ctx, "ALTER ROLE "+pgx.Identifier{f.App + "_clone"}.Sanitize()+" PASSWORD NULL"); err != nil {
				t.Fatal(err)
			}
			fourth, err := run(t, f, f.Config(), &log)
			if err != nil || !fourth.Apps[0].PasswordSet {
				t.Fatalf("refused password not replaced: %+v, %v", fourth, err)
			}
			d, err := f.SM.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: &f.AppSecretARN})
			if err != nil {
				t.Fatal(err)
			}
			for id, stages := range d.VersionIdsToStages {
				if slices.Contains(stages, "AWSCURRENT") && id != f.CurrentVersion(t, f.AppSecretARN) || slices.Contains(stages, "rotaudit-bootstrap") {
					t.Fatalf("version stages after the bootstrap: %v", d.VersionIdsToStages)
				}
			}
			testenv.Login(t, testenv.CurrentSecret(t, f.SM, f.AppSecretARN))
		})
	}
}

// TestRefusesForeignUsers: the names come from APP_USERNAME, never from the secret. A
// writer of the app secret who puts another role there (or the master's own name) gets
// nothing: no role, no password, no secret version.
func TestRefusesForeignUsers(t *testing.T) {
	f := bootstraptest.New(t, bootstraptest.Options{})
	for _, user := range []string{"payroll_" + strings.TrimPrefix(f.App, "bs_app_"), f.Master} {
		t.Run(user, func(t *testing.T) {
			f.Put(t, f.AppSecretARN, f.TerraformAppValue(user))
			version := f.CurrentVersion(t, f.AppSecretARN)
			var log bytes.Buffer
			_, err := run(t, f, f.Config(), &log)
			if !errors.Is(err, bootstrap.ErrRefused) || !strings.Contains(err.Error(), user) {
				t.Fatalf("err = %v, want ErrRefused naming %s", err, user)
			}
			if f.CurrentVersion(t, f.AppSecretARN) != version {
				t.Fatal("the refused secret got a new version")
			}
			if user != f.Master && f.RoleExists(t, user) {
				t.Fatalf("role %s was created", user)
			}
			if f.RoleExists(t, f.Reader) {
				t.Fatal("the refused run changed the database")
			}
		})
	}
	// The master as APP_USERNAME is refused too.
	c := f.Config()
	c.AppUsername = f.Master
	f.Put(t, f.AppSecretARN, f.TerraformAppValue(f.Master))
	if _, err := run(t, f, c, &bytes.Buffer{}); !errors.Is(err, bootstrap.ErrRefused) {
		t.Fatalf("master as APP_USERNAME: %v", err)
	}
}

// TestMoreAppUsers (issue 21): a database's further applications are bootstrapped with
// the first: each gets its own login, its own password in its own secret, and the same
// grants through the reader role, and nothing more (no superuser, no privilege of its own).
func TestMoreAppUsers(t *testing.T) {
	f := bootstraptest.New(t, bootstraptest.Options{MoreApps: 1})
	ctx := context.Background()
	res, err := run(t, f, f.Config(), &bytes.Buffer{})
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	if len(res.Apps) != 2 || !res.Apps[0].PasswordSet || !res.Apps[1].PasswordSet {
		t.Fatalf("apps: %+v, want both secrets' first passwords set", res.Apps)
	}
	first := testenv.CurrentSecret(t, f.SM, f.AppSecretARN)
	second := testenv.CurrentSecret(t, f.SM, f.MoreAppSecretARNs[0])
	if second.Username != f.MoreApps[0] || second.Password == "" || second.Password == first.Password || second.MasterARN != f.MasterSecretARN {
		t.Fatalf("second secret: user %q, master %q, password set %v", second.Username, second.MasterARN, second.Password != "")
	}
	conn := testenv.Login(t, second)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM prices").Scan(&n); err != nil {
		t.Fatalf("the second app cannot read prices: %v", err)
	}
	for _, stmt := range []string{"INSERT INTO regions VALUES ('x','x',NULL)", "CREATE TABLE t (a int)", "DROP TABLE prices"} {
		if _, err := conn.Exec(ctx, stmt); err == nil {
			t.Errorf("the second app may: %s", stmt)
		}
	}
	super := f.Env.Super(t, f.Database)
	var unsafe bool
	var member bool
	if err := super.QueryRow(ctx, `SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls,
		pg_has_role(rolname, $2, 'MEMBER') FROM pg_roles WHERE rolname = $1`, f.MoreApps[0], f.Reader).Scan(&unsafe, &member); err != nil {
		t.Fatal(err)
	}
	if unsafe || !member {
		t.Fatalf("second app: privileged attribute %v, member of %s %v", unsafe, f.Reader, member)
	}
	var direct int
	if err := super.QueryRow(ctx, `SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a WHERE c.relname = 'prices' AND a.grantee = $1::regrole`, f.MoreApps[0]).Scan(&direct); err != nil || direct != 0 {
		t.Fatalf("the second app holds %d privileges of its own (%v): grants go to the reader role", direct, err)
	}
	versions := []string{f.CurrentVersion(t, f.AppSecretARN), f.CurrentVersion(t, f.MoreAppSecretARNs[0])}
	again, err := run(t, f, f.Config(), &bytes.Buffer{})
	if err != nil || again.Changed || f.CurrentVersion(t, f.AppSecretARN) != versions[0] || f.CurrentVersion(t, f.MoreAppSecretARNs[0]) != versions[1] {
		t.Fatalf("second run changed something: %+v, %v", again, err)
	}

	// Without the second user in APP_USERNAME its secret is refused: a secret cannot
	// choose its role.
	c := f.Config()
	c.MoreAppUsernames = nil
	if _, err := run(t, f, c, &bytes.Buffer{}); !errors.Is(err, bootstrap.ErrRefused) || !strings.Contains(err.Error(), f.MoreApps[0]) {
		t.Fatalf("second secret without its user configured: %v, want ErrRefused naming %s", err, f.MoreApps[0])
	}
}

// TestUnreachableAppServerChangesNothing: when the app secret's password cannot be tried
// (the server it names does not answer), the bootstrap fails instead of replacing a
// password that may be in use.
func TestUnreachableAppServerChangesNothing(t *testing.T) {
	f := bootstraptest.New(t, bootstraptest.Options{})
	if _, err := run(t, f, f.Config(), &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	app := testenv.CurrentSecret(t, f.SM, f.AppSecretARN)
	// Port 1 on the loopback: nothing listens there. The master's own secret still names
	// the real server.
	f.Put(t, f.AppSecretARN, strings.Replace(f.TerraformAppValue(f.App), `"port":`, `"password":"`+app.Password+`","port":1, "x":`, 1))
	version := f.CurrentVersion(t, f.AppSecretARN)
	var log bytes.Buffer
	res, err := run(t, f, f.Config(), &log)
	if err == nil || !strings.Contains(err.Error(), "log in with app secret") {
		t.Fatalf("err = %v, want a failed login that changes nothing; %+v\n%s", err, res, log.String())
	}
	if f.CurrentVersion(t, f.AppSecretARN) != version {
		t.Fatal("the secret got a new version although its password was never tried")
	}
	testenv.Login(t, app) // the password in the database is still the one the old value holds
}

// TestCreatesMissingDatabase: without the database, a master without CREATEDB is told what
// is missing; with CREATEDB (as the RDS master has) the bootstrap creates it.
func TestCreatesMissingDatabase(t *testing.T) {
	f := bootstraptest.New(t, bootstraptest.Options{RDSManagedMaster: true})
	ctx := context.Background()
	db := f.Database + "_new"
	t.Cleanup(func() {
		if c, err := pgx.Connect(ctx, f.Env.SuperDSN); err == nil {
			c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
	f.Put(t, f.AppSecretARN, strings.Replace(f.TerraformAppValue(f.App), `"dbname":"`+f.Database+`",`, "", 1))
	c := f.Config()
	c.DBName = db
	_, err := run(t, f, c, &bytes.Buffer{})
	if !errors.Is(err, bootstrap.ErrMaster) || !strings.Contains(err.Error(), "CREATEDB") {
		t.Fatalf("err = %v, want ErrMaster saying CREATEDB is needed", err)
	}
	if _, err := f.Env.Super(t, "").Exec(ctx, "ALTER ROLE "+pgx.Identifier{f.Master}.Sanitize()+" CREATEDB"); err != nil {
		t.Fatal(err)
	}
	var version int
	if err := f.Env.Super(t, "").QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version < 150000 {
		// Before PostgreSQL 15 schema public of a new database belongs to the bootstrap
		// superuser and every role may CREATE in it; this master, unlike RDS's, cannot take
		// that back, so the bootstrap stops and says how. Its remedy, then the run again.
		remedy := "ALTER SCHEMA public OWNER TO " + pgx.Identifier{f.Master}.Sanitize()
		_, err := run(t, f, c, &bytes.Buffer{})
		if !errors.Is(err, ratesdb.ErrOpenPublicSchema) || !strings.Contains(err.Error(), remedy) {
			t.Fatalf("err = %v, want ErrOpenPublicSchema with its remedy", err)
		}
		if _, err := f.Env.Super(t, db).Exec(ctx, remedy); err != nil {
			t.Fatal(err)
		}
	}
	res, err := run(t, f, c, &bytes.Buffer{})
	if err != nil || !res.Apps[0].PasswordSet {
		t.Fatalf("%+v, %v", res, err)
	}
	app := testenv.CurrentSecret(t, f.SM, f.AppSecretARN)
	if app.DBName != db {
		t.Fatalf("the app secret names database %q, want %q", app.DBName, db)
	}
	testenv.Login(t, app)
}

// TestWaitsForTheServer: on the ECS database Terraform invokes the bootstrap as soon as
// the service exists, before PostgreSQL listens. The bootstrap tries again until it does
// (here a proxy to the stack's server that starts listening 3 s late), and gives up in
// time to report the error before the invocation's deadline when it never does.
func TestWaitsForTheServer(t *testing.T) {
	f := bootstraptest.New(t, bootstraptest.Options{})
	master := func(port int) string {
		return fmt.Sprintf(`{"engine":"postgres","host":"127.0.0.1","port":%d,"username":%q,"password":%q,"dbname":%q,"ssl":false}`,
			port, f.Master, f.MasterPassword, f.Database)
	}

	t.Run("late server", func(t *testing.T) {
		port, listen := testenv.ReservePort(t)
		f.Put(t, f.MasterSecretARN, master(port))
		go func() {
			// The delay is the scenario (a server that comes up late), not a wait.
			time.Sleep(3 * time.Second)
			l, err := listen()
			if err != nil {
				t.Errorf("proxy: %v", err)
				return
			}
			t.Cleanup(func() { l.Close() })
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go proxy(c, fmt.Sprintf("127.0.0.1:%d", f.Env.PGPort))
			}
		}()
		var log bytes.Buffer
		start := time.Now()
		res, err := run(t, f, f.Config(), &log)
		if err != nil || !res.Changed {
			t.Fatalf("%+v, %v\n%s", res, err, log.String())
		}
		if waited := time.Since(start); waited < 3*time.Second || !strings.Contains(log.String(), "does not accept connections yet") {
			t.Fatalf("done after %s without waiting for the server:\n%s", waited, log.String())
		}
	})

	t.Run("no server", func(t *testing.T) {
		port, _ := testenv.ReservePort(t)
		f.Put(t, f.MasterSecretARN, master(port))
		ctx, cancel := context.WithTimeout(context.Background(), 16*time.Second)
		defer cancel()
		var log bytes.Buffer
		b := &bootstrap.Bootstrapper{SM: f.SM, Config: f.Config(), Log: slog.New(slog.NewJSONHandler(&log, nil))}
		_, err := b.Run(ctx)
		if !errors.Is(err, bootstrap.ErrMaster) || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("err = %v, want ErrMaster saying the connection was refused", err)
		}
		if ctx.Err() != nil {
			t.Fatal("gave up only at the deadline: no time left to report the error")
		}
		if n := strings.Count(log.String(), "does not accept connections yet"); n < 1 {
			t.Fatalf("no retry logged:\n%s", log.String())
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		f.Put(t, f.MasterSecretARN, strings.Replace(master(f.Env.PGPort), f.MasterPassword, "not-"+f.MasterPassword, 1))
		var log bytes.Buffer
		_, err := run(t, f, f.Config(), &log)
		if !errors.Is(err, bootstrap.ErrMaster) || strings.Contains(log.String(), "does not accept connections yet") {
			t.Fatalf("err = %v, want ErrMaster at once, without retries:\n%s", err, log.String())
		}
	})
}

// proxy copies bytes both ways between c and a connection to addr.
func proxy(c net.Conn, addr string) {
	defer c.Close()
	s, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer s.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(s, c); done <- struct{}{} }()
	go func() { io.Copy(c, s); done <- struct{}{} }()
	<-done
}
