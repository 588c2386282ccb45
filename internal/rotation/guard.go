package rotation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/pgrole"
)

// The confused-deputy guard.
//
// In the alternating-users strategy the rotator acts with the master's authority on the
// user the secret names: it gives the other user of the pair (name_clone, or name for a
// clone) the user's grants and a new password, and stores that password in the secret.
// Anyone who can write the secret but knows no database password could otherwise name
// any role ("payroll", the master, or X_clone to reach X) and read a password back. So
// in setSecret, before the master acts (createSecret checks only what needs no database:
// the pair's names and that the master is pinned):
//
//  1. the master is one this function may use (MASTER_SECRET_ARNS, master.go), and the
//     server it acts on is the user's or, for a read replica or Aurora reader that RDS
//     lists by its endpoint address, the primary (rdsmaster.go);
//  2. the secret's own credentials log in as its user on that same server (proveCurrent),
//     so the proof and the master's action concern one database; no other password goes
//     anywhere before this;
//  3. neither user of the pair is the master, a superuser, a member of the master, or
//     holds or can SET ROLE to CREATEROLE, REPLICATION, BYPASSRLS or a server-file role
//     (checkPair; ALLOW_PRIVILEGED_USERS=true lifts the last one for operators who
//     really rotate such a role, nothing lifts the others);
//  4. in the master's transaction, the other user, when it exists, holds nothing the
//     user lacks (pgrole's RefuseExceeding, checked by the mirror before it changes
//     anything): its password goes into the secret, and the mirror copies grants both
//     ways.

// privilegedBuiltins are predefined roles whose members can read or write server files or
// run programs on the server: as dangerous to clone as the attributes below.
var privilegedBuiltins = []string{
	"pg_execute_server_program", "pg_read_server_files", "pg_write_server_files",
	"pg_create_subscription", "pg_signal_backend", "pg_checkpoint",
}

// ErrUnsafeUser: the secret names a user the master must not clone or act for.
var ErrUnsafeUser = errors.New("user may not be rotated with the master's authority")

// proveCurrent logs in with AWSCURRENT's user and password on the server the master acts
// on (master's host and port, the user's database), or else with AWSPREVIOUS when it
// names the same user on the same server (a password changed in the database before the
// secret). It returns the session, which the caller closes, and the version that logged in. A refusal is ErrDBAuth wrapped
// with why the login is required. On a warm instance the AWSCURRENT login may have begun
// beside the step's reads (early.go): it is taken only when it was made with exactly
// AWSCURRENT on the master's server, the login this function would make now, and it
// counts as that login, refusal included.
func (r *Rotator) proveCurrent(ctx context.Context, arn string, current, master dbsecret.Secret, rd reads) (DB, dbsecret.Secret, error) {
	on := func(s dbsecret.Secret) dbsecret.Secret {
		s.Host, s.Port = master.Host, master.Port
		return s
	}
	db, err := rd.login(ctx, r, on(current))
	if err == nil || !errors.Is(err, ErrDBAuth) {
		if err != nil {
			return nil, dbsecret.Secret{}, fmt.Errorf("log in with AWSCURRENT on %s:%d before the master acts: %w", master.Host, master.Port, err)
		}
		return db, current, nil
	}
	prev, perr := r.getSecret(ctx, arn, "", StagePrevious)
	if perr == nil && prev.Username == current.Username && prev.SameServer(current) {
		if pdb, perr := r.connect(ctx, on(prev)); perr == nil {
			return pdb, prev, nil
		}
	}
	return nil, dbsecret.Secret{}, fmt.Errorf("log in with AWSCURRENT on %s:%d before the master acts: %w: the secret's own credentials must log in as %q before a rotation changes anything "+
		"(AWSCURRENT is refused and AWSPREVIOUS does not log in as that user): set the user's password in the database "+
		"to the AWSCURRENT value, or put the right password in the secret", master.Host, master.Port, err, current.Username)
}

// checkPair refuses a pair whose alternating rotation would hand out more than the
// user's own data access: user must exist, and neither user nor partner (when it exists)
// may be or reach what the guard refuses. With inMaster (the master's transaction, right
// before it acts) the partner must also hold nothing user lacks. pg_roles and
// pg_auth_members are readable by every role, so the user's own session (rotaudit doctor)
// sees what the master's does.
func (r *Rotator) checkPair(ctx context.Context, q pgrole.Querier, user, partner, master string, inMaster bool) error {
	compare, err := r.checkPairRoles(ctx, q, user, partner, master)
	if err != nil || !inMaster || !compare {
		return err
	}
	more, err := pgrole.Exceeds(ctx, q, partner, user)
	if err != nil {
		return dbError("compare "+partner+" with "+user, master, err)
	}
	return partnerExceeds(user, partner, more)
}

