package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestBackfillFlags: every bad input is refused before any AWS call, with a message that
// names the flag.
func TestBackfillFlags(t *testing.T) {
	t.Setenv("STATE_TABLE", "")
	queue := "https://sqs.us-east-1.amazonaws.com/111122223333/rotaudit-audit-backfill.fifo"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no bucket", []string{"-queue", queue, "-table", "t"}, "-bucket"},
		{"standard queue", []string{"-bucket", "org-trail", "-queue", strings.TrimSuffix(queue, ".fifo"), "-table", "t"}, "FIFO"},
		{"bad day", []string{"-bucket", "org-trail", "-queue", queue, "-table", "t", "-from", "2026-13-01"}, "-from"},
		{"days reversed", []string{"-bucket", "org-trail", "-queue", queue, "-table", "t", "-from", "2026-02-01", "-to", "2026-01-01"}, "before -from"},
		{"no table", []string{"-bucket", "org-trail", "-queue", queue}, "STATE_TABLE"},
		{"argument", []string{"-bucket", "org-trail", "-queue", queue, "-table", "t", "s3://org-trail"}, "usage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), append([]string{"audit", "backfill"}, tc.args...), &out, &errb)
			if err == nil || !strings.Contains(err.Error()+errb.String(), tc.want) {
				t.Fatalf("want an error naming %q, got %v\n%s", tc.want, err, errb.String())
			}
		})
	}
}
