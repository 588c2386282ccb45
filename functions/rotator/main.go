// Command rotator is the Secrets Manager rotation Lambda for PostgreSQL secrets. It only
// wires configuration and clients; the steps live in internal/rotation.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

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
	cfg, err := rotation.LoadConfig(os.LookupEnv)
	if err != nil {
		return nil, err
	}
	client, rdsClient, err := rotation.NewClients(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &rotation.Rotator{
		SM:      client,
		RDS:     rdsClient,
		Dial:    rotation.PgxDialer,
		Config:  cfg,
		Log:     rotation.NewLambdaLogger(os.Stdout),
		Metrics: os.Stdout,
	}, nil
}
