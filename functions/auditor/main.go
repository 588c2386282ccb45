// Command auditor is the audit Lambda: it reads CloudTrail records from EventBridge events
// and from trail log files announced by S3, runs the audit rules with state in DynamoDB,
// and publishes findings to SNS. The work is in internal/audit.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/rotaudit/rotaudit/internal/audit"
	"github.com/rotaudit/rotaudit/internal/audit/state"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "auditor:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	log := lambdacontext.NewLogger()
	env, err := audit.LoadEnv(os.Getenv)
	if err != nil {
		return err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("aws config: %w", err)
	}
	h := &audit.Handler{
		Engine: audit.NewEngine(env.Config, state.NewDynamo(dynamodb.NewFromConfig(awsCfg), env.StateTable)),
		S3:     s3.NewFromConfig(awsCfg),
		Sink:   &audit.SNSSink{API: sns.NewFromConfig(awsCfg), Topic: env.AlertTopic, Log: log},
		Log:    log,
	}
	lambda.Start(h.Handle)
	return nil
}
