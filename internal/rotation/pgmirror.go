package rotation

import (
	"context"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/pgrole"
)

// EnvCloneMemberOfUser is rotaudit's switch for AWS's way of giving the clone access:
// with true, alternating users makes name_clone a member of name (INHERIT, and SET on
// PostgreSQL 16+), so the clone reaches the objects name owns, which copying grants cannot
// give it. Off by default: the clone then holds exactly the user's attributes, settings,
// memberships and privileges, and a user owning objects is reported by doctor.
const EnvCloneMemberOfUser = "CLONE_MEMBER_OF_USER"

// mirrorOptions are the pgrole options of a rotation from current to pending.
func (c Config) mirrorOptions(current, pending dbsecret.Secret) pgrole.Options {
	if !c.CloneMemberOfUser {
		return pgrole.Options{}
	}
	base := current.Username
	if current.Username == pending.Username+CloneSuffix {
		base = pending.Username
	}
	return pgrole.Options{Base: base}
}

// mirror makes pending's user equivalent to current's, logging what was skipped on
// purpose (settings the master may not set) as warnings rather than failing.
// With refuseExceeding it fails with a *pgrole.ExceedsError, having changed nothing, when
// pending's user holds what current's lacks.
func (r *Rotator) mirror(ctx context.Context, db DB, current, pending dbsecret.Secret, refuseExceeding bool) error {
	o := r.Config.mirrorOptions(current, pending)
	o.RefuseExceeding = refuseExceeding
	res, err := pgrole.MirrorWith(ctx, db, current.Username, pending.Username, o)
	for _, w := range res.Warnings {
		r.logger().WarnContext(ctx, "role setting not copied", "user", pending.Username, "detail", w)
	}
	return err
}
