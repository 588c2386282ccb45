// Package pgrole changes PostgreSQL login roles the way a credential rotation needs:
// it sets passwords as client-computed SCRAM verifiers and makes the second user of an
// alternating pair able to do exactly what the first can, on PostgreSQL 13 to 18.
//
// What Mirror copies, and what the connected (master) role needs for it:
//
//   - role attributes (INHERIT, CREATEROLE, CREATEDB, LOGIN, CONNECTION LIMIT, VALID UNTIL;
//     REPLICATION and BYPASSRLS only if the master is a superuser): CREATEROLE. From
//     PostgreSQL 16 on also ADMIN OPTION on both users (the master gets it on the roles it
//     creates; a user another administrator made needs GRANT user TO master WITH ADMIN
//     OPTION), and CREATEDB to give CREATEDB. MirrorWith checks this before changing
//     anything, so a pair never rotates once and then sticks;
//   - role settings (ALTER ROLE ... [IN DATABASE ...] SET): CREATEROLE. A setting only a
//     superuser may set (or, on 15+, a role granted SET on it) is left out and reported in
//     Result.Warnings instead of failing the rotation;
//   - memberships, with their ADMIN OPTION and, on 16+, their INHERIT and SET options
//     (a group granted WITH INHERIT FALSE stays so on the copy): ADMIN OPTION on each
//     group, or before 16 CREATEROLE;
//   - privileges on databases (all of the cluster), and on schemas, tables, views,
//     sequences, columns and routines of the connected database: the master must own the
//     object or hold the privilege WITH GRANT OPTION. PostgreSQL answers a GRANT it cannot
//     honour with a warning, not an error, so Mirror compares the two roles afterwards and
//     fails naming what is still missing.
//
// Not copied: ownership (a role cannot co-own an object: the users of a pair should own
// nothing and be granted through a group role, or Options.Base makes the clone a member of
// the user, as AWS's alternating function does), default privileges, and privileges on
// types, languages, large objects, foreign servers and tablespaces.
//
// Mirror is additive in both directions for groups and privileges: those granted to either
// user between two rotations end up on both. Revoke from both users (or from their group
// role). Membership options follow the source, the user in use.
package pgrole

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rotaudit/rotaudit/internal/scram"
)

// ErrNotMirrorable is returned when the source role has something a copy cannot have.
var ErrNotMirrorable = errors.New("role cannot be mirrored")

// ErrIncomplete is returned when, after Mirror, one role still lacks what the other has:
// the connected role was not allowed to grant it.
var ErrIncomplete = errors.New("role mirror incomplete")

// ErrNoRole is returned when a role that must exist does not.
var ErrNoRole = errors.New("role does not exist")

// MaxNameLen is PostgreSQL's NAMEDATALEN-1: longer role names are truncated by the server.
const MaxNameLen = 63

// Querier is the part of a pgx connection or transaction this package uses.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Ident quotes a role or object name for SQL.
func Ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// SetPassword sets role's password to a SCRAM verifier computed here: the statement
// carries the verifier, never the password.
func SetPassword(ctx context.Context, q Querier, role, password string) error {
	v, err := scram.NewVerifier(password)
	if err != nil {
		return fmt.Errorf("set password of %s: %w", role, err)
	}
	// The verifier is base64, digits, '$' and ':': nothing to escape in a literal.
	if _, err := q.Exec(ctx, "ALTER ROLE "+Ident(role)+" PASSWORD '"+v+"'"); err != nil {
		return fmt.Errorf("set password of %s: alter role: %w", role, err)
	}
	return nil
}

// Attributes are the pg_roles flags a copy must share.
type Attributes struct {
	Super, Inherit, CreateRole, CreateDB, Login, Replication, BypassRLS bool
	ConnLimit                                                           int
	// ValidUntil is the server's text for rolvaliduntil, "infinity" when unset.
	ValidUntil string
}

// LookupAttributes reads role's attributes; ok is false when the role does not exist.
func LookupAttributes(ctx context.Context, q Querier, role string) (a Attributes, ok bool, err error) {
	err = q.QueryRow(ctx, `SELECT rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,
		rolreplication, rolbypassrls, rolconnlimit, COALESCE(rolvaliduntil::text, 'infinity')
		FROM pg_roles WHERE rolname = $1`, role).Scan(&a.Super, &a.Inherit, &a.CreateRole,
		&a.CreateDB, &a.Login, &a.Replication, &a.BypassRLS, &a.ConnLimit, &a.ValidUntil)
	if errors.Is(err, pgx.ErrNoRows) {
		return Attributes{}, false, nil
	}
	if err != nil {
		return Attributes{}, false, fmt.Errorf("read attributes of %s: %w", role, err)
	}
	return a, true, nil
}

