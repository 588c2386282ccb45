package audit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
	"github.com/rotaudit/rotaudit/internal/audit/state"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// datasetConfig watches the secrets the public samples touch.
const datasetConfig = `{
  "watched_secrets": [
    {"name_prefix": "stratus-red-team-"},
    {"name_prefix": "MyDatabaseSecret"},
    {"name_prefix": "test-secret"}
  ],
  "readers": [%s]
}`

// TestRealEvents replays the real CloudTrail samples in ../shared/datasets/cloudtrail and
// checks each gives the findings its story calls for.
func TestRealEvents(t *testing.T) {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "..", "shared", "datasets", "cloudtrail")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("real CloudTrail samples not found at %s (they live beside the repository on the team's machines)", dir)
	}
	tests := []struct {
		file    string
		readers string
		want    []string
	}{
		{"stratus-red-team/aws.defense-evasion.cloudtrail-stop.json", "", []string{"RA-07"}},
		{"stratus-red-team/aws.defense-evasion.cloudtrail-delete.json", "", []string{"RA-07"}},
		{"stratus-red-team/aws.defense-evasion.cloudtrail-event-selectors.json", "", []string{"RA-07"}},
		{"stratus-red-team/aws.credential-access.secretsmanager-retrieve-secrets.json", "", []string{"RA-01", "RA-03"}},
		{"stratus-red-team/aws.credential-access.secretsmanager-batch-retrieve-secrets.json", "", []string{"RA-03"}},
		{"stratus-red-team/aws.exfiltration.rds-share-snapshot.json", "", []string{"RA-09"}},
		{"aws-docs/secretsmanager-RotationFailed.json", "", []string{"RA-06"}},
		{"aws-docs/kms-Decrypt-invokedBy-secretsmanager.json", "", []string{"RA-08"}},
		{"aws-docs/kms-Decrypt-invokedBy-secretsmanager.json", `"arn:aws:iam::111122223333:role/Admin"`, nil},
		{"aws-docs/kms-GenerateDataKey-invokedBy-secretsmanager.json", "", nil},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.file)+"/readers="+tc.readers, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(sprintf(datasetConfig, tc.readers)))
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			e := NewEngine(cfg, state.NewMemory())
			got := map[string]int{}
			// Every watched call must end up as evidence in some finding (new or update):
			// dedup may merge, never drop.
			var watchedIDs []string
			evidence := map[string]bool{}
			n, err := cloudtrail.Stream(f, func(r *cloudtrail.Record) error {
				if r.EventName == "GetSecretValue" || r.EventName == "BatchGetSecretValue" || r.EventName == "PutEventSelectors" || r.EventName == "StopLogging" {
					watchedIDs = append(watchedIDs, r.EventID)
				}
				fs, err := e.Evaluate(context.Background(), r)
				for _, f := range fs {
					for _, x := range f.FindingInfo.RelatedEvents {
						evidence[x.UID] = true
					}
					if f.IsUpdate() {
						if !slices.ContainsFunc(f.FindingInfo.RelatedEvents, func(x RelatedEvent) bool { return x.UID == r.EventID }) {
							t.Errorf("update of %s lacks the record's eventID %q", f.FindingInfo.UID, r.EventID)
						}
						continue
					}
					got[f.FindingInfo.Analytic.UID]++
					if f.FindingInfo.RelatedEvents[0].UID != r.EventID {
						t.Errorf("finding rests on %q, not on the record's eventID %q", f.FindingInfo.RelatedEvents[0].UID, r.EventID)
					}
				}
				return err
			}, func(err error) { t.Errorf("real record reported malformed: %v", err) })
			if err != nil || n == 0 {
				t.Fatalf("read %d records: %v", n, err)
			}
			var ids []string
			for id := range got {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			if !slices.Equal(ids, tc.want) {
				t.Fatalf("rules fired %v, want %v", got, tc.want)
			}
			if tc.want != nil {
				for _, id := range watchedIDs {
					if !evidence[id] {
						t.Errorf("event %s is in no finding: dedup dropped it", id)
					}
				}
				t.Logf("%d rules fired; %d events in their evidence, all %d watched calls among them", len(got), len(evidence), len(watchedIDs))
			}
		})
	}
}

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }
