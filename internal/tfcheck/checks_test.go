package tfcheck

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The checkers are proved on fixtures first: each problem they must find is planted in
// testdata/bad, and testdata/good must come out clean.

func TestCheckersFindPlantedProblems(t *testing.T) {
	child, err := Load(filepath.Join("testdata", "bad", "child"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := Load(filepath.Join("testdata", "bad", "root"))
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]string{
		filepath.Join("testdata", "bad", "child") + " wide Fine":     "commented",
		filepath.Join("testdata", "bad", "child") + " wide NoReason": "listed but not commented",
		"testdata/gone doc Sid": "stale",
	}

	tests := []struct {
		name string
		got  []string
		want []string // substrings, each must match one problem
	}{
		{"variables", CheckVariables(child), []string{`"name" has no type`, `"size" has no description`}},
		{"outputs", CheckOutputs(child), []string{`output "undocumented" has no description`}},
		{"calls", CheckCalls(root), []string{
			`passes "colour", which ../child does not declare`,
			`leaves out required variable "name"`,
			`leaves out required variable "size"`,
			`module "missing": load`,
			`"terraform-aws-modules/vpc/aws" is not a local path`,
			`has no output "nope"`,
			`module.child.groups["c"]`,
			`undeclared module "ghost"`,
		}},
		{"wildcards", CheckWildcards(Statements(child), allowed), []string{
			`"NoReason" of wide uses resource "*" without a "# checked: why" comment`,
			`"DynamicStar" of wide uses resource "*" and is not allow-listed`,
			`"testdata/gone doc Sid" matches no statement`,
		}},
		{"inline policies", InlinePolicies(child), []string{"resource.aws_iam_role_policy.inline"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, w := range tt.want {
				if !slices.ContainsFunc(tt.got, func(p string) bool { return strings.Contains(p, w) }) {
					t.Errorf("no problem mentions %q; got:\n%s", w, strings.Join(tt.got, "\n"))
				}
			}
			if len(tt.got) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%s", len(tt.got), len(tt.want), strings.Join(tt.got, "\n"))
			}
		})
	}
}

func TestCheckersPassCleanFixtures(t *testing.T) {
	child, err := Load(filepath.Join("testdata", "good", "child"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := Load(filepath.Join("testdata", "good", "root"))
	if err != nil {
		t.Fatal(err)
	}
	var problems []string
	problems = append(problems, CheckVariables(child)...)
	problems = append(problems, CheckOutputs(child)...)
	problems = append(problems, CheckCalls(root)...)
	problems = append(problems, CheckWildcards(Statements(child), nil)...)
	problems = append(problems, InlinePolicies(child)...)
	if len(problems) > 0 {
		t.Errorf("clean fixtures reported problems:\n%s", strings.Join(problems, "\n"))
	}
}

func TestMarkdownAndSplice(t *testing.T) {
	m, err := Load(filepath.Join("testdata", "good", "child"))
	if err != nil {
		t.Fatal(err)
	}
	md := Markdown(m)
	for _, want := range []string{
		"| `name` | Required. | `string` | n/a | yes |",
		"| `size` | Optional. | `number` | `1` | no |",
		"| `groups` | A literal object. |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}

	readme := "# Fixture\nHand-written text.\n" + BeginDocs + "\nstale\n" + EndDocs + "\nMore hand-written text.\n"
	got, err := SpliceDocs(readme, md)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "stale") || !strings.HasPrefix(got, "# Fixture\nHand-written text.\n") || !strings.HasSuffix(got, EndDocs+"\nMore hand-written text.\n") {
		t.Errorf("SpliceDocs did not replace only the generated section:\n%s", got)
	}
	if _, err := SpliceDocs("no markers", md); err != ErrNoMarkers {
		t.Errorf("SpliceDocs without markers: err = %v, want ErrNoMarkers", err)
	}
}

func TestLoadRejectsEmptyDir(t *testing.T) {
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), ErrNotModule.Error()) {
		t.Fatalf("Load(empty dir) err = %v, want ErrNotModule", err)
	}
}
