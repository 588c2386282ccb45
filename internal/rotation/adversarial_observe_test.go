package rotation_test

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/pgrole"
	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// What the adversarial suite compares before and after a row, and how it knows whose
// password reached the attacker.

// snapshotSQL reads, as the superuser in the fixture's database, everything a role of $1
// is or holds, one line per fact, in forms that PostgreSQL 13 to 18 all answer: the
// pg_authid row (attributes and password verifier), memberships in either direction with
// every option the server keeps (INHERIT and SET on 16+), settings, ownership, and the
// privileges on databases and on this database's schemas, relations, columns and routines.
const snapshotSQL = `WITH r AS (SELECT oid, rolname FROM pg_authid WHERE rolname = ANY($1::text[]))
SELECT 'role ' || quote_ident(r.rolname) || ' ' || (CASE WHEN r.rolname = $2 THEN to_jsonb(a) - 'oid' - 'rolpassword' ELSE to_jsonb(a) - 'oid' END)::text
  FROM pg_authid a JOIN r ON r.oid = a.oid
UNION ALL
SELECT 'membership of ' || quote_ident(m.rolname) || ' in ' || quote_ident(g.rolname) || ' granted by ' || coalesce(quote_ident(gr.rolname), '?') || ' '
       || (to_jsonb(x) - 'oid' - 'roleid' - 'member' - 'grantor')::text
  FROM pg_auth_members x JOIN pg_roles g ON g.oid = x.roleid JOIN pg_roles m ON m.oid = x.member LEFT JOIN pg_roles gr ON gr.oid = x.grantor
  WHERE x.roleid IN (SELECT oid FROM r) OR x.member IN (SELECT oid FROM r)
UNION ALL
SELECT 'setting of ' || quote_ident(r.rolname) || ' in ' || coalesce((SELECT datname FROM pg_database WHERE oid = s.setdatabase), '*') || ' '
       || array_to_string(s.setconfig, ',')
  FROM pg_db_role_setting s JOIN r ON r.oid = s.setrole
UNION ALL
SELECT 'owner ' || quote_ident(r.rolname) || ' of database ' || d.datname FROM pg_database d JOIN r ON r.oid = d.datdba
UNION ALL
SELECT 'owner ' || quote_ident(r.rolname) || ' of relation ' || c.oid::regclass::text FROM pg_class c JOIN r ON r.oid = c.relowner
UNION ALL
SELECT 'privilege of ' || quote_ident(r.rolname) || ' on database ' || d.datname || ' ' || a.privilege_type || ' ' || a.is_grantable
  FROM pg_database d, aclexplode(d.datacl) a, r WHERE d.datacl IS NOT NULL AND a.grantee = r.oid
UNION ALL
SELECT 'privilege of ' || quote_ident(r.rolname) || ' on schema ' || n.nspname || ' ' || a.privilege_type || ' ' || a.is_grantable
  FROM pg_namespace n, aclexplode(n.nspacl) a, r WHERE n.nspacl IS NOT NULL AND a.grantee = r.oid
UNION ALL
SELECT 'privilege of ' || quote_ident(r.rolname) || ' on relation ' || c.oid::regclass::text || ' ' || a.privilege_type || ' ' || a.is_grantable
  FROM pg_class c, aclexplode(c.relacl) a, r WHERE c.relacl IS NOT NULL AND a.grantee = r.oid
UNION ALL
SELECT 'privilege of ' || quote_ident(r.rolname) || ' on column ' || att.attrelid::regclass::text || '.' || quote_ident(att.attname) || ' '
       || a.privilege_type || ' ' || a.is_grantable
  FROM pg_attribute att, aclexplode(att.attacl) a, r WHERE att.attacl IS NOT NULL AND a.grantee = r.oid
UNION ALL
SELECT 'privilege of ' || quote_ident(r.rolname) || ' on routine ' || p.oid::regprocedure::text || ' ' || a.privilege_type || ' ' || a.is_grantable
  FROM pg_proc p, aclexplode(p.proacl) a, r WHERE p.proacl IS NOT NULL AND a.grantee = r.oid`

