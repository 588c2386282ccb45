// Package awsclient loads the AWS SDK configuration every binary of the project uses and
// builds the clients that need more than the standard settings. All AWS access goes
// through the standard configuration (environment, shared files, the Lambda's role), so
// AWS_ENDPOINT_URL alone points a program at an emulator and, unset, at AWS. A Lambda
// function that must stay small loads its configuration with package awsenv instead,
// which reads the same variables without the SDK's config package.
package awsclient

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotaudit/rotaudit/internal/awsclient/awsenv"
)

// Load returns the standard SDK configuration.
func Load(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("aws config: %w", err)
	}
	return cfg, nil
}

// SecretsManager returns a Secrets Manager client on cfg. A non-empty endpoint (the
// SECRETS_MANAGER_ENDPOINT of AWS's rotation functions: a VPC endpoint) takes precedence
// over cfg's, AWS_ENDPOINT_URL included, as it does in those functions.
func SecretsManager(cfg aws.Config, endpoint string) *secretsmanager.Client {
	return awsenv.SecretsManager(cfg, endpoint)
}

// NewSecretsManager is Load, then SecretsManager: for a program that needs no other client.
func NewSecretsManager(ctx context.Context, endpoint string) (*secretsmanager.Client, error) {
	cfg, err := Load(ctx)
	if err != nil {
		return nil, err
	}
	return SecretsManager(cfg, endpoint), nil
}
