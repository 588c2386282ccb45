package devstack_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/devstack"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// setupConfig is a Setup configuration with unique names, cleaned up after the test.
func setupConfig(t *testing.T, env *testenv.Env, sm *secretsmanager.Client) devstack.Config {
	t.Helper()
	s := strings.TrimPrefix(testenv.Unique(""), "_")
	c := devstack.Defaults(env.SuperDSN, env.PGPort)
	c.Database, c.AppRole, c.AdminRole, c.ReaderRole = "setup_"+s, "setup_app_"+s, "setup_admin_"+s, "setup_reader_"+s
	c.AppSecretID, c.AdminSecretID = "rotaudit/test/setup-"+s+"/app", "rotaudit/test/setup-"+s+"/admin"
	c.Demo.RoutesPerOrigin = 3
	t.Cleanup(func() {
		ctx := context.Background()
		for _, id := range []string{c.AppSecretID, c.AdminSecretID} {
			sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(id), ForceDeleteWithoutRecovery: aws.Bool(true)})
		}
		if conn, err := pgx.Connect(ctx, env.SuperDSN); err == nil {
			conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{c.Database}.Sanitize()+" WITH (FORCE)")
			for _, r := range []string{c.AppRole + "_clone", c.AppRole, c.ReaderRole, c.AdminRole} {
				conn.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{r}.Sanitize())
			}
			conn.Close(ctx)
		}
	})
	return c
}

func TestSetupIsIdempotentAndLeastPrivilege(t *testing.T) {
	env := testenv.Stack(t)
	sm := secretsmanager.NewFromConfig(env.AWS(t))
	c := setupConfig(t, env, sm)
	ctx := context.Background()

	first, err := devstack.Setup(ctx, sm, c)
	if err != nil {
		t.Fatal(err)
	}
	if first.DataSource != "demo" || first.PriceRows == 0 || !first.AppPasswordSet || !first.AdminPasswordSet || len(first.Migrated) == 0 {
		t.Fatalf("first run: %+v", first)
	}
	app := testenv.CurrentSecret(t, sm, c.AppSecretID)
	admin := testenv.CurrentSecret(t, sm, c.AdminSecretID)
	if app.Username != c.AppRole || app.DBName != c.Database || app.MasterARN != first.AdminSecretARN || app.SSL == nil || *app.SSL ||
		admin.Username != c.AdminRole || len(app.Password) < 32 {
		t.Fatalf("secrets: app %v (master %s), admin %v", app, app.MasterARN, admin)
	}

	second, err := devstack.Setup(ctx, sm, c)
	if err != nil {
		t.Fatal(err)
	}
	if second.AppPasswordSet || second.AdminPasswordSet || second.DataSource != "kept" || len(second.Migrated) != 0 || second.PriceRows != first.PriceRows || len(second.RoleChanges) != 0 {
		t.Fatalf("second run changed things: %+v", second)
	}
	if testenv.CurrentSecret(t, sm, c.AppSecretID).Password != app.Password {
		t.Fatal("second run changed the app password")
	}

	// The app role reads and does nothing else.
	conn := testenv.Login(t, app)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM prices").Scan(&n); err != nil || int64(n) != first.PriceRows {
		t.Fatalf("app reads %d rows, %v", n, err)
	}
	for _, stmt := range []string{"DELETE FROM prices", "INSERT INTO ports VALUES ('X','X','china_main')", "CREATE TABLE t (a int)", "DROP INDEX prices_route_day_idx"} {
		if _, err := conn.Exec(ctx, stmt); err == nil {
			t.Errorf("the app role may: %s", stmt)
		}
	}
	var super, createrole bool
	if err := conn.QueryRow(ctx, "SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user").Scan(&super, &createrole); err != nil || super || createrole {
		t.Fatalf("app role super=%v createrole=%v %v", super, createrole, err)
	}
	// The admin role owns the tables: rotation and migrations run as it.
	var owner string
	if err := testenv.Login(t, admin).QueryRow(ctx, "SELECT tableowner FROM pg_tables WHERE tablename = 'prices'").Scan(&owner); err != nil || owner != c.AdminRole {
		t.Fatalf("prices owned by %q, %v", owner, err)
	}

	// A password that no longer logs in is replaced, and the secret follows.
	if _, err := env.Super(t, "").Exec(ctx, "ALTER ROLE "+pgx.Identifier{c.AppRole}.Sanitize()+" PASSWORD 'someone-changed-it'"); err != nil {
		t.Fatal(err)
	}
	third, err := devstack.Setup(ctx, sm, c)
	if err != nil {
		t.Fatal(err)
	}
	if !third.AppPasswordSet || third.AdminPasswordSet {
		t.Fatalf("third run: %+v", third)
	}
	testenv.Login(t, testenv.CurrentSecret(t, sm, c.AppSecretID))
}

