// Command coldfloor is the cold-start floor of the rotation benchmark (bench_test.go): a
// Lambda bootstrap that answers createSecret with the four Secrets Manager calls AWS's
// function makes (DescribeSecret, AWSCURRENT's value, the token's value, PutSecretValue),
// one after another and without any logic, through the same SDK client and Lambda runtime
// library as the rotator. It checks nothing and makes no password: it puts AWSCURRENT's
// value back under the token, which the benchmark removes again. Only the benchmark runs
// it.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotaudit/rotaudit/internal/awsclient/awsenv"
)

type event struct {
	Step               string
	SecretID           string `json:"SecretId"`
	ClientRequestToken string
}

func main() {
	cfg, err := awsenv.Load(os.LookupEnv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	c := awsenv.SecretsManager(cfg, os.Getenv("SECRETS_MANAGER_ENDPOINT"))
	lambda.Start(func(ctx context.Context, ev event) error {
		if ev.Step != "createSecret" {
			return fmt.Errorf("coldfloor answers createSecret only, not %q", ev.Step)
		}
		id := aws.String(ev.SecretID)
		if _, err := c.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: id}); err != nil {
			return err
		}
		cur, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: id, VersionStage: aws.String("AWSCURRENT")})
		if err != nil {
			return err
		}
		// The token has no value yet: AWS's function reads it to find that out.
		c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: id, VersionId: aws.String(ev.ClientRequestToken), VersionStage: aws.String("AWSPENDING")})
		_, err = c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: id, ClientRequestToken: aws.String(ev.ClientRequestToken),
			SecretString: cur.SecretString, VersionStages: []string{"AWSPENDING"}})
		return err
	})
}
