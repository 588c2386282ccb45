package awsenv_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/rotaudit/rotaudit/internal/awsclient/awsenv"
)

// lambdaVars is what Lambda sets for a function with an execution role.
var lambdaVars = map[string]string{
	"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token",
}

// env is lambdaVars with changes ("" removes a variable), as a lookup function.
func env(changes map[string]string) func(string) (string, bool) {
	m := map[string]string{}
	for k, v := range lambdaVars {
		m[k] = v
	}
	for k, v := range changes {
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		changes map[string]string
		check   func(t *testing.T, cfg aws.Config)
		wantErr string
	}{
		{name: "Lambda's variables", check: func(t *testing.T, cfg aws.Config) {
			if cfg.Region != "eu-west-1" {
				t.Errorf("region %q", cfg.Region)
			}
			c, err := cfg.Credentials.Retrieve(context.Background())
			if err != nil || c.AccessKeyID != "AKIDEXAMPLE" || c.SecretAccessKey != "secret" || c.SessionToken != "token" {
				t.Errorf("credentials %+v, %v", c, err)
			}
			if cfg.BaseEndpoint != nil {
				t.Errorf("endpoint %q without AWS_ENDPOINT_URL", *cfg.BaseEndpoint)
			}
		}},
		{name: "AWS_DEFAULT_REGION when AWS_REGION is unset", changes: map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": "us-west-2"},
			check: func(t *testing.T, cfg aws.Config) {
				if cfg.Region != "us-west-2" {
					t.Errorf("region %q", cfg.Region)
				}
			}},
		{name: "no region", changes: map[string]string{"AWS_REGION": ""}, wantErr: "AWS_REGION"},
		{name: "no credentials", changes: map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}, wantErr: "AWS_CONTAINER_CREDENTIALS_FULL_URI"},
		{name: "half a key", changes: map[string]string{"AWS_SECRET_ACCESS_KEY": ""}, wantErr: "AWS_SECRET_ACCESS_KEY"},
		{name: "container credentials on loopback", changes: map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9001/creds"},
			check: func(t *testing.T, cfg aws.Config) {
				if cfg.Credentials == nil {
					t.Error("no credentials provider")
				}
			}},
		{name: "container credentials over plain http elsewhere", changes: map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://creds.example.com/"},
			wantErr: "plain http"},
		{name: "AWS_ENDPOINT_URL", changes: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}, check: func(t *testing.T, cfg aws.Config) {
			if aws.ToString(cfg.BaseEndpoint) != "http://127.0.0.1:4566" {
				t.Errorf("endpoint %q", aws.ToString(cfg.BaseEndpoint))
			}
		}},
		{name: "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", changes: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
			check: func(t *testing.T, cfg aws.Config) {
				if cfg.BaseEndpoint != nil {
					t.Errorf("endpoint %q", *cfg.BaseEndpoint)
				}
			}},
		{name: "retries", changes: map[string]string{"AWS_MAX_ATTEMPTS": "5", "AWS_RETRY_MODE": "adaptive"}, check: func(t *testing.T, cfg aws.Config) {
			if cfg.RetryMaxAttempts != 5 || cfg.RetryMode != aws.RetryModeAdaptive {
				t.Errorf("attempts %d, mode %q", cfg.RetryMaxAttempts, cfg.RetryMode)
			}
		}},
		{name: "bad AWS_MAX_ATTEMPTS", changes: map[string]string{"AWS_MAX_ATTEMPTS": "many"}, wantErr: "AWS_MAX_ATTEMPTS"},
		{name: "bad AWS_USE_FIPS_ENDPOINT", changes: map[string]string{"AWS_USE_FIPS_ENDPOINT": "yes"}, wantErr: "AWS_USE_FIPS_ENDPOINT"},
		{name: "AWS_CA_BUNDLE that is not PEM", changes: map[string]string{"AWS_CA_BUNDLE": writeFile(t, "not a certificate")}, wantErr: "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := awsenv.Load(env(tt.changes))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, cfg)
		})
	}
}

// TestEndpoints checks the clients' endpoints: the service-specific variables, which each
// client reads through ConfigSources, the FIPS flag, and SECRETS_MANAGER_ENDPOINT.
func TestEndpoints(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
	t.Setenv("AWS_ENDPOINT_URL_RDS", "http://127.0.0.1:4599")
	cfg, err := awsenv.Load(env(map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_RDS": "http://127.0.0.1:4599", "AWS_USE_FIPS_ENDPOINT": "true"}))
	if err != nil {
		t.Fatal(err)
	}
	r := rds.NewFromConfig(cfg).Options()
	if got := aws.ToString(r.BaseEndpoint); got != "http://127.0.0.1:4599" {
		t.Errorf("RDS endpoint %q, want AWS_ENDPOINT_URL_RDS", got)
	}
	if r.EndpointOptions.UseFIPSEndpoint != aws.FIPSEndpointStateEnabled {
		t.Errorf("RDS FIPS %v, want enabled", r.EndpointOptions.UseFIPSEndpoint)
	}
	for _, tt := range []struct{ override, want string }{
		{"", "http://127.0.0.1:4566"},
		{"https://vpce-0abc.secretsmanager.eu-west-1.vpce.amazonaws.com", "https://vpce-0abc.secretsmanager.eu-west-1.vpce.amazonaws.com"},
	} {
		if got := aws.ToString(awsenv.SecretsManager(cfg, tt.override).Options().BaseEndpoint); got != tt.want {
			t.Errorf("Secrets Manager endpoint with override %q: %q, want %q", tt.override, got, tt.want)
		}
	}
}

func writeFile(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