// attrClause returns the ALTER/CREATE ROLE options that turn have into want; with
// full, every option is written (for CREATE ROLE, apart from superuser-only defaults).
func attrClause(want, have Attributes, full bool) string {
	var opts []string
	flag := func(w, h bool, on, off string, superOnly bool) {
		if full && superOnly && !w {
			return // the default; naming it would need superuser
		}
		if full || w != h {
			if w {
				opts = append(opts, on)
			} else {
				opts = append(opts, off)
			}
		}
	}
	flag(want.Inherit, have.Inherit, "INHERIT", "NOINHERIT", false)
	flag(want.CreateRole, have.CreateRole, "CREATEROLE", "NOCREATEROLE", false)
	flag(want.CreateDB, have.CreateDB, "CREATEDB", "NOCREATEDB", false)
	flag(want.Login, have.Login, "LOGIN", "NOLOGIN", false)
	flag(want.Replication, have.Replication, "REPLICATION", "NOREPLICATION", true)
	flag(want.BypassRLS, have.BypassRLS, "BYPASSRLS", "NOBYPASSRLS", true)
	if full || want.ConnLimit != have.ConnLimit {
		opts = append(opts, "CONNECTION LIMIT "+strconv.Itoa(want.ConnLimit))
	}
	if full || want.ValidUntil != have.ValidUntil {
		opts = append(opts, "VALID UNTIL "+literal(want.ValidUntil))
	}
	return strings.Join(opts, " ")
}

// Mirror is MirrorWith without options, for callers that need no warnings.
func Mirror(ctx context.Context, q Querier, src, dst string) error {
	_, err := MirrorWith(ctx, q, src, dst, Options{})
	return err
}

// Options changes what MirrorWith does beyond making the two roles equivalent.
type Options struct {
	// Base, when it names src or dst, is the original user of the pair: the other user is
	// made a member of it (with INHERIT, and SET on PostgreSQL 16+), as AWS's alternating
	// function does, so the clone can use the objects Base owns. Empty: neither user is a
	// member of the other.
	Base string
}

// Result says what MirrorWith did not copy on purpose.
type Result struct {
	// Warnings name settings of src that the connected role may not set (only a superuser,
	// or on 15+ a role granted SET on the parameter, may set them); dst lacks them.
	Warnings []string
}

// MirrorWith creates dst when it does not exist and makes it equivalent to src: same
// attributes, settings and membership options, and the union of both roles' groups and
// privileges on both. Run it in a transaction so a failure leaves nothing half done. See
// the package doc for what is copied and what the connected role needs.
func MirrorWith(ctx context.Context, q Querier, src, dst string, o Options) (Result, error) {
	var res Result
	if src == dst {
		return res, fmt.Errorf("mirror: source and destination are both %q", src)
	}
	for _, n := range []string{src, dst} {
		if len(n) > MaxNameLen {
			return res, fmt.Errorf("mirror: role name %q is %d bytes, over PostgreSQL's %d", n, len(n), MaxNameLen)
		}
	}
	if o.Base != "" && o.Base != src && o.Base != dst {
		return res, fmt.Errorf("mirror: base %q is neither %q nor %q", o.Base, src, dst)
	}
	sa, ok, err := LookupAttributes(ctx, q, src)
	if err != nil {
		return res, fmt.Errorf("mirror: %w", err)
	}
	if !ok {
		return res, fmt.Errorf("mirror: %w: %s", ErrNoRole, src)
	}
	if sa.Super {
		return res, fmt.Errorf("mirror: %w: %s is a superuser; rotate a role that is not", ErrNotMirrorable, src)
	}
	da, exists, err := LookupAttributes(ctx, q, dst)
	if err != nil {
		return res, fmt.Errorf("mirror: %w", err)
	}
	if exists && da.Super {
		return res, fmt.Errorf("mirror: %w: %s is a superuser", ErrNotMirrorable, dst)
	}
	pair := []string{src}
	if exists {
		pair = append(pair, dst)
	}
	major, problems, err := unalterable(ctx, q, sa, pair...)
	if err != nil {
		return res, fmt.Errorf("mirror: %w", err)
	}
	if len(problems) > 0 {
		return res, fmt.Errorf("mirror: %w: %s", ErrNotAdmin, strings.Join(problems, "; "))
	}
	if !exists {
		if _, err := q.Exec(ctx, "CREATE ROLE "+Ident(dst)+" WITH "+attrClause(sa, Attributes{}, true)); err != nil {
			return res, fmt.Errorf("mirror: create role %s: %w", dst, err)
		}
	} else if c := attrClause(sa, da, false); c != "" {
		if _, err := q.Exec(ctx, "ALTER ROLE "+Ident(dst)+" WITH "+c); err != nil {
			return res, fmt.Errorf("mirror: alter role %s attributes: %w", dst, err)
		}
	}
	skipped, err := mirrorSettings(ctx, q, src, dst)
	if err != nil {
		return res, fmt.Errorf("mirror: %w", err)
	}
	for _, k := range skipped {
		db, c, _ := strings.Cut(k, "\x00")
		name, _, _ := strings.Cut(c, "=")
		w := fmt.Sprintf("setting %s of %s not copied to %s: the connected role may not set it (a superuser can: ALTER ROLE %s%s SET ...)", name, src, dst, Ident(dst), inDatabase(db))
		res.Warnings = append(res.Warnings, w)
	}
	granted := 0
	n, err := mirrorMemberships(ctx, q, major, src, dst, o)
	if err != nil {
		return res, fmt.Errorf("mirror: %w", err)
	}
	granted += n
	g, err := privilegesOf(ctx, q, src, dst)
	if err != nil {
		return res, fmt.Errorf("mirror: %w", err)
	}
	sg, dg := g[src], g[dst]
	n, err = grantMissing(ctx, q, sg, dg, dst)
	if err != nil {
		return res, fmt.Errorf("mirror: %w", err)
	}
	m, err := grantMissing(ctx, q, dg, sg, src)
	if err != nil {
		return res, fmt.Errorf("mirror: %w", err)
	}
	granted += n + m
	if granted == 0 && len(skipped) == 0 {
		// Both roles already held the same grants, read just now: nothing to verify.
		return res, nil
	}
	// PostgreSQL turns a GRANT it cannot honour into a warning: check what really holds.
	diff, err := compare(ctx, q, major, src, dst, skipped)
	if err != nil {
		return res, fmt.Errorf("mirror: %w", err)
	}
	if len(diff) > 0 {
		if len(diff) > 5 {
			diff = append(diff[:5], fmt.Sprintf("and %d more", len(diff)-5))
		}
		return res, fmt.Errorf("mirror: %w: %s (the rotating role must own these objects or hold the privileges WITH GRANT OPTION / ADMIN OPTION)", ErrIncomplete, strings.Join(diff, "; "))
	}
	return res, nil
}

