package rotation

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/pgrole"
)

// Staging labels of the rotation contract.
const (
	StageCurrent  = "AWSCURRENT"
	StagePending  = "AWSPENDING"
	StagePrevious = "AWSPREVIOUS"
)

// ConnectTimeout bounds each database login.
const ConnectTimeout = 5 * time.Second

// deadlineMargin is kept back from the Lambda deadline so a step returns its own error
// instead of being killed mid-sentence.
const deadlineMargin = 300 * time.Millisecond

// SecretsManager is exactly the set of Secrets Manager calls the rotator makes.
type SecretsManager interface {
	DescribeSecret(ctx context.Context, in *sm.DescribeSecretInput, opts ...func(*sm.Options)) (*sm.DescribeSecretOutput, error)
	GetSecretValue(ctx context.Context, in *sm.GetSecretValueInput, opts ...func(*sm.Options)) (*sm.GetSecretValueOutput, error)
	PutSecretValue(ctx context.Context, in *sm.PutSecretValueInput, opts ...func(*sm.Options)) (*sm.PutSecretValueOutput, error)
	UpdateSecretVersionStage(ctx context.Context, in *sm.UpdateSecretVersionStageInput, opts ...func(*sm.Options)) (*sm.UpdateSecretVersionStageOutput, error)
}

// DB is the part of a database session the rotator uses.
type DB interface {
	pgrole.Querier
	Close(ctx context.Context) error
}

// Dialer opens a database session.
type Dialer func(ctx context.Context, cfg *pgx.ConnConfig) (DB, error)

// PgxDialer opens a real pgx connection.
func PgxDialer(ctx context.Context, cfg *pgx.ConnConfig) (DB, error) {
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Meter records one step: its name ("invalid" for an event that did not parse), how long
// it took and whether it failed. The Lambda writes CloudWatch embedded metrics
// (functions/rotator).
type Meter interface {
	Step(ctx context.Context, step string, d time.Duration, failed bool)
}

// Rotator runs the four rotation steps. It holds its dependencies and configuration, and
// no state of a rotation: every step reads the secret's stages from Secrets Manager, so
// any step can run again, or after a crash, on any instance. (Version values read by
// earlier steps are remembered, memo.go: they never change.) Use it by pointer.
type Rotator struct {
	SM SecretsManager
	// RDS finds an RDS-managed master's endpoint and recognises replicas; nil when the
	// secrets name their hosts and user and master share one.
	RDS    RDS
	Dial   Dialer
	Config Config
	// Log receives one JSON record per step; nil discards.
	Log *slog.Logger
	// Metrics records every step's duration and outcome; nil records nothing.
	Metrics Meter
	// AllowDisabled lets an operator rotate a secret whose automatic rotation is off.
	// The Lambda never sets it.
	AllowDisabled bool

	// memo remembers the versions' values read by earlier steps on this instance
	// (memo.go); which version holds which stage is always read anew.
	memo memo
	// masters keeps the master's committed session for the next setSecret
	// (mastersession.go).
	masters masterPool
}

// HandleRaw decodes a Lambda payload and runs the step: the Lambda handler.
func (r *Rotator) HandleRaw(ctx context.Context, payload json.RawMessage) error {
	ev, err := ParseEvent(payload)
	if err != nil {
		r.logger().ErrorContext(ctx, "rejected event", "outcome", "error", "error", err.Error())
		r.meter(ctx, "invalid", 0, true)
		return err
	}
	return r.Handle(ctx, ev)
}

// Handle runs one step, bounded by ctx's deadline (less a margin), and logs and meters it.
func (r *Rotator) Handle(ctx context.Context, ev Event) error {
	if err := ev.Validate(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-deadlineMargin))
		defer cancel()
	}
	start := time.Now()
	arn, outcome, err := r.step(ctx, ev)
	d := time.Since(start)
	if arn == "" {
		arn = ev.SecretID
	}
	attrs := []any{
		"secret_arn", arn, "step", ev.Step, "token", ev.ClientRequestToken,
		"duration_ms", float64(d.Microseconds()) / 1000, "outcome", outcome,
	}
	if err != nil {
		r.logger().ErrorContext(ctx, "rotation step failed", append(attrs, "error", err.Error())...)
	} else {
		r.logger().InfoContext(ctx, "rotation step", attrs...)
	}
	r.meter(ctx, ev.Step, d, err != nil)
	return err
}

