// Command rotator is the Secrets Manager rotation Lambda for PostgreSQL secrets. It only
// wires configuration and clients; the steps live in internal/rotation.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/rotaudit/rotaudit/internal/awsclient/awsenv"
	"github.com/rotaudit/rotaudit/internal/lambdakit"
	"github.com/rotaudit/rotaudit/internal/rotation"
)

func main() { lambdakit.Start("rotator", build) }

// build returns the rotator's Lambda handler.
func build(ctx context.Context) (any, error) {
	cfg, err := rotation.LoadConfig(os.LookupEnv)
	if err != nil {
		return nil, err
	}
	// Lambda's environment only, without the SDK's config package: 2 MiB less resident
	// (internal/awsclient/awsenv).
	awsCfg, err := awsenv.Load(os.LookupEnv)
	if err != nil {
		return nil, err
	}
	r := &rotation.Rotator{
		SM:      awsenv.SecretsManager(awsCfg, cfg.SecretsManagerEndpoint),
		RDS:     rds.NewFromConfig(awsCfg),
		Dial:    rotation.PgxDialer,
		Config:  cfg,
		Log:     lambdakit.NewLogger(os.Stdout),
		Metrics: stepMetrics{lambdakit.EMF{W: os.Stdout, Namespace: metricsNamespace}},
	}
	return r.HandleRaw, nil
}
