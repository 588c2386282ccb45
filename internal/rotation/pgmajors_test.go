package rotation_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/pgrole"
	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/rotation/driver"
	"github.com/rotaudit/rotaudit/internal/rotation/rotationtest"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// These tests cover what differs between PostgreSQL majors; scripts/pg-majors.sh test runs
// them on 13 to 18. Each states which majors a behaviour belongs to.

// doctorCheck returns the named check of a doctor run, failing the test when absent.
func doctorCheck(t *testing.T, checks []rotation.Check, name string) rotation.Check {
	t.Helper()
	for _, c := range checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("doctor ran no %q check: %+v", name, checks)
	return rotation.Check{}
}

// rotate runs n alternating rotations, failing the test on an error.
func rotate(t *testing.T, f *rotationtest.Fixture, r *rotation.Rotator, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		if err := driver.Run(context.Background(), r, f.SecretARN, f.StartRotation(t), nil); err != nil {
			t.Fatalf("rotation %d: %v", i, err)
		}
	}
}

func roleExists(t *testing.T, f *rotationtest.Fixture, role string) bool {
	t.Helper()
	var ok bool
	if err := f.Env.Super(t, "").QueryRow(context.Background(), "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", role).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestUserMadeByAnotherAdmin: from PostgreSQL 16 on, a CREATEROLE master may alter only
// roles it holds ADMIN OPTION on. A user another administrator made used to rotate once
// (the master made and so administers the clone) and then fail on the way back, stuck with
// a pending version. Now doctor says so and the first rotation refuses before changing
// anything; with the option granted, rotations go on. Before 16, CREATEROLE is enough.
func TestUserMadeByAnotherAdmin(t *testing.T) {
	ctx := context.Background()
	f := rotationtest.New(t, rotationtest.Options{UserByOtherAdmin: true})
	r := newRotator(f, rotation.AlternatingUsers, nil)
	c := doctorCheck(t, r.Doctor(ctx, f.SecretARN), "alter users")
	if f.Major < 16 {
		if c.Status != rotation.CheckOK {
			t.Fatalf("PostgreSQL %d: doctor %s: %s, want ok", f.Major, c.Status, c.Detail)
		}
		rotate(t, f, r, 3)
		return
	}
	if c.Status != rotation.CheckFail || !strings.Contains(c.Detail, "ADMIN OPTION") || !strings.Contains(c.Detail, "GRANT") {
		t.Fatalf("PostgreSQL %d: doctor %s: %s, want FAIL naming the GRANT", f.Major, c.Status, c.Detail)
	}
	before := f.CurrentVersion(t)
	err := driver.Run(ctx, r, f.SecretARN, f.StartRotation(t), nil)
	if !errors.Is(err, rotation.ErrDBPrivilege) || !strings.Contains(err.Error(), "ADMIN OPTION") {
		t.Fatalf("first rotation: err = %v, want ErrDBPrivilege naming ADMIN OPTION", err)
	}
	if roleExists(t, f, f.User+rotation.CloneSuffix) {
		t.Fatal("the refused rotation created the clone")
	}
	if f.CurrentVersion(t) != before || !rotationtest.LogsIn(f.Get(t, "", "AWSCURRENT")) {
		t.Fatal("the refused rotation changed AWSCURRENT or its login")
	}
	// The fix doctor names, then the rotation resumes and keeps going both ways.
	super := f.Env.Super(t, "")
	if _, err := super.Exec(ctx, "GRANT "+pgrole.Ident(f.User)+" TO "+pgrole.Ident(f.Master)+" WITH ADMIN OPTION, INHERIT FALSE, SET FALSE"); err != nil {
		t.Fatal(err)
	}
	if c := doctorCheck(t, r.Doctor(ctx, f.SecretARN), "alter users"); c.Status != rotation.CheckOK {
		t.Fatalf("doctor after the grant: %s: %s", c.Status, c.Detail)
	}
	for v, st := range f.Stages(t) {
		for _, s := range st {
			if s == rotation.StagePending {
				if err := driver.Run(ctx, r, f.SecretARN, v, nil); err != nil {
					t.Fatalf("resumed rotation: %v", err)
				}
			}
		}
	}
	rotate(t, f, r, 2)
}

// TestMembershipOptionsCopied: on PostgreSQL 16+ a membership has its own INHERIT and SET
// options; a group granted WITH INHERIT FALSE must reach the clone the same way, not with
// the clone's default (inherit on), which would give the clone more than the user.
func TestMembershipOptionsCopied(t *testing.T) {
	ctx := context.Background()
	f := rotationtest.New(t, rotationtest.Options{})
	if f.Major < 16 {
		t.Skipf("PostgreSQL %d keeps no per-membership INHERIT or SET option (16+ does)", f.Major)
	}
	super := f.Env.Super(t, f.DB)
	noInherit, noSet := testenv.Unique("grp_noinherit"), testenv.Unique("grp_noset")
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), f.Env.SuperDSN)
		if err == nil {
			c.Exec(context.Background(), "DROP ROLE IF EXISTS "+pgrole.Ident(noInherit)+", "+pgrole.Ident(noSet))
			c.Close(context.Background())
		}
	})
	for _, s := range []string{
		"CREATE ROLE " + pgrole.Ident(noInherit),
		"CREATE ROLE " + pgrole.Ident(noSet),
		"CREATE TABLE secret_stuff (x int)",
		"GRANT SELECT ON secret_stuff TO " + pgrole.Ident(noInherit),
		"GRANT " + pgrole.Ident(noInherit) + ", " + pgrole.Ident(noSet) + " TO " + pgrole.Ident(f.Master) + " WITH ADMIN OPTION, INHERIT FALSE, SET FALSE",
		"GRANT " + pgrole.Ident(noInherit) + " TO " + pgrole.Ident(f.User) + " WITH INHERIT FALSE, SET TRUE",
		"GRANT " + pgrole.Ident(noSet) + " TO " + pgrole.Ident(f.User) + " WITH INHERIT TRUE, SET FALSE, ADMIN TRUE",
	} {
		if _, err := super.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	r := newRotator(f, rotation.AlternatingUsers, nil)
	if c := doctorCheck(t, r.Doctor(ctx, f.SecretARN), "membership options"); c.Status != rotation.CheckOK {
		t.Fatalf("doctor: %s: %s", c.Status, c.Detail)
	}
	rotate(t, f, r, 2)
	clone := f.User + rotation.CloneSuffix
	for _, tt := range []struct {
		group               string
		inherit, set, admin bool
	}{{noInherit, false, true, false}, {noSet, true, false, true}} {
		var inherit, set, admin bool
		err := super.QueryRow(ctx, `SELECT bool_or(inherit_option), bool_or(set_option), bool_or(admin_option) FROM pg_auth_members
			WHERE roleid = (SELECT oid FROM pg_roles WHERE rolname = $1) AND member = (SELECT oid FROM pg_roles WHERE rolname = $2)`,
			tt.group, clone).Scan(&inherit, &set, &admin)
		if err != nil {
			t.Fatalf("membership of %s in %s: %v", clone, tt.group, err)
		}
		if inherit != tt.inherit || set != tt.set || admin != tt.admin {
			t.Errorf("%s in %s: inherit %v set %v admin %v, want %v %v %v", clone, tt.group, inherit, set, admin, tt.inherit, tt.set, tt.admin)
		}
	}
	var canRead bool
	if err := super.QueryRow(ctx, "SELECT has_table_privilege($1, 'secret_stuff', 'SELECT')", clone).Scan(&canRead); err != nil {
		t.Fatal(err)
	}
	if canRead {
		t.Fatal("the clone reads a table the user reaches only through SET ROLE")
	}
}