// step returns the secret's ARN once known and the outcome: "done", "skipped" (the token
// is already AWSCURRENT), or "error".
func (r *Rotator) step(ctx context.Context, ev Event) (string, string, error) {
	// The step's reads go out with DescribeSecret (reads.go); their answers wait until
	// DescribeSecret has said the step may run, and are dropped when it may not.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	described := make(chan struct{})
	var d *sm.DescribeSecretOutput
	rd := r.startReads(ctx, ev, func() *sm.DescribeSecretOutput { <-described; return d })
	defer rd.early.release(ctx)
	d, err := r.SM.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(ev.SecretID)})
	close(described)
	if err != nil {
		return "", "error", fmt.Errorf("%s: %w", ev.Step, smError("describe secret", err))
	}
	arn := aws.ToString(d.ARN)
	if !aws.ToBool(d.RotationEnabled) && !r.AllowDisabled {
		return arn, "error", fmt.Errorf("%s: %w: %s: enable rotation on the secret (rotate-secret with a rotation Lambda and schedule)", ev.Step, ErrRotationDisabled, arn)
	}
	stages, ok := d.VersionIdsToStages[ev.ClientRequestToken]
	if !ok {
		return arn, "error", fmt.Errorf("%s: %w: version %s is not a version of %s", ev.Step, ErrNotPending, ev.ClientRequestToken, arn)
	}
	if slices.Contains(stages, StageCurrent) {
		if ev.Step == StepFinish && slices.Contains(stages, StagePending) {
			if err := r.clearPending(ctx, arn, ev.ClientRequestToken); err != nil {
				return arn, "error", fmt.Errorf("%s: %w", ev.Step, err)
			}
			return arn, "done", nil
		}
		return arn, "skipped", nil
	}
	if !slices.Contains(stages, StagePending) {
		return arn, "error", fmt.Errorf("%s: %w: version %s of %s is not AWSPENDING%s", ev.Step, ErrNotPending, ev.ClientRequestToken, arn, pendingElsewhere(d, arn))
	}
	switch ev.Step {
	case StepCreate:
		err = r.createSecret(ctx, arn, ev, rd)
	case StepSet:
		err = r.setSecret(ctx, arn, ev.ClientRequestToken, rd)
	case StepTest:
		err = r.testSecret(ctx, rd)
	case StepFinish:
		err = r.finishSecret(ctx, arn, ev, d)
	}
	if err != nil {
		return arn, "error", fmt.Errorf("%s: %w", ev.Step, err)
	}
	return arn, "done", nil
}

// pendingElsewhere names the version holding AWSPENDING, if any, and how to clear it.
func pendingElsewhere(d *sm.DescribeSecretOutput, arn string) string {
	if v := pendingVersion(d); v != "" {
		return fmt.Sprintf("; version %s holds AWSPENDING: finish or retry that rotation, or clear it with "+
			"`aws secretsmanager update-secret-version-stage --secret-id %s --version-stage AWSPENDING --remove-from-version-id %s`", v, arn, v)
	}
	return ""
}

// pendingVersion returns the version of a rotation in progress: the one labelled
// AWSPENDING and not AWSCURRENT, or "".
func pendingVersion(d *sm.DescribeSecretOutput) string {
	for v, st := range d.VersionIdsToStages {
		if slices.Contains(st, StagePending) && !slices.Contains(st, StageCurrent) {
			return v
		}
	}
	return ""
}

// PendingVersion returns the secret's ARN and the version of its rotation in progress
// ("" when none is): what a caller that starts rotations itself (package driver) resumes.
func (r *Rotator) PendingVersion(ctx context.Context, secretID string) (arn, version string, err error) {
	d, err := r.SM.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(secretID)})
	if err != nil {
		return "", "", smError("describe secret", err)
	}
	return aws.ToString(d.ARN), pendingVersion(d), nil
}

func (r *Rotator) meter(ctx context.Context, step string, d time.Duration, failed bool) {
	if r.Metrics != nil {
		r.Metrics.Step(ctx, step, d, failed)
	}
}

func (r *Rotator) logger() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}
