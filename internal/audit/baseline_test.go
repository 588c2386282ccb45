package audit

import (
	"context"
	"io"
	"log/slog"
	"strings"
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

// TestBaselineUpgrade: members known in the former layout (one entry per member) stay
// known when the one-entry baselines start, and truly new ones are still reported.
func TestBaselineUpgrade(t *testing.T) {
	cfg := testConfig(t)
	mem := state.NewMemory()
	ctx := context.Background()
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	app := "rotaudit/prod/app"
	mem.Remember(ctx, "learn|"+app, t0.Add(-30*24*time.Hour), t0.Add(100*365*24*time.Hour))
	for _, k := range []string{"base|" + app + "|principal|arn:aws:iam::111122223333:role/batch",
		"base|" + app + "|network|198.51.100.0/24", "base|" + app + "|agent|aws-sdk-go-v2",
		"base|@arn:aws:iam::111122223333:role/batch|network|198.51.100.0/24", "base|@arn:aws:iam::111122223333:role/batch|agent|aws-sdk-go-v2"} {
		mem.Refresh(ctx, k, t0.Add(-24*time.Hour), t0.Add(60*24*time.Hour))
	}
	e := NewEngine(cfg, mem)
	read := func(id, ip string) []Finding {
		raw := `{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/batch/s","sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::111122223333:role/batch"}}},
"eventTime":"2026-11-20T09:00:00Z","eventSource":"secretsmanager.amazonaws.com","eventName":"GetSecretValue","sourceIPAddress":"` + ip + `","userAgent":"aws-sdk-go-v2/1.36.3 os/linux",
"requestParameters":{"secretId":"rotaudit/prod/app"},"eventID":"` + id + `","recipientAccountId":"111122223333"}`
		rec, err := cloudtrail.ParseRecord([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		fs, err := e.Evaluate(ctx, rec)
		if err != nil {
			t.Fatal(err)
		}
		var ra02 []Finding
		for _, f := range fs {
			if f.FindingInfo.Analytic.UID == "RA-02" {
				ra02 = append(ra02, f)
			}
		}
		return ra02
	}
	if fs := read("u1", "198.51.100.9"); len(fs) != 0 {
		t.Fatalf("known members reported after the upgrade: %s", fs[0].FindingInfo.Title)
	}
	if fs := read("u2", "203.0.113.9"); len(fs) != 1 || !strings.Contains(fs[0].FindingInfo.Title, "203.0.113.0/24") {
		t.Fatalf("a new network after the upgrade: %d findings", len(fs))
	}
}

// TestBaselineSharedUntilChanged: a baseline read from the memo shares its members until
// it changes one; the change never reaches the memo's copy, nor another reader's.
func TestBaselineSharedUntilChanged(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	exp := t0.Add(90 * 24 * time.Hour)
	e := NewEngine(testConfig(t), state.NewMemory())
	first, err := e.loadBaseline(ctx, "baseline|secret|app", t0)
	if err != nil {
		t.Fatal(err)
	}
	first.touch("principal|arn:aws:iam::1:role/api", t0, exp)
	if err := e.saveBaseline(ctx, first, t0, exp); err != nil {
		t.Fatal(err)
	}
	a, _ := e.loadBaseline(ctx, "baseline|secret|app", t0.Add(time.Minute))
	b, _ := e.loadBaseline(ctx, "baseline|secret|app", t0.Add(time.Minute))
	if !a.shared || !b.shared {
		t.Fatal("a read that found the memo's text did not share its members")
	}
	a.touch("principal|arn:aws:iam::1:role/api", t0.Add(time.Minute), exp) // known: no change
	if !a.shared {
		t.Fatal("a touch that changed nothing copied the members")
	}
	a.touch("network|203.0.113.0/24", t0.Add(time.Minute), exp)
	if a.shared || len(a.Members) != 2 {
		t.Fatalf("after a new member: shared %v, %d members; want a copy of its own with 2", a.shared, len(a.Members))
	}
	if len(b.Members) != 1 {
		t.Fatalf("another reader's baseline has %d members, want 1: the change leaked into the shared map", len(b.Members))
	}
	if c, _ := e.loadBaseline(ctx, "baseline|secret|app", t0.Add(time.Minute)); len(c.Members) != 1 {
		t.Fatalf("the memo holds %d members before any save, want 1", len(c.Members))
	}
}

// TestBoundedMemo: values for up to memoLimit keys are remembered, the rest computed each
// time, and every key gets its own value either way.
func TestBoundedMemo(t *testing.T) {
	var m boundedMemo[int, int]
	calls := 0
	for round := 0; round < 2; round++ {
		for k := range memoLimit + 10 {
			if v := m.get(k, func() int { calls++; return 2 * k }); v != 2*k {
				t.Fatalf("get(%d) = %d, want %d", k, v, 2*k)
			}
		}
	}
	// First round: every key computed; second: only the keys past the limit.
	if want := memoLimit + 10 + 10; calls != want {
		t.Fatalf("%d computations, want %d", calls, want)
	}
}
