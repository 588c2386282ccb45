package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/rotation/driver"
	"github.com/rotaudit/rotaudit/internal/rotation/rotationtest"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// TestBootstrapUnderRIE runs the built bootstrap under the Lambda runtime emulator and
// rotates a secret end to end from real invocation events, for both strategies.
func TestBootstrapUnderRIE(t *testing.T) {
	testenv.Stack(t)
	rie := rotationtest.RIE(t)
	bootstrap := rotationtest.BuildBootstrap(t)
	for _, strategy := range []string{"single-user", "alternating-users"} {
		t.Run(strategy, func(t *testing.T) {
			f := rotationtest.New(t, rotationtest.Options{})
			e := rotationtest.StartRIE(t, rie, bootstrap, "ROTATION_STRATEGY="+strategy, "MASTER_SECRET_ARNS="+f.MasterARN, "AWS_LAMBDA_LOG_FORMAT=JSON")
			inv := driver.Endpoint{URL: e.URL, Client: &http.Client{Timeout: time.Minute}}
			ctx := context.Background()

			// A malformed event is a function error, not a crash.
			if err := inv.Handle(ctx, rotation.Event{Step: "dropSecret", SecretID: f.SecretARN, ClientRequestToken: driver.NewToken()}); err == nil || !strings.Contains(err.Error(), "Step") {
				t.Fatalf("bad step: err = %v", err)
			}
			for round := 0; round < 2; round++ {
				old := f.CurrentVersion(t)
				token := f.StartRotation(t)
				if err := driver.Run(ctx, inv, f.SecretARN, token, nil); err != nil {
					t.Fatalf("rotation %d through the emulator: %v\nemulator output:\n%s", round+1, err, e.Out.String())
				}
				f.CheckFinished(t, token, old)
			}
			cur := f.Get(t, "", "AWSCURRENT")
			if !rotationtest.LogsIn(cur) {
				t.Fatal("AWSCURRENT does not log in after rotations through the emulator")
			}
			// The output pipe is copied by another goroutine: wait for the lines, then read it all.
			for _, want := range []string{`"step":"finishSecret"`, `"outcome":"done"`, `"requestId":`, `"CloudWatchMetrics"`} {
				if !e.Out.WaitFor(want, 5*time.Second) {
					t.Errorf("function output lacks %s:\n%s", want, e.Out.String())
				}
			}
			out := e.Out.String()
			if strings.Contains(out, cur.Password) || strings.Contains(out, f.UserPassword) {
				t.Fatal("the function's output contains a password")
			}
		})
	}
}
