package audit

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
	"github.com/rotaudit/rotaudit/internal/audit/state"
)

// EnvInvictusDataset names a checkout of the public invictus-ir/aws_dataset (Stratus Red
// Team detonations and their Terraform set-up in one account); it is never committed.
const EnvInvictusDataset = "ROTAUDIT_INVICTUS_DATASET"

// invictusConfig is chosen from the dataset's own principals: the user who ran Terraform
// (and Stratus) is the deployer, the secrets Stratus creates are the watched ones.
const invictusConfig = `{
  "watched_secrets": [{"name_prefix": "stratus-red-team-"}],
  "deployers": ["arn:aws:iam::123837392027:user/bert-jan"],
  "learning_period": "0s"
}`

// TestInvictusDataset replays the dataset: every in-scope Stratus technique in it is
// caught, and the Terraform set-up and teardown around them (1,938 records) gives at most
// five findings.
func TestInvictusDataset(t *testing.T) {
	dir := os.Getenv(EnvInvictusDataset)
	if dir == "" {
		t.Skipf("%s is not set: point it at a checkout of github.com/invictus-ir/aws_dataset to replay it", EnvInvictusDataset)
	}
	if _, err := os.Stat(filepath.Join(dir, "CloudTrail")); err == nil {
		dir = filepath.Join(dir, "CloudTrail")
	}
	cfg, err := ParseConfig([]byte(invictusConfig))
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine(cfg, state.NewMemory())
	ctx := context.Background()
	var findings []Finding
	records := 0
	err = EachLogFile(ctx, nil, []string{dir}, func(name string, r io.Reader) error {
		n, err := cloudtrail.Stream(r, func(rec *cloudtrail.Record) error {
			fs, err := e.Evaluate(ctx, rec)
			for _, f := range fs {
				if !f.IsUpdate() {
					findings = append(findings, f)
				}
			}
			return err
		}, func(bad error) { t.Errorf("%s: %v", name, bad) })
		records += n
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	terraform := 0
	for _, f := range findings {
		if terraformAgent(f.Actor.AppName) {
			terraform++
			t.Logf("on Terraform traffic: %s %s: %s", f.FindingInfo.Analytic.UID, f.Severity, f.FindingInfo.Title)
		}
	}
	t.Logf("%d records, %d findings, %d of them on Terraform traffic", records, len(findings), terraform)
	if terraform > 5 {
		t.Errorf("%d findings on the Terraform set-up, want at most 5", terraform)
	}
	for _, tc := range []struct{ technique, rule, title string }{
		{"credential-access.secretsmanager-retrieve-secrets", "RA-01", "stratus-red-team-retrieve-secret-0 read by"},
		{"credential-access.secretsmanager-retrieve-secrets", "RA-03", "distinct secrets"},
		{"defense-evasion.cloudtrail-stop", "RA-07", "StopLogging"},
		{"defense-evasion.cloudtrail-delete", "RA-07", "DeleteTrail"},
		{"defense-evasion.cloudtrail-event-selectors", "RA-07", "PutEventSelectors"},
		{"defense-evasion.cloudtrail-lifecycle-rule", "RA-07", "PutBucketLifecycle"},
		{"exfiltration.rds-share-snapshot", "RA-09", "ModifyDBSnapshotAttribute"},
		{"persistence.iam-backdoor-role", "RA-11", "UpdateAssumeRolePolicy"},
		{"persistence.iam-backdoor-user", "RA-14", "access key for user stratus-red-team-backd"},
		{"persistence.iam-create-admin-user", "RA-14", "access key for user malicious-iam-user"},
		{"persistence.iam-create-user-login-profile", "RA-14", "console password"},
		{"persistence.rolesanywhere-create-trust-anchor", "RA-16", "CreateTrustAnchor"},
	} {
		found := false
		for _, f := range findings {
			found = found || f.FindingInfo.Analytic.UID == tc.rule && strings.Contains(f.FindingInfo.Title, tc.title) && !terraformAgent(f.Actor.AppName)
		}
		if !found {
			t.Errorf("%s: no %s finding titled ...%s...", tc.technique, tc.rule, tc.title)
		}
	}
}
