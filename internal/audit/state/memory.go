// Package state keeps the auditor's memory between events: dedup keys, learned baselines,
// windowed counters and last-seen values. Dynamo is the Lambda's store (the DynamoDB table
// with pk, sk and a ttl attribute); Memory serves replay and tests. Both treat an entry
// whose expiry has passed as absent, since DynamoDB deletes expired items only eventually
// (and emulators never do).
package state

import (
	"context"
	"sync"
	"time"
)

// Memory is an in-process store. Expired entries are swept as it goes, so its size
// follows the number of live keys, not the number of events seen.
type Memory struct {
	mu     sync.Mutex
	single map[string]entry
	sets   map[string]map[string]entry
	ops    int
}

type entry struct {
	first   time.Time
	seen    time.Time
	value   string
	expires time.Time
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{single: map[string]entry{}, sets: map[string]map[string]entry{}}
}

const sweepEvery = 1 << 14

// Remember stores key until expires unless a live entry exists; it reports whether the key
// was new and, when it was not, when it was first stored.
func (m *Memory) Remember(_ context.Context, key string, now, expires time.Time) (bool, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tick(now)
	if e, ok := m.single[key]; ok && e.expires.After(now) {
		return false, e.first, nil
	}
	m.single[key] = entry{first: now, expires: expires}
	return true, now, nil
}

// Refresh is Remember that also moves a live entry's expiry to expires.
func (m *Memory) Refresh(_ context.Context, key string, now, expires time.Time) (bool, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tick(now)
	if e, ok := m.single[key]; ok && e.expires.After(now) {
		if expires.After(e.expires) {
			e.expires = expires
			m.single[key] = e
		}
		return false, e.first, nil
	}
	m.single[key] = entry{first: now, expires: expires}
	return true, now, nil
}

// Count adds member to set key, seen at now and kept until expires, and returns how many
// members were seen at or after since (the time seen decides, not the expiry).
func (m *Memory) Count(_ context.Context, key, member string, now, since, expires time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tick(now)
	set := m.sets[key]
	if set == nil {
		set = map[string]entry{}
		m.sets[key] = set
	}
	set[member] = entry{seen: now, expires: expires}
	n := 0
	for k, e := range set {
		switch {
		case !e.seen.Before(since):
			n++
		case !e.expires.After(now):
			delete(set, k)
		}
	}
	return n, nil
}

// Swap stores value under key until expires and returns the previous live value.
func (m *Memory) Swap(_ context.Context, key, value string, now, expires time.Time) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tick(now)
	old, ok := m.single[key]
	m.single[key] = entry{first: now, value: value, expires: expires}
	if !ok || !old.expires.After(now) {
		return "", false, nil
	}
	return old.value, true, nil
}

// Get returns the live value stored under key.
func (m *Memory) Get(_ context.Context, key string, now time.Time) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.single[key]
	if !ok || !e.expires.After(now) {
		return "", false, nil
	}
	return e.value, true, nil
}

// Forget deletes key.
func (m *Memory) Forget(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.single, key)
	return nil
}

// Len returns the number of keys held, expired or not (for tests of the sweep).
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.single)
	for _, s := range m.sets {
		n += len(s)
	}
	return n
}

// tick sweeps expired entries every sweepEvery operations, using the event clock.
func (m *Memory) tick(now time.Time) {
	m.ops++
	if m.ops%sweepEvery != 0 {
		return
	}
	for k, e := range m.single {
		if !e.expires.After(now) {
			delete(m.single, k)
		}
	}
	for k, set := range m.sets {
		for mk, e := range set {
			if !e.expires.After(now) {
				delete(set, mk)
			}
		}
		if len(set) == 0 {
			delete(m.sets, k)
		}
	}
}
