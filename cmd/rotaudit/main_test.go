package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// TestHelpExitsZero checks that asking any command for help is a success (run returns nil,
// so main exits 0) and prints that command's usage, without doing anything else: no
// command may read "--help" as a secret id or a path and go to AWS with it.
func TestHelpExitsZero(t *testing.T) {
	for _, cmd := range [][]string{
		{}, {"db"}, {"db", "setup"}, {"db", "setup", "--master-secret", "x"}, {"db", "show"},
		{"audit"}, {"audit", "replay"}, {"audit", "incident"},
		{"rotate"}, {"doctor"}, {"fleet"}, {"fleet", "--format", "html"},
	} {
		for _, h := range []string{"-h", "--help"} {
			args := append(append([]string{}, cmd...), h)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // a command that ignored -h would fail here
				var out, errOut bytes.Buffer
				if err := run(context.Background(), args, &out, &errOut); err != nil {
					t.Fatalf("err = %v, want nil (exit 0); stderr %q", err, errOut.String())
				}
				if usage := out.String() + errOut.String(); !strings.Contains(strings.ToLower(usage), "usage") {
					t.Fatalf("no usage printed: %q", usage)
				}
			})
		}
	}
}

// TestMisuseStillFails keeps the other side: a wrong flag or command is still an error.
func TestMisuseStillFails(t *testing.T) {
	for _, args := range [][]string{{"nope", "--help"}, {"rotate", "--bogus"}, {"audit", "nope"}, {"audit", "nope", "--help"}, {"db", "nope", "--help"}, {"audit", "corpus"}, {"rotate", "--", "--help"}} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, &out, &errOut); !errors.Is(err, errUsage) {
			t.Errorf("%v: err = %v, want errUsage (exit 2)", args, err)
		}
	}
}