// Compare lists what one of the two roles has and the other lacks: attributes,
// settings, memberships (with their options) and privileges. Empty means they can do the
// same things. Membership of one role of the two in the other is not compared.
func Compare(ctx context.Context, q Querier, a, b string) ([]string, error) {
	major, err := ServerMajor(ctx, q)
	if err != nil {
		return nil, err
	}
	return compare(ctx, q, major, a, b, nil)
}

// compare is Compare ignoring the settings keyed in skip (see settingsOf).
func compare(ctx context.Context, q Querier, major int, a, b string, skip []string) ([]string, error) {
	var diff []string
	aa, okA, err := LookupAttributes(ctx, q, a)
	if err != nil {
		return nil, err
	}
	ba, okB, err := LookupAttributes(ctx, q, b)
	if err != nil {
		return nil, err
	}
	if !okA || !okB {
		return nil, fmt.Errorf("compare %s and %s: %w", a, b, ErrNoRole)
	}
	if c := attrClause(aa, ba, false); c != "" {
		diff = append(diff, fmt.Sprintf("attributes of %s differ (%s)", b, c))
	}
	both, err := settingsOf(ctx, q, a, b)
	if err != nil {
		return nil, err
	}
	as, bs := both[a], both[b]
	for _, k := range skip {
		delete(as, k)
		delete(bs, k)
	}
	diff = append(diff, setDiff("setting", as, bs, a, b)...)
	mem, err := membershipsOf(ctx, q, major, a, b)
	if err != nil {
		return nil, err
	}
	priv, err := privilegesOf(ctx, q, a, b)
	if err != nil {
		return nil, err
	}
	for _, g := range []map[string]map[string]Grant{mem, priv} {
		ag, bg := g[a], g[b]
		for _, m := range []map[string]Grant{ag, bg} {
			for k, gr := range m {
				if gr.Kind == "MEMBER" && (gr.Name == a || gr.Name == b) {
					delete(m, k)
				}
			}
		}
		diff = append(diff, setDiff("grant", keys(ag), keys(bg), a, b)...)
	}
	sort.Strings(diff)
	return diff, nil
}

func setDiff(what string, a, b map[string]bool, an, bn string) []string {
	var out []string
	for k := range a {
		if !b[k] {
			out = append(out, fmt.Sprintf("%s has %s %s, %s does not", an, what, k, bn))
		}
	}
	for k := range b {
		if !a[k] {
			out = append(out, fmt.Sprintf("%s has %s %s, %s does not", bn, what, k, an))
		}
	}
	return out
}

func keys(m map[string]Grant) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// settings returns role's settings as "database\x00name=value" ("" for all databases).
func settings(ctx context.Context, q Querier, role string) (map[string]bool, error) {
	m, err := settingsOf(ctx, q, role)
	return m[role], err
}

