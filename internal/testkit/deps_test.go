package testkit_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestProductsLinkNoTestCode keeps the layering that the folders promise: no program of
// the module (the Lambdas, the API, the operator CLI, the benchmark programs) links the
// testing package, no product program links test support (this folder, testenv,
// loadharness), and nothing deployed (the Lambdas, the API) links the local stack's
// set-up and demo (internal/devstack), which only the operator CLI runs. It asks `go list`
// for every main package's dependencies.
func TestProductsLinkNoTestCode(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("needs the go command on PATH to list dependencies")
	}
	out, err := exec.Command(goBin, "list", "-f", `{{if eq .Name "main"}}{{.ImportPath}} {{join .Deps " "}}{{end}}`, "github.com/rotaudit/rotaudit/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/rotaudit/rotaudit/"
	testSupport := []string{mod + "internal/testkit", mod + "internal/testenv", mod + "internal/loadharness"}
	programs := 0
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		prog, deps := fields[0], fields[1:]
		programs++
		product := !strings.HasPrefix(prog, mod+"internal/testkit/")
		deployed := strings.HasPrefix(prog, mod+"functions/") || prog == mod+"service"
		for _, d := range deps {
			if deployed && (d == mod+"internal/devstack" || strings.HasPrefix(d, mod+"internal/devstack/")) {
				t.Errorf("%s is deployed but links %s, the local stack's set-up", prog, d)
			}
			if d == "testing" {
				t.Errorf("%s links the testing package: move what needs it into a test-support package", prog)
			}
			for _, ts := range testSupport {
				if product && (d == ts || strings.HasPrefix(d, ts+"/")) {
					t.Errorf("%s is a product program but links test support %s", prog, d)
				}
			}
		}
	}
	if programs < 6 {
		t.Fatalf("go list found %d programs, want the 6 or more of the module:\n%s", programs, out)
	}
}
