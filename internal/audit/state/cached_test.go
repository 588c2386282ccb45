package state

import (
	"context"
	"testing"
	"time"
)

// TestCachedSparesRequests: known baselines are answered from the process until half
// their lifetime is used; dedup windows always reach the store; Forget drops the entry.
func TestCachedSparesRequests(t *testing.T) {
	ctx := context.Background()
	m := NewMetered(NewMemory())
	c := NewCached(m)
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	ttl := 90 * 24 * time.Hour
	for i, tc := range []struct {
		at         time.Duration
		wantFresh  bool
		wantWrites int64
	}{
		{0, true, 2},                    // started: update refused, put
		{time.Hour, false, 2},           // from the cache
		{40 * 24 * time.Hour, false, 2}, // more than half its life left
		{50 * 24 * time.Hour, false, 3}, // less: refreshed for real
		{51 * 24 * time.Hour, false, 3},
	} {
		now := t0.Add(tc.at)
		fresh, _, err := c.Refresh(ctx, "base|x", now, now.Add(ttl))
		if err != nil || fresh != tc.wantFresh || m.Writes() != tc.wantWrites {
			t.Fatalf("step %d: fresh %v err %v writes %d, want fresh %v writes %d", i, fresh, err, m.Writes(), tc.wantFresh, tc.wantWrites)
		}
	}
	w := m.Writes()
	for i := 0; i < 3; i++ { // a dedup window: every call reaches the store
		c.Remember(ctx, "dedup|k", t0, t0.Add(time.Hour))
	}
	if m.Writes() != w+3 {
		t.Fatalf("dedup keys were answered from the cache: %d writes", m.Writes()-w)
	}
	forever := 100 * 365 * 24 * time.Hour // a secret's learning start
	if fresh, _, _ := c.Remember(ctx, "learn|s", t0, t0.Add(forever)); !fresh {
		t.Fatal("first Remember not fresh")
	}
	w = m.Writes()
	if fresh, _, _ := c.Remember(ctx, "learn|s", t0.Add(time.Hour), t0.Add(time.Hour+forever)); fresh || m.Writes() != w {
		t.Fatalf("known long-lived key: fresh %v, %d writes", fresh, m.Writes()-w)
	}
	c.Forget(ctx, "learn|s")
	if fresh, _, _ := c.Remember(ctx, "learn|s", t0.Add(2*time.Hour), t0.Add(forever)); !fresh {
		t.Fatal("a forgotten key is still answered from the cache")
	}
	// Another process's entry, found live, is answered from the cache afterwards too.
	other := NewCached(m)
	w = m.Writes()
	for i := 0; i < 3; i++ {
		if fresh, _, _ := other.Remember(ctx, "learn|s", t0.Add(3*time.Hour), t0.Add(3*time.Hour+forever)); fresh {
			t.Fatal("live entry reported fresh")
		}
	}
	if m.Writes() != w+1 {
		t.Fatalf("another process asked the store %d times, want once", m.Writes()-w)
	}
}
