package rotation

import (
	"context"
	"fmt"
	"sync"

	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
)

// reads are the Secrets Manager reads a step needs, sent when the step starts, together
// with its DescribeSecret: one round trip of latency instead of two or three. Each
// returns its answer when first asked, waiting for it. Only the reads the step uses are
// started; the others answer nothing.
type reads struct {
	// id is the secret id of the step's event: the memo's key.
	id      string
	current func() (dbsecret.Secret, error)
	pending func() (dbsecret.Secret, error)
	maybe   func() (pendingRead, error)
	// master is the master secret's read (alternating users' setSecret); nil when the
	// step reads no master.
	master func() (masterRead, error)
	// early is the step's first login, started with the memo's prediction (early.go);
	// nil when none was.
	early *earlyLogin
}

// pendingRead is AWSPENDING's value, and whether there is one yet (createSecret).
type pendingRead struct {
	s     dbsecret.Secret
	found bool
}

// startReads sends the reads of ev's step: AWSCURRENT and AWSPENDING for createSecret
// and setSecret, AWSPENDING for testSecret. A read whose value the memo holds (memo.go) is
// not sent: it waits for described, the step's DescribeSecret, to confirm the version,
// and is sent then only when it does not.
func (r *Rotator) startReads(ctx context.Context, ev Event, described func() *sm.DescribeSecretOutput) reads {
	id, token := ev.SecretID, ev.ClientRequestToken
	rd := reads{id: id}
	switch ev.Step {
	case StepCreate:
		rd.current = r.memoRead(ctx, id, "", StageCurrent, described)
		rd.maybe = async(func() (pendingRead, error) {
			s, found, err := r.getPending(ctx, id, token)
			return pendingRead{s, found}, err
		})
	case StepSet:
		rd.current = r.memoRead(ctx, id, "", StageCurrent, described)
		rd.pending = r.memoRead(ctx, id, token, StagePending, described)
		// Both strategies log in first with AWSCURRENT: single user to change its own
		// password, alternating users to prove it on the master's server (guard.go).
		// That proof starts early only with a version the guard passed for on this
		// instance, and is taken only when the master's server is the one it names.
		rd.early = r.startEarlyLogin(ctx, id, "", StageCurrent, r.Config.Strategy == AlternatingUsers)
	case StepTest:
		rd.pending = r.memoRead(ctx, id, token, StagePending, described)
		rd.early = r.startEarlyLogin(ctx, id, token, StagePending, false)
	}
	if r.Config.Strategy == AlternatingUsers && ev.Step == StepSet {
		rd.master = r.prefetchMaster(ctx, rd.current)
	}
	return rd
}

// memoRead returns the read of id's version that holds stage (version "": whichever
// does; else that version, which must hold it), answered from the memo when the step's
// DescribeSecret names the version the memo predicts, and from Secrets Manager
// otherwise, remembering what it read.
func (r *Rotator) memoRead(ctx context.Context, id, version, stage string, described func() *sm.DescribeSecretOutput) func() (dbsecret.Secret, error) {
	read := func() (dbsecret.Secret, error) {
		v, err := r.readValue(ctx, id, version, stage)
		if err != nil {
			return dbsecret.Secret{}, err
		}
		r.memo.learn(id, v.version, stage, v.body, described())
		return parseSecret(v.body, id, stage)
	}
	predicted, ok := r.memo.predict(id, version, stage)
	if !ok {
		return async(read)
	}
	return once(func() (dbsecret.Secret, error) {
		if body, ok := r.memo.lookup(id, predicted, stage, described()); ok {
			return parseSecret(body, id, stage)
		}
		return read()
	})
}

// once returns a function that runs f the first time it is called and returns f's
// result then and after.
func once[T any](f func() (T, error)) func() (T, error) {
	var v T
	var err error
	var o sync.Once
	return func() (T, error) {
		o.Do(func() { v, err = f() })
		return v, err
	}
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

// prefetchMaster starts the read of the master secret. With one pinned master (what the
// Terraform module configures) it goes out with the step's other reads: it is the only
// secret AWSCURRENT's masterarn may name, and readMaster's checks run when AWSCURRENT is
// in. With several, it waits for AWSCURRENT to name one.
func (r *Rotator) prefetchMaster(ctx context.Context, current func() (dbsecret.Secret, error)) func() (masterRead, error) {
	if pinned := r.Config.MasterSecretARNs; len(pinned) == 1 {
		read := async(func() (masterRead, error) {
			body, arn, err := r.readSecret(ctx, pinned[0], "", StageCurrent)
			if err != nil {
				return masterRead{}, fmt.Errorf("master secret: %w", err)
			}
			return masterRead{body, arn}, nil
		})
		return func() (masterRead, error) {
			c, err := current()
			if err != nil {
				return masterRead{}, err
			}
			if err := r.Config.checkMasterARN(c.MasterARN); err != nil {
				return masterRead{}, err
			}
			return read()
		}
	}
	return async(func() (masterRead, error) {
		c, err := current()
		if err != nil {
			return masterRead{}, err
		}
		return r.readMaster(ctx, c)()
	})
}
