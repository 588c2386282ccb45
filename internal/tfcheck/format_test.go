package tfcheck

import (
	"bytes"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclwrite"
)

// TestHCLFormatted is `terraform fmt -check` without terraform: terraform fmt ends with
// hclwrite.Format, so a file it accepts is a fixed point of hclwrite.Format. tf-check.sh
// runs the real one too; this keeps `go test` honest on machines without terraform.
func TestHCLFormatted(t *testing.T) {
	if bytes.Equal(hclwrite.Format([]byte("a=1\n")), []byte("a=1\n")) {
		t.Fatal("hclwrite.Format accepted unformatted input: this check would prove nothing")
	}
	repo(t)
	n := 0
	for _, top := range []string{"modules", "envs"} {
		err := filepath.WalkDir(top, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == ".terraform" {
				return filepath.SkipDir
			}
			if d.IsDir() || !(strings.HasSuffix(path, ".tf") || strings.HasSuffix(path, ".tfvars") ||
				strings.HasSuffix(path, ".tftest.hcl") || strings.HasSuffix(path, ".hcl")) {
				return nil
			}
			n++
			src, err := readFile(path)
			if err != nil {
				return err
			}
			if got := hclwrite.Format(src); !bytes.Equal(got, src) {
				t.Errorf("%s is not formatted: run terraform fmt -recursive modules envs", path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n < 50 {
		t.Fatalf("checked only %d files: the walk is missing some", n)
	}
}