// snapshot returns the catalog lines of every watched role, sorted. The application
// user's password verifier is left out when the row lets it move.
func (w *advWorld) snapshot() []string {
	w.t.Helper()
	movable := ""
	if w.userPasswordMoves {
		movable = w.f.User
	}
	rows, err := w.super.Query(context.Background(), snapshotSQL, w.watch, movable)
	if err != nil {
		w.t.Fatalf("snapshot: %v", err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		w.t.Fatalf("snapshot: %v", err)
	}
	slices.Sort(lines)
	return lines
}

// uniqueToken matches the random part testenv.Unique adds.
var uniqueToken = regexp.MustCompile(`_([0-9a-f]{10})$`)

// rolesOfRow lists every role whose name carries the random part of a watched name (any
// case): a role the rotation made from a forged name (a clone, a truncated or case-folded
// variant) shows up here even when no row thought of its exact name.
func (w *advWorld) rolesOfRow() []string {
	w.t.Helper()
	var tokens []string
	for _, n := range w.watch {
		if m := uniqueToken.FindStringSubmatch(strings.TrimRight(strings.TrimSuffix(n, rotation.CloneSuffix), " ")); m != nil && !slices.Contains(tokens, m[1]) {
			tokens = append(tokens, m[1])
		}
	}
	rows, err := w.super.Query(context.Background(),
		"SELECT rolname FROM pg_roles WHERE EXISTS (SELECT FROM unnest($1::text[]) t WHERE strpos(lower(rolname), t) > 0) ORDER BY rolname", tokens)
	if err != nil {
		w.t.Fatalf("roles of the row: %v", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		w.t.Fatalf("roles of the row: %v", err)
	}
	return names
}

// diffLines says what is in one sorted list and not the other.
func diffLines(before, after []string) []string {
	var out []string
	for _, l := range before {
		if !slices.Contains(after, l) {
			out = append(out, "gone: "+l)
		}
	}
	for _, l := range after {
		if !slices.Contains(before, l) {
			out = append(out, "new:  "+l)
		}
	}
	return out
}

// cannotRead asserts role (logging in with password) is refused SELECT on table.
func (w *advWorld) cannotRead(role, password, table string) {
	w.t.Helper()
	c, err := w.f.Connect(role, password)
	if err != nil {
		w.t.Errorf("%s cannot log in to check its reach: %v", role, err)
		return
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(context.Background(), "SELECT * FROM "+pgrole.Ident(table)); err == nil {
		w.t.Errorf("%s can read %s after the attack", role, table)
	}
}

// logOffset is the size of PostgreSQL's log file, or -1 when the stack keeps it in a
// container.
func (w *advWorld) logOffset() int64 {
	if w.f.Env.ServerLog == "" {
		return -1
	}
	st, err := os.Stat(w.f.Env.ServerLog)
	if err != nil {
		w.t.Fatalf("PostgreSQL's log: %v", err)
	}
	return st.Size()
}

// loginsSince counts, per role, the logins the server's log shows after offset (the
// stack sets log_connections). A unique marker is logged first and waited for (bounded):
// the log is written by other processes, and every line before the marker is then in the
// file.
func (w *advWorld) loginsSince(offset int64) map[string]int {
	if offset < 0 {
		w.t.Log("docker stack: PostgreSQL's log stays in its container; logins are not counted")
		return nil
	}
	marker := testenv.Unique("adv_marker")
	if _, err := w.super.Exec(context.Background(), "DO $$BEGIN RAISE LOG '%', "+testenv.Literal(marker)+"; END$$"); err != nil {
		w.t.Fatalf("marker: %v", err)
	}
	var tail string
	for deadline := time.Now().Add(15 * time.Second); ; {
		data, err := os.ReadFile(w.f.Env.ServerLog)
		if err != nil {
			w.t.Fatalf("PostgreSQL's log: %v", err)
		}
		if int64(len(data)) >= offset {
			tail = string(data[offset:])
		}
		if strings.Contains(tail, marker) {
			break
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("the marker did not reach PostgreSQL's log (%s) in 15s", w.f.Env.ServerLog)
		}
		time.Sleep(50 * time.Millisecond)
	}
	out := map[string]int{}
	for _, m := range authorized.FindAllStringSubmatch(tail, -1) {
		out[m[1]]++
	}
	return out
}

var authorized = regexp.MustCompile(`connection authorized: user=(\S+) `)

// whosePassword says which password the test knows a SCRAM proof was computed from: a
// role's, the master's, or one of the secret's versions (a pending one included).
func (w *advWorld) whosePassword(x scramExchange) string {
	if x.computedFrom(w.f.UserPassword) {
		return "the application user's real password"
	}
	if x.computedFrom(w.masterSecret().Password) {
		return "the master's password"
	}
	for role, pw := range w.known {
		if x.computedFrom(pw) {
			return "the password of " + role
		}
	}
	for v := range w.f.Stages(w.t) {
		out, err := w.f.SM.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(w.f.SecretARN), VersionId: aws.String(v)})
		if err != nil {
			continue
		}
		if s, err := dbsecret.Parse([]byte(aws.ToString(out.SecretString))); err == nil && x.computedFrom(s.Password) {
			return "the password of version " + v + " of the secret, labelled " + strings.Join(w.f.Stages(w.t)[v], ",")
		}
	}
	return "a password the test does not know"
}

// TestAdversarialDetectors: the suite's detectors see what a legitimate alternating
// rotation does (a new clone with the user's grants, a login as the master), so a row
// that passes does so because nothing happened, not because nothing was seen.
func TestAdversarialDetectors(t *testing.T) {
	w := newAdvWorld(t, hostileSecret{strategy: alternating})
	before, beforeRoles, from := w.snapshot(), w.rolesOfRow(), w.logOffset()
	if err := w.rotate(); err != nil {
		t.Fatalf("a legitimate rotation: %v", err)
	}
	clone := w.f.User + rotation.CloneSuffix
	if d := diffLines(before, w.snapshot()); !slices.ContainsFunc(d, func(l string) bool { return strings.Contains(l, "role "+clone) }) {
		t.Errorf("the snapshot did not see %s appear: %v", clone, d)
	}
	if d := diffLines(beforeRoles, w.rolesOfRow()); !slices.Contains(d, "new:  "+clone) {
		t.Errorf("the roles of the row did not show %s: %v", clone, d)
	}
	if logins := w.loginsSince(from); from >= 0 && logins[w.f.Master] == 0 {
		t.Errorf("the server's log shows no login as the master, who made the clone: %v", logins)
	}
}
