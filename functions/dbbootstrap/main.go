// Command dbbootstrap is the one-shot Lambda of a first deployment: it prepares the
// database with the master user and sets the app secrets' first passwords. It only wires
// configuration and clients; the work lives in internal/bootstrap.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/rotaudit/rotaudit/internal/bootstrap"
	"github.com/rotaudit/rotaudit/internal/rotation"
)

func main() {
	b, err := build(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "dbbootstrap:", err)
		os.Exit(1)
	}
	lambda.Start(b.Handle)
}

func build(ctx context.Context) (*bootstrap.Bootstrapper, error) {
	cfg, err := bootstrap.LoadConfig(os.Getenv)
	if err != nil {
		return nil, err
	}
	client, err := rotation.NewSecretsManagerClient(ctx, rotation.Config{SecretsManagerEndpoint: cfg.SecretsManagerEndpoint})
	if err != nil {
		return nil, err
	}
	return &bootstrap.Bootstrapper{SM: client, Config: cfg, Log: rotation.NewLambdaLogger(os.Stdout)}, nil
}
