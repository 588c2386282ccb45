package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rotaudit/rotaudit/internal/dbcreds"
)

// Retrying a read through a database restart.
//
// A restart closes every pooled connection and refuses new ones for a moment (0.2-2 s for
// a fast restart or a Multi-AZ failover's DNS switch). A read that fails that way
// (dbcreds.IsRetryable) is run again on a fresh connection with a growing, jittered
// pause, within the request's own deadline: only an outage that outlasts it reaches the
// client, as 503 with Retry-After. The first broken pooled connection empties the pool,
// so later reads do not each find another dead connection first.
const (
	firstRetryPause = 10 * time.Millisecond
	maxRetryPause   = 200 * time.Millisecond
	// resetEvery keeps concurrent requests that meet dead connections at once from
	// emptying the pool over and over.
	resetEvery = 500 * time.Millisecond
)

// retrier runs reads again through a restart; resetAt is when it last emptied the pool.
type retrier struct {
	reset   func()
	resetAt atomic.Int64
}

// do runs fn until it succeeds, fails for a reason a fresh connection will not change,
// or the next pause would not end before ctx's deadline.
func (r *retrier) do(ctx context.Context, fn func(ctx context.Context) error) error {
	pause := firstRetryPause
	for {
		err := fn(ctx)
		if err == nil || !dbcreds.IsRetryable(err) || ctx.Err() != nil {
			return err
		}
		var ce *pgconn.ConnectError
		if !errors.As(err, &ce) {
			// A pooled connection died under the query: its siblings did too.
			r.emptyPool()
		}
		wait := pause/2 + rand.N(pause/2+1)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		pause = min(2*pause, maxRetryPause)
	}
}

func (r *retrier) emptyPool() {
	if r.reset == nil {
		return
	}
	now := time.Now().UnixNano()
	last := r.resetAt.Load()
	if now-last < int64(resetEvery) || !r.resetAt.CompareAndSwap(last, now) {
		return
	}
	r.reset()
}
