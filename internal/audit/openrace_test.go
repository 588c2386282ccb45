package audit

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
	"github.com/rotaudit/rotaudit/internal/audit/state"
)

// openingStore is a store in which the opener of a finding has claimed its dedup key but
// not yet written its open entry: the first hidden reads of an open entry find nothing,
// as another invocation would in between the opener's two writes.
type openingStore struct {
	Store
	mu     sync.Mutex
	hidden int
}

func (s *openingStore) Get(ctx context.Context, key string, now time.Time) (string, bool, error) {
	s.mu.Lock()
	hide := strings.HasPrefix(key, "open|") && s.hidden > 0
	if hide {
		s.hidden--
	}
	s.mu.Unlock()
	if hide {
		return "", false, nil
	}
	return s.Store.Get(ctx, key, now)
}

// TestUpdateWaitsForTheOpenEntry: an event that joins a finding whose open entry is still
// being written is counted (an update, count 2), not dropped.
func TestUpdateWaitsForTheOpenEntry(t *testing.T) {
	var fx struct {
		Records []json.RawMessage `json:"records"`
	}
	b, err := os.ReadFile("testdata/rules/ra01/dedup-same-principal-and-secret.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fx); err != nil || len(fx.Records) < 2 {
		t.Fatalf("fixture: %v (%d records)", err, len(fx.Records))
	}
	store := &openingStore{Store: state.NewMemory()}
	e := NewEngine(testConfig(t), store)
	evaluate := func(raw json.RawMessage) []Finding {
		t.Helper()
		rec, err := cloudtrail.ParseRecord(raw)
		if err != nil {
			t.Fatal(err)
		}
		fs, err := e.Evaluate(context.Background(), rec)
		if err != nil {
			t.Fatal(err)
		}
		return fs
	}
	first := evaluate(fx.Records[0])
	if len(first) != 1 || first[0].IsUpdate() {
		t.Fatalf("first read: %d findings, want one new finding", len(first))
	}
	store.mu.Lock()
	store.hidden = 2 // the opener is slow: two looks find nothing
	store.mu.Unlock()
	second := evaluate(fx.Records[1])
	if len(second) != 1 || !second[0].IsUpdate() || second[0].Count != 2 {
		t.Fatalf("second read: %+v, want the update of the first finding with count 2", second)
	}
	if store.hidden != 0 {
		t.Fatalf("%d hidden reads left: the update did not look again", store.hidden)
	}
}
