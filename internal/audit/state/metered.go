package state

import (
	"context"
	"sync/atomic"
	"time"
)

// store is the method set of Memory and Dynamo (the audit package's Store).
type store interface {
	Remember(ctx context.Context, key string, now, expires time.Time) (bool, time.Time, error)
	Refresh(ctx context.Context, key string, now, expires time.Time) (bool, time.Time, error)
	Count(ctx context.Context, key, member string, now, since, expires time.Time) (int, error)
	Swap(ctx context.Context, key, value string, now, expires time.Time) (string, bool, error)
	Get(ctx context.Context, key string, now time.Time) (string, bool, error)
	Forget(ctx context.Context, key string) error
}

// Metered wraps a store and counts the DynamoDB requests that Dynamo would make for the
// same calls, so that a replay through Memory measures what the Lambda pays: a Remember is
// one conditional put (the refusal brings the live item back), a Refresh one conditional
// update and, when the entry was absent or expired, a put; a Count a put and a query; a
// Swap a put; a Get a read; a Forget a delete.
type Metered struct {
	Inner         store
	writes, reads atomic.Int64
}

// NewMetered counts the requests made through s.
func NewMetered(s store) *Metered { return &Metered{Inner: s} }

// Writes is how many write requests (PutItem, UpdateItem, DeleteItem) Dynamo would make.
func (m *Metered) Writes() int64 { return m.writes.Load() }

// Reads is how many read requests (GetItem, Query) Dynamo would make.
func (m *Metered) Reads() int64 { return m.reads.Load() }

// Remember implements the store, counting one write.
func (m *Metered) Remember(ctx context.Context, key string, now, expires time.Time) (bool, time.Time, error) {
	m.writes.Add(1)
	return m.Inner.Remember(ctx, key, now, expires)
}

// Refresh implements the store, counting one write, two when the entry starts.
func (m *Metered) Refresh(ctx context.Context, key string, now, expires time.Time) (bool, time.Time, error) {
	fresh, first, err := m.Inner.Refresh(ctx, key, now, expires)
	m.writes.Add(1)
	if fresh {
		m.writes.Add(1)
	}
	return fresh, first, err
}

// Count implements the store, counting a write and a read.
func (m *Metered) Count(ctx context.Context, key, member string, now, since, expires time.Time) (int, error) {
	m.writes.Add(1)
	m.reads.Add(1)
	return m.Inner.Count(ctx, key, member, now, since, expires)
}

// Swap implements the store, counting one write.
func (m *Metered) Swap(ctx context.Context, key, value string, now, expires time.Time) (string, bool, error) {
	m.writes.Add(1)
	return m.Inner.Swap(ctx, key, value, now, expires)
}

// Get implements the store, counting one read.
func (m *Metered) Get(ctx context.Context, key string, now time.Time) (string, bool, error) {
	m.reads.Add(1)
	return m.Inner.Get(ctx, key, now)
}

// Forget implements the store, counting one write.
func (m *Metered) Forget(ctx context.Context, key string) error {
	m.writes.Add(1)
	return m.Inner.Forget(ctx, key)
}
