package rotation

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/pgrole"
)

// The confused-deputy guard.
//
// In the alternating-users strategy the rotator acts with the master's authority on the
// user the secret names: it creates name_clone with that user's grants and stores the
// clone's new password in the secret. Anyone who can write the secret but knows no
// database password could otherwise name any role ("payroll", or the master itself) and
// read the clone's password back. So, before the master is used (and before createSecret
// stores anything), the secret's own credentials must log in as the secret's user, and
// the user must not be one whose clone would carry more power than a data reader: the
// master, a superuser, or a role with CREATEROLE, REPLICATION or BYPASSRLS, directly or
// through a role it can SET ROLE to. ALLOW_PRIVILEGED_USERS=true lifts the last check for
// operators who really rotate such a role; nothing lifts the first two.

// privilegedBuiltins are predefined roles whose members can read or write server files or
// run programs on the server: as dangerous to clone as the attributes below.
var privilegedBuiltins = []string{
	"pg_execute_server_program", "pg_read_server_files", "pg_write_server_files",
	"pg_create_subscription", "pg_signal_backend", "pg_checkpoint",
}

// proveCurrent logs in with AWSCURRENT, or else with AWSPREVIOUS when it names the same
// user on the same server (a password changed in the database before the secret, as a
// single-user setSecret that died would leave it). It returns the session; the caller
// closes it. A refusal is ErrDBAuth wrapped with why the login is required.
func (r *Rotator) proveCurrent(ctx context.Context, arn string, current dbsecret.Secret) (DB, error) {
	db, err := r.connect(ctx, current)
	if err == nil || !errors.Is(err, ErrDBAuth) {
		return db, err
	}
	prev, perr := r.getSecret(ctx, arn, "", StagePrevious)
	if perr == nil && prev.Username == current.Username && prev.SameServer(current) {
		if pdb, perr := r.connect(ctx, prev); perr == nil {
			return pdb, nil
		}
	}
	return nil, fmt.Errorf("%w: the secret's own credentials must log in as %q before a rotation changes anything "+
		"(AWSCURRENT is refused and AWSPREVIOUS does not log in as that user): set the user's password in the database "+
		"to the AWSCURRENT value, or put the right password in the secret", err, current.Username)
}

// ErrUnsafeUser: the secret names a user the master must not clone or act for.
var ErrUnsafeUser = errors.New("user may not be rotated with the master's authority")

// checkUser refuses a user whose alternating rotation would hand out more than its own
// data access. master is the master's user name, or "" when not known yet (createSecret
// reads the catalog through the user's own session; setSecret again through the
// master's, in the transaction that then acts). pg_roles and pg_auth_members are readable
// by every role, so both sessions see the same.
func (r *Rotator) checkUser(ctx context.Context, q pgrole.Querier, user, master string) error {
	if master != "" && user == master {
		return fmt.Errorf("%w: %q is the master user (the secret at masterarn): the master rotates single-user with its own secret",
			ErrUnsafeUser, user)
	}
	// Every role user can become: itself and, transitively, the roles it is a member of
	// (SET ROLE works through any membership before PostgreSQL 16, and through those with
	// the SET option from 16, the default). Attributes are not inherited, but a member can
	// SET ROLE to the holder, so the whole chain counts.
	rows, err := q.Query(ctx, `WITH RECURSIVE up(oid) AS (
			SELECT oid FROM pg_roles WHERE rolname = $1
			UNION
			SELECT m.roleid FROM pg_auth_members m JOIN up ON m.member = up.oid)
		SELECT r.rolname, r.rolsuper, r.rolcreaterole, r.rolreplication, r.rolbypassrls
		FROM up JOIN pg_roles r ON r.oid = up.oid ORDER BY r.rolname`, user)
	if err != nil {
		return dbError("read the user's roles", user, err)
	}
	defer rows.Close()
	var found bool
	var problems []string
	super := false
	for rows.Next() {
		var name string
		var isSuper, createRole, replication, bypassRLS bool
		if err := rows.Scan(&name, &isSuper, &createRole, &replication, &bypassRLS); err != nil {
			return dbError("read the user's roles", user, err)
		}
		via := ""
		if name == user {
			found = true
		} else {
			via = " through its membership in " + pgrole.Ident(name)
		}
		if master != "" && name == master {
			return fmt.Errorf("%w: %q is a member of the master %q: its clone would act as the master", ErrUnsafeUser, user, master)
		}
		if isSuper {
			super = true
			problems = append(problems, "SUPERUSER"+via)
		}
		for _, a := range []struct {
			on   bool
			name string
		}{{createRole, "CREATEROLE"}, {replication, "REPLICATION"}, {bypassRLS, "BYPASSRLS"}} {
			if a.on {
				problems = append(problems, a.name+via)
			}
		}
		for _, b := range privilegedBuiltins {
			if name == b {
				problems = append(problems, "membership in "+b)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return dbError("read the user's roles", user, err)
	}
	if !found {
		return fmt.Errorf("%w: role %q does not exist in the database", ErrInvalidSecret, user)
	}
	if len(problems) == 0 {
		return nil
	}
	if super {
		return fmt.Errorf("%w: %q has %s: a superuser is never rotated through the master", ErrUnsafeUser, user, strings.Join(problems, ", "))
	}
	if r.Config.AllowPrivilegedUsers {
		r.logger().WarnContext(ctx, "rotating a privileged user", "username", user, "privileges", strings.Join(problems, ", "),
			"reason", EnvAllowPrivilegedUsers+"=true")
		return nil
	}
	return fmt.Errorf("%w: %q has %s: its clone would get the same power; rotate it single-user, or set %s=true if that is intended",
		ErrUnsafeUser, user, strings.Join(problems, ", "), EnvAllowPrivilegedUsers)
}
