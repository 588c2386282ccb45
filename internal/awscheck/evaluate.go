package awscheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Decision is the evaluator's answer for one request.
type Decision string

// Allowed is the one decision that lets a call through.
const Allowed Decision = "Allowed"

// Request is one evaluation: what evaluate.mjs reads.
type Request struct {
	ID               int              `json:"id"`
	Principal        string           `json:"principal"`
	Action           string           `json:"action"`
	Resource         string           `json:"resource"`
	AccountID        string           `json:"accountId"`
	IdentityPolicies []map[string]any `json:"identityPolicies"`
	ResourcePolicy   map[string]any   `json:"resourcePolicy"`
	Context          map[string]any   `json:"context"`
}

// Evaluator runs evaluator/evaluate.mjs (@cloud-copilot/iam-simulate) over a batch.
type Evaluator struct {
	Dir string // the evaluator folder, with node_modules installed (npm ci)
}

// Evaluate decides every request, in order; a request the library refuses to evaluate is
// an error, never a denial.
func (ev Evaluator) Evaluate(ctx context.Context, reqs []Request) ([]Decision, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	for i := range reqs {
		reqs[i].ID = i
		if reqs[i].IdentityPolicies == nil {
			reqs[i].IdentityPolicies = []map[string]any{}
		}
	}
	in, err := json.Marshal(reqs)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	script, err := filepath.Abs(filepath.Join(ev.Dir, "evaluate.mjs"))
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Dir = ev.Dir
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("evaluate: node evaluate.mjs: %w: %s", err, stderr.String())
	}
	var res []struct {
		ID     int      `json:"id"`
		Result Decision `json:"result"`
		Error  string   `json:"error"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("evaluate: read results: %w", err)
	}
	if len(res) != len(reqs) {
		return nil, fmt.Errorf("evaluate: %d results for %d requests", len(res), len(reqs))
	}
	out := make([]Decision, len(reqs))
	var errs []string
	for _, r := range res {
		if r.Error != "" {
			q := reqs[r.ID]
			errs = append(errs, fmt.Sprintf("%s on %s by %s: %s", q.Action, q.Resource, q.Principal, r.Error))
			continue
		}
		out[r.ID] = r.Result
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("evaluate: iam-simulate refused %d requests:\n  %s", len(errs), strings.Join(errs, "\n  "))
	}
	return out, nil
}
