package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rotaudit/rotaudit/internal/rotation/rotationtest"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

func TestRotateCommand(t *testing.T) {
	testenv.Integration(t) // every subtest needs the stack
	for _, strategy := range []string{"single-user", "alternating-users"} {
		t.Run(strategy, func(t *testing.T) {
			f := rotationtest.New(t, rotationtest.Options{})
			var out, errb bytes.Buffer
			err := run(context.Background(), []string{"rotate", "--secret-id", f.SecretARN, "--strategy", strategy, "--master-secret", f.MasterARN, "--allow-disabled", "--count", "2"}, &out, &errb)
			if err != nil {
				t.Fatalf("rotate: %v\n%s%s", err, out.String(), errb.String())
			}
			if n := strings.Count(out.String(), " ok "); n != 8 {
				t.Fatalf("want 8 steps ok, got %d:\n%s", n, out.String())
			}
			cur := f.Get(t, "", "AWSCURRENT")
			if !rotationtest.LogsIn(cur) || cur.Password == f.UserPassword {
				t.Fatal("after rotate, AWSCURRENT is not a new working password")
			}
			if strings.Contains(out.String(), cur.Password) {
				t.Fatal("rotate printed the password")
			}
		})
	}
}

func TestRotateCommandRefusesDisabledRotation(t *testing.T) {
	f := rotationtest.New(t, rotationtest.Options{})
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"rotate", "--secret-id", f.SecretARN}, &out, &errb)
	if err == nil || !strings.Contains(out.String(), "rotation is not enabled") || !strings.Contains(out.String(), "run the same command again") {
		t.Fatalf("err = %v, output:\n%s", err, out.String())
	}
	// The pending version stays, and a second run resumes it.
	err = run(context.Background(), []string{"rotate", "--secret-id", f.SecretARN, "--allow-disabled"}, &out, &errb)
	if err != nil || !strings.Contains(out.String(), "resuming version") {
		t.Fatalf("resume: %v\n%s", err, out.String())
	}
}

func TestRotateCommandUsage(t *testing.T) {
	for _, args := range [][]string{{"rotate"}, {"rotate", "--secret-id", "x", "--count", "0"}, {"doctor"}, {"rotate", "--nope"}} {
		var out, errb bytes.Buffer
		if err := run(context.Background(), args, &out, &errb); err != errUsage {
			t.Errorf("%v: err = %v, want usage", args, err)
		}
	}
}

func TestDoctorCommand(t *testing.T) {
	testenv.Integration(t) // every subtest needs the stack
	tests := []struct {
		name, strategy string
		breakIt        string
		want           []string
	}{
		{"single user healthy", "single-user", "", []string{"ok    database login", "would succeed"}},
		{"alternating healthy", "alternating-users", "", []string{"ok    master privileges", "ok    clone name", "would succeed"}},
		{"master without CREATEROLE", "alternating-users", "NOCREATEROLE", []string{"FAIL  master privileges", "lacks CREATEROLE", "would FAIL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := rotationtest.New(t, rotationtest.Options{})
			if tt.breakIt != "" {
				c := f.Env.Super(t, "")
				if _, err := c.Exec(context.Background(), "ALTER ROLE \""+f.Master+"\" "+tt.breakIt); err != nil {
					t.Fatal(err)
				}
			}
			before := f.Stages(t)
			var out, errb bytes.Buffer
			err := run(context.Background(), []string{"doctor", "--secret-id", f.SecretARN, "--strategy", tt.strategy, "--master-secret", f.MasterARN}, &out, &errb)
			if (err != nil) != (tt.breakIt != "") {
				t.Fatalf("err = %v\n%s", err, out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if len(f.Stages(t)) != len(before) {
				t.Fatal("doctor changed the secret's versions")
			}
		})
	}
}

func TestRotateCommandUnderLoad(t *testing.T) {
	testenv.Integration(t) // every subtest needs the stack
	tests := []struct {
		name    string
		status  int
		wantErr bool
	}{
		{"healthy service", http.StatusOK, false},
		{"failing service", http.StatusServiceUnavailable, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(tt.status) }))
			defer srv.Close()
			f := rotationtest.New(t, rotationtest.Options{})
			var out, errb bytes.Buffer
			err := run(context.Background(), []string{"rotate", "--secret-id", f.SecretARN, "--master-secret", f.MasterARN, "--allow-disabled", "--count", "2",
				"--strategy", "alternating-users,single-user", "--load-url", srv.URL + "/a," + srv.URL + "/b", "--load-concurrency", "2"}, &out, &errb)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), "during 2 rotations") || !strings.Contains(out.String(), "(single-user, in-process)") {
				t.Fatalf("output:\n%s", out.String())
			}
			if tt.wantErr == strings.Contains(out.String(), ", 0 failed") {
				t.Fatalf("failure count wrong:\n%s", out.String())
			}
		})
	}
}

// TestRotateThroughInvokeURL drives the steps through the built bootstrap running under
// the Lambda runtime emulator, as `rotaudit rotate --invoke-url` does against a Lambda.
func TestRotateThroughInvokeURL(t *testing.T) {
	f := rotationtest.New(t, rotationtest.Options{})
	f.StartRotation(t) // enables rotation; the pending version it makes is resumed below
	e := rotationtest.StartRIE(t, rotationtest.RIE(t), rotationtest.BuildBootstrap(t), "ROTATION_STRATEGY=alternating-users", "MASTER_SECRET_ARNS="+f.MasterARN)
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"rotate", "--secret-id", f.SecretARN, "--invoke-url", e.URL, "--count", "2", "--strategy", "alternating-users"}, &out, &errb)
	if err != nil {
		t.Fatalf("rotate --invoke-url: %v\n%s\nfunction output:\n%s", err, out.String(), e.Out.String())
	}
	if !strings.Contains(out.String(), "resuming version") || strings.Count(out.String(), "is AWSCURRENT") != 2 {
		t.Fatalf("output:\n%s", out.String())
	}
	if cur := f.Get(t, "", "AWSCURRENT"); !rotationtest.LogsIn(cur) || cur.Username != f.User {
		t.Fatalf("after two alternating rotations AWSCURRENT is %s and must log in", cur.Username)
	}
}
