package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCostCommand(t *testing.T) {
	plan := filepath.Join("..", "..", "internal", "cost", "testdata", "plan-dev.json")
	cases := []struct {
		name    string
		args    []string
		wantErr bool
		want    []string
	}{
		{"plan", []string{"cost", "--plan", plan}, false, []string{"Monthly estimate for dev", "fixed  $", "before the database", "assumptions:", "requests_per_second = 0.5"}},
		{"flag overrides the set", []string{"cost", "--plan", plan, "--rps", "7"}, false, []string{"requests_per_second = 7"}},
		{"markdown", []string{"cost", "--plan", plan, "--format", "markdown"}, false, []string{"| Resource | How | $/month |", "**total**"}},
		{"audit volume", []string{"cost", "--audit-volume", "1e6,1e7"}, false, []string{"10,000,000", "the measured default"}},
		{"no mode", []string{"cost"}, true, nil},
		{"two modes", []string{"cost", "--plan", plan, "--audit-volume", "1e6"}, true, nil},
		{"bad volume", []string{"cost", "--audit-volume", "lots"}, true, nil},
		{"missing plan", []string{"cost", "--plan", "no-such-plan.json"}, true, nil},
		{"fraction over one", []string{"cost", "--plan", plan, "--audit-fraction", "2"}, true, nil},
		{"bad format", []string{"cost", "--plan", plan, "--format", "yaml"}, true, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), c.args, &out, &errOut)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, want error %v; stderr: %s", err, c.wantErr, errOut.String())
			}
			for _, w := range c.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

func TestCostPlot(t *testing.T) {
	png := filepath.Join(t.TempDir(), "audit.png")
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"cost", "--audit-volume", "1e6,1e7,1e8", "--plot", png}, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	b, err := os.ReadFile(png)
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("no PNG written: %v", err)
	}
	if err := run(context.Background(), []string{"cost", "--audit-volume", "1e6", "--plot", png}, &out, &errOut); err == nil {
		t.Fatal("a plot of one volume was accepted")
	} else if errors.Is(err, errUsage) {
		t.Fatalf("want a plain error, got usage: %v", err)
	}
}