// TestUserOwningObjects: a user that owns its tables leaves a plain clone without access
// (ownership cannot be copied): doctor fails it. With CLONE_MEMBER_OF_USER=true the clone
// is made a member of the user, as AWS's function does, and reads the user's tables.
func TestUserOwningObjects(t *testing.T) {
	ctx := context.Background()
	f := rotationtest.New(t, rotationtest.Options{})
	super := f.Env.Super(t, f.DB)
	for _, s := range []string{
		"CREATE TABLE owned_by_user (x int)",
		"INSERT INTO owned_by_user VALUES (42)",
		"ALTER TABLE owned_by_user OWNER TO " + pgrole.Ident(f.User),
	} {
		if _, err := super.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	plain := newRotator(f, rotation.AlternatingUsers, nil)
	if c := doctorCheck(t, plain.Doctor(ctx, f.SecretARN), "ownership"); c.Status != rotation.CheckFail || !strings.Contains(c.Detail, rotation.EnvCloneMemberOfUser) {
		t.Fatalf("doctor without the option: %s: %s, want FAIL naming %s", c.Status, c.Detail, rotation.EnvCloneMemberOfUser)
	}
	r := newRotator(f, rotation.AlternatingUsers, nil)
	cfg, err := rotation.LoadConfig(rotation.MapEnv(map[string]string{rotation.EnvCloneMemberOfUser: "true", rotation.EnvRotationStrategy: "alternating-users", rotation.EnvMasterSecretARNs: f.MasterARN}))
	if err != nil || !cfg.CloneMemberOfUser {
		t.Fatalf("LoadConfig with %s=true: %+v, %v", rotation.EnvCloneMemberOfUser, cfg, err)
	}
	r.Config = cfg
	if c := doctorCheck(t, r.Doctor(ctx, f.SecretARN), "ownership"); c.Status != rotation.CheckOK {
		t.Fatalf("doctor with the option: %s: %s", c.Status, c.Detail)
	}
	for i := 1; i <= 3; i++ {
		rotate(t, f, r, 1)
		cur := f.Get(t, "", "AWSCURRENT")
		var x int
		if err := f.As(t, cur.Username, cur.Password).QueryRow(ctx, "SELECT x FROM owned_by_user").Scan(&x); err != nil || x != 42 {
			t.Fatalf("rotation %d: %s reads the user's table: %d, %v", i, cur.Username, x, err)
		}
	}
	// The user is never made a member of its clone (that would be a cycle).
	var back bool
	super.QueryRow(ctx, "SELECT pg_has_role($1, $2, 'MEMBER')", f.User, f.User+rotation.CloneSuffix).Scan(&back)
	if back {
		t.Fatal("the user became a member of its clone")
	}
}

// TestSuperuserOnlySettingSkipped: a role setting only a superuser may set (log_statement)
// used to make every alternating rotation fail. Now it is left out with a warning in the
// log and in doctor; the rotation succeeds and the clone gets every other setting.
func TestSuperuserOnlySettingSkipped(t *testing.T) {
	ctx := context.Background()
	f := rotationtest.New(t, rotationtest.Options{LogUserStatements: true})
	super := f.Env.Super(t, "")
	if _, err := super.Exec(ctx, "ALTER ROLE "+pgrole.Ident(f.User)+" SET statement_timeout = '7s'"); err != nil {
		t.Fatal(err)
	}
	var logs testenv.Buffer
	r := newRotator(f, rotation.AlternatingUsers, &logs)
	c := doctorCheck(t, r.Doctor(ctx, f.SecretARN), "role settings")
	if c.Status != rotation.CheckWarn || !strings.Contains(c.Detail, "log_statement") || strings.Contains(c.Detail, "statement_timeout") {
		t.Fatalf("doctor: %s: %s, want a warning naming log_statement alone", c.Status, c.Detail)
	}
	rotate(t, f, r, 1)
	if !strings.Contains(logs.String(), "role setting not copied") || !strings.Contains(logs.String(), "log_statement") {
		t.Fatalf("no warning in the log:\n%s", logs.String())
	}
	var cfgs []string
	err := super.QueryRow(ctx, `SELECT COALESCE(array_agg(c ORDER BY c), '{}') FROM pg_db_role_setting s, unnest(s.setconfig) c
		WHERE s.setrole = (SELECT oid FROM pg_roles WHERE rolname = $1)`, f.User+rotation.CloneSuffix).Scan(&cfgs)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfgs, ",") != "statement_timeout=7s" {
		t.Fatalf("clone settings %v, want statement_timeout=7s alone", cfgs)
	}
	rotate(t, f, r, 2)
}
