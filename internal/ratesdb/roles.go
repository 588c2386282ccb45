package ratesdb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DefaultReaderRole is the NOLOGIN role that holds the application's grants.
const DefaultReaderRole = "rates_reader"

// cloneSuffix names the second login of an alternating-users pair, as the rotator (and
// AWS's multi-user function) makes it.
const cloneSuffix = "_clone"

// ErrUnsafeRole is returned when a role the application logs in with, or the reader role,
// holds an attribute that would give the application more than reading the rates.
var ErrUnsafeRole = errors.New("unsafe application role")

// ErrOpenPublicSchema: every role may create objects in schema public (PostgreSQL 14 and
// earlier) and the connected role cannot take that back.
var ErrOpenPublicSchema = errors.New("schema public open to every role")

// Querier is what the schema, data and role functions run on: a pgx connection, or a
// transaction in which their own transactions nest as savepoints.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Roles says which roles Provision prepares.
type Roles struct {
	// Reader is the NOLOGIN role that holds CONNECT, USAGE and SELECT: the only grantee.
	Reader string
	// Logins are the application's login roles: created when missing (LOGIN, no other
	// attribute) and made members of Reader. Their _clone partners, when they exist, are
	// made members too, so whichever user a rotation leaves in the secret reads the same.
	Logins []string
}

