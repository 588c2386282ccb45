package pgrole_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/rotaudit/rotaudit/internal/pgrole"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// TestPrivilegesFromDependenciesMatchTheScan: the privileges read through pg_shdepend
// (the index on the role) are exactly those a scan of every catalog's ACLs finds, for
// every kind of grant the mirror copies: database, schema, table, view, sequence, column
// (a dropped one too), routine, on system catalogs, grantable, made by another grantor,
// and the owner's own entries. A role the system created (pinned, untracked by
// pg_shdepend) falls back to the scan.
func TestPrivilegesFromDependenciesMatchTheScan(t *testing.T) {
	env := testenv.Stack(t)
	ctx := context.Background()
	super := env.Super(t, "")
	db := env.CreateDatabase(t, "pgrole_priv")
	owner, grantee, cols := testenv.Unique("pgrole_owner"), testenv.Unique("pgrole_grantee"), testenv.Unique("pgrole_cols")
	env.DropRolesAtCleanup(t, owner, grantee, cols)
	o, g, c := pgrole.Ident(owner), pgrole.Ident(grantee), pgrole.Ident(cols)
	testenv.Exec(t, super,
		"CREATE ROLE "+o+" LOGIN", "CREATE ROLE "+g+" LOGIN", "CREATE ROLE "+c+" LOGIN",
		"GRANT CONNECT, TEMPORARY ON DATABASE "+pgrole.Ident(db)+" TO "+g,
		"GRANT CONNECT ON DATABASE "+pgrole.Ident(db)+" TO "+o+" WITH GRANT OPTION",
	)
	s := env.Super(t, db)
	testenv.Exec(t, s,
		"CREATE SCHEMA s AUTHORIZATION "+o,
		"GRANT USAGE ON SCHEMA s TO "+g,
		"GRANT CREATE ON SCHEMA public TO "+c,
		"CREATE TABLE s.t (a int, b int, c int)",
		"ALTER TABLE s.t OWNER TO "+o,
		"GRANT SELECT ON s.t TO "+g+" WITH GRANT OPTION",
		"GRANT UPDATE (b), SELECT (a, c) ON s.t TO "+c,
		"GRANT INSERT (a) ON s.t TO "+o, // the owner's own column entry
		"CREATE TABLE s.t2 (x int)",
		"ALTER TABLE s.t2 OWNER TO "+o,
		"REVOKE ALL ON s.t2 FROM "+o, // the owner's entries, narrowed
		"GRANT SELECT ON s.t2 TO "+o,
		"CREATE SEQUENCE s.q",
		"GRANT USAGE ON SEQUENCE s.q TO "+g,
		"CREATE VIEW s.v AS SELECT 1 AS one",
		"GRANT SELECT ON s.v TO "+c,
		"CREATE FUNCTION s.f(int) RETURNS int LANGUAGE sql AS 'SELECT 1'",
		"REVOKE EXECUTE ON FUNCTION s.f(int) FROM PUBLIC",
		"GRANT EXECUTE ON FUNCTION s.f(int) TO "+g,
		"GRANT SELECT ON pg_catalog.pg_authid TO "+c,
		"GRANT SELECT (rolname) ON pg_catalog.pg_authid TO "+g,
		"GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_file(text) TO "+c,
		"SET ROLE "+g, "GRANT SELECT ON s.t TO "+c, "RESET ROLE", // another grantor
		"CREATE TABLE public.dropcol (a int, b int)",
		"GRANT SELECT (b) ON public.dropcol TO "+c,
		"ALTER TABLE public.dropcol DROP COLUMN b",
		"GRANT SELECT (a) ON public.dropcol TO "+g,
		"GRANT SELECT ON s.t TO pg_monitor", // a pinned role
	)
	t.Cleanup(func() {
		// Grants on the catalogs outlive the scratch database's objects: take them back.
		testenv.Exec(t, s,
			"REVOKE ALL ON pg_catalog.pg_authid FROM "+c+", "+g,
			"REVOKE ALL ON FUNCTION pg_catalog.pg_read_file(text) FROM "+c)
	})
	roles := []string{owner, grantee, cols}
	deps, system, err := pgrole.PrivilegesFromDependencies(ctx, s, roles...)
	if err != nil || system {
		t.Fatalf("from pg_shdepend: system role %v, %v", system, err)
	}
	scan, _, err := pgrole.PrivilegesByScan(ctx, s, roles...)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		owner:   {`CONNECT DATABASE`, `CREATE SCHEMA "s"`, `INSERT TABLE "s"."t" ("a")`, `SELECT TABLE "s"."t2"`},
		grantee: {`TEMPORARY DATABASE`, `USAGE SEQUENCE "s"."q"`, `EXECUTE ROUTINE s.f(integer)`, `"pg_authid" ("rolname")`, `"dropcol" ("a")`, `SELECT TABLE "s"."t" (grantable)`},
		cols:    {`UPDATE TABLE "s"."t" ("b")`, `EXECUTE ROUTINE pg_read_file(text)`, `SELECT TABLE "pg_catalog"."pg_authid"`, `CREATE SCHEMA "public"`, `SELECT TABLE "s"."v"`},
	}
	for _, role := range roles {
		d, sc := slices.Sorted(maps.Keys(deps[role])), slices.Sorted(maps.Keys(scan[role]))
		if !slices.Equal(d, sc) {
			t.Errorf("%s:\n from pg_shdepend %q\n by the scan       %q", role, d, sc)
		}
		// Alone too: read together, one role's records lead to objects whose ACLs name
		// the others as well.
		alone, _, err := pgrole.PrivilegesFromDependencies(ctx, s, role)
		if err != nil {
			t.Fatal(err)
		}
		if a := slices.Sorted(maps.Keys(alone[role])); !slices.Equal(a, sc) {
			t.Errorf("%s alone:\n from pg_shdepend %q\n by the scan       %q", role, a, sc)
		}
		for _, part := range want[role] {
			if !slices.ContainsFunc(d, func(k string) bool { return strings.Contains(k, part) }) {
				t.Errorf("%s: no privilege with %q among %q", role, part, d)
			}
		}
	}
	// pg_monitor is pinned: pg_shdepend says so, and privilegesOf falls back to the scan.
	if _, system, err := pgrole.PrivilegesFromDependencies(ctx, s, "pg_monitor"); err != nil || !system {
		t.Fatalf("pg_monitor from pg_shdepend: system role %v, %v; want it reported", system, err)
	}
	got, err := pgrole.PrivilegesOf(ctx, s, "pg_monitor", grantee)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(slices.Collect(maps.Keys(got["pg_monitor"])), func(k string) bool { return k == `SELECT TABLE "s"."t"` }) {
		t.Errorf("pg_monitor's privileges %q lack its grant on s.t", slices.Sorted(maps.Keys(got["pg_monitor"])))
	}
	if len(got[grantee]) != len(scan[grantee]) {
		t.Errorf("%s beside a pinned role: %d privileges, want %d", grantee, len(got[grantee]), len(scan[grantee]))
	}
}
