package state

import (
	"context"
	"testing"
	"time"
)

func TestMemoryExpiryIsAbsence(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		name  string
		now   time.Time
		fresh bool
	}{
		{"first", t0, true},
		{"within window", t0.Add(30 * time.Minute), false},
		{"at expiry", t0.Add(time.Hour), true},
		{"renewed", t0.Add(90 * time.Minute), false},
	}
	for _, s := range steps {
		fresh, first, err := m.Remember(ctx, "k", s.now, s.now.Add(time.Hour))
		if err != nil || fresh != s.fresh {
			t.Fatalf("%s: fresh=%v err=%v, want %v", s.name, fresh, err, s.fresh)
		}
		if !fresh && first.After(s.now) {
			t.Fatalf("%s: first %v after now", s.name, first)
		}
	}
}

func TestMemoryCountWindow(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := 10 * time.Minute
	for i, tc := range []struct {
		member string
		at     time.Duration
		want   int
	}{
		{"a", 0, 1}, {"b", time.Minute, 2}, {"a", 2 * time.Minute, 2}, {"c", 12 * time.Minute, 2}, {"d", 30 * time.Minute, 1},
	} {
		now := t0.Add(tc.at)
		n, err := m.Count(ctx, "set", tc.member, now, now.Add(-w), now.Add(w))
		if err != nil || n != tc.want {
			t.Fatalf("step %d: count %d (%v), want %d", i, n, err, tc.want)
		}
	}
}

func TestMemorySwapAndSweep(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, found, _ := m.Swap(ctx, "k", "v1", t0, t0.Add(time.Hour)); found {
		t.Fatal("empty store had a value")
	}
	if old, found, _ := m.Swap(ctx, "k", "v2", t0.Add(time.Minute), t0.Add(time.Hour)); !found || old != "v1" {
		t.Fatalf("old = %q, %v", old, found)
	}
	if _, found, _ := m.Swap(ctx, "k", "v3", t0.Add(2*time.Hour), t0.Add(3*time.Hour)); found {
		t.Fatal("expired value returned")
	}
	// Entries that expire are swept: memory follows live keys, not events seen.
	for i := 0; i < 3*sweepEvery; i++ {
		now := t0.Add(time.Duration(i) * time.Second)
		m.Remember(ctx, now.String(), now, now.Add(time.Minute))
	}
	if n := m.Len(); n > sweepEvery+100 {
		t.Errorf("%d keys held after sweeping, want at most about %d", n, sweepEvery)
	}
}

func TestMemoryRefreshExtendsUsedEntries(t *testing.T) {
	m := NewMemory()
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	if fresh, _, _ := m.Refresh(ctx, "k", t0, t0.Add(90*day)); !fresh {
		t.Fatal("first refresh not fresh")
	}
	for d := 30; d <= 300; d += 30 { // used monthly: never expires
		now := t0.Add(time.Duration(d) * day)
		if fresh, first, _ := m.Refresh(ctx, "k", now, now.Add(90*day)); fresh || !first.Equal(t0) {
			t.Fatalf("day %d: fresh=%v first=%v, want the entry kept since day 0", d, fresh, first)
		}
	}
	late := t0.Add(391 * day) // unused for 91 days
	if fresh, _, _ := m.Refresh(ctx, "k", late, late.Add(90*day)); !fresh {
		t.Fatal("an entry unused past its lifetime must expire")
	}
	// Remember does not extend: the dedup windows rely on it.
	m.Remember(ctx, "d", t0, t0.Add(time.Hour))
	m.Remember(ctx, "d", t0.Add(50*time.Minute), t0.Add(110*time.Minute))
	if fresh, _, _ := m.Remember(ctx, "d", t0.Add(61*time.Minute), t0.Add(2*time.Hour)); !fresh {
		t.Fatal("Remember extended a live entry")
	}
}
