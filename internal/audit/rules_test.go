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

// TestRules runs every fixture in testdata/rules, one folder per rule: records in, the rule
// ids (and, where given, severities) of the findings out. Files named not-* must produce
// nothing.
func TestRules(t *testing.T) {
	cfg := testConfig(t)
	if flat, _ := filepath.Glob("testdata/rules/*.json"); len(flat) > 0 {
		t.Fatalf("fixtures outside a rule's folder would not be run: %v", flat)
	}
	files, _ := filepath.Glob("testdata/rules/*/*.json")
	if len(files) < 40 {
		t.Fatalf("only %d rule fixtures found", len(files))
	}
	seen := map[string]bool{}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.ToSlash(f), "testdata/rules/"), ".json")
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
				// Config, when given, replaces testdata/config.json (what the auditor
				// sees with less configured).
				Config json.RawMessage `json:"config"`
			}
			if err := json.Unmarshal(b, &fx); err != nil {
				t.Fatal(err)
			}
			cfg := cfg
			if fx.Config != nil {
				if cfg, err = ParseConfig(fx.Config); err != nil {
					t.Fatal(err)
				}
			}
			if quietFixture(name) != (len(fx.Want) == 0) {
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

// quietFixture reports whether a fixture must produce nothing: not-*.json.
func quietFixture(name string) bool {
	return strings.HasPrefix(filepath.Base(name), "not-")
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

// TestRulesHaveRationale checks what a reader of a finding relies on: each rule has a
// unique id of the form RA-NN (CloudTrail) or DB-NN (database log), a name, and a rationale
// that says why in full sentences, longer than its name, and each rule has fixtures on both
// sides in its folder testdata/rules/raNN (dbNN): *.json that make it fire and not-*.json
// that must not (TestRules checks what those fixtures produce).
func TestRulesHaveRationale(t *testing.T) {
	rules := append(Rules(), DBRules()...)
	if len(rules) == 0 {
		t.Fatal("no rules")
	}
	ids := map[string]bool{}
	for _, r := range rules {
		if ids[r.ID] {
			t.Errorf("duplicate rule id %s", r.ID)
		}
		ids[r.ID] = true
		family, num, ok := strings.Cut(r.ID, "-")
		if !ok || len(family) != 2 || strings.Trim(family, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" ||
			len(num) != 2 || strings.Trim(num, "0123456789") != "" {
			t.Errorf("rule id %q: want a family and a number, RA-NN or DB-NN", r.ID)
			continue
		}
		if strings.TrimSpace(r.Name) == "" {
			t.Errorf("rule %s: no name", r.ID)
		}
		why := strings.TrimSpace(r.Rationale)
		if !strings.HasSuffix(why, ".") || len(strings.Fields(why)) <= len(strings.Fields(r.Name)) {
			t.Errorf("rule %s: the rationale should say why, in full sentences longer than the name: %q", r.ID, why)
		}
		prefix := fixtureDir(r.ID)
		fires, _ := filepath.Glob(prefix + "*.json")
		quiet, _ := filepath.Glob(prefix + "not-*.json")
		if len(quiet) == 0 || len(fires) == len(quiet) {
			t.Errorf("rule %s: want fixtures that make it fire and that must not (%s*.json, %snot-*.json); have %d and %d",
				r.ID, prefix, prefix, len(fires)-len(quiet), len(quiet))
		}
	}
}

// FuzzEvaluate feeds arbitrary records through every rule: request parameters, responses
// and policies are the caller's text, and no rule may fail on them.
func FuzzEvaluate(f *testing.F) {
	files, _ := filepath.Glob("testdata/rules/*/*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var fx struct {
			Records []json.RawMessage `json:"records"`
		}
		json.Unmarshal(b, &fx)
		for _, r := range fx.Records {
			f.Add([]byte(r))
		}
	}
	cfg := testConfig(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		rec, err := cloudtrail.ParseRecord(raw)
		if err != nil {
			return
		}
		e := NewEngine(cfg, state.NewMemory())
		for i := 0; i < 2; i++ { // the second time meets what the first remembered
			if _, err := e.Evaluate(context.Background(), rec); err != nil {
				t.Fatalf("evaluate: %v", err)
			}
		}
	})
}