func TestSetupLoadsDump(t *testing.T) {
	env := testenv.Stack(t)
	sm := secretsmanager.NewFromConfig(env.AWS(t))
	c := setupConfig(t, env, sm)
	c.DumpPath = "../ratesdb/testdata/small.sql" // the dump format is ratesdb's
	res, err := devstack.Setup(context.Background(), sm, c)
	if err != nil {
		t.Fatal(err)
	}
	if res.PriceRows != 4 || !strings.HasPrefix(res.DataSource, "dump") {
		t.Fatalf("%+v", res)
	}
	// The dump lacks the index; the migrations add it.
	var idx bool
	if err := env.Super(t, c.Database).QueryRow(context.Background(),
		"SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE tablename = 'prices' AND indexname = 'prices_route_day_idx')").Scan(&idx); err != nil || !idx {
		t.Fatalf("index after dump: %v %v", idx, err)
	}
	// A broken dump fails with its line and leaves an error that says so.
	c.DumpPath = "testdata/does-not-exist.sql"
	if _, err := devstack.Setup(context.Background(), sm, c); err == nil || !strings.Contains(err.Error(), "RATES_SQL") {
		t.Fatalf("missing dump: %v", err)
	}
}

// TestGrantsGoToTheReaderRole: the app login holds no privilege of its own, only the
// membership; a login that had direct grants (the design before the reader role) loses
// them, and its _clone partner is made a member too, so a reload reaches both.
func TestGrantsGoToTheReaderRole(t *testing.T) {
	env := testenv.Stack(t)
	sm := secretsmanager.NewFromConfig(env.AWS(t))
	c := setupConfig(t, env, sm)
	ctx := context.Background()
	if _, err := devstack.Setup(ctx, sm, c); err != nil {
		t.Fatal(err)
	}
	super := env.Super(t, c.Database)
	directGrants := func(role string) int {
		t.Helper()
		var n int
		if err := super.QueryRow(ctx, `SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a
			WHERE c.relname IN ('prices','ports','regions') AND a.grantee = $1::regrole`, role).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	member := func(role string) bool {
		t.Helper()
		var ok bool
		if err := super.QueryRow(ctx, "SELECT pg_has_role($1, $2, 'MEMBER')", role, c.ReaderRole).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	var login bool
	if err := super.QueryRow(ctx, "SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", c.ReaderRole).Scan(&login); err != nil || login {
		t.Fatalf("reader role can log in: %v %v", login, err)
	}
	if directGrants(c.ReaderRole) != 3 || directGrants(c.AppRole) != 0 || !member(c.AppRole) {
		t.Fatalf("reader holds %d grants, app %d, app member: %v", directGrants(c.ReaderRole), directGrants(c.AppRole), member(c.AppRole))
	}

	// The old design: SELECT granted to the login itself, and a clone made from it. From
	// PostgreSQL 16 a REVOKE removes only the grant of the role named in GRANTED BY (by
	// default the current user), so the membership is revoked as granted.
	var grantor string
	if err := super.QueryRow(ctx, `SELECT grantor::regrole::text FROM pg_auth_members
		WHERE roleid = $1::regrole AND member = $2::regrole`, c.ReaderRole, c.AppRole).Scan(&grantor); err != nil {
		t.Fatal(err)
	}
	clone := c.AppRole + "_clone"
	for _, s := range []string{
		"REVOKE " + pgx.Identifier{c.ReaderRole}.Sanitize() + " FROM " + pgx.Identifier{c.AppRole}.Sanitize() + " GRANTED BY " + grantor,
		"GRANT SELECT ON prices, ports, regions TO " + pgx.Identifier{c.AppRole}.Sanitize(),
		"CREATE ROLE " + pgx.Identifier{clone}.Sanitize() + " LOGIN",
		"GRANT SELECT ON prices, ports, regions TO " + pgx.Identifier{clone}.Sanitize(),
	} {
		if _, err := super.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	res, err := devstack.Setup(ctx, sm, c)
	if err != nil {
		t.Fatal(err)
	}
	// Two memberships, and SELECT on three tables revoked from each of the two logins.
	if len(res.RoleChanges) != 8 {
		t.Errorf("changes: %q, want 8", res.RoleChanges)
	}
	for _, r := range []string{c.AppRole, clone} {
		if directGrants(r) != 0 || !member(r) {
			t.Fatalf("%s: %d direct grants, member %v; changes %v", r, directGrants(r), member(r), res.RoleChanges)
		}
	}
	// The clone reads through the membership after the tables are replaced.
	c.ReloadDemo = true
	if _, err := devstack.Setup(ctx, sm, c); err != nil {
		t.Fatal(err)
	}
	var ok bool
	if err := super.QueryRow(ctx, "SELECT has_table_privilege($1, 'prices', 'SELECT')", clone).Scan(&ok); err != nil || !ok {
		t.Fatalf("clone cannot read prices after a reload: %v %v", ok, err)
	}
}

func TestPassword(t *testing.T) {
	a, err := devstack.Password(32)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := devstack.Password(32)
	if len(a) != 32 || a == b || strings.Trim(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != "" {
		t.Fatalf("passwords %q %q", a, b)
	}
	if _, err := devstack.Password(8); err == nil {
		t.Fatal("accepted a short password")
	}
}

// TestSecondDatabaseKeepsTheSharedMaster: a second database on the same cluster, set up
// with the first's admin secret and AdminSecretDatabase, leaves that secret as it is (same
// value, same dbname), so running both setups again and again changes nothing (make up).
func TestSecondDatabaseKeepsTheSharedMaster(t *testing.T) {
	env := testenv.Stack(t)
	sm := secretsmanager.NewFromConfig(env.AWS(t))
	c := setupConfig(t, env, sm)
	ctx := context.Background()
	if _, err := devstack.Setup(ctx, sm, c); err != nil {
		t.Fatal(err)
	}
	admin := testenv.CurrentSecret(t, sm, c.AdminSecretID)

	b := c
	b.Database, b.AppRole, b.AppSecretID, b.AdminSecretDatabase = c.Database+"_b", c.AppRole+"_b", c.AppSecretID+"-b", c.Database
	t.Cleanup(func() {
		sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: aws.String(b.AppSecretID), ForceDeleteWithoutRecovery: aws.Bool(true)})
		if conn, err := pgx.Connect(context.Background(), env.SuperDSN); err == nil {
			conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{b.Database}.Sanitize()+" WITH (FORCE)")
			conn.Exec(context.Background(), "DROP ROLE IF EXISTS "+pgx.Identifier{b.AppRole}.Sanitize())
			conn.Close(context.Background())
		}
	})
	res, err := devstack.Setup(ctx, sm, b)
	if err != nil {
		t.Fatal(err)
	}
	if res.AdminPasswordSet || !res.AppPasswordSet {
		t.Fatalf("second database: admin password set %v (want kept), app password set %v (want new)", res.AdminPasswordSet, res.AppPasswordSet)
	}
	if got := testenv.CurrentSecret(t, sm, c.AdminSecretID); got.Password != admin.Password || got.DBName != c.Database {
		t.Fatalf("the shared admin secret changed: dbname %s (want %s), password changed %v", got.DBName, c.Database, got.Password != admin.Password)
	}
	if app := testenv.CurrentSecret(t, sm, b.AppSecretID); app.DBName != b.Database || app.MasterARN != res.AdminSecretARN {
		t.Fatalf("second database's app secret: %v (master %s)", app, app.MasterARN)
	}
	for _, cfg := range []devstack.Config{c, b} {
		again, err := devstack.Setup(ctx, sm, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if again.AdminPasswordSet || again.AppPasswordSet {
			t.Fatalf("setup of %s again changed a password: %+v", cfg.Database, again)
		}
	}
}
