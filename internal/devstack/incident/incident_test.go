package incident

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotaudit/rotaudit/internal/testenv"
)

// TestIncidentOnEmulator runs the demo's incident and checks it shows the three alerts it
// promises, and not the routine read.
func TestIncidentOnEmulator(t *testing.T) {
	env := testenv.Stack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out bytes.Buffer
	opt := Options{PatternDir: filepath.Join(env.Root, "modules", "audit-alerts", "patterns"), Out: &out}
	want := []string{"HIGH     RA-01", "HIGH     RA-07", "HIGH     RA-06", "6 of 6 events matched", "3 alerts and 1 update", "UPDATE   RA-01"}
	if env.ServerLog != "" {
		opt.Postgres = &Postgres{SuperDSN: env.SuperDSN, Port: env.PGPort, ServerLog: env.ServerLog}
		want = append(want[:4], "4 alerts and 1 update", "UPDATE   RA-01", "HIGH     DB-01", "refused")
	}
	err := Run(ctx, env.AWS(t), opt)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range want {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "rotaudit-local-api-task for") || strings.Count(s, "HIGH     RA-01") != 1 {
		t.Errorf("routine read alerted or the repeated read was not deduplicated:\n%s", s)
	}
}
