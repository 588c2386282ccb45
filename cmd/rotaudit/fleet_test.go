package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rotaudit/rotaudit/internal/audit"
	"github.com/rotaudit/rotaudit/internal/audit/state"
	"github.com/rotaudit/rotaudit/internal/fleet"
	"github.com/rotaudit/rotaudit/internal/rotation/rotationtest"
	"github.com/rotaudit/rotaudit/internal/testenv"
	"github.com/rotaudit/rotaudit/internal/testkit/awsfixture"
)

// TestFleetFlags: every bad input is a usage error (exit 2) that names the flag, before
// any AWS call.
func TestFleetFlags(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // a flag that slipped through would fail here instead
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--format", "pdf"}, "--format \"pdf\""},
		{[]string{"--role-arn", "arn:aws:iam::123:role/x"}, "12-digit account"},
		{[]string{"--role-arn", "arn:aws:iam::123456789012:user/x"}, "role/<name>"},
		{[]string{"--role-arn", "arn:aws:iam::123456789012:role/x#mars-1"}, "not a region"},
		{[]string{"--regions", "us-east-1,,eu-west-1"}, "not a region"},
		{[]string{"--regions", "US-EAST-1"}, "not a region"},
		{[]string{"--state-table", "a b"}, "--state-table"},
		{[]string{"--state-table", "ab"}, "--state-table"},
		{[]string{"--name-prefix", "rotaudit/,"}, "--name-prefix"},
		{[]string{"--name-prefix", "bad prefix"}, "--name-prefix"},
		{[]string{"--now", "yesterday"}, "RFC 3339"},
		{[]string{"--grace", "-1h"}, "--grace"},
		{[]string{"--stale-pending", "0s"}, "--stale-pending"},
		{[]string{"--out", os.TempDir()}, "is a folder"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"--nope"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), append([]string{"fleet"}, tt.args...), &out, &errb)
			if exitCode(err) != 2 || !strings.Contains(errb.String(), tt.want) {
				t.Fatalf("exit %d (%v), stderr %q: want 2 and %q", exitCode(err), err, errb.String(), tt.want)
			}
		})
	}
	good, err := parseFleetFlags([]string{"--role-arn", "arn:aws:iam::111122223333:role/path/ops+audit#eu-west-1,us-east-2", "--regions", "us-east-1",
		"--name-prefix", "rotaudit/,platform/db", "--now", "2026-12-07T12:00:00Z"}, &bytes.Buffer{})
	if err != nil || len(good.roles) != 1 || good.roles[0].account != "111122223333" || strings.Join(good.roles[0].regions, ",") != "eu-west-1,us-east-2" ||
		strings.Join(good.prefixes, ",") != "rotaudit/,platform/db" || good.opts.Now.IsZero() {
		t.Fatalf("good flags: %+v %v", good, err)
	}
}

// fleetWorld is what TestFleetCommand makes on the emulator: managed secrets under a
// unique prefix (as the deployment names them, rotaudit/<env>/...), in the default account
// and in a second one reached through STS.
type fleetWorld struct {
	prefix, table, other string
	app, stuck, off      string // ARNs
	passwords            []string
}

// fleetSecretValue is a database secret's value for user.
func fleetSecretValue(user, pw string) string {
	body, _ := json.Marshal(map[string]any{"engine": "postgres", "host": "127.0.0.1", "port": 5432, "username": user, "password": pw, "dbname": "rates", "ssl": false})
	return string(body)
}

func createFleetSecret(t *testing.T, sm *secretsmanager.Client, name, user string, tags []smtypes.Tag) (string, string) {
	t.Helper()
	pw := testenv.Unique("pw")
	body := fleetSecretValue(user, pw)
	out, err := testenv.CreateSecret(context.Background(), sm, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(string(body)), Tags: tags})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	t.Cleanup(func() {
		sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: out.ARN, ForceDeleteWithoutRecovery: aws.Bool(true)})
	})
	return aws.ToString(out.ARN), pw
}

// startRotation configures rotation (30 days) through the placeholder function; the
// emulator opens a pending version that nothing finishes.
func startRotation(t *testing.T, sm *secretsmanager.Client, arn, lambdaARN string) string {
	t.Helper()
	out, err := sm.RotateSecret(context.Background(), &secretsmanager.RotateSecretInput{SecretId: aws.String(arn), RotationLambdaARN: aws.String(lambdaARN),
		RotationRules: &smtypes.RotationRulesType{AutomaticallyAfterDays: aws.Int64(30)}})
	if err != nil {
		t.Fatalf("rotate %s: %v", arn, err)
	}
	return aws.ToString(out.VersionId)
}

