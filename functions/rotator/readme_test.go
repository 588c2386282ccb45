package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDropInTableNamesRealTests: every test the README's drop-in table names exists in the
// repository, so the table cannot point at a test that was renamed or never written.
func TestDropInTableNamesRealTests(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(readme), "## Drop-in for AWS's functions")
	if !ok {
		t.Fatal("README.md has no drop-in section")
	}
	table, _, _ = strings.Cut(table, "\n## ")
	rows := 0
	named := map[string]bool{}
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| input") {
			continue
		}
		cells := strings.Split(line, "|")
		last := cells[len(cells)-2]
		names := regexp.MustCompile("`(Test[A-Za-z0-9_]+)`").FindAllStringSubmatch(last, -1)
		if len(names) == 0 {
			t.Errorf("row without a test: %s", line)
		}
		for _, n := range names {
			named[n[1]] = true
		}
		rows++
	}
	if rows < 15 {
		t.Fatalf("%d rows, want every AWS variable and secret key", rows)
	}
	found := map[string]bool{}
	root := filepath.Join("..", "..")
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() && (d.Name() == ".stack" || d.Name() == ".git" || d.Name() == "node_modules") {
			if d != nil && d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		for n := range named {
			if strings.Contains(string(b), "func "+n+"(t *testing.T)") {
				found[n] = true
			}
		}
		return nil
	})
	for n := range named {
		if !found[n] {
			t.Errorf("the table names %s, which no _test.go file defines", n)
		}
	}
}
