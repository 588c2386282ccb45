package e2e

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rotaudit/rotaudit/internal/fleet"
)

// fleetOfDeployment runs `rotaudit fleet`'s report on the deployment after its rotations
// and the audit phase, as an operator would: each deployed secret is listed with rotation
// on, the strategy Terraform gave it and a status that is not FAIL; then, with the
// auditor's state table, the app secret carries the RotationFailed the audit phase sent
// (RA-06, its dedup window still open) and the master secret stays clean.
func fleetOfDeployment(t *testing.T, cfg aws.Config, out outputs, stateTable string) {
	t.Helper()
	ctx := context.Background()
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("fleet: get caller identity: %v", err)
	}
	targets := []fleet.Target{{Account: aws.ToString(who.Account), Region: cfg.Region, SM: secretsmanager.NewFromConfig(cfg)}}
	// Every database's secrets (envs/local: three databases, two masters), each with the
	// strategy Terraform gave it; a master shared by two databases is listed once.
	type deployedSecret struct{ which, strategy string }
	deployed := map[string]deployedSecret{
		out.AppSecretARN:   {"app", out.RotationStrategies["app"]},
		out.AdminSecretARN: {"admin", out.RotationStrategies["admin"]},
	}
	for key, db := range out.Databases {
		secrets := map[string]string{"app": db.AppSecretARN, "admin": db.AdminSecretARN}
		for id, arn := range db.AppSecretARNs {
			secrets[id] = arn // further app users' secrets: app-<username>
		}
		for which, arn := range secrets {
			if strategy, rotated := db.RotationStrategies[which]; rotated && arn != "" {
				deployed[arn] = deployedSecret{key + " " + which, strategy}
			}
		}
	}
	if len(out.Databases) > 0 && len(deployed) < len(out.Databases)+1 {
		t.Errorf("fleet: %d databases deployed, only %d rotated secrets among them", len(out.Databases), len(deployed))
	}

	r, err := fleet.Collect(ctx, targets, fleet.Options{})
	if err != nil {
		t.Fatalf("fleet: %v", err)
	}
	var text bytes.Buffer
	if err := fleet.WriteText(&text, r); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("e2e: rotaudit fleet on the deployment:\n%s", text.String())
	rows := map[string]fleet.Row{}
	for _, s := range r.Secrets {
		rows[s.ARN] = s
	}
	for arn, d := range deployed {
		s, ok := rows[arn]
		switch {
		case !ok:
			t.Errorf("fleet: the %s secret %s is not listed", d.which, arn)
		case !s.RotationEnabled || s.Status == fleet.Fail || s.StalePending || s.Overdue:
			t.Errorf("fleet: the %s secret after its rotations: rotation %v, status %s %q", d.which, s.RotationEnabled, s.Status, s.Reasons)
		case s.Strategy != d.strategy:
			t.Errorf("fleet: the %s secret's strategy %q, Terraform gave it %q", d.which, s.Strategy, d.strategy)
		case s.NextDue == nil:
			t.Errorf("fleet: the %s secret has no next due date", d.which)
		case strings.HasSuffix(d.which, "app") && (s.Database == "" || s.Username == ""):
			// The app secrets are Terraform's (modules/secret-rotation tags them); envs/local's
			// masters are the stack's, made before Terraform, and carry no tags.
			t.Errorf("fleet: the %s secret shows database %q and user %q without reading its value (modules/secret-rotation tags it)", d.which, s.Database, s.Username)
		}
	}
	if r.Incomplete() || r.Logins.Read {
		t.Errorf("fleet: incomplete %v, logins %+v", r.Incomplete(), r.Logins)
	}

	if stateTable == "" {
		t.Error("fleet: envs/local gives no state_table_name")
		return
	}
	r, err = fleet.Collect(ctx, targets, fleet.Options{State: dynamodb.NewFromConfig(cfg), StateTable: stateTable})
	if err != nil {
		t.Fatalf("fleet with the state table: %v", err)
	}
	if !r.Logins.Read {
		t.Fatalf("fleet: state table %s not read: %s", stateTable, r.Logins.Error)
	}
	for _, s := range r.Secrets {
		failed := strings.Contains(strings.Join(s.Reasons, "\n"), "the auditor reported RotationFailed")
		if d, ok := deployed[s.ARN]; ok && failed != (s.ARN == out.AppSecretARN) {
			t.Errorf("fleet with the state table: the %s secret: status %s, reasons %q (the audit phase failed the rates app secret's rotation only)", d.which, s.Status, s.Reasons)
		}
	}
}
