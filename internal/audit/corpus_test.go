package audit

import (
	"context"
	"testing"
	"time"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
	"github.com/rotaudit/rotaudit/internal/audit/corpus"
	"github.com/rotaudit/rotaudit/internal/audit/state"
)

// TestBenignCorpusIsQuiet measures false positives: eight days of a healthy deployment
// (the API's tasks reading their secret every three minutes, four rotations, two Terraform
// deploys, unrelated noise) must raise no finding at all. Then the incident must be seen.
func TestBenignCorpusIsQuiet(t *testing.T) {
	cfg, err := ParseConfig([]byte(corpus.Config()))
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine(cfg, state.NewMemory())
	ctx := context.Background()
	var findings []Finding
	eval := func(r *cloudtrail.Record) error {
		if err := r.Validate(); err != nil {
			return err
		}
		fs, err := e.Evaluate(ctx, r)
		findings = append(findings, fs...)
		return err
	}
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	g := corpus.New(7, eval)
	st, err := g.Benign(start, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("benign corpus: %d records, %d API reads, %d rotations, %d deploys: %d false positives",
		st.Records, st.APIReads, st.Rotations, st.Deploys, len(findings))
	if st.Rotations != 4 || st.Deploys != 2 || st.APIReads < 3000 {
		t.Fatalf("corpus is not what the test claims: %+v", st)
	}
	for _, f := range findings {
		t.Errorf("false positive: %s %s: %s", f.FindingInfo.Analytic.UID, f.Severity, f.FindingInfo.Desc)
	}

	findings = nil
	if err := g.Intrusion(start.Add(8*24*time.Hour + time.Hour)); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range findings {
		got[f.FindingInfo.Analytic.UID] = true
	}
	for _, id := range []string{"RA-01", "RA-02", "RA-03", "RA-06", "RA-07"} {
		if !got[id] {
			t.Errorf("intrusion after the benign week: %s did not fire (fired: %v)", id, got)
		}
	}
}
