package awsclient_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/rotaudit/rotaudit/internal/awsclient"
)

func TestSecretsManagerEndpoint(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
	tests := []struct {
		name, override, want string
	}{
		{"SECRETS_MANAGER_ENDPOINT wins over AWS_ENDPOINT_URL", "https://vpce-0abc.secretsmanager.eu-west-1.vpce.amazonaws.com", "https://vpce-0abc.secretsmanager.eu-west-1.vpce.amazonaws.com"},
		{"without it the SDK's own configuration applies", "", "http://127.0.0.1:4566"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := awsclient.NewSecretsManager(context.Background(), tt.override)
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToString(c.Options().BaseEndpoint); got != tt.want {
				t.Fatalf("endpoint %q, want %q", got, tt.want)
			}
		})
	}
}
