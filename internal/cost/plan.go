package cost

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Plan is the part of `terraform show -json <planfile>` the estimator reads.
type Plan struct {
	FormatVersion    string                  `json:"format_version"`
	TerraformVersion string                  `json:"terraform_version"`
	Variables        map[string]planVariable `json:"variables"`
	Changes          []ResourceChange        `json:"resource_changes"`
}

type planVariable struct {
	Value any `json:"value"`
}

// ResourceChange is one resource of the plan with its values after the apply.
type ResourceChange struct {
	Address       string `json:"address"`
	ModuleAddress string `json:"module_address"`
	Mode          string `json:"mode"`
	Type          string `json:"type"`
	Name          string `json:"name"`
	Change        struct {
		Actions      []string       `json:"actions"`
		After        map[string]any `json:"after"`
		AfterUnknown map[string]any `json:"after_unknown"`
	} `json:"change"`
}

// ReadPlan decodes a plan in the JSON of `terraform show -json`. It refuses other
// documents (a state file, a plan of another major format) with an error saying what to run.
func ReadPlan(r io.Reader) (*Plan, error) {
	var p Plan
	if err := json.NewDecoder(r).Decode(&p); err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	if p.FormatVersion == "" {
		return nil, errors.New("read plan: no format_version: give the output of `terraform show -json PLANFILE`")
	}
	if !strings.HasPrefix(p.FormatVersion, "1.") {
		return nil, fmt.Errorf("read plan: format_version %s: only 1.x is understood", p.FormatVersion)
	}
	if p.Changes == nil {
		return nil, errors.New("read plan: no resource_changes: give a plan (terraform show -json PLANFILE), not a state")
	}
	for i, c := range p.Changes {
		if c.Address == "" || c.Type == "" {
			return nil, fmt.Errorf("read plan: resource_changes[%d]: address or type missing", i)
		}
	}
	return &p, nil
}

// Var returns a root variable's value as a string ("" when absent or not a string).
func (p *Plan) Var(name string) string {
	s, _ := p.Variables[name].Value.(string)
	return s
}

// VarNum returns a root variable's value as a number.
func (p *Plan) VarNum(name string) (float64, bool) {
	f, ok := p.Variables[name].Value.(float64)
	return f, ok
}

// Managed returns the managed resources that exist after the apply (deleted ones and data
// sources left out), in plan order.
func (p *Plan) Managed() []ResourceChange {
	var out []ResourceChange
	for _, c := range p.Changes {
		if c.Mode != "" && c.Mode != "managed" {
			continue
		}
		if slices.Equal(c.Change.Actions, []string{"delete"}) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// str, num, boolean and list read values of the planned resource; ok is false when the
// value is absent or not known until apply.
func (c *ResourceChange) str(key string) (string, bool) {
	s, ok := c.Change.After[key].(string)
	return s, ok
}

func (c *ResourceChange) num(key string) (float64, bool) {
	switch v := c.Change.After[key].(type) {
	case float64:
		return v, true
	case string: // task definitions keep cpu and memory as strings
		var f float64
		if _, err := fmt.Sscanf(v, "%g", &f); err == nil {
			return f, true
		}
	}
	return 0, false
}

func (c *ResourceChange) boolean(key string) (bool, bool) {
	b, ok := c.Change.After[key].(bool)
	return b, ok
}

// length is the number of elements of a list or set attribute, known even when the
// elements themselves are not (after_unknown then holds one true per element).
func (c *ResourceChange) length(key string) (int, bool) {
	if l, ok := c.Change.After[key].([]any); ok && len(l) > 0 {
		return len(l), true
	}
	if l, ok := c.Change.AfterUnknown[key].([]any); ok {
		return len(l), true
	}
	if l, ok := c.Change.After[key].([]any); ok {
		return len(l), true
	}
	return 0, false
}

// blocks returns a nested block's elements as maps.
func (c *ResourceChange) blocks(key string) []map[string]any {
	l, _ := c.Change.After[key].([]any)
	var out []map[string]any
	for _, e := range l {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
