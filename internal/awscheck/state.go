// Package awscheck checks offline what AWS enforces and the emulators do not: every AWS call
// the code makes (the inventory, taken from the narrow SDK interfaces each caller declares)
// must be allowed by the identity policy of the principal that makes it, the secret's
// resource policy and the key policy, with their conditions, and must have a network path
// from where the caller runs. The policies are the concrete ones of an environment applied
// to a fresh emulator (scripts/aws-check.sh), read from `terraform show -json`; the
// evaluation is @cloud-copilot/iam-simulate's (evaluator/), never a hand-written one.
package awscheck

import (
	"encoding/json"
	"fmt"
	"os"
)

// Resource is one managed resource of an applied state.
type Resource struct {
	Address string
	Type    string
	Values  map[string]any
}

type stateModule struct {
	Resources []struct {
		Address string         `json:"address"`
		Mode    string         `json:"mode"`
		Type    string         `json:"type"`
		Values  map[string]any `json:"values"`
	} `json:"resources"`
	ChildModules []stateModule `json:"child_modules"`
}

// LoadState reads the managed resources of `terraform show -json` output, from every module.
func LoadState(path string) ([]Resource, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	var doc struct {
		Values struct {
			RootModule stateModule `json:"root_module"`
		} `json:"values"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("load state %s: %w", path, err)
	}
	var out []Resource
	var walk func(m stateModule)
	walk = func(m stateModule) {
		for _, r := range m.Resources {
			if r.Mode == "managed" {
				out = append(out, Resource{Address: r.Address, Type: r.Type, Values: r.Values})
			}
		}
		for _, c := range m.ChildModules {
			walk(c)
		}
	}
	walk(doc.Values.RootModule)
	if len(out) == 0 {
		return nil, fmt.Errorf("load state %s: no managed resources (was the root applied?)", path)
	}
	return out, nil
}

// str returns a string attribute, "" when absent.
func (r Resource) str(key string) string {
	s, _ := r.Values[key].(string)
	return s
}

// strs returns a list-of-strings attribute.
func (r Resource) strs(key string) []string {
	return toStrings(r.Values[key])
}

func toStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// blocks returns a nested-block attribute as a list of objects.
func (r Resource) blocks(key string) []map[string]any {
	l, _ := r.Values[key].([]any)
	out := make([]map[string]any, 0, len(l))
	for _, x := range l {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// policy parses a JSON policy held in a string attribute; nil when empty.
func parsePolicy(s string) (map[string]any, error) {
	if s == "" {
		return nil, nil
	}
	var p map[string]any
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return nil, fmt.Errorf("parse policy: %w", err)
	}
	return p, nil
}