// checkPairRoles is checkPair without the comparison of the two users' grants. It says
// whether that comparison applies: the partner exists and user is not a direct member of
// it. The master's transaction makes the comparison inside the mirror
// (pgrole.Options.RefuseExceeding), from the catalog reads the mirror makes anyway.
func (r *Rotator) checkPairRoles(ctx context.Context, q pgrole.Querier, user, partner, master string) (compare bool, err error) {
	for _, n := range []string{user, partner} {
		if len(n) > pgrole.MaxNameLen {
			return false, fmt.Errorf("%w: role name %q is %d bytes, over PostgreSQL's %d: the server would read it as %q",
				ErrInvalidSecret, n, len(n), pgrole.MaxNameLen, n[:pgrole.MaxNameLen])
		}
	}
	for _, n := range []string{user, partner} {
		if n == master {
			return false, fmt.Errorf("%w: %q is the master user (the secret at masterarn)%s: the master rotates single-user with its own secret",
				ErrUnsafeUser, n, partnerNote(n, partner))
		}
	}
	reach, err := reachable(ctx, q, user, partner)
	if err != nil {
		return false, err
	}
	if _, ok := reach[user]; !ok {
		return false, fmt.Errorf("%w: role %q does not exist in the database", ErrInvalidSecret, user)
	}
	for _, n := range []string{user, partner} {
		if roles, ok := reach[n]; ok {
			if err := r.checkRoles(ctx, n, partnerNote(n, partner), roles, master); err != nil {
				return false, err
			}
		}
	}
	if _, exists := reach[partner]; !exists {
		return false, nil
	}
	// A user that is a member of its partner (CLONE_MEMBER_OF_USER's clone) reaches the
	// partner's privileges already; the partner's own attributes were checked above.
	return !slices.ContainsFunc(reach[user], func(g reachedRole) bool { return g.name == partner && g.direct }), nil
}

// partnerExceeds refuses a partner that holds what user lacks (more, from pgrole).
func partnerExceeds(user, partner string, more []string) error {
	if len(more) == 0 {
		return nil
	}
	return fmt.Errorf("%w: the other user of the pair, %q, holds what %q lacks: %s: its password would go into this secret; "+
		"give %q the same grants (or grant both through a group role), or drop %q if it is not this secret's clone",
		ErrUnsafeUser, partner, user, strings.Join(more, "; "), user, partner)
}

func partnerNote(n, partner string) string {
	if n == partner {
		return " (the other user of the pair)"
	}
	return ""
}

// reachedRole is a role a user can become: itself or a group it is a member of,
// directly or through others.
type reachedRole struct {
	name                                      string
	direct                                    bool
	super, createRole, replication, bypassRLS bool
}

// reachable returns, for each of users that exists, every role it can become: itself
// and, transitively, the roles it is a member of. SET ROLE works through any membership
// before PostgreSQL 16, and through those with the SET option from 16 (the default).
// Attributes are not inherited, but a member can SET ROLE to the holder, so the whole
// chain counts. One query for all users.
func reachable(ctx context.Context, q pgrole.Querier, users ...string) (map[string][]reachedRole, error) {
	rows, err := q.Query(ctx, `WITH RECURSIVE up(root, oid, depth) AS (
			SELECT rolname, oid, 0 FROM pg_roles WHERE rolname = ANY($1)
			UNION
			SELECT up.root, m.roleid, LEAST(up.depth + 1, 2) FROM pg_auth_members m JOIN up ON m.member = up.oid)
		SELECT up.root, r.rolname, bool_or(up.depth = 1), bool_or(r.rolsuper), bool_or(r.rolcreaterole),
			bool_or(r.rolreplication), bool_or(r.rolbypassrls)
		FROM up JOIN pg_roles r ON r.oid = up.oid GROUP BY up.root, r.rolname ORDER BY 1, 2`, users)
	if err != nil {
		return nil, dbError("read the users' roles", strings.Join(users, ", "), err)
	}
	defer rows.Close()
	out := map[string][]reachedRole{}
	for rows.Next() {
		var root string
		var g reachedRole
		if err := rows.Scan(&root, &g.name, &g.direct, &g.super, &g.createRole, &g.replication, &g.bypassRLS); err != nil {
			return nil, dbError("read the users' roles", root, err)
		}
		out[root] = append(out[root], g)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("read the users' roles", strings.Join(users, ", "), err)
	}
	return out, nil
}

// checkRoles refuses user when a role it can become is the master, a superuser, or
// holds a privilege the guard refuses (unless ALLOW_PRIVILEGED_USERS=true).
func (r *Rotator) checkRoles(ctx context.Context, user, note string, roles []reachedRole, master string) error {
	var problems []string
	super := false
	for _, g := range roles {
		via := ""
		if g.name != user {
			via = " through its membership in " + pgrole.Ident(g.name)
		}
		if master != "" && g.name == master {
			return fmt.Errorf("%w: %q%s is a member of the master %q: its clone would act as the master", ErrUnsafeUser, user, note, master)
		}
		if g.super {
			super = true
			problems = append(problems, "SUPERUSER"+via)
		}
		for _, a := range []struct {
			on   bool
			name string
		}{{g.createRole, "CREATEROLE"}, {g.replication, "REPLICATION"}, {g.bypassRLS, "BYPASSRLS"}} {
			if a.on {
				problems = append(problems, a.name+via)
			}
		}
		if slices.Contains(privilegedBuiltins, g.name) {
			problems = append(problems, "membership in "+g.name)
		}
	}
	if len(problems) == 0 {
		return nil
	}
	if super {
		return fmt.Errorf("%w: %q%s has %s: a superuser is never rotated through the master", ErrUnsafeUser, user, note, strings.Join(problems, ", "))
	}
	if r.Config.AllowPrivilegedUsers {
		r.logger().WarnContext(ctx, "rotating a privileged user", "username", user, "privileges", strings.Join(problems, ", "),
			"reason", EnvAllowPrivilegedUsers+"=true")
		return nil
	}
	return fmt.Errorf("%w: %q%s has %s: its clone would get the same power; rotate it single-user, or set %s=true if that is intended",
		ErrUnsafeUser, user, note, strings.Join(problems, ", "), EnvAllowPrivilegedUsers)
}
