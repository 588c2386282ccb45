package loadharness

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rotaudit/rotaudit/internal/devstack"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/pgrole"
	"github.com/rotaudit/rotaudit/internal/ratesdb"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// Fixture is an isolated copy of what `make up` prepares: a scratch rates database with
// schema and data, its own app and admin roles, and their secrets in the emulator, all
// with unique names and all removed at cleanup. Tests change it freely.
type Fixture struct {
	Env *testenv.Env
	// Database, AppRole, AdminRole and ReaderRole are the unique names made for this test;
	// ReaderRole holds the grants and the app's login roles are its members.
	Database, AppRole, AdminRole, ReaderRole string
	// AppSecretID and AdminSecretID are the secrets' names; the ARNs identify them too.
	AppSecretID, AdminSecretID   string
	AppSecretARN, AdminSecretARN string

	cfg devstack.Config
}

// FixtureOptions changes what NewFixture loads.
type FixtureOptions struct {
	// DumpPath loads a plain pg_dump instead of demo data.
	DumpPath string
	// Demo sizes the demo data [ratesdb.DefaultDemo].
	Demo ratesdb.DemoOptions
}

// NewFixture runs devstack.Setup under unique names. See Fixture.
func NewFixture(t testing.TB, env *testenv.Env, o FixtureOptions) *Fixture {
	t.Helper()
	suffix := strings.TrimPrefix(testenv.Unique(""), "_")
	f := &Fixture{
		Env:           env,
		Database:      "lh_rates_" + suffix,
		AppRole:       "lh_app_" + suffix,
		AdminRole:     "lh_admin_" + suffix,
		ReaderRole:    "lh_reader_" + suffix,
		AppSecretID:   "rotaudit/test/" + suffix + "/app",
		AdminSecretID: "rotaudit/test/" + suffix + "/admin",
	}
	sm := secretsmanager.NewFromConfig(env.AWS(t))
	// Cleanups run last-registered first: the database goes before the roles it mentions.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for _, id := range []string{f.AppSecretID, f.AdminSecretID} {
			sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(id), ForceDeleteWithoutRecovery: aws.Bool(true)})
		}
		c, err := pgx.Connect(ctx, env.SuperDSN)
		if err != nil {
			t.Logf("fixture cleanup: %v", err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{f.Database}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("fixture cleanup: drop database %s: %v", f.Database, err)
		}
		for _, r := range f.extraRoles() {
			if _, err := c.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{r}.Sanitize()); err != nil {
				t.Logf("fixture cleanup: drop role %s: %v", r, err)
			}
		}
	})
	demo := o.Demo
	if demo.Days == 0 {
		demo = ratesdb.DefaultDemo
	}
	f.cfg = devstack.Config{
		SuperConn: env.SuperDSN, Host: "127.0.0.1", Port: env.PGPort,
		Database: f.Database, AppRole: f.AppRole, AdminRole: f.AdminRole, ReaderRole: f.ReaderRole,
		AppSecretID: f.AppSecretID, AdminSecretID: f.AdminSecretID,
		DumpPath: o.DumpPath, Demo: demo,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := devstack.Setup(ctx, sm, f.cfg)
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	f.AppSecretARN, f.AdminSecretARN = res.AppSecretARN, res.AdminSecretARN
	f.cfg.DumpPath = ""
	return f
}

// Reload runs devstack.Setup again on the fixture, as a second `make up` does: with dump set
// it replaces the data with that pg_dump (RATES_SQL), otherwise with the demo data afresh.
func (f *Fixture) Reload(t testing.TB, dump string) devstack.Result {
	t.Helper()
	c := f.cfg
	c.DumpPath, c.ReloadDemo = dump, dump == ""
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := devstack.Setup(ctx, secretsmanager.NewFromConfig(f.Env.AWS(t)), c)
	if err != nil {
		t.Fatalf("fixture reload: %v", err)
	}
	return res
}

// extraRoles returns the roles to drop at cleanup: the fixture's three and any that a test
// made with the fixture's prefix (NewRole).
func (f *Fixture) extraRoles() []string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	roles := []string{f.AppRole, f.ReaderRole, f.AdminRole}
	c, err := pgx.Connect(ctx, f.Env.SuperDSN)
	if err != nil {
		return roles
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, "SELECT rolname FROM pg_roles WHERE rolname LIKE $1 || '%' AND rolname <> ALL($2)", f.AppRole+"_", roles)
	if err != nil {
		return roles
	}
	more, _ := pgx.CollectRows(rows, pgx.RowTo[string])
	return append(more, roles...)
}

// NewRole makes another login role like the app role (a member of the reader role, nothing
// more) named AppRole_suffix, with the given password; it is dropped at cleanup.
func (f *Fixture) NewRole(t testing.TB, suffix, password string) string {
	t.Helper()
	name := f.AppRole + "_" + suffix
	conn := f.Env.Super(t, f.Database)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "CREATE ROLE "+pgx.Identifier{name}.Sanitize()+" LOGIN"); err != nil {
		t.Fatalf("fixture: create role %s: %v", name, err)
	}
	if err := pgrole.SetPassword(ctx, conn, name, password); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	if _, err := conn.Exec(ctx, "GRANT "+pgx.Identifier{f.ReaderRole}.Sanitize()+" TO "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("fixture: grant %s to %s: %v", f.ReaderRole, name, err)
	}
	return name
}

// Exec runs statements as the superuser in the fixture's database.
func (f *Fixture) Exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	if _, err := f.Env.Super(t, f.Database).Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("fixture: statement as superuser in %s: %v", f.Database, err) // the SQL may hold a password
	}
}

// SetPassword sets role's password as a rotation's setSecret does: only a SCRAM verifier
// reaches the server.
func (f *Fixture) SetPassword(t testing.TB, role, password string) {
	t.Helper()
	if err := pgrole.SetPassword(context.Background(), f.Env.Super(t, f.Database), role, password); err != nil {
		t.Fatalf("fixture: %v", err)
	}
}
