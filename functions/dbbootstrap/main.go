// Command dbbootstrap is the one-shot Lambda of a first deployment: it prepares the
// database with the master user and sets the app secrets' first passwords. It only wires
// configuration and clients; the work lives in internal/bootstrap.
package main

import (
	"context"
	"os"

	"github.com/rotaudit/rotaudit/internal/awsclient"
	"github.com/rotaudit/rotaudit/internal/bootstrap"
	"github.com/rotaudit/rotaudit/internal/lambdakit"
)

func main() { lambdakit.Start("dbbootstrap", build) }

// build returns the bootstrap's Lambda handler.
func build(ctx context.Context) (any, error) {
	cfg, err := bootstrap.LoadConfig(os.Getenv)
	if err != nil {
		return nil, err
	}
	client, err := awsclient.NewSecretsManager(ctx, cfg.SecretsManagerEndpoint)
	if err != nil {
		return nil, err
	}
	b := &bootstrap.Bootstrapper{SM: client, Config: cfg, Log: lambdakit.NewLogger(os.Stdout)}
	return b.Handle, nil
}
