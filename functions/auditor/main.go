// Command auditor is the audit Lambda: it reads CloudTrail records from EventBridge events
// and from trail log files announced by S3, runs the audit rules with state in DynamoDB,
// and publishes findings to SNS. The work is in internal/audit.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/rotaudit/rotaudit/internal/audit"
	"github.com/rotaudit/rotaudit/internal/audit/state"
	"github.com/rotaudit/rotaudit/internal/awsclient"
	"github.com/rotaudit/rotaudit/internal/lambdakit"
)

func main() { lambdakit.Start("auditor", build) }

// build returns the audit's Lambda handler.
func build(ctx context.Context) (any, error) {
	log := lambdakit.NewLogger(os.Stdout)
	env, err := audit.LoadEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsclient.Load(ctx)
	if err != nil {
		return nil, err
	}
	h := &audit.Handler{
		Engine: audit.NewEngine(env.Config, state.NewDynamo(dynamodb.NewFromConfig(awsCfg), env.StateTable)),
		S3:     s3.NewFromConfig(awsCfg),
		Trails: cloudtrail.NewFromConfig(awsCfg),
		Sink:   &audit.SNSSink{API: sns.NewFromConfig(awsCfg), Topic: env.AlertTopic, Log: log},
		Log:    log,
	}
	learnTrails(ctx, h, log)
	return h.Handle, nil
}

// learnTrailsTimeout bounds the start's DescribeTrails: a cold start must not wait on it.
const learnTrailsTimeout = 5 * time.Second

// learnTrails notes every trail's bucket at start (audit.Handler.LearnTrails). A failure
// is logged, not fatal: the audit then watches the configured buckets and those its
// events show, as before.
func learnTrails(ctx context.Context, h *audit.Handler, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, learnTrailsTimeout)
	defer cancel()
	buckets, err := h.LearnTrails(ctx, time.Now().UTC())
	if err != nil {
		log.WarnContext(ctx, "trail buckets not learnt: RA-07 watches the configured ones and those events show", "error", err.Error())
		return
	}
	log.InfoContext(ctx, "trail buckets watched", "buckets", buckets)
}
