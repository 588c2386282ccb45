package rotation

import (
	"context"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
)

// setSecret makes the database accept the pending credentials.
//
// Cases it handles (the strategy's set says how, single.go and alternating.go):
//   - username, host or database differ between the versions: refuse, change nothing
//     (checked before the pending password goes anywhere; the strategy's first login,
//     with AWSCURRENT, may come first, beside the read of AWSPENDING).
//   - the pending credentials already log in (an earlier attempt finished this step, or
//     a twin did): done, nothing changed. Each strategy finds this out only where it may
//     send the pending password: for alternating users after the guard has passed.
//   - database down: a clear error; nothing changed; AWSCURRENT still works.
//   - a pending password this rotator did not make from the password that logs in
//     (provenance.go): refused before anything changes.
func (r *Rotator) setSecret(ctx context.Context, arn, token string, rd reads) error {
	current, err := rd.current()
	if err != nil {
		return err
	}
	pending := once(func() (dbsecret.Secret, error) {
		p, err := rd.pending()
		if err != nil {
			return dbsecret.Secret{}, err
		}
		return p, r.checkPending(current, p)
	})
	return r.strategy().set(ctx, arn, token, current, pending, rd)
}
