package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotaudit/rotaudit/internal/bootstrap"
	"github.com/rotaudit/rotaudit/internal/bootstrap/bootstraptest"
	"github.com/rotaudit/rotaudit/internal/rotation/rotationtest"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// buildBootstrap builds this function as Lambda's provided.al2023 runtime runs it.
func buildBootstrap(t *testing.T) string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, "./functions/dbbootstrap")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build bootstrap: %v\n%s", err, out)
	}
	return bin
}

// invoke posts payload to the emulator's Invoke endpoint and returns the body.
func invoke(t *testing.T, url, payload string) []byte {
	t.Helper()
	c := &http.Client{Timeout: time.Minute}
	resp, err := c.Post(url, "application/json", strings.NewReader(payload))
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBootstrapUnderRIE runs the built Lambda under AWS's runtime interface emulator
// against the real stack, as Terraform invokes it on a first deployment: an RDS-managed
// master secret (only username and password), an app secret without a password.
func TestBootstrapUnderRIE(t *testing.T) {
	f := bootstraptest.New(t, bootstraptest.Options{RDSManagedMaster: true})
	rie := rotationtest.RIE(t)
	bin := buildBootstrap(t)

	t.Run("bad configuration", func(t *testing.T) {
		e := rotationtest.StartRIE(t, rie, bin, bootstrap.EnvMasterSecretARN+"="+f.MasterSecretARN, bootstrap.EnvAppSecretARNs+"="+f.AppSecretARN)
		body := invoke(t, e.URL, "{}")
		want := bootstrap.EnvAppUsername + " is required"
		if !strings.Contains(string(body), want) && !e.Out.WaitFor(want, 10*time.Second) {
			t.Fatalf("missing APP_USERNAME: answer %s\noutput:\n%s", body, e.Out.String())
		}
	})

	e := rotationtest.StartRIE(t, rie, bin, f.LambdaEnv()...)
	var res bootstrap.Result
	body := invoke(t, e.URL, `{"trigger":"terraform"}`)
	if err := json.Unmarshal(body, &res); err != nil || len(res.Apps) != 1 {
		t.Fatalf("first invocation: %s (%v)\noutput:\n%s", body, err, e.Out.String())
	}
	if !res.Changed || !res.Apps[0].PasswordSet || res.Apps[0].Username != f.App || len(res.Migrated) == 0 {
		t.Fatalf("first invocation: %s", body)
	}
	app := testenv.CurrentSecret(t, f.SM, f.AppSecretARN)
	conn, err := testenv.Connect(app)
	if err != nil {
		t.Fatalf("the app secret does not log in after the bootstrap: %v", err)
	}
	var n int
	err = conn.QueryRow(context.Background(), "SELECT count(*) FROM prices").Scan(&n)
	conn.Close(context.Background())
	if err != nil {
		t.Fatalf("the app cannot read prices: %v", err)
	}

	version := f.CurrentVersion(t, f.AppSecretARN)
	res = bootstrap.Result{}
	body = invoke(t, e.URL, "{}")
	if err := json.Unmarshal(body, &res); err != nil || res.Changed || f.CurrentVersion(t, f.AppSecretARN) != version {
		t.Fatalf("second invocation changed something: %s (%v)", body, err)
	}
	if body := invoke(t, e.URL, `"not an object"`); !strings.Contains(string(body), "JSON object") {
		t.Fatalf("a non-object event: %s", body)
	}

	// The output pipe is copied by another goroutine: wait for the lines, then read it all.
	for _, want := range []string{`"message":"bootstrap done"`, `"requestId":`, `"rds_managed_master":true`} {
		if !e.Out.WaitFor(want, 5*time.Second) {
			t.Errorf("function output lacks %s:\n%s", want, e.Out.String())
		}
	}
	out := e.Out.String()
	if strings.Contains(out, app.Password) || strings.Contains(out, f.MasterPassword) {
		t.Fatal("the function's output contains a password")
	}
}
