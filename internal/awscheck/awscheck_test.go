package awscheck

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the access matrix in docs/aws-access.md")

// Environments are checked in this order, each from AWSCHECK_STATES/<env>.json: the four
// roots, and org, the organization modules across three accounts (internal/awscheck/tf/org).
var Environments = []string{"local", "dev", "stage", "prod", "org"}

const (
	docPath     = "../../docs/aws-access.md"
	beginMarker = "<!-- BEGIN aws-check matrix (make aws-check -update writes it; a test keeps it equal) -->"
	endMarker   = "<!-- END aws-check matrix -->"
)

// loadEnvs reads the applied states scripts/aws-check.sh wrote; without them the check
// cannot run (it is skipped in plain `go test`, never in make aws-check, which sets them).
func loadEnvs(t *testing.T) (map[string]*Env, Evaluator) {
	t.Helper()
	dir := os.Getenv("AWSCHECK_STATES")
	if dir == "" {
		t.Skip("AWSCHECK_STATES is not set: run make aws-check (it applies every environment to a fresh emulator)")
	}
	envs := map[string]*Env{}
	for _, name := range Environments {
		rs, err := LoadState(filepath.Join(dir, name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		e, err := NewEnv(name, rs)
		if err != nil {
			t.Fatal(err)
		}
		envs[name] = e
	}
	evDir := os.Getenv("AWSCHECK_EVALUATOR")
	if evDir == "" {
		evDir = "evaluator"
	}
	return envs, Evaluator{Dir: evDir}
}

// TestAWSCheck: every call of every environment is allowed and has a network path, the
// access rules hold, and docs/aws-access.md shows the matrix the check computed.
func TestAWSCheck(t *testing.T) {
	envs, ev := loadEnvs(t)
	ctx := context.Background()
	var tables []string
	for _, name := range Environments {
		e := envs[name]
		findings, m, err := Check(ctx, ev, e)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d calls evaluated, %d findings; skipped: %v", name, len(e.Calls()), len(findings), e.Skipped)
		for _, f := range findings {
			t.Errorf("%s", f)
		}
		tables = append(tables, m.Markdown())
	}
	want := strings.Join(tables, "\n")
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := between(string(doc))
	if *update {
		i := strings.Index(string(doc), beginMarker)
		j := strings.Index(string(doc), endMarker)
		if i < 0 || j < i {
			t.Fatalf("%s: markers missing", docPath)
		}
		out := string(doc[:i+len(beginMarker)]) + "\n" + want + string(doc[j:])
		if err := os.WriteFile(docPath, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !ok || strings.TrimSpace(got) != strings.TrimSpace(want) {
		t.Errorf("docs/aws-access.md's access matrix is not the check's: run `make aws-check AWSCHECK_UPDATE=1`. The check says:\n%s", want)
	}
}

func between(doc string) (string, bool) {
	i := strings.Index(doc, beginMarker)
	j := strings.Index(doc, endMarker)
	if i < 0 || j < i {
		return "", false
	}
	return doc[i+len(beginMarker) : j], true
}

// TestAWSCheckMoreAppUser (issue 21; named to run in make aws-check): envs/local's ratesb has a second app user,
// rates_b_report, rotated single-user while its first user alternates. Its secret is
// written by its database's bootstrap and the single-user rotator that rotates it, and
// nobody holds more on it than on ratesb's first app secret, save that rotator, which
// rotates the one and not the other.
func TestAWSCheckMoreAppUser(t *testing.T) {
	envs, ev := loadEnvs(t)
	_, m, err := Check(context.Background(), ev, envs["local"])
	if err != nil {
		t.Fatal(err)
	}
	const first, second = "rotaudit/tflocal/ratesb/app", "rotaudit/tflocal/ratesb/app-rates_b_report"
	col := map[string]int{}
	for i, s := range m.Secrets {
		col[s] = i
	}
	if _, ok := col[second]; !ok {
		t.Fatalf("local: no secret %s among %v", second, m.Secrets)
	}
	if _, ok := col[first]; !ok {
		t.Fatalf("local: no secret %s among %v", first, m.Secrets)
	}
	ops := func(cell string) map[string]bool {
		out := map[string]bool{}
		for _, op := range strings.Split(cell, ", ") {
			if op != "" && op != "—" {
				out[op] = true
			}
		}
		return out
	}
	const rotator, bootstrap = "rotaudit-tflocal-rotator-single-user", "rotaudit-tflocal-ratesb-db-bootstrap"
	writers := map[string]bool{}
	for _, r := range m.Rows {
		if r.Principal == outsiderName {
			continue // the secrets' policies deny others reading only; the same on both
		}
		got, base := ops(r.Cells[col[second]]), ops(r.Cells[col[first]])
		if got["write"] {
			writers[r.Principal] = true
		}
		if r.Principal == rotator {
			continue
		}
		for op := range got {
			if !base[op] {
				t.Errorf("local: %s may %s %s but not %s", r.Principal, op, second, first)
			}
		}
	}
	if len(writers) != 2 || !writers[rotator] || !writers[bootstrap] {
		t.Errorf("local: %s is written by %v, want exactly its rotator %s and its bootstrap %s", second, writers, rotator, bootstrap)
	}
}

// TestAWSCheckPeopleReachEveryDatabase (issue 21; named to run in make aws-check): in
// envs/local's three databases, the people's groups reach every database, not only the
// API's: the db-operators may rotate every app secret (every database's, every further app
// user's) and nothing on a master; break-glass may read every master. (Reading an app
// secret also takes the user's listing in db_operator_user_arns, which envs/local has none
// of: its secrets' deny policies refuse a member added outside Terraform.)
func TestAWSCheckPeopleReachEveryDatabase(t *testing.T) {
	envs, ev := loadEnvs(t)
	_, m, err := Check(context.Background(), ev, envs["local"])
	if err != nil {
		t.Fatal(err)
	}
	row := func(prefix string) []string {
		for _, r := range m.Rows {
			if strings.HasPrefix(r.Principal, prefix) {
				return r.Cells
			}
		}
		t.Fatalf("local: no row %s… among the matrix's principals", prefix)
		return nil
	}
	ops, glass := row("rotaudit-tflocal-db-operators "), row("rotaudit-tflocal-break-glass ")
	apps, masters := 0, 0
	for i, s := range m.Secrets {
		switch {
		case strings.HasSuffix(s, "/admin"):
			masters++
			if ops[i] != "" && ops[i] != "—" {
				t.Errorf("local: the db-operators may %s the master %s", ops[i], s)
			}
			if !strings.Contains(glass[i], "read") {
				t.Errorf("local: break-glass may %q the master %s, want read", glass[i], s)
			}
		default:
			apps++
			if !strings.Contains(ops[i], "rotate") || strings.Contains(ops[i], "write") {
				t.Errorf("local: the db-operators may %q the app secret %s, want rotate and no write", ops[i], s)
			}
		}
	}
	if apps != 4 || masters != 2 {
		t.Errorf("local: %d app secrets and %d masters in the matrix (%v), want 4 and 2", apps, masters, m.Secrets)
	}
}
