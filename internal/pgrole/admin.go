package pgrole

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
)

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
