package rotation

import (
	"context"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
)

// strategy is what single-user and alternating-users rotation do differently; the steps
// (create.go, set.go, verify.go, finish.go) are the same for both. One file each:
// single.go and alternating.go.
type strategy interface {
	// pendingUser returns the user the pending version names, given the current one.
	pendingUser(current string) (string, error)
	// prepare checks, in createSecret and before anything is stored, that the rotation
	// may go ahead: for alternating users, the confused-deputy guard.
	prepare(ctx context.Context, arn string, current dbsecret.Secret, rd reads) error
	// set makes the database accept the pending credentials (setSecret), or fails having
	// changed nothing, or having put back what it changed (its way back). It takes them
	// from pending when it first needs them, before it sends their password anywhere or
	// changes anything, so their read overlaps its first login.
	// token is the rotation's: the pending password must carry the check value that it
	// and the password that logs in give it (provenance.go).
	set(ctx context.Context, arn, token string, current dbsecret.Secret, pending func() (dbsecret.Secret, error), rd reads) error
}

// strategy returns the configured strategy, bound to r.
func (r *Rotator) strategy() strategy {
	if r.Config.Strategy == AlternatingUsers {
		return alternatingUsers{r}
	}
	return singleUser{r}
}
