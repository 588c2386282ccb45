package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotaudit/rotaudit/internal/bootstrap"
	"github.com/rotaudit/rotaudit/internal/bootstrap/bootstraptest"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

func TestDBUsage(t *testing.T) {
	for _, args := range [][]string{{"db"}, {"db", "drop"}} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, &out, &errOut); !errors.Is(err, errUsage) || !strings.Contains(errOut.String(), "rotaudit db setup") {
			t.Errorf("%v: %v, stderr %q", args, err, errOut.String())
		}
	}
}

func TestDBShowRedacts(t *testing.T) {
	env := testenv.Stack(t)
	sm := secretsmanager.NewFromConfig(env.AWS(t))
	id := testenv.Unique("rotaudit/test/dbshow")
	const pw = "show-me-NOT-pw"
	if _, err := testenv.CreateSecret(context.Background(), sm, &secretsmanager.CreateSecretInput{Name: aws.String(id),
		SecretString: aws.String(`{"engine":"postgres","host":"h","port":5432,"username":"u","password":"` + pw + `","dbname":"d"}`)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: aws.String(id), ForceDeleteWithoutRecovery: aws.Bool(true)})
	})
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"db", "show", id}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "username=u") || !strings.Contains(out.String(), "password=REDACTED") || strings.Contains(out.String(), pw) {
		t.Fatalf("output: %s", out.String())
	}
	if err := run(context.Background(), []string{"db", "show", id + "-missing"}, &out, &errOut); err == nil {
		t.Fatal("showed a secret that does not exist")
	}
}

// TestDBSetupWithMasterSecret runs the first deployment's bootstrap through the CLI on the
// real stack: a CREATEROLE non-superuser master, an app secret as Terraform writes it.
func TestDBSetupWithMasterSecret(t *testing.T) {
	f := bootstraptest.New(t, bootstraptest.Options{})
	args := []string{"db", "setup", "--master-secret", f.MasterSecretARN, "--app-secret", f.AppSecretARN,
		"--app-username", f.App, "--database", f.Database, "--reader-role", f.Reader}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, errOut.String())
	}
	app := testenv.CurrentSecret(t, f.SM, f.AppSecretARN)
	if !strings.Contains(out.String(), "new password set") || app.Password == "" || strings.Contains(out.String()+errOut.String(), app.Password) {
		t.Fatalf("first run: stdout %q", out.String())
	}
	out.Reset()
	if err := run(context.Background(), args, &out, &errOut); err != nil || !strings.Contains(out.String(), "nothing changed") {
		t.Fatalf("second run: %v, stdout %q", err, out.String())
	}
	// Another APP_USERNAME than the secret's user: refused.
	bad := append(append([]string(nil), args[:6]...), "--app-username", "someone_else", "--database", f.Database, "--reader-role", f.Reader)
	if err := run(context.Background(), bad, &out, &errOut); !errors.Is(err, bootstrap.ErrRefused) {
		t.Fatalf("secret user %s with --app-username someone_else: %v", f.App, err)
	}
	if err := run(context.Background(), []string{"db", "setup", "--master-secret", f.MasterSecretARN}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "--app-secret") {
		t.Fatalf("without --app-secret: %v", err)
	}
}

// TestDBSetupTwoAppUsers: --app-username lists a database's app users, comma-separated, as
// APP_USERNAME does (issue 21); each app secret gets its own user's first password.
func TestDBSetupTwoAppUsers(t *testing.T) {
	f := bootstraptest.New(t, bootstraptest.Options{MoreApps: 1})
	args := []string{"db", "setup", "--master-secret", f.MasterSecretARN, "--app-secret", f.AppSecretARN + "," + f.MoreAppSecretARNs[0],
		"--app-username", f.App + "," + f.MoreApps[0], "--database", f.Database, "--reader-role", f.Reader}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, errOut.String())
	}
	first, second := testenv.CurrentSecret(t, f.SM, f.AppSecretARN), testenv.CurrentSecret(t, f.SM, f.MoreAppSecretARNs[0])
	if first.Password == "" || second.Password == "" || second.Username != f.MoreApps[0] {
		t.Fatalf("after setup: first user %s has a password %v, second %s has one %v", first.Username, first.Password != "", second.Username, second.Password != "")
	}
	testenv.Login(t, second)
}
