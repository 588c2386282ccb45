// Command rotator is the Secrets Manager rotation Lambda for PostgreSQL secrets. It only
// wires configuration and clients; the steps live in internal/rotation.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotaudit/rotaudit/internal/rotation"
)

func main() {
	r, err := build(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "rotator:", err)
		os.Exit(1)
	}
	lambda.Start(r.HandleRaw)
}

func build(ctx context.Context) (*rotation.Rotator, error) {
	cfg, err := rotation.LoadConfig(os.Getenv)
	if err != nil {
		return nil, err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	client := secretsmanager.NewFromConfig(awsCfg, func(o *secretsmanager.Options) {
		if cfg.SecretsManagerEndpoint != "" {
			o.BaseEndpoint = &cfg.SecretsManagerEndpoint
		}
	})
	return &rotation.Rotator{
		SM:      client,
		Dial:    rotation.PgxDialer,
		Config:  cfg,
		Log:     rotation.NewLambdaLogger(os.Stdout),
		Metrics: os.Stdout,
	}, nil
}
