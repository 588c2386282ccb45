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
