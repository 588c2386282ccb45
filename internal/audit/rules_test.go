package audit

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
	"github.com/rotaudit/rotaudit/internal/audit/pglog"
	"github.com/rotaudit/rotaudit/internal/audit/state"
)

func testConfig(t testing.TB) *Config {
	t.Helper()
	b, err := os.ReadFile("testdata/config.json")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// run evaluates records in order with a fresh in-memory store and returns the new
// findings, each grown by the updates that later events added to it.
func run(t testing.TB, cfg *Config, recs []json.RawMessage) []Finding {
	t.Helper()
	e := NewEngine(cfg, state.NewMemory())
	pg := pglog.NewParser()
	var out []Finding
	merge := func(fs []Finding) {
		for _, f := range fs {
			if !f.IsUpdate() {
				out = append(out, f)
				continue
			}
			i := slices.IndexFunc(out, func(o Finding) bool { return o.FindingInfo.UID == f.FindingInfo.UID })
			if i < 0 {
				t.Fatalf("update of finding %s that was never reported", f.FindingInfo.UID)
			}
			if f.Count <= out[i].Count || len(f.FindingInfo.RelatedEvents) < len(out[i].FindingInfo.RelatedEvents) {
				t.Fatalf("update shrinks finding %s: count %d -> %d", f.FindingInfo.UID, out[i].Count, f.Count)
			}
			out[i].Count, out[i].FindingInfo.RelatedEvents = f.Count, f.FindingInfo.RelatedEvents
		}
	}
	for i, raw := range recs {
		var line struct {
			PGLog *string `json:"pglog"`
		}
		if json.Unmarshal(raw, &line) == nil && line.PGLog != nil {
			// A PostgreSQL log line among the records: the DB-xx rules read it.
			l, ok, err := pg.Line(*line.PGLog, time.Time{})
			if err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			if !ok {
				continue
			}
			fs, err := e.EvaluateLogin(context.Background(), &l)
			if err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			merge(fs)
			continue
		}
		rec, err := cloudtrail.ParseRecord(raw)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		fs, err := e.Evaluate(context.Background(), rec)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		merge(fs)
	}
	return out
}

// TestRules runs every fixture in testdata/rules: records in, the rule ids (and, where
// given, severities) of the findings out. Files named *-not-* must produce nothing.
func TestRules(t *testing.T) {
	cfg := testConfig(t)
	files, _ := filepath.Glob("testdata/rules/*.json")
	if len(files) < 40 {
		t.Fatalf("only %d rule fixtures found", len(files))
	}
	seen := map[string]bool{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var fx struct {
				Want       []string          `json:"want"`
				Severities []string          `json:"severities"`
				Counts     []int             `json:"counts"`
				Records    []json.RawMessage `json:"records"`
			}
			if err := json.Unmarshal(b, &fx); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(name, "-not-") != (len(fx.Want) == 0) {
				t.Fatalf("fixture name and expectation disagree")
			}
			got := run(t, cfg, fx.Records)
			var ids, sevs []string
			for _, f := range got {
				ids = append(ids, f.FindingInfo.Analytic.UID)
				sevs = append(sevs, f.Severity)
				seen[f.FindingInfo.Analytic.UID] = true
				checkFinding(t, &f)
			}
			want := slices.Clone(fx.Want)
			slices.Sort(want)
			sorted := slices.Clone(ids)
			slices.Sort(sorted)
			if !slices.Equal(sorted, want) {
				for _, f := range got {
					t.Logf("finding: %s %s: %s", f.FindingInfo.Analytic.UID, f.Severity, f.FindingInfo.Title)
				}
				t.Fatalf("rules fired %v, want %v", ids, fx.Want)
			}
			if fx.Severities != nil && !slices.Equal(sevs, fx.Severities) {
				t.Errorf("severities %v, want %v", sevs, fx.Severities)
			}
			if fx.Counts != nil {
				var counts []int
				for _, f := range got {
					counts = append(counts, f.Count)
					if len(f.FindingInfo.RelatedEvents) != min(f.Count, maxRelated) {
						t.Errorf("%s: count %d but %d related events", f.FindingInfo.Analytic.UID, f.Count, len(f.FindingInfo.RelatedEvents))
					}
				}
				if !slices.Equal(counts, fx.Counts) {
					t.Errorf("counts %v, want %v", counts, fx.Counts)
				}
			}
		})
	}
	if flag.Lookup("test.run").Value.String() != "" {
		return // a filtered run cannot judge coverage
	}
	for _, r := range append(Rules(), DBRules()...) {
		if !seen[r.ID] {
			t.Errorf("rule %s has no fixture that makes it fire", r.ID)
		}
	}
}

func checkFinding(t *testing.T, f *Finding) {
	t.Helper()
	if f.ClassUID != 2004 || f.CategoryUID != 2 || f.TypeUID != 200401 {
		t.Errorf("not an OCSF Detection Finding: class %d category %d type %d", f.ClassUID, f.CategoryUID, f.TypeUID)
	}
	if len(f.FindingInfo.RelatedEvents) == 0 || f.FindingInfo.RelatedEvents[0].UID == "" {
		t.Errorf("finding has no related event ids")
	}
	if f.FindingInfo.UID == "" || f.FindingInfo.Title == "" || f.FindingInfo.Desc == "" || f.Time == 0 || f.Actor.User.UID == "" {
		t.Errorf("finding lacks uid, title, desc, time or actor: %+v", f.FindingInfo)
	}
	if s := f.Subject(); len(s) > 100 || strings.ContainsAny(s, "\n\r") {
		t.Errorf("subject unusable by SNS: %q", s)
	}
}

func TestRulesHaveRationale(t *testing.T) {
	ids := map[string]bool{}
	for _, r := range append(Rules(), DBRules()...) {
		if ids[r.ID] {
			t.Errorf("duplicate rule id %s", r.ID)
		}
		ids[r.ID] = true
		if len(r.Rationale) < 100 || r.Name == "" {
			t.Errorf("rule %s: name or rationale missing", r.ID)
		}
	}
	if len(ids) != 19 {
		t.Errorf("%d rules, want 19", len(ids))
	}
}
