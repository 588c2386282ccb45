package pgrole_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rotaudit/rotaudit/internal/pgrole"
	"github.com/rotaudit/rotaudit/internal/scram"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// setup makes a scratch database owned by a CREATEROLE master and returns a master
// session in it (inside a transaction the test may commit) plus the superuser session.
func setup(t *testing.T) (env *testenv.Env, db string, master string, m *pgx.Conn, super *pgx.Conn) {
	env = testenv.Stack(t)
	super = env.Super(t, "")
	master = testenv.Unique("pgrole_master")
	env.DropRolesAtCleanup(t, master)
	testenv.Exec(t, super, "CREATE ROLE "+pgrole.Ident(master)+" LOGIN CREATEROLE CREATEDB")
	db = env.CreateDatabase(t, "pgrole")
	testenv.Exec(t, super, "ALTER DATABASE "+pgrole.Ident(db)+" OWNER TO "+pgrole.Ident(master))
	s := env.Super(t, db)
	testenv.Exec(t, s, "SET ROLE "+pgrole.Ident(master))
	return env, db, master, s, super
}

// roles names a source role (prefix and a unique suffix), its clone and a group, all
// dropped at cleanup.
func roles(t *testing.T, env *testenv.Env, prefix string) (src, dst, group string) {
	src = testenv.Unique(prefix)
	dst, group = src+"_clone", testenv.Unique("pgrole_group")
	env.DropRolesAtCleanup(t, src, dst, group)
	return src, dst, group
}

func TestMirror(t *testing.T) {
	env, db, _, m, super := setup(t)
	ctx := context.Background()
	src, dst, group := roles(t, env, `src "x"; ü`)
	testenv.Exec(t, m,
		"CREATE ROLE "+pgrole.Ident(group),
		"CREATE ROLE "+pgrole.Ident(src)+" LOGIN CREATEDB CONNECTION LIMIT 7 VALID UNTIL '2999-01-01 00:00:00+00'",
		"GRANT "+pgrole.Ident(group)+" TO "+pgrole.Ident(src)+" WITH ADMIN OPTION",
		"ALTER ROLE "+pgrole.Ident(src)+` SET search_path TO "My Schema", public, "$user"`,
		"ALTER ROLE "+pgrole.Ident(src)+" SET statement_timeout TO '5s'",
		"ALTER ROLE "+pgrole.Ident(src)+" IN DATABASE "+pgrole.Ident(db)+" SET work_mem TO '8MB'",
		`CREATE SCHEMA "My Schema"`,
		`CREATE TABLE "My Schema"."t ""1""" (a int, "b;c" text)`,
		`CREATE SEQUENCE "My Schema".seq`,
		`CREATE FUNCTION "My Schema".f(x int, y text) RETURNS int LANGUAGE sql AS 'SELECT 1'`,
		`REVOKE EXECUTE ON FUNCTION "My Schema".f(int, text) FROM PUBLIC`,
		`GRANT USAGE ON SCHEMA "My Schema" TO `+pgrole.Ident(src),
		`GRANT SELECT, INSERT ON "My Schema"."t ""1""" TO `+pgrole.Ident(src)+" WITH GRANT OPTION",
		`GRANT UPDATE ("b;c") ON "My Schema"."t ""1""" TO `+pgrole.Ident(src),
		`GRANT USAGE ON SEQUENCE "My Schema".seq TO `+pgrole.Ident(src),
		`GRANT EXECUTE ON FUNCTION "My Schema".f(int, text) TO `+pgrole.Ident(src),
		"GRANT CONNECT, TEMPORARY ON DATABASE "+pgrole.Ident(db)+" TO "+pgrole.Ident(src),
	)
	// Something granted to the clone only must reach the original (union).
	testenv.Exec(t, m, "BEGIN")
	if err := pgrole.Mirror(ctx, m, src, dst); err != nil {
		t.Fatalf("Mirror: %v", err)
	}
	testenv.Exec(t, m, "COMMIT")
	testenv.Exec(t, m, `CREATE TABLE "My Schema".later (z int)`)
	testenv.Exec(t, m, `GRANT DELETE ON "My Schema".later TO `+pgrole.Ident(dst))
	if d, _ := pgrole.Compare(ctx, m, src, dst); len(d) != 1 || !strings.Contains(d[0], "later") {
		t.Fatalf("Compare after a grant to one user = %v, want the one difference", d)
	}
	if err := pgrole.Mirror(ctx, m, src, dst); err != nil {
		t.Fatalf("second Mirror: %v", err)
	}
	if d, err := pgrole.Compare(ctx, m, src, dst); err != nil || len(d) != 0 {
		t.Fatalf("Compare after Mirror = %v, %v", d, err)
	}
	// What the catalogs say, independently of Compare.
	var sp string
	if err := super.QueryRow(ctx, `SELECT c FROM pg_db_role_setting s, unnest(s.setconfig) c
		WHERE s.setrole = (SELECT oid FROM pg_roles WHERE rolname = $1) AND c LIKE 'search_path=%'`, dst).Scan(&sp); err != nil {
		t.Fatal(err)
	}
	if sp != `search_path="My Schema", public, "$user"` {
		t.Fatalf("clone search_path = %q", sp)
	}
	var limit int
	var createdb bool
	super.QueryRow(ctx, "SELECT rolconnlimit, rolcreatedb FROM pg_roles WHERE rolname = $1", dst).Scan(&limit, &createdb)
	if limit != 7 || !createdb {
		t.Fatalf("clone attributes: connlimit %d createdb %v", limit, createdb)
	}
	var canDelete, canExec, admin bool
	m.QueryRow(ctx, `SELECT has_table_privilege($1, '"My Schema".later', 'DELETE'),
		has_function_privilege($1, '"My Schema".f(int, text)', 'EXECUTE'),
		pg_has_role($1, $2, 'USAGE WITH ADMIN OPTION')`, src, group).Scan(&canDelete, &canExec, &admin)
	if !canDelete || !canExec || !admin {
		t.Fatalf("delete %v execute %v admin %v", canDelete, canExec, admin)
	}
}

