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
	// master is the master secret\'s read (alternating users), sent as soon as AWSCURRENT
	// names it; nil when the step reads no master.
	master func() (masterRead, error)
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
	if r.Config.Strategy == AlternatingUsers && rd.current != nil {
		cur := rd.current
		rd.master = async(func() (masterRead, error) {
			c, err := cur()
			if err != nil {
				return masterRead{}, err
			}
			return r.readMaster(ctx, c)()
		})
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

// masterRead returns the prefetched read of current's master secret, or a fresh one when
// the step started none.
func (rd reads) masterRead(ctx context.Context, r *Rotator, current dbsecret.Secret) func() (masterRead, error) {
	if rd.master != nil {
		return rd.master
	}
	return r.readMaster(ctx, current)
}