// Provision creates the reader role and the login roles when missing, grants the reader
// role CONNECT on database, USAGE on schema public and SELECT on Tables, makes every login
// role (and its _clone when it exists) a member of it, and revokes any privilege on those
// objects granted to a login role directly: grants never go to a login user, so a reload of
// the tables or a rotation to the other user of a pair cannot leave one without access.
//
// Run it as the owner of the database and the tables with CREATEROLE, not a superuser: the
// master user on RDS. On PostgreSQL 16 and later such a role administers only the roles it
// created or holds ADMIN OPTION on; creating the reader role itself gives it that. The
// statements are valid on PostgreSQL 13 to 18, and only what is missing is changed: the
// returned list is empty when everything was already in place.
func Provision(ctx context.Context, q Querier, database string, r Roles) ([]string, error) {
	if r.Reader == "" || len(r.Logins) == 0 {
		return nil, errors.New("provision: a reader role and at least one login role are needed")
	}
	if slices.Contains(r.Logins, r.Reader) {
		return nil, fmt.Errorf("provision: %q cannot be both the reader role and a login role", r.Reader)
	}
	var changes []string
	note := func(format string, a ...any) { changes = append(changes, fmt.Sprintf(format, a...)) }

	reader, ok, err := lookupRole(ctx, q, r.Reader)
	if err != nil {
		return nil, err
	}
	switch {
	case !ok:
		if _, err := q.Exec(ctx, "CREATE ROLE "+ident(r.Reader)+" NOLOGIN"); err != nil {
			return nil, fmt.Errorf("provision: create role %s: %w", r.Reader, err)
		}
		note("created role %s (NOLOGIN)", r.Reader)
	case reader.unsafe() != "":
		return nil, fmt.Errorf("provision: %w: reader role %s has %s; remove it as a superuser (ALTER ROLE %s NO...) and run again", ErrUnsafeRole, r.Reader, reader.unsafe(), ident(r.Reader))
	case reader.login:
		// A reader that can log in is a third, unrotated login with the app's access.
		if _, err := q.Exec(ctx, "ALTER ROLE "+ident(r.Reader)+" NOLOGIN"); err != nil {
			return nil, fmt.Errorf("provision: alter role %s NOLOGIN: %w", r.Reader, err)
		}
		note("role %s made NOLOGIN", r.Reader)
	}

	// What the reader holds: exactly these, granted by the connected owner.
	want := readerGrants(database)
	have, err := directPrivileges(ctx, q, database, r.Reader)
	if err != nil {
		return nil, err
	}
	var missing []grant
	for _, g := range want {
		if have[g.key()] {
			continue
		}
		// A role without the grant option gets a warning, not an error, and nothing changes:
		// what took is checked below.
		if _, err := q.Exec(ctx, "GRANT "+g.privilege+" ON "+g.object()+" TO "+ident(r.Reader)); err != nil {
			return nil, fmt.Errorf("provision: grant %s on %s to %s: %w", g.privilege, g.object(), r.Reader, err)
		}
		missing = append(missing, g)
	}
	if len(missing) > 0 {
		if have, err = directPrivileges(ctx, q, database, r.Reader); err != nil {
			return nil, err
		}
		for _, g := range missing {
			if have[g.key()] {
				note("granted %s on %s to %s", g.privilege, g.object(), r.Reader)
				continue
			}
			// Before PostgreSQL 15 schema public may belong to the bootstrap superuser, and
			// every role has USAGE on it: the reader has it too.
			if g.kind == "schema" && g.privilege == "USAGE" {
				if held, err := publicHolds(ctx, q, "USAGE"); err != nil {
					return nil, err
				} else if held {
					continue
				}
			}
			return nil, fmt.Errorf("provision: granting %s on %s to %s had no effect: the connected role needs the grant option (run as the owner of the object)", g.privilege, g.object(), r.Reader)
		}
	}

	// Before PostgreSQL 15 every role may CREATE in schema public, so an application login
	// could plant objects there (tables, or functions that shadow built-ins on another
	// role's search_path). The schema's owner takes that back, as PostgreSQL 15 does.
	if held, err := publicHolds(ctx, q, "CREATE"); err != nil {
		return nil, err
	} else if held {
		var current string
		if err := q.QueryRow(ctx, "SELECT current_user").Scan(&current); err != nil {
			return nil, fmt.Errorf("provision: current user: %w", err)
		}
		if _, err := q.Exec(ctx, "REVOKE CREATE ON SCHEMA public FROM PUBLIC"); err != nil {
			return nil, fmt.Errorf("provision: revoke CREATE on schema public from PUBLIC: %w", err)
		}
		if held, err := publicHolds(ctx, q, "CREATE"); err != nil {
			return nil, err
		} else if held {
			return nil, fmt.Errorf("provision: %w: every role may CREATE in schema public of %s (the default before PostgreSQL 15), so the application could plant objects there, and the connected role cannot revoke it: as a superuser, give the schema to the database's owner in that database (ALTER SCHEMA public OWNER TO %s, as PostgreSQL 15 does through pg_database_owner), then run again", ErrOpenPublicSchema, database, ident(current))
		}
		note("revoked CREATE on SCHEMA public from PUBLIC")
	}

	var members []string
	for _, login := range r.Logins {
		a, ok, err := lookupRole(ctx, q, login)
		if err != nil {
			return nil, err
		}
		switch {
		case !ok:
			// Defaults: NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT NOREPLICATION NOBYPASSRLS.
			// Naming them would make PostgreSQL 16+ ask for privileges the master may lack.
			if _, err := q.Exec(ctx, "CREATE ROLE "+ident(login)+" LOGIN"); err != nil {
				return nil, fmt.Errorf("provision: create role %s: %w", login, err)
			}
			note("created role %s (LOGIN)", login)
		case a.unsafe() != "":
			return nil, fmt.Errorf("provision: %w: login role %s has %s: an application login must hold nothing but its membership; remove it as a superuser and run again", ErrUnsafeRole, login, a.unsafe())
		case !a.login || !a.inherit:
			// Without INHERIT a member gets nothing from the reader role before PostgreSQL 16.
			if _, err := q.Exec(ctx, "ALTER ROLE "+ident(login)+" LOGIN INHERIT"); err != nil {
				return nil, fmt.Errorf("provision: alter role %s LOGIN INHERIT: %w", login, err)
			}
			note("role %s made LOGIN INHERIT", login)
		}
		members = appendNew(members, login)
		clone := login + cloneSuffix
		if _, ok, err := lookupRole(ctx, q, clone); err != nil {
			return nil, err
		} else if ok {
			members = appendNew(members, clone)
		}
	}

	for _, m := range members {
		var member bool
		if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_auth_members am
			JOIN pg_roles g ON g.oid = am.roleid JOIN pg_roles u ON u.oid = am.member
			WHERE g.rolname = $1 AND u.rolname = $2)`, r.Reader, m).Scan(&member); err != nil {
			return nil, fmt.Errorf("provision: membership of %s: %w", m, err)
		}
		if !member {
			if _, err := q.Exec(ctx, "GRANT "+ident(r.Reader)+" TO "+ident(m)); err != nil {
				return nil, fmt.Errorf("provision: grant %s to %s: %w", r.Reader, m, err)
			}
			note("granted %s to %s", r.Reader, m)
		}
		direct, err := directPrivileges(ctx, q, database, m)
		if err != nil {
			return nil, err
		}
		// Privileges granted to a login directly (before the reader role existed, or by hand)
		// would drift between the two users of a pair and vanish with a reload.
		for _, g := range allGrants(database) {
			if !direct[g.key()] {
				continue
			}
			if _, err := q.Exec(ctx, "REVOKE "+g.privilege+" ON "+g.object()+" FROM "+ident(m)); err != nil {
				return nil, fmt.Errorf("provision: revoke %s on %s from %s: %w", g.privilege, g.object(), m, err)
			}
			note("revoked %s on %s from %s (it reads through %s)", g.privilege, g.object(), m, r.Reader)
		}
	}
	return changes, nil
}

type roleAttrs struct {
	super, createRole, createDB, replication, bypassRLS, login, inherit bool
}

// unsafe names the attributes an application role must not have, or "".
func (a roleAttrs) unsafe() string {
	var out []string
	for _, f := range []struct {
		on   bool
		name string
	}{{a.super, "SUPERUSER"}, {a.createRole, "CREATEROLE"}, {a.createDB, "CREATEDB"}, {a.replication, "REPLICATION"}, {a.bypassRLS, "BYPASSRLS"}} {
		if f.on {
			out = append(out, f.name)
		}
	}
	return strings.Join(out, ", ")
}

// UnsafeAttributes returns the attributes of role beyond LOGIN and INHERIT ("" when it has
// none) and whether it exists.
func UnsafeAttributes(ctx context.Context, q Querier, role string) (string, bool, error) {
	a, ok, err := lookupRole(ctx, q, role)
	return a.unsafe(), ok, err
}

func lookupRole(ctx context.Context, q Querier, role string) (roleAttrs, bool, error) {
	var a roleAttrs
	err := q.QueryRow(ctx, `SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin, rolinherit
		FROM pg_roles WHERE rolname = $1`, role).Scan(&a.super, &a.createRole, &a.createDB, &a.replication, &a.bypassRLS, &a.login, &a.inherit)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, fmt.Errorf("look up role %s: %w", role, err)
	}
	return a, true, nil
}

// grant is one privilege on one object of the rates database.
type grant struct {
	kind      string // "database", "schema" or "table"
	name      string
	privilege string
}

func (g grant) key() string { return g.kind + "\x00" + g.name + "\x00" + g.privilege }

func (g grant) object() string {
	switch g.kind {
	case "database":
		return "DATABASE " + ident(g.name)
	case "schema":
		return "SCHEMA " + ident(g.name)
	default:
		return "TABLE " + pgx.Identifier{"public", g.name}.Sanitize()
	}
}

// readerGrants is what the reader role holds.
func readerGrants(database string) []grant {
	out := []grant{{"database", database, "CONNECT"}, {"schema", "public", "USAGE"}}
	for _, t := range Tables {
		out = append(out, grant{"table", t, "SELECT"})
	}
	return out
}

// allGrants lists every privilege on the rates objects, for revoking them from logins.
func allGrants(database string) []grant {
	out := []grant{{"database", database, "CONNECT"}, {"database", database, "CREATE"}, {"database", database, "TEMPORARY"},
		{"schema", "public", "USAGE"}, {"schema", "public", "CREATE"}}
	for _, t := range Tables {
		for _, p := range []string{"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"} {
			out = append(out, grant{"table", t, p})
		}
	}
	return out
}

// directPrivileges lists the privileges granted to role itself (not through PUBLIC or a
// membership) on the rates database, schema public and Tables, as grant keys.
func directPrivileges(ctx context.Context, q Querier, database, role string) (map[string]bool, error) {
	rows, err := q.Query(ctx, `
		WITH r AS (SELECT oid FROM pg_roles WHERE rolname = $1)
		SELECT 'database', d.datname, a.privilege_type
		  FROM pg_database d, aclexplode(d.datacl) a, r WHERE d.datname = $2 AND a.grantee = r.oid
		UNION ALL
		SELECT 'schema', n.nspname, a.privilege_type
		  FROM pg_namespace n, aclexplode(n.nspacl) a, r WHERE n.nspname = 'public' AND a.grantee = r.oid
		UNION ALL
		SELECT 'table', c.relname, a.privilege_type
		  FROM pg_class c, aclexplode(c.relacl) a, r
		 WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY($3) AND a.grantee = r.oid`,
		role, database, Tables)
	if err != nil {
		return nil, fmt.Errorf("privileges of %s: %w", role, err)
	}
	out := map[string]bool{}
	for rows.Next() {
		var g grant
		if err := rows.Scan(&g.kind, &g.name, &g.privilege); err != nil {
			return nil, fmt.Errorf("privileges of %s: %w", role, err)
		}
		out[g.key()] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("privileges of %s: %w", role, err)
	}
	return out, nil
}

// publicHolds says whether PUBLIC, that is every role, holds privilege on schema public.
func publicHolds(ctx context.Context, q Querier, privilege string) (bool, error) {
	var held bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace n,
		aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
		WHERE n.nspname = 'public' AND a.grantee = 0 AND a.privilege_type = $1)`, privilege).Scan(&held); err != nil {
		return false, fmt.Errorf("provision: privileges of PUBLIC on schema public: %w", err)
	}
	return held, nil
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

func appendNew(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}
