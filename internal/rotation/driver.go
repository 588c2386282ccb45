package rotation

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Invoker runs one rotation step somewhere: in this process or in a Lambda.
type Invoker interface {
	Invoke(ctx context.Context, ev Event) error
}

// Invoke runs the step in this process.
func (r *Rotator) Invoke(ctx context.Context, ev Event) error { return r.Handle(ctx, ev) }

// HTTPInvoker posts steps to a Lambda Invoke endpoint, such as the runtime interface
// emulator's http://host:port/2015-03-31/functions/function/invocations.
type HTTPInvoker struct {
	URL    string
	Client *http.Client
}

// Invoke posts the event and turns a function error into an error.
func (h HTTPInvoker) Invoke(ctx context.Context, ev Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("invoke %s: %w", ev.Step, err)
	}
	req.Header.Set("Content-Type", "application/json")
	c := h.Client
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
// seeded with the value createSecret would make; createSecret then finds and keeps it.
func (r *Rotator) Start(ctx context.Context, secretID string) (token string, resumed bool, err error) {
	d, err := r.SM.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(secretID)})
	if err != nil {
		return "", false, smError("describe secret", err)
	}
	arn := aws.ToString(d.ARN)
	for v, st := range d.VersionIdsToStages {
		if slices.Contains(st, StagePending) && !slices.Contains(st, StageCurrent) {
			return v, true, nil
		}
	}
	current, err := r.getSecret(ctx, arn, "", StageCurrent)
	if err != nil {
		return "", false, err
	}
	next, err := r.NewPending(ctx, current)
	if err != nil {
		return "", false, err
	}
	token = NewToken()
	if err := r.putPending(ctx, arn, token, "", next); err != nil {
		return "", false, err
	}
	return token, false, nil
}

// Drive runs the four steps of token's rotation through inv, in order, stopping at the
// first failure, and reports each step to report (nil for none).
func Drive(ctx context.Context, inv Invoker, secretID, token string, report func(StepResult)) error {
	for _, step := range Steps() {
		start := time.Now()
		err := inv.Invoke(ctx, Event{Step: step, SecretID: secretID, ClientRequestToken: token})
		if report != nil {
			report(StepResult{Step: step, Duration: time.Since(start), Err: err})
		}
		if err != nil {
			return err
		}
	}
	return nil
}
