// Package driver runs a rotation the way Secrets Manager does, for the operator's
// `rotaudit rotate`, the tests and the benchmarks: it starts (or resumes) a rotation, then
// calls createSecret, setSecret, testSecret and finishSecret in order, in this process
// (a *rotation.Rotator) or through a Lambda Invoke endpoint (Endpoint).
package driver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/rotaudit/rotaudit/internal/rotation"
)

// Handler runs one rotation step: *rotation.Rotator in this process, Endpoint in a Lambda.
type Handler interface {
	Handle(ctx context.Context, ev rotation.Event) error
}

// Endpoint posts steps to a Lambda Invoke endpoint, such as the runtime interface
// emulator's http://host:port/2015-03-31/functions/function/invocations.
type Endpoint struct {
	URL string
	// Client makes the requests; nil means one with a two-minute timeout.
	Client *http.Client
}

// Handle posts the event and turns a function error into an error.
func (e Endpoint) Handle(ctx context.Context, ev rotation.Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("invoke %s: %w", ev.Step, err)
	}
	req.Header.Set("Content-Type", "application/json")
	c := e.Client
	if c == nil {
		c = &http.Client{Timeout: 2 * time.Minute}
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("invoke %s: %w", ev.Step, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var fe struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	json.Unmarshal(out, &fe)
	if resp.StatusCode >= 300 || resp.Header.Get("X-Amz-Function-Error") != "" || fe.ErrorType != "" || fe.ErrorMessage != "" {
		msg := fe.ErrorMessage
		if msg == "" {
			msg = strings.TrimSpace(string(out))
		}
		return fmt.Errorf("invoke %s: function error (HTTP %d): %s", ev.Step, resp.StatusCode, msg)
	}
	return nil
}

// NewToken returns a random version id in the UUID form Secrets Manager uses.
func NewToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// StepResult is the outcome of one step of a driven rotation.
type StepResult struct {
	Step     string
	Duration time.Duration
	Err      error
}

// Start prepares a rotation as Secrets Manager does before calling createSecret, and
// returns its token. When a version already holds AWSPENDING (not AWSCURRENT), that
// rotation is resumed: its token is returned. Otherwise a new token's version is put
// with AWSPENDING. Secrets Manager's API cannot make an empty version outside
// RotateSecret (which would also start the configured Lambda), so the new version is
// seeded with the value createSecret would make (r's strategy and password policy);
// createSecret then finds and keeps it.
func Start(ctx context.Context, r *rotation.Rotator, secretID string) (token string, resumed bool, err error) {
	arn, pending, err := r.PendingVersion(ctx, secretID)
	if err != nil {
		return "", false, err
	}
	if pending != "" {
		return pending, true, nil
	}
	token = NewToken()
	if err := r.SeedPending(ctx, arn, token); err != nil {
		return "", false, err
	}
	return token, false, nil
}

// Run runs the four steps of token's rotation through h, in order, stopping at the first
// failure, and reports each step to report (nil for none).
func Run(ctx context.Context, h Handler, secretID, token string, report func(StepResult)) error {
	for _, step := range rotation.Steps() {
		start := time.Now()
		err := h.Handle(ctx, rotation.Event{Step: step, SecretID: secretID, ClientRequestToken: token})
		if report != nil {
			report(StepResult{Step: step, Duration: time.Since(start), Err: err})
		}
		if err != nil {
			return err
		}
	}
	return nil
}