// settingsOf reads the settings of several roles in one query.
func settingsOf(ctx context.Context, q Querier, roles ...string) (map[string]map[string]bool, error) {
	rows, err := q.Query(ctx, `SELECT r.rolname, COALESCE(d.datname, ''), c
		FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
		LEFT JOIN pg_database d ON d.oid = s.setdatabase, unnest(s.setconfig) AS c
		WHERE r.rolname = ANY($1)`, roles)
	if err != nil {
		return nil, fmt.Errorf("read settings of %v: %w", roles, err)
	}
	defer rows.Close()
	out := map[string]map[string]bool{}
	for _, r := range roles {
		out[r] = map[string]bool{}
	}
	for rows.Next() {
		var role, db, c string
		if err := rows.Scan(&role, &db, &c); err != nil {
			return nil, fmt.Errorf("read settings of %v: %w", roles, err)
		}
		out[role][db+"\x00"+c] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read settings of %v: %w", roles, err)
	}
	return out, nil
}

// mirrorSettings gives dst src's settings, except those the connected role may not set,
// whose keys it returns.
func mirrorSettings(ctx context.Context, q Querier, src, dst string) ([]string, error) {
	both, err := settingsOf(ctx, q, src, dst)
	if err != nil {
		return nil, err
	}
	ss, ds := both[src], both[dst]
	if len(setDiff("", ss, ds, src, dst)) == 0 {
		return nil, nil
	}
	canSet := map[string]bool{}
	for k := range ss {
		_, c, _ := strings.Cut(k, "\x00")
		name, _, _ := strings.Cut(c, "=")
		if _, done := canSet[name]; done {
			continue
		}
		ok, err := CanSet(ctx, q, name)
		if err != nil {
			return nil, err
		}
		canSet[name] = ok
	}
	// RESET ALL, as a role that is not superuser, keeps the settings it may not change:
	// those stay as they are, on both roles alike.
	reset := map[string]bool{}
	for k := range ds {
		if !ss[k] {
			db, _, _ := strings.Cut(k, "\x00")
			reset[db] = true
		}
	}
	for db := range reset {
		if _, err := q.Exec(ctx, "ALTER ROLE "+Ident(dst)+inDatabase(db)+" RESET ALL"); err != nil {
			return nil, fmt.Errorf("reset settings of %s: %w", dst, err)
		}
	}
	var skipped []string
	settable := map[string]bool{}
	for k := range ss {
		db, c, _ := strings.Cut(k, "\x00")
		name, _, _ := strings.Cut(c, "=")
		switch {
		case ds[k] && !reset[db]:
		case canSet[name]:
			settable[k] = true
		case !ds[k]:
			skipped = append(skipped, k)
		}
	}
	sort.Strings(skipped)
	ks := make([]string, 0, len(settable))
	for k := range settable {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		db, c, _ := strings.Cut(k, "\x00")
		name, value, ok := strings.Cut(c, "=")
		if !ok {
			return nil, fmt.Errorf("setting %q of %s has no value", c, src)
		}
		stmt := "ALTER ROLE " + Ident(dst) + inDatabase(db) + " SET " + Ident(name) + " TO " + settingValue(name, value)
		if _, err := q.Exec(ctx, stmt); err != nil {
			return nil, fmt.Errorf("copy setting %s of %s to %s: %w", name, src, dst, err)
		}
	}
	return skipped, nil
}

// CanSet reports whether the connected role may store setting name on a role (ALTER ROLE
// ... SET): a superuser may set anything; another role a setting of context user or
// backend, or, on PostgreSQL 15+, a superuser setting it was granted SET on. An unknown
// name (a custom placeholder) needs a superuser.
func CanSet(ctx context.Context, q Querier, name string) (bool, error) {
	major, err := ServerMajor(ctx, q)
	if err != nil {
		return false, err
	}
	granted := "false"
	if major >= 15 {
		granted = "s.context IN ('superuser', 'superuser-backend') AND has_parameter_privilege(current_user, s.name, 'SET')"
	}
	var ok bool
	err = q.QueryRow(ctx, `SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
		OR COALESCE((SELECT s.context IN ('user', 'backend') OR `+granted+`
			FROM pg_settings s WHERE s.name = lower($1)), false)`, name).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("check whether %s may be set: %w", name, err)
	}
	return ok, nil
}

