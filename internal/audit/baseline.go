package audit

import (
	"context"
	"encoding/json"
	"maps"
	"sync"
	"time"
)

// baseline is what RA-02 keeps of one watched secret (who reads it, from which networks,
// with which tools) or of one principal (its networks and tools across secrets), in one
// state entry: read once per event, written only when a member is new or its expiry is
// due to be pushed on. The former layout, one entry per member refreshed on every read,
// cost five writes per GetSecretValue.
//
// Two invocations updating one entry at once may lose the other's new member: that member
// is then new again once, a duplicate first-seen finding at worst.
type baseline struct {
	key   string
	dirty bool
	// shared: Members is the memo's map (decodedBaselines), copied before the first change.
	shared bool
	// First is when the secret was first seen (its learning period starts then), unix s.
	First int64 `json:"first,omitempty"`
	// Members maps "kind|value" to when it stops being known, unix s.
	Members map[string]int64 `json:"members"`
}

// maxBaselineMembers bounds an entry far below DynamoDB's 400 KB item limit; the member
// closest to expiry makes room.
const maxBaselineMembers = 1024

func (e *Engine) loadBaseline(ctx context.Context, key string, now time.Time) (*baseline, error) {
	v, found, err := e.store.Get(ctx, key, now)
	if err != nil {
		return nil, err
	}
	if b := e.baselines.get(key, v); b != nil {
		return b, nil
	}
	b := &baseline{key: key}
	if found {
		json.Unmarshal([]byte(v), b)
	}
	if b.Members == nil {
		b.Members = map[string]int64{}
	}
	e.baselines.put(key, v, &baseline{key: key, First: b.First, Members: maps.Clone(b.Members)})
	return b, nil
}

// decodedBaselines remembers the last decoding of each baseline entry, keyed by the
// entry's exact text: a read that finds the same text (most of them) skips the JSON
// decoding, which was a tenth of replay's time; any other text is decoded afresh, so the
// memo can never be stale.
type decodedBaselines struct {
	mu sync.Mutex
	m  map[string]decodedBaseline
}

type decodedBaseline struct {
	raw string
	b   *baseline
}

const maxDecodedBaselines = 4096

func (d *decodedBaselines) get(key, raw string) *baseline {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.m[key]; ok && c.b != nil && c.raw == raw {
		// The memo's members, shared until the caller changes them (own): most reads
		// change nothing, and copying every entry per read was a twentieth of replay's time.
		return &baseline{key: key, First: c.b.First, Members: c.b.Members, shared: true}
	}
	return nil
}

func (d *decodedBaselines) put(key, raw string, b *baseline) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil || len(d.m) >= maxDecodedBaselines {
		d.m = map[string]decodedBaseline{}
	}
	d.m[key] = decodedBaseline{raw: raw, b: b}
}

// touch records that member was seen at now, known until expires, and reports whether it
// was new (never seen, or not for its lifetime). A known member's expiry is written again
// only once less than half its lifetime is left: a reader seen every minute costs a write
// every few weeks, not per read.
func (b *baseline) touch(member string, now, expires time.Time) bool {
	exp, known := b.Members[member]
	live := known && exp > now.Unix()
	if !live || exp-now.Unix() < (expires.Unix()-now.Unix())/2 {
		b.own()
		if !known && len(b.Members) >= maxBaselineMembers {
			b.evict()
		}
		b.Members[member] = expires.Unix()
		b.dirty = true
	}
	return !live
}

// own gives b a members map of its own before it changes one the memo shares.
func (b *baseline) own() {
	if b.shared {
		b.Members, b.shared = maps.Clone(b.Members), false
	}
}

func (b *baseline) evict() {
	var oldest string
	for m, exp := range b.Members {
		if oldest == "" || exp < b.Members[oldest] {
			oldest = m
		}
	}
	delete(b.Members, oldest)
}

// save writes the entry when something changed; it lives as long as its members.
func (e *Engine) saveBaseline(ctx context.Context, b *baseline, now, expires time.Time) error {
	if !b.dirty {
		return nil
	}
	b.own()
	for m, exp := range b.Members { // expired members are dropped on the way
		if exp <= now.Unix() {
			delete(b.Members, m)
		}
	}
	v, err := json.Marshal(b)
	if err != nil {
		return err
	}
	_, _, err = e.store.Swap(ctx, b.key, string(v), now, expires)
	b.dirty = false
	if err != nil {
		e.baselines.put(b.key, "", nil) // what the store holds is not known
		return err
	}
	e.baselines.put(b.key, string(v), &baseline{key: b.key, First: b.First, Members: maps.Clone(b.Members)})
	return nil
}

// legacyNew reports whether a member new to its baseline entry is new in the former layout
// too (one "base|..." entry per member, refreshed on every read), so that the upgrade does
// not report every known reader, network and tool as first seen. A member is asked once,
// when the entry meets it; an absent one leaves a one-second entry behind. This can go once
// baseline_ttl has passed since the upgrade.
func (e *Engine) legacyNew(ctx context.Context, key string, now time.Time) (bool, error) {
	fresh, _, err := e.store.Remember(ctx, key, now, now.Add(time.Second))
	return fresh, err
}
