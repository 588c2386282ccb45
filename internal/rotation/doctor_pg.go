package rotation

import (
	"context"
	"fmt"
	"strings"

	"github.com/rotaudit/rotaudit/internal/pgrole"
)

// pgChecks predicts, for an alternating rotation of user (and its partner) by master over
// db, the failures that depend on the PostgreSQL major: ADMIN OPTION and CREATEDB that
// 16+ demands of a CREATEROLE master (without them a user another administrator created
// rotates once, then fails), role settings the master may not set (skipped with a
// warning), membership options (16+), and objects the user owns, which its clone cannot
// reach unless CLONE_MEMBER_OF_USER makes it a member of the user. It changes nothing.
func (r *Rotator) pgChecks(ctx context.Context, db DB, master, user, partner string) []Check {
	var out []Check
	add := func(name, status, format string, a ...any) {
		out = append(out, Check{Name: name, Status: status, Detail: fmt.Sprintf(format, a...)})
	}
	major, err := pgrole.ServerMajor(ctx, db)
	if err != nil {
		add("server version", CheckFail, "%v", dbError("read server version", master, err))
		return out
	}
	add("server version", CheckOK, "PostgreSQL %d", major)

	ua, _, err := pgrole.LookupAttributes(ctx, db, user)
	if err != nil {
		add("alter users", CheckFail, "%v", dbError("read roles", master, err))
		return out
	}
	roles := []string{user}
	if _, exists, err := pgrole.LookupAttributes(ctx, db, partner); err == nil && exists {
		roles = append(roles, partner)
	}
	problems, err := pgrole.Unalterable(ctx, db, ua, roles...)
	switch {
	case err != nil:
		add("alter users", CheckFail, "%v", dbError("check ADMIN OPTION", master, err))
	case len(problems) > 0:
		add("alter users", CheckFail, "%s", strings.Join(problems, "; "))
	case major >= 16:
		add("alter users", CheckOK, "%s holds ADMIN OPTION on %s (PostgreSQL 16+ needs it to change their passwords)", master, strings.Join(roles, " and "))
	default:
		add("alter users", CheckOK, "CREATEROLE lets %s change %s (PostgreSQL %d)", master, strings.Join(roles, " and "), major)
	}

	skipped, err := pgrole.Unsettable(ctx, db, user)
	switch {
	case err != nil:
		add("role settings", CheckFail, "%v", dbError("read settings", master, err))
	case len(skipped) > 0:
		add("role settings", CheckWarn, "%s may not set %s: %s will lack them (only a superuser may set them: ALTER ROLE %s SET ...)",
			master, strings.Join(skipped, ", "), partner, pgrole.Ident(partner))
	default:
		add("role settings", CheckOK, "%s may copy every setting of %s", master, user)
	}

	if major >= 16 {
		add("membership options", CheckOK, "INHERIT, SET and ADMIN of each membership of %s are copied as they are", user)
	}

	base := baseOf(user)
	var owners []string
	var ownErr error
	for _, u := range roles {
		n, err := pgrole.Owned(ctx, db, u)
		if err != nil {
			ownErr = err
			break
		}
		if n > 0 {
			owners = append(owners, fmt.Sprintf("%s owns %d", u, n))
		}
	}
	switch {
	case ownErr != nil:
		add("ownership", CheckFail, "%v", dbError("count owned objects", master, ownErr))
	case len(owners) == 0:
		add("ownership", CheckOK, "neither user of the pair owns a table, view or sequence")
	case r.Config.CloneMemberOfUser && len(owners) == 1 && strings.HasPrefix(owners[0], base+" owns "):
		add("ownership", CheckOK, "%s; %s=true makes %s a member of %s, so it reaches them", owners[0], EnvCloneMemberOfUser, base+CloneSuffix, base)
	default:
		add("ownership", CheckFail, "%s: the other user cannot reach them (ownership cannot be shared): set %s=true (AWS's way: the clone is a member of the user, and the clone owns nothing), or give the objects to a group role both users are members of",
			strings.Join(owners, ", "), EnvCloneMemberOfUser)
	}
	return out
}

// baseOf returns the original user of the pair user belongs to.
func baseOf(user string) string {
	if b, ok := cutSuffix(user, CloneSuffix); ok && b != "" {
		return b
	}
	return user
}
