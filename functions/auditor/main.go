// Command auditor is the audit Lambda: it reads CloudTrail records from EventBridge events
// and from trail log files announced by S3, runs the audit rules with state in DynamoDB,
// and publishes findings to SNS. The work is in internal/audit.
package main

import (
	"context"
	"os"

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
		Sink:   &audit.SNSSink{API: sns.NewFromConfig(awsCfg), Topic: env.AlertTopic, Log: log},
		Log:    log,
	}
	return h.Handle, nil
}
