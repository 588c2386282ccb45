package audit

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
	"github.com/rotaudit/rotaudit/internal/audit/state"
	"github.com/rotaudit/rotaudit/internal/testkit/corpus"
)

func TestBaselineTouch(t *testing.T) {
	b := &baseline{Members: map[string]int64{}}
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	ttl := 90 * 24 * time.Hour
	for i, tc := range []struct {
		at         time.Duration
		new, dirty bool
	}{
		{0, true, true},
		{time.Hour, false, false},          // known, most of its life left: nothing to write
		{50 * 24 * time.Hour, false, true}, // less than half left: pushed on
		{50*24*time.Hour + time.Hour, false, false},
		{200 * 24 * time.Hour, true, true}, // unseen for longer than its lifetime: new again
	} {
		b.dirty = false
		now := t0.Add(tc.at)
		if got := b.touch("principal|x", now, now.Add(ttl)); got != tc.new || b.dirty != tc.dirty {
			t.Fatalf("step %d: new %v dirty %v, want %v %v", i, got, b.dirty, tc.new, tc.dirty)
		}
	}
	for i := 0; i < maxBaselineMembers+10; i++ {
		b.touch(string(rune('a'+i%26))+time.Duration(i).String(), t0, t0.Add(ttl+time.Duration(i)*time.Second))
	}
	if len(b.Members) > maxBaselineMembers {
		t.Fatalf("%d members, bound %d", len(b.Members), maxBaselineMembers)
	}
}

// TestWritesPerDeliveredEvent holds the state table to its budget: on the benign week, at
// most 1.5 DynamoDB writes per event the patterns deliver (issue 19: 5.5 before).
func TestWritesPerDeliveredEvent(t *testing.T) {
	cfg, err := ParseConfig([]byte(corpus.Config()))
	if err != nil {
		t.Fatal(err)
	}
	store := state.NewMetered(state.NewMemory())
	h := &Handler{Engine: NewEngine(cfg, store), Sink: NewJSONLinesSink(io.Discard), Log: slog.New(slog.DiscardHandler), CountDelivered: true}
	var sum Summary
	ctx := context.Background()
	if _, err := corpus.New(7, func(r *cloudtrail.Record) error { return h.evaluate(ctx, r, &sum) }).Benign(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 8); err != nil {
		t.Fatal(err)
	}
	w := float64(store.Writes()) / float64(sum.Delivered)
	t.Logf("%d delivered events: %d writes (%.2f each), %d reads (%.2f each)", sum.Delivered, store.Writes(), w, store.Reads(), float64(store.Reads())/float64(sum.Delivered))
	if sum.Delivered < 1000 || w > 1.5 {
		t.Fatalf("%.2f writes per delivered event over %d events, budget 1.5", w, sum.Delivered)
	}
}
