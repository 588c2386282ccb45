package docs

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rotaudit/rotaudit/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite README.md's generated blocks from their sources")

// helpLine is a Makefile target with its `## ` description, as `make help` reads them.
var helpLine = regexp.MustCompile(`^([a-zA-Z0-9_-]+):.*## (.*)$`)

// makeHelp renders what `make help` prints for the Makefile text.
func makeHelp(makefile string) string {
	var b strings.Builder
	for _, l := range strings.Split(makefile, "\n") {
		if m := helpLine.FindStringSubmatch(l); m != nil {
			fmt.Fprintf(&b, "  %-16s %s\n", m[1], m[2])
		}
	}
	return b.String()
}

const (
	helpBegin = "<!-- make-help:begin (generated from the Makefile; TestMakeHelpBlock keeps it equal) -->\n```\n"
	helpEnd   = "```\n<!-- make-help:end -->"
)

// TestMakeHelpBlock: README.md's `make help` block is what `make help` prints
// (go test ./internal/docs -update rewrites it).
func TestMakeHelpBlock(t *testing.T) {
	root := repoRoot(t)
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	want := makeHelp(string(mk))
	if strings.Count(want, "\n") < 10 {
		t.Fatalf("the Makefile gives only %d help lines: is the `## ` convention gone?", strings.Count(want, "\n"))
	}
	path := filepath.Join(root, "README.md")
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	i, j := strings.Index(s, helpBegin), strings.Index(s, helpEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no make help block between %q and %q", helpBegin, helpEnd)
	}
	got := s[i+len(helpBegin) : j]
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(s[:i+len(helpBegin)]+want+s[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("README.md's make help block differs from the Makefile (go test ./internal/docs -update):\ngot:\n%swant:\n%s", got, want)
}

// mdLink is a Markdown link's target.
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestRelativeLinksResolve: every relative link in the project's Markdown names a file or
// folder that exists.
func TestRelativeLinksResolve(t *testing.T) {
	root := repoRoot(t)
	var files []string
	for _, g := range []string{"*.md", "docs/*.md", "envs/*.md", "modules/*/README.md", "functions/*/README.md", "localstack/*.md"} {
		m, _ := filepath.Glob(filepath.Join(root, g))
		files = append(files, m...)
	}
	if len(files) < 8 {
		t.Fatalf("found only %d Markdown files", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mdLink.FindAllStringSubmatch(string(b), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			target, _, _ = strings.Cut(target, "#")
			if _, err := os.Stat(filepath.Join(filepath.Dir(f), target)); err != nil {
				rel, _ := filepath.Rel(root, f)
				t.Errorf("%s links to %s, which does not exist", rel, m[1])
			}
		}
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}
