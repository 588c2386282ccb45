package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rotaudit/rotaudit/internal/audit"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if err := run([]string{"-out", dir, "-files", "2", "-records", "50", "-seed", "3"}, &out, &errOut); err != nil {
		t.Fatalf("mixed corpus: %v (%s)", err, errOut.String())
	}
	paths := strings.Fields(out.String())
	if len(paths) != 2 {
		t.Fatalf("printed %q, want two file paths", paths)
	}
	for _, p := range paths {
		if info, err := os.Stat(p); err != nil || info.Size() == 0 || filepath.Dir(p) != dir {
			t.Fatalf("%s: %v", p, err)
		}
	}

	out.Reset()
	if err := run([]string{"-out", dir, "-benign-days", "1"}, &out, &errOut); err != nil || strings.TrimSpace(out.String()) != filepath.Join(dir, "benign-1d.json.gz") {
		t.Fatalf("benign corpus: %v, printed %q", err, out.String())
	}

	out.Reset()
	if err := run([]string{"-print-config"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if _, err := audit.ParseConfig(out.Bytes()); err != nil {
		t.Fatalf("-print-config is not a valid audit configuration: %v\n%s", err, out.String())
	}

	out.Reset()
	deployed := filepath.Join("..", "..", "..", "modules", "audit-alerts", "patterns")
	if err := run([]string{"-measure-days", "1", "-patterns", deployed}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	var matched, total int
	if _, err := fmt.Sscanf(strings.TrimPrefix(out.String(), deployed+": "), "%d of %d events", &matched, &total); err != nil || matched == 0 || matched >= total {
		t.Fatalf("-measure-days: %q (%v): want some but not all of a day's benign events to invoke the Lambda", out.String(), err)
	}

	for _, args := range [][]string{{}, {"-files", "0", "-out", dir}, {"-out", dir, "extra"}, {"-bogus"}} {
		if err := run(args, &out, &errOut); !errors.Is(err, errUsage) {
			t.Errorf("%q: err = %v, want errUsage", args, err)
		}
	}
	if err := run([]string{"-h"}, &out, &errOut); err != nil {
		t.Errorf("-h: %v, want nil (exit 0)", err)
	}
}
