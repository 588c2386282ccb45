package rotation

import (
	"context"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
)

// reads are the Secrets Manager reads a step needs, sent when the step starts, together
// with its DescribeSecret: one round trip of latency instead of two or three. Each
// returns its answer when first asked, waiting for it. Only the reads the step uses are
// started; the others answer nothing.
type reads struct {
	current  func() (dbsecret.Secret, error)
	pending  func() (dbsecret.Secret, error)
	maybe    func() (pendingRead, error)
	password func() (string, error)
}

// pendingRead is AWSPENDING's value, and whether there is one yet (createSecret).
type pendingRead struct {
	s     dbsecret.Secret
	found bool
}

// startReads sends the reads of ev's step: AWSCURRENT and AWSPENDING for createSecret
// (which also asks for the new password) and setSecret, AWSPENDING for testSecret.
func (r *Rotator) startReads(ctx context.Context, ev Event) reads {
	id, token := ev.SecretID, ev.ClientRequestToken
	var rd reads
	current := func() (dbsecret.Secret, error) { return r.getSecret(ctx, id, "", StageCurrent) }
	switch ev.Step {
	case StepCreate:
		rd.current = async(current)
		rd.maybe = async(func() (pendingRead, error) {
			s, found, err := r.getPending(ctx, id, token)
			return pendingRead{s, found}, err
		})
		rd.password = async(func() (string, error) { return r.randomPassword(ctx) })
	case StepSet:
		rd.current = async(current)
		rd.pending = async(func() (dbsecret.Secret, error) { return r.getSecret(ctx, id, token, StagePending) })
	case StepTest:
		rd.pending = async(func() (dbsecret.Secret, error) { return r.getSecret(ctx, id, token, StagePending) })
	}
	return rd
}

// async runs f now and returns a function that waits for and returns its result.
func async[T any](f func() (T, error)) func() (T, error) {
	var v T
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		v, err = f()
	}()
	return func() (T, error) {
		<-done
		return v, err
	}
}
