package audit

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
	"github.com/rotaudit/rotaudit/internal/audit/state"
	"github.com/rotaudit/rotaudit/internal/testkit/corpus"
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

	// The same week with the NAT gateways as trusted networks: RA-13 stays quiet too.
	doc := strings.Replace(corpus.Config(), `"learning_period"`, `"trusted_networks": `+corpus.NATNetworks+`, "learning_period"`, 1)
	cfgNAT, err := ParseConfig([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	eNAT := NewEngine(cfgNAT, state.NewMemory())
	if _, err := corpus.New(7, func(r *cloudtrail.Record) error {
		fs, err := eNAT.Evaluate(ctx, r)
		for _, f := range fs {
			t.Errorf("false positive with trusted networks: %s: %s", f.FindingInfo.Analytic.UID, f.FindingInfo.Desc)
		}
		return err
	}).Benign(start, 8); err != nil {
		t.Fatal(err)
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

// TestBenignCorpusLongRunIsQuiet runs 100 days, longer than baseline_ttl (90 days): every
// legitimate principal, network and tool keeps being used, so none may become "new" again
// when the entry it was learnt under would have expired.
func TestBenignCorpusLongRunIsQuiet(t *testing.T) {
	if testing.Short() {
		t.Skip("100 days of traffic: a few seconds")
	}
	cfg, err := ParseConfig([]byte(corpus.Config()))
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine(cfg, state.NewMemory())
	ctx := context.Background()
	n := 0
	st, err := corpus.New(11, func(r *cloudtrail.Record) error {
		fs, err := e.Evaluate(ctx, r)
		for _, f := range fs {
			n++
			t.Errorf("false positive on %s: %s %s: %s", r.EventTime, f.FindingInfo.Analytic.UID, f.Severity, f.FindingInfo.Desc)
		}
		return err
	}).Benign(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 100)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("100 days: %d records, %d rotations, %d deploys: %d false positives", st.Records, st.Rotations, st.Deploys, n)
	if st.Rotations < 6 {
		t.Fatalf("corpus rotated %d times in 100 days, want monthly", st.Rotations)
	}
}