// Unsettable lists role's settings that the connected role may not set, as
// "name" or "name (in database db)". It changes nothing.
func Unsettable(ctx context.Context, q Querier, role string) ([]string, error) {
	ss, err := settings(ctx, q, role)
	if err != nil {
		return nil, err
	}
	var out []string
	for k := range ss {
		db, c, _ := strings.Cut(k, "\x00")
		name, _, _ := strings.Cut(c, "=")
		ok, err := CanSet(ctx, q, name)
		if err != nil {
			return nil, err
		}
		if !ok {
			if db != "" {
				name += " (in database " + db + ")"
			}
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

func inDatabase(db string) string {
	if db == "" {
		return ""
	}
	return " IN DATABASE " + Ident(db)
}

// listQuoted are the settings whose stored value is a list of double-quoted elements
// (GUC_LIST_QUOTE): each element must be passed as its own literal.
var listQuoted = map[string]bool{
	"search_path": true, "temp_tablespaces": true, "session_preload_libraries": true,
	"shared_preload_libraries": true, "local_preload_libraries": true,
}

func settingValue(name, value string) string {
	if !listQuoted[strings.ToLower(name)] {
		return literal(value)
	}
	var parts []string
	for _, e := range splitList(value) {
		parts = append(parts, literal(e))
	}
	if len(parts) == 0 {
		return "''"
	}
	return strings.Join(parts, ", ")
}

// splitList splits a flattened GUC list: elements separated by commas, double-quoted
// where needed, with "" standing for a quote inside quotes.
func splitList(v string) []string {
	var out []string
	var cur strings.Builder
	inQ, started := false, false
	for i := 0; i < len(v); i++ {
		ch := v[i]
		switch {
		case inQ && ch == '"' && i+1 < len(v) && v[i+1] == '"':
			cur.WriteByte('"')
			i++
		case ch == '"':
			inQ = !inQ
			started = true
		case !inQ && ch == ',':
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
			started = false
		case !inQ && (ch == ' ' || ch == '\t') && !started:
		default:
			cur.WriteByte(ch)
			started = true
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" || started {
		out = append(out, s)
	}
	return out
}

// literal quotes a string as an SQL literal (standard_conforming_strings is on since 9.1;
// E” is not used).
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Grant is one privilege or membership a role holds.
type Grant struct {
	// Kind is DATABASE, SCHEMA, TABLE, SEQUENCE, COLUMN, ROUTINE or MEMBER.
	Kind              string
	Schema, Name, Col string
	Privilege         string
	// Grantable is WITH GRANT OPTION, or for a membership WITH ADMIN OPTION.
	Grantable bool
	// Inherit and Set are a membership's INHERIT and SET options, kept per grant from
	// PostgreSQL 16 on (HasOptions); before, the member's INHERIT attribute decides.
	Inherit, Set, HasOptions bool
}

func (g Grant) key() string {
	if g.Kind == "MEMBER" {
		k := "membership in " + Ident(g.Name)
		if g.HasOptions {
			return k + fmt.Sprintf(" (admin %t, inherit %t, set %t)", g.Grantable, g.Inherit, g.Set)
		}
		return k + map[bool]string{true: " (admin)"}[g.Grantable]
	}
	return fmt.Sprintf("%s %s", g.Privilege, g.object()) + map[bool]string{true: " (grantable)"}[g.Grantable]
}

func (g Grant) object() string {
	switch g.Kind {
	case "TABLE", "SEQUENCE":
		return g.Kind + " " + pgx.Identifier{g.Schema, g.Name}.Sanitize()
	case "COLUMN":
		return "TABLE " + pgx.Identifier{g.Schema, g.Name}.Sanitize() + " (" + Ident(g.Col) + ")"
	case "ROUTINE":
		// Name is the server's regprocedure text: schema-qualified when needed and
		// identifiers already quoted.
		return "ROUTINE " + g.Name
	case "MEMBER":
		return "ROLE " + Ident(g.Name)
	default:
		return g.Kind + " " + Ident(g.Name)
	}
}

// statement returns the GRANT that gives g to role. For a membership on 16+ it states
// every option: the defaults would come from the member's INHERIT attribute and from
// the server's settings, not from the role copied.
func (g Grant) statement(role string) string {
	if g.Kind == "MEMBER" {
		s := "GRANT " + Ident(g.Name) + " TO " + Ident(role)
		if g.HasOptions {
			return s + fmt.Sprintf(" WITH ADMIN %s, INHERIT %s, SET %s", sqlBool(g.Grantable), sqlBool(g.Inherit), sqlBool(g.Set))
		}
		if g.Grantable {
			s += " WITH ADMIN OPTION"
		}
		return s
	}
	obj := g.object()
	priv := g.Privilege
	if g.Kind == "COLUMN" {
		priv += " (" + Ident(g.Col) + ")"
		obj = "TABLE " + pgx.Identifier{g.Schema, g.Name}.Sanitize()
	}
	s := "GRANT " + priv + " ON " + obj + " TO " + Ident(role)
	if g.Grantable {
		s += " WITH GRANT OPTION"
	}
	return s
}

func sqlBool(b bool) string { return strings.ToUpper(strconv.FormatBool(b)) }

// privilegeWords are the privilege_type values aclexplode returns; anything else is
// refused rather than written into SQL.
var privilegeWords = map[string]bool{
	"SELECT": true, "INSERT": true, "UPDATE": true, "DELETE": true, "TRUNCATE": true,
	"REFERENCES": true, "TRIGGER": true, "EXECUTE": true, "USAGE": true, "CREATE": true,
	"CONNECT": true, "TEMPORARY": true, "MAINTAIN": true, // MAINTAIN: PostgreSQL 17+
}

// privilegesSQL skips objects without an ACL before exploding one: most catalog rows
// have none, and exploding them all made this the slowest query of a rotation.
const privilegesSQL = `WITH r AS (SELECT oid, rolname FROM pg_roles WHERE rolname = ANY($1))
SELECT r.rolname, 'DATABASE', '', d.datname, '', a.privilege_type, a.is_grantable
  FROM pg_database d, aclexplode(d.datacl) a, r WHERE d.datacl IS NOT NULL AND a.grantee = r.oid
UNION ALL
SELECT r.rolname, 'SCHEMA', '', n.nspname, '', a.privilege_type, a.is_grantable
  FROM pg_namespace n, aclexplode(n.nspacl) a, r WHERE n.nspacl IS NOT NULL AND a.grantee = r.oid
UNION ALL
SELECT r.rolname, CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, n.nspname, c.relname, '',
       a.privilege_type, a.is_grantable
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a, r
  WHERE c.relacl IS NOT NULL AND a.grantee = r.oid AND c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S')
UNION ALL
SELECT r.rolname, 'COLUMN', n.nspname, c.relname, att.attname, a.privilege_type, a.is_grantable
  FROM pg_attribute att JOIN pg_class c ON c.oid = att.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(att.attacl) a, r
  WHERE att.attacl IS NOT NULL AND a.grantee = r.oid AND att.attnum > 0 AND NOT att.attisdropped
UNION ALL
SELECT r.rolname, 'ROUTINE', '', p.oid::regprocedure::text, '', a.privilege_type, a.is_grantable
  FROM pg_proc p, aclexplode(p.proacl) a, r WHERE p.proacl IS NOT NULL AND a.grantee = r.oid`

// privileges returns role's object privileges, keyed for comparison.
func privileges(ctx context.Context, q Querier, role string) (map[string]Grant, error) {
	m, err := privilegesOf(ctx, q, role)
	return m[role], err
}

// privilegesOf reads the object privileges of several roles in one query.
func privilegesOf(ctx context.Context, q Querier, roles ...string) (map[string]map[string]Grant, error) {
	rows, err := q.Query(ctx, privilegesSQL, roles)
	if err != nil {
		return nil, fmt.Errorf("read privileges of %v: %w", roles, err)
	}
	out, err := grantsByRole(rows, roles, "read privileges", func(role *string) (Grant, error) {
		var g Grant
		err := rows.Scan(role, &g.Kind, &g.Schema, &g.Name, &g.Col, &g.Privilege, &g.Grantable)
		return g, err
	})
	if err != nil {
		return nil, err
	}
	for role, m := range out {
		for _, g := range m {
			if !privilegeWords[g.Privilege] {
				return nil, fmt.Errorf("read privileges of %s: unknown privilege %q", role, g.Privilege)
			}
			// A grantable privilege includes the plain one: compare on the strongest form.
			if g.Grantable {
				plain := g
				plain.Grantable = false
				delete(m, plain.key())
			}
		}
	}
	return out, nil
}

// grantsByRole collects rows whose first column is a role name into grants per role;
// every role of roles has a map, if empty. scan reads the current row. An error from it
// or from the rows is wrapped with what and the roles.
func grantsByRole(rows pgx.Rows, roles []string, what string, scan func(role *string) (Grant, error)) (map[string]map[string]Grant, error) {
	defer rows.Close()
	out := map[string]map[string]Grant{}
	for _, r := range roles {
		out[r] = map[string]Grant{}
	}
	for rows.Next() {
		var role string
		g, err := scan(&role)
		if err != nil {
			return nil, fmt.Errorf("%s of %v: %w", what, roles, err)
		}
		out[role][g.key()] = g
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s of %v: %w", what, roles, err)
	}
	return out, nil
}

// memberships returns the groups role belongs to.
func memberships(ctx context.Context, q Querier, major int, role string) (map[string]Grant, error) {
	m, err := membershipsOf(ctx, q, major, role)
	return m[role], err
}

// membershipsOf reads the groups of several roles in one query. From PostgreSQL 16 on a
// membership may have been granted several times (once per grantor), each with its own
// options: an option holds when any of the grants has it, as the server decides.
func membershipsOf(ctx context.Context, q Querier, major int, roles ...string) (map[string]map[string]Grant, error) {
	opts := "false, false"
	if major >= 16 {
		opts = "bool_or(a.inherit_option), bool_or(a.set_option)"
	}
	rows, err := q.Query(ctx, `SELECT m.rolname, g.rolname, bool_or(a.admin_option), `+opts+` FROM pg_auth_members a
		JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
		WHERE m.rolname = ANY($1) GROUP BY m.rolname, g.rolname`, roles)
	if err != nil {
		return nil, fmt.Errorf("read memberships of %v: %w", roles, err)
	}
	return grantsByRole(rows, roles, "read memberships", func(role *string) (Grant, error) {
		g := Grant{Kind: "MEMBER", HasOptions: major >= 16}
		err := rows.Scan(role, &g.Name, &g.Grantable, &g.Inherit, &g.Set)
		return g, err
	})
}

// byGroup indexes memberships by group name.
func byGroup(m map[string]Grant) map[string]Grant {
	out := make(map[string]Grant, len(m))
	for _, g := range m {
		out[g.Name] = g
	}
	return out
}

// mirrorMemberships gives dst every group src is in with src's options (a group dst is
// already in gets src's options: granted where src has more, revoked where it has less,
// so a membership granted WITH INHERIT FALSE stays so), and src every group only dst is
// in. Neither becomes a member of the other, unless o.Base makes the non-base user a
// member of the base. It returns how many statements it issued.
func mirrorMemberships(ctx context.Context, q Querier, major int, src, dst string, o Options) (int, error) {
	m, err := membershipsOf(ctx, q, major, src, dst)
	if err != nil {
		return 0, err
	}
	sg, dg := byGroup(m[src]), byGroup(m[dst])
	var stmts []string
	add := func(role string, g Grant) { stmts = append(stmts, g.statement(role)) }
	for _, name := range sortedKeys(sg) {
		g := sg[name]
		if name == src || name == dst {
			continue
		}
		have, ok := dg[name]
		switch {
		case !ok:
			add(dst, g)
		case have.key() != g.key():
			if g.Grantable && !have.Grantable || g.HasOptions && (g.Inherit && !have.Inherit || g.Set && !have.Set) {
				add(dst, g)
			}
			for _, opt := range []struct {
				name      string
				want, got bool
			}{{"ADMIN", g.Grantable, have.Grantable}, {"INHERIT", g.Inherit, have.Inherit}, {"SET", g.Set, have.Set}} {
				if opt.got && !opt.want && (opt.name == "ADMIN" || g.HasOptions) {
					stmts = append(stmts, "REVOKE "+opt.name+" OPTION FOR "+Ident(name)+" FROM "+Ident(dst))
				}
			}
		}
	}
	for _, name := range sortedKeys(dg) {
		if _, ok := sg[name]; !ok && name != src && name != dst {
			add(src, dg[name])
		}
	}
	if o.Base != "" {
		other := src
		if o.Base == src {
			other = dst
		}
		g := Grant{Kind: "MEMBER", Name: o.Base, Inherit: true, Set: true, HasOptions: major >= 16}
		if m[other] == nil || byGroup(m[other])[o.Base].key() != g.key() {
			add(other, g)
		}
	}
	for _, st := range stmts {
		if _, err := q.Exec(ctx, st); err != nil {
			return 0, fmt.Errorf("%s: %w (the rotating role needs ADMIN OPTION on the group; before PostgreSQL 16 CREATEROLE is enough)", st, err)
		}
	}
	return len(stmts), nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Ungrantable lists the privileges and memberships of role that grantor could not give
// to another role: it neither owns the object nor holds the privilege WITH GRANT OPTION
// (or, for a group, lacks ADMIN OPTION, and before PostgreSQL 16 also CREATEROLE). It
// changes nothing.
func Ungrantable(ctx context.Context, q Querier, grantor, role string) ([]string, error) {
	privs, err := privileges(ctx, q, role)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, g := range privs {
		var sql string
		args := []any{grantor}
		opt := g.Privilege + " WITH GRANT OPTION"
		switch g.Kind {
		case "DATABASE":
			sql, args = "SELECT has_database_privilege($1, $2, $3)", append(args, g.Name, opt)
		case "SCHEMA":
			sql, args = "SELECT has_schema_privilege($1, $2, $3)", append(args, g.Name, opt)
		case "TABLE":
			sql, args = "SELECT has_table_privilege($1, $2, $3)", append(args, pgx.Identifier{g.Schema, g.Name}.Sanitize(), opt)
		case "SEQUENCE":
			sql, args = "SELECT has_sequence_privilege($1, $2, $3)", append(args, pgx.Identifier{g.Schema, g.Name}.Sanitize(), opt)
		case "COLUMN":
			sql, args = "SELECT has_column_privilege($1, $2, $3, $4)", append(args, pgx.Identifier{g.Schema, g.Name}.Sanitize(), g.Col, opt)
		case "ROUTINE":
			sql, args = "SELECT has_function_privilege($1, $2, $3)", append(args, g.Name, opt)
		default:
			continue
		}
		var ok bool
		if err := q.QueryRow(ctx, sql, args...).Scan(&ok); err != nil {
			return nil, fmt.Errorf("check %s can grant %s: %w", grantor, g.key(), err)
		}
		if !ok {
			out = append(out, g.key())
		}
	}
	major, err := ServerMajor(ctx, q)
	if err != nil {
		return nil, err
	}
	var createRole, super bool
	if err := q.QueryRow(ctx, "SELECT rolcreaterole, rolsuper FROM pg_roles WHERE rolname = $1", grantor).Scan(&createRole, &super); err != nil {
		return nil, fmt.Errorf("read attributes of %s: %w", grantor, err)
	}
	// PostgreSQL 16 took from CREATEROLE the power to grant any role.
	if !super && (!createRole || major >= 16) {
		groups, err := memberships(ctx, q, major, role)
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			var ok bool
			if err := q.QueryRow(ctx, "SELECT pg_has_role($1, $2, 'MEMBER WITH ADMIN OPTION')", grantor, g.Name).Scan(&ok); err != nil {
				return nil, fmt.Errorf("check %s can grant %s: %w", grantor, g.key(), err)
			}
			if !ok {
				out = append(out, g.key())
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// ErrNotAdmin is returned when the connected role may not alter a role of the pair.
var ErrNotAdmin = errors.New("not allowed to alter role")

// ServerMajor returns the connected server's major version (13 for 13.22).
func ServerMajor(ctx context.Context, q Querier) (int, error) {
	var num int
	if err := q.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&num); err != nil {
		return 0, fmt.Errorf("read server version: %w", err)
	}
	return num / 10000, nil
}

// Unalterable says why the connected role could not keep roles (the users of a pair,
// whose copy needs attributes want) rotating: from PostgreSQL 16 on, a CREATEROLE role
// that is not superuser may alter only roles it holds ADMIN OPTION on (it gets that
// option on the roles it creates, not on those another administrator made), and may
// give CREATEDB, REPLICATION and BYPASSRLS only when it has them. Empty means nothing
// stands in the way. Before 16, CREATEROLE may alter any role that is not superuser.
func Unalterable(ctx context.Context, q Querier, want Attributes, roles ...string) ([]string, error) {
	_, out, err := unalterable(ctx, q, want, roles...)
	return out, err
}

// unalterable is Unalterable, also returning the server's major version: one round trip.
func unalterable(ctx context.Context, q Querier, want Attributes, roles ...string) (int, []string, error) {
	var me string
	var num int
	var super, createRole, createDB bool
	var notAdmin []string
	if err := q.QueryRow(ctx, `SELECT current_setting('server_version_num')::int, rolname, rolsuper, rolcreaterole, rolcreatedb,
		ARRAY(SELECT r FROM unnest($1::text[]) r WHERE NOT pg_has_role(current_user, r, 'MEMBER WITH ADMIN OPTION') ORDER BY r)
		FROM pg_roles WHERE rolname = current_user`, roles).Scan(&num, &me, &super, &createRole, &createDB, &notAdmin); err != nil {
		return 0, nil, fmt.Errorf("read own attributes: %w", err)
	}
	major := num / 10000
	if super {
		return major, nil, nil
	}
	var out []string
	if !createRole {
		out = append(out, fmt.Sprintf("%s lacks CREATEROLE: ALTER ROLE %s CREATEROLE", me, Ident(me)))
	}
	if want.Replication || want.BypassRLS {
		out = append(out, fmt.Sprintf("only a superuser may give REPLICATION or BYPASSRLS, which %s has", strings.Join(roles, " and ")))
	}
	if major < 16 {
		return major, out, nil
	}
	if want.CreateDB && !createDB && len(roles) > 0 {
		out = append(out, fmt.Sprintf("on PostgreSQL 16+ %s may give CREATEDB only when it has it: ALTER ROLE %s CREATEDB (as a superuser), or ALTER ROLE %s NOCREATEDB", me, Ident(me), Ident(roles[0])))
	}
	for _, r := range notAdmin {
		out = append(out, fmt.Sprintf("on PostgreSQL 16+ %s may change only roles it holds ADMIN OPTION on, and lacks it on %s (made by another administrator): "+
			"as a superuser or the role that created it, GRANT %s TO %s WITH ADMIN OPTION, INHERIT FALSE, SET FALSE", me, r, Ident(r), Ident(me)))
	}
	return major, out, nil
}

// Owned counts the objects role owns in the connected database (ownership is not copied
// to the other user of a pair).
func Owned(ctx context.Context, q Querier, role string) (int, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT count(*) FROM pg_class c
		WHERE c.relowner = (SELECT oid FROM pg_roles WHERE rolname = $1)
		AND c.relnamespace NOT IN (SELECT oid FROM pg_namespace WHERE nspname IN ('pg_catalog', 'information_schema') OR nspname LIKE 'pg_toast%')`, role).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count objects owned by %s: %w", role, err)
	}
	return n, nil
}

// grantMissing grants to role the privileges want holds and have lacks, and returns how
// many GRANTs it issued.
func grantMissing(ctx context.Context, q Querier, want, have map[string]Grant, role string) (int, error) {
	ks := make([]string, 0, len(want))
	for k := range want {
		if _, ok := have[k]; !ok {
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	for _, k := range ks {
		if _, err := q.Exec(ctx, want[k].statement(role)); err != nil {
			return 0, fmt.Errorf("grant %s to %s: %w (the rotating role must own the object or hold the privilege WITH GRANT OPTION)", k, role, err)
		}
	}
	return len(ks), nil
}
