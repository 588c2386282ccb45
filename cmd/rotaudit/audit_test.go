package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReplayMergesSources: audit replay meets CloudTrail and PostgreSQL events in event
// time order, as the Lambda does, whatever order its inputs are named in.
func TestReplayMergesSources(t *testing.T) {
	dir := filepath.Join("testdata", "replay")
	for _, tc := range []struct {
		name, trail, pglog string
		want               []string
	}{
		// Two rotations 10 s apart: the failed login between them used the password the
		// first one retired.
		{"old password between two rotations", "two-rotations.json", "old-password-between.log", []string{"DB-01"}},
		// The clients used rates_app until the rotation; one still does the next day.
		{"previous user still used the next day", "one-rotation.json", "previous-user-next-day.log", []string{"DB-06"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), []string{"audit", "replay", "-config", filepath.Join(dir, "config.json"),
				"-pglog", filepath.Join(dir, tc.pglog), filepath.Join(dir, tc.trail)}, &out, &errb)
			if err != nil {
				t.Fatalf("replay: %v\n%s", err, errb.String())
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				if line == "" {
					continue
				}
				var f struct {
					FindingInfo struct {
						Analytic struct {
							UID string `json:"uid"`
						} `json:"analytic"`
						Title string `json:"title"`
					} `json:"finding_info"`
				}
				if err := json.Unmarshal([]byte(line), &f); err != nil {
					t.Fatalf("finding %q: %v", line, err)
				}
				t.Logf("%s: %s", f.FindingInfo.Analytic.UID, f.FindingInfo.Title)
				got = append(got, f.FindingInfo.Analytic.UID)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("findings %v, want %v", got, tc.want)
			}
		})
	}
}