func TestMirrorFailsWithoutGrantOption(t *testing.T) {
	testenv.Integration(t) // every subtest needs the stack
	tests := []struct {
		name string
		// masterHas is what the master holds on the table: nothing, or the privilege
		// without GRANT OPTION (PostgreSQL then only warns and grants nothing).
		masterHas string
		wantErr   error
	}{
		{"master has nothing", "", nil},
		{"master lacks grant option", "SELECT", pgrole.ErrIncomplete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _, master, m, super := setup(t)
			ctx := context.Background()
			src, dst, other := roles(t, env, "pgrole_src") // other owns a table
			testenv.Exec(t, m, "CREATE ROLE "+pgrole.Ident(src)+" LOGIN")
			testenv.Exec(t, super, "CREATE ROLE "+pgrole.Ident(other))
			testenv.Exec(t, m, "RESET ROLE")
			testenv.Exec(t, m, "CREATE TABLE foreign_owned (a int)")
			testenv.Exec(t, m, "ALTER TABLE foreign_owned OWNER TO "+pgrole.Ident(other))
			testenv.Exec(t, m, "GRANT SELECT ON foreign_owned TO "+pgrole.Ident(src))
			if tt.masterHas != "" {
				testenv.Exec(t, m, "GRANT "+tt.masterHas+" ON foreign_owned TO "+pgrole.Ident(master))
			}
			testenv.Exec(t, m, "SET ROLE "+pgrole.Ident(master))
			testenv.Exec(t, m, "BEGIN")
			err := pgrole.Mirror(ctx, m, src, dst)
			testenv.Exec(t, m, "ROLLBACK")
			if err == nil || !strings.Contains(err.Error(), "foreign_owned") || !strings.Contains(err.Error(), "GRANT OPTION") {
				t.Fatalf("err = %v, want one naming the table and what to do", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestMirrorRefusesSuperuserAndLongNames(t *testing.T) {
	env, _, _, m, super := setup(t)
	ctx := context.Background()
	su := testenv.Unique("pgrole_su")
	env.DropRolesAtCleanup(t, su)
	testenv.Exec(t, super, "CREATE ROLE "+pgrole.Ident(su)+" SUPERUSER LOGIN")
	if err := pgrole.Mirror(ctx, m, su, su+"_clone"); !errors.Is(err, pgrole.ErrNotMirrorable) {
		t.Fatalf("superuser source: err = %v", err)
	}
	if err := pgrole.Mirror(ctx, m, "x", strings.Repeat("y", 64)); err == nil || !strings.Contains(err.Error(), "63") {
		t.Fatalf("long name: err = %v", err)
	}
	if err := pgrole.Mirror(ctx, m, testenv.Unique("pgrole_missing"), "z"); !errors.Is(err, pgrole.ErrNoRole) {
		t.Fatalf("missing source: err = %v", err)
	}
}

func TestSetPasswordSendsOnlyVerifier(t *testing.T) {
	env, db, _, m, super := setup(t)
	ctx := context.Background()
	role := testenv.Unique("pgrole_pw")
	env.DropRolesAtCleanup(t, role)
	testenv.Exec(t, m, "CREATE ROLE "+pgrole.Ident(role)+" LOGIN")
	rec := &recorder{Querier: m}
	const pw = "Pw-only-in-the-verifier-123"
	if err := pgrole.SetPassword(ctx, rec, role, pw); err != nil {
		t.Fatal(err)
	}
	if len(rec.sql) != 1 || strings.Contains(rec.sql[0], pw) || !strings.Contains(rec.sql[0], "SCRAM-SHA-256$4096:") {
		t.Fatalf("statements sent: %q", rec.sql)
	}
	var stored string
	super.QueryRow(ctx, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", role).Scan(&stored)
	if ok, err := scram.Check(stored, pw); err != nil || !ok {
		t.Fatalf("stored verifier does not match: %v %v", ok, err)
	}
	cfg, _ := pgx.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d sslmode=disable dbname=%s", env.PGPort, db))
	cfg.User, cfg.Password = role, pw
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	c.Close(ctx)
	if err := pgrole.SetPassword(ctx, m, role, "päss"); !errors.Is(err, scram.ErrUnsupportedPassword) {
		t.Fatalf("non-ASCII password: err = %v", err)
	}
}

type recorder struct {
	pgrole.Querier
	sql []string
}

func (r *recorder) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	r.sql = append(r.sql, sql)
	return r.Querier.Exec(ctx, sql, args...)
}

// TestMirrorMembershipOptions: on PostgreSQL 16+ the clone's memberships take the source's
// INHERIT, SET and ADMIN options, also when the clone already holds the group with other
// options (as a clone made by an earlier version, with inherit on, does).
func TestMirrorMembershipOptions(t *testing.T) {
	env, _, _, m, _ := setup(t)
	ctx := context.Background()
	major, err := pgrole.ServerMajor(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if major < 16 {
		t.Skipf("PostgreSQL %d keeps no per-membership INHERIT or SET option (16+ does)", major)
	}
	src, dst, group := roles(t, env, "pgrole_src")
	testenv.Exec(t, m,
		"CREATE ROLE "+pgrole.Ident(group),
		"CREATE ROLE "+pgrole.Ident(src)+" LOGIN",
		"CREATE ROLE "+pgrole.Ident(dst)+" LOGIN",
		"GRANT "+pgrole.Ident(group)+" TO "+pgrole.Ident(src)+" WITH INHERIT FALSE, SET TRUE",
		"GRANT "+pgrole.Ident(group)+" TO "+pgrole.Ident(dst)+" WITH INHERIT TRUE, SET TRUE, ADMIN TRUE",
	)
	if d, _ := pgrole.Compare(ctx, m, src, dst); len(d) == 0 {
		t.Fatal("Compare sees no difference between inherit false and inherit true")
	}
	if err := pgrole.Mirror(ctx, m, src, dst); err != nil {
		t.Fatalf("Mirror: %v", err)
	}
	var inherit, set, admin bool
	if err := m.QueryRow(ctx, `SELECT bool_or(inherit_option), bool_or(set_option), bool_or(admin_option) FROM pg_auth_members
		WHERE roleid = $1::regrole AND member = $2::regrole`, pgrole.Ident(group), pgrole.Ident(dst)).Scan(&inherit, &set, &admin); err != nil {
		t.Fatal(err)
	}
	if inherit || !set || admin {
		t.Fatalf("clone's membership: inherit %v set %v admin %v, want false true false", inherit, set, admin)
	}
	if d, err := pgrole.Compare(ctx, m, src, dst); err != nil || len(d) != 0 {
		t.Fatalf("Compare after Mirror = %v, %v", d, err)
	}
}

// TestMirrorChecksPostgres16Rules: from PostgreSQL 16 on a CREATEROLE master may give
// CREATEDB only when it has it, and alter only roles it holds ADMIN OPTION on. MirrorWith
// says so before creating anything; before 16 both mirrors succeed.
func TestMirrorChecksPostgres16Rules(t *testing.T) {
	testenv.Integration(t) // every subtest needs the stack
	tests := []struct {
		name string
		// prepare runs as superuser; it makes src, which master must copy.
		prepare func(super *pgx.Conn, master, src string)
		want    string
	}{
		{"CREATEDB the master lacks", func(super *pgx.Conn, master, src string) {
			testenv.Exec(t, super, "ALTER ROLE "+pgrole.Ident(master)+" NOCREATEDB")
			testenv.Exec(t, super, "CREATE ROLE "+pgrole.Ident(src)+" LOGIN CREATEDB")
			testenv.Exec(t, super, "GRANT "+pgrole.Ident(src)+" TO "+pgrole.Ident(master)+" WITH ADMIN OPTION")
		}, "CREATEDB"},
		{"user made by another admin", func(super *pgx.Conn, master, src string) {
			testenv.Exec(t, super, "CREATE ROLE "+pgrole.Ident(src)+" LOGIN")
		}, "ADMIN OPTION"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _, master, m, super := setup(t)
			ctx := context.Background()
			src, dst, _ := roles(t, env, "pgrole_src")
			tt.prepare(super, master, src)
			major, err := pgrole.ServerMajor(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			testenv.Exec(t, m, "BEGIN")
			_, err = pgrole.MirrorWith(ctx, m, src, dst, pgrole.Options{})
			// Asked inside the transaction: a refusal must come before any statement.
			var exists bool
			if qerr := m.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", dst).Scan(&exists); qerr != nil && major >= 16 {
				t.Fatalf("transaction broken after the refusal (a statement failed): %v", qerr)
			}
			testenv.Exec(t, m, "ROLLBACK")
			if major < 16 {
				if err != nil {
					t.Fatalf("PostgreSQL %d: %v", major, err)
				}
				return
			}
			if !errors.Is(err, pgrole.ErrNotAdmin) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("PostgreSQL %d: err = %v, want ErrNotAdmin naming %s", major, err, tt.want)
			}
			if exists {
				t.Fatal("the clone was created")
			}
		})
	}
}

// TestMirrorRefusesAnExceedingDestination: with RefuseExceeding, a clone that already
// holds what the source lacks (a privilege, a group, an attribute) is refused with an
// *ExceedsError naming it, and nothing is granted; a clone holding less is mirrored.
func TestMirrorRefusesAnExceedingDestination(t *testing.T) {
	testenv.Integration(t)
	for _, tc := range []struct {
		name, extra, want string
	}{
		{"privilege", "GRANT DELETE ON ledger TO %[1]s", "DELETE"},
		{"group", "GRANT %[2]s TO %[1]s", "membership in"},
		{"attribute", "ALTER ROLE %[1]s CREATEDB", "CREATEDB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, _, _, m, _ := setup(t)
			ctx := context.Background()
			src, dst, group := roles(t, env, "pgrole_exceeds")
			testenv.Exec(t, m,
				"CREATE ROLE "+pgrole.Ident(group),
				"CREATE ROLE "+pgrole.Ident(src)+" LOGIN",
				"CREATE ROLE "+pgrole.Ident(dst)+" LOGIN",
				"CREATE TABLE ledger (a int)",
				"GRANT SELECT ON ledger TO "+pgrole.Ident(src),
				fmt.Sprintf(tc.extra, pgrole.Ident(dst), pgrole.Ident(group)),
			)
			testenv.Exec(t, m, "BEGIN")
			_, err := pgrole.MirrorWith(ctx, m, src, dst, pgrole.Options{RefuseExceeding: true})
			var ex *pgrole.ExceedsError
			if !errors.As(err, &ex) || !errors.Is(err, pgrole.ErrExceeds) || !strings.Contains(strings.Join(ex.More, "; "), tc.want) {
				testenv.Exec(t, m, "ROLLBACK")
				t.Fatalf("err = %v, want an ExceedsError naming %s", err, tc.want)
			}
			var got bool
			if err := m.QueryRow(ctx, "SELECT has_table_privilege($1, 'ledger', 'SELECT')", dst).Scan(&got); err != nil || got {
				t.Fatalf("after the refusal %s can SELECT: %v (%v): the mirror granted before refusing", dst, got, err)
			}
			testenv.Exec(t, m, "ROLLBACK")
			// Without the option the same pair is mirrored (union both ways).
			testenv.Exec(t, m, "BEGIN")
			if _, err := pgrole.MirrorWith(ctx, m, src, dst, pgrole.Options{}); err != nil {
				t.Fatalf("without RefuseExceeding: %v", err)
			}
			testenv.Exec(t, m, "ROLLBACK")
		})
	}
}