// finishRotation writes the pending version's value, as createSecret does, and moves
// AWSCURRENT to it, as finishSecret does.
func finishRotation(t *testing.T, sm *secretsmanager.Client, arn, pending, value string) {
	t.Helper()
	if _, err := sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn), ClientRequestToken: aws.String(pending),
		SecretString: aws.String(value), VersionStages: []string{"AWSPENDING"}}); err != nil {
		t.Fatalf("put the pending value: %v", err)
	}
	d, err := sm.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	for id, stages := range d.VersionIdsToStages {
		for _, s := range stages {
			if s == "AWSCURRENT" && id != pending {
				if _, err := sm.UpdateSecretVersionStage(context.Background(), &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(arn),
					VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: aws.String(pending), RemoveFromVersionId: aws.String(id)}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if _, err := sm.UpdateSecretVersionStage(context.Background(), &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(arn),
		VersionStage: aws.String("AWSPENDING"), RemoveFromVersionId: aws.String(pending)}); err != nil {
		t.Fatal(err)
	}
}

// fleetRun runs `rotaudit fleet args...` and returns its exit status and output.
func fleetRun(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), append([]string{"fleet"}, args...), &out, &errb)
	return exitCode(err), out.String() + errb.String()
}

func TestFleetCommand(t *testing.T) {
	env := testenv.Stack(t)
	ctx := context.Background()
	cfg := env.AWS(t)
	sm := secretsmanager.NewFromConfig(cfg)
	w := fleetWorld{prefix: "rotaudit/" + testenv.Unique("fleet") + "/"}
	lambdaARN := rotationtest.PlaceholderLambda(t, env)

	// app: rotated, on schedule; its value names the user of an alternating pair.
	var pw string
	w.app, pw = createFleetSecret(t, sm, w.prefix+"app", "fleet_app", []smtypes.Tag{{Key: aws.String(fleet.TagDatabase), Value: aws.String("db.example:5432/rates")}})
	w.passwords = append(w.passwords, pw)
	pw = testenv.Unique("pw")
	w.passwords = append(w.passwords, pw)
	finishRotation(t, sm, w.app, startRotation(t, sm, w.app, lambdaARN), fleetSecretValue("fleet_app", pw))
	// stuck: a rotation left half-way (AWSPENDING on a version that is not current).
	w.stuck, pw = createFleetSecret(t, sm, w.prefix+"stuck", "fleet_stuck", nil)
	w.passwords = append(w.passwords, pw)
	startRotation(t, sm, w.stuck, lambdaARN)
	// off: managed, but rotation was never turned on.
	w.off, pw = createFleetSecret(t, sm, w.prefix+"off", "fleet_off", nil)
	w.passwords = append(w.passwords, pw)
	// Not managed: another prefix.
	_, pw = createFleetSecret(t, sm, "other/"+testenv.Unique("fleet"), "x", nil)
	w.passwords = append(w.passwords, pw)

	// The auditor's state: the rotation an hour ago retired fleet_app, which logged in
	// again 30 minutes ago (audit.PreviousUserKeyPrefix and LastLoginKey's formats).
	ddb := dynamodb.NewFromConfig(cfg)
	w.table = awsfixture.StateTable(t, context.Background(), ddb, "fleet_state")
	store := state.NewDynamo(ddb, w.table)
	real := time.Now().UTC()
	rotated := real.Add(-time.Hour)
	if _, _, err := store.Swap(ctx, audit.PreviousUserKeyPrefix+"fleet_app|fleet_app_clone", fmt.Sprintf("fleet_app|%d", rotated.Unix()), rotated, real.Add(90*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.Swap(ctx, audit.LastLoginKey("fleet_app"), fmt.Sprint(real.Add(-30*time.Minute).Unix()), real, real.Add(90*24*time.Hour)); err != nil {
		t.Fatal(err)
	}

	// Two hours on: the pending version is stale.
	later := real.Add(2 * time.Hour).Format(time.RFC3339)
	base := []string{"--name-prefix", w.prefix, "--now", later, "--regions", cfg.Region}

	t.Run("text without the state table", func(t *testing.T) {
		code, out := fleetRun(t, base...)
		if code != 1 {
			t.Fatalf("exit %d, want 1 (stale pending, rotation off):\n%s", code, out)
		}
		for _, want := range []string{
			w.prefix + "app", "db.example:5432/rates", "FAIL " + w.prefix + "stuck: version", "has held AWSPENDING for 2h",
			"FAIL " + w.prefix + "off: rotation is off", "logins: not given", "verdict: 3 secrets in 1 account/region(s): 1 ok, 0 warn, 2 FAIL; needs a person",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "other/") {
			t.Errorf("a secret outside the prefix is listed:\n%s", out)
		}
	})

	t.Run("json with the state table and values", func(t *testing.T) {
		code, out := fleetRun(t, append(base, "--format", "json", "--read-values", "--state-table", w.table, "--stale-after", "20m")...)
		if code != 1 {
			t.Fatalf("exit %d, want 1:\n%s", code, out)
		}
		for _, p := range w.passwords {
			if strings.Contains(out, p) {
				t.Fatal("the report shows a password")
			}
		}
		var r fleet.Report
		if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &r); err != nil {
			t.Fatalf("json: %v\n%s", err, out)
		}
		rows := map[string]fleet.Row{}
		for _, s := range r.Secrets {
			rows[s.ARN] = s
		}
		app, stuck, off := rows[w.app], rows[w.stuck], rows[w.off]
		if len(r.Secrets) != 3 || !r.Logins.Read {
			t.Fatalf("%d secrets, logins %+v", len(r.Secrets), r.Logins)
		}
		if !app.RotationEnabled || app.LastRotated == nil || app.Username != "fleet_app" || app.Database != "db.example:5432/rates" ||
			!app.PreviousUserLoggingIn || app.Status != fleet.Fail || app.IntervalDays != 30 {
			t.Errorf("app: %+v", app)
		}
		if !stuck.StalePending || stuck.Status != fleet.Fail || stuck.Database != "127.0.0.1:5432/rates" {
			t.Errorf("stuck: %+v", stuck)
		}
		if off.RotationEnabled || off.Status != fleet.Fail {
			t.Errorf("off: %+v", off)
		}
	})

	t.Run("healthy only, as html", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "fleet.html")
		code, out := fleetRun(t, "--name-prefix", w.prefix+"app", "--now", later, "--format", "html", "--out", file)
		if code != 0 {
			t.Fatalf("exit %d, want 0:\n%s", code, out)
		}
		page, err := os.ReadFile(file)
		if err != nil || strings.Count(string(page), `<tr class="secret status-ok"`) != 1 {
			t.Fatalf("page: %v\n%s", err, page)
		}
	})

	t.Run("unreadable state table", func(t *testing.T) {
		code, out := fleetRun(t, append(base, "--state-table", "no_such_table_"+strings.ToLower(testenv.Unique("x")))...)
		if code != 2 || !strings.Contains(out, "ERROR reading it") || !strings.Contains(out, "INCOMPLETE") {
			t.Fatalf("exit %d, want 2:\n%s", code, out)
		}
	})

	t.Run("a second account through STS", func(t *testing.T) {
		const other = "210987654321"
		role := "arn:aws:iam::" + other + ":role/" + testenv.Unique("fleet-reader")
		oc := cfg.Copy()
		oc.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), role))
		osm := secretsmanager.NewFromConfig(oc)
		arn, _ := createFleetSecret(t, osm, w.prefix+"member/app", "member_app", nil)
		if !strings.Contains(arn, ":"+other+":") {
			t.Skipf("the emulator put the assumed role's secret in another account (%s): it does not keep accounts apart by STS credentials", arn)
		}
		code, out := fleetRun(t, "--name-prefix", w.prefix, "--now", later, "--role-arn", role, "--format", "json")
		var r fleet.Report
		if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &r); err != nil || code != 1 {
			t.Fatalf("exit %d, json %v:\n%s", code, err, out)
		}
		accounts := map[string]int{}
		for _, s := range r.Secrets {
			accounts[s.Account]++
			if s.Account == other && s.ARN != arn {
				t.Errorf("account %s lists %s", other, s.ARN)
			}
		}
		// The default account is the emulator's (moto 123456789012, LocalStack 000000000000).
		if accounts[other] != 1 || len(accounts) != 2 || len(r.Secrets) != 4 || len(r.Targets) != 2 {
			t.Fatalf("secrets by account %v, targets %+v", accounts, r.Targets)
		}
	})
}
