// Package awsenv builds the AWS SDK configuration of a Lambda function from its
// environment alone, which is all Lambda provides (the region and the execution role's
// credentials as variables, no shared config files), without the SDK's config package.
//
// It exists for memory: the config package links the STS, SSO, SSO-OIDC and sign-in
// clients for credential sources a Lambda never uses, and their tables are built at every
// start. Without it the rotator's peak RSS over a cold rotation drops from 15.45 to
// 13.43 MiB and its bootstrap from 14.9 to 13.1 MB (make bench-rotation's cold starts, 12
// each, interleaved). Programs that run elsewhere (the CLI, the API) keep
// awsclient.Load, which reads shared files and profiles.
package awsenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// SecretsManager returns a Secrets Manager client on cfg. A non-empty endpoint (the
// SECRETS_MANAGER_ENDPOINT of AWS's rotation functions: a VPC endpoint) takes precedence
// over cfg's, AWS_ENDPOINT_URL included, as it does in those functions.
func SecretsManager(cfg aws.Config, endpoint string) *secretsmanager.Client {
	return secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}

// The environment variables Load reads, with the meaning the SDK gives them.
const (
	EnvRegion                    = "AWS_REGION"
	EnvDefaultRegion             = "AWS_DEFAULT_REGION"
	EnvAccessKeyID               = "AWS_ACCESS_KEY_ID"
	EnvSecretAccessKey           = "AWS_SECRET_ACCESS_KEY"
	EnvSessionToken              = "AWS_SESSION_TOKEN"
	EnvContainerCredentialsURI   = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	EnvContainerCredentialsPath  = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
	EnvContainerAuthToken        = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
	EnvContainerAuthTokenFile    = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
	EnvEndpointURL               = "AWS_ENDPOINT_URL"
	EnvIgnoreConfiguredEndpoints = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
	EnvUseFIPSEndpoint           = "AWS_USE_FIPS_ENDPOINT"
	EnvUseDualStackEndpoint      = "AWS_USE_DUALSTACK_ENDPOINT"
	EnvMaxAttempts               = "AWS_MAX_ATTEMPTS"
	EnvRetryMode                 = "AWS_RETRY_MODE"
	EnvCABundle                  = "AWS_CA_BUNDLE"
)

// ecsCredentialsHost is where AWS_CONTAINER_CREDENTIALS_RELATIVE_URI points, as in the SDK.
const ecsCredentialsHost = "http://169.254.170.2"

// Load returns the configuration that lookup (os.LookupEnv) describes. It honours the
// variables listed above as the SDK's config package does, service-specific endpoints
// (AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL_RDS) included, and takes container
// credentials when there are no key variables. A missing region or missing credentials
// is an error that names the variables.
func Load(lookup func(string) (string, bool)) (aws.Config, error) {
	e := lambdaEnv{lookup}
	cfg := aws.Config{ConfigSources: []any{e}}
	cfg.Region = e.get(EnvRegion)
	if cfg.Region == "" {
		cfg.Region = e.get(EnvDefaultRegion)
	}
	if cfg.Region == "" {
		return aws.Config{}, fmt.Errorf("aws config: neither %s nor %s is set (Lambda sets %s)", EnvRegion, EnvDefaultRegion, EnvRegion)
	}
	if ignore, _, err := e.GetIgnoreConfiguredEndpoints(context.Background()); err != nil {
		return aws.Config{}, err
	} else if v := e.get(EnvEndpointURL); v != "" && !ignore {
		cfg.BaseEndpoint = aws.String(v)
	}
	// The endpoint flags are read by each client through ConfigSources; parse them here
	// so that a bad value fails at start, naming the variable.
	if _, _, err := e.GetUseFIPSEndpoint(context.Background()); err != nil {
		return aws.Config{}, err
	}
	if _, _, err := e.GetUseDualStackEndpoint(context.Background()); err != nil {
		return aws.Config{}, err
	}
	if v := e.get(EnvMaxAttempts); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return aws.Config{}, fmt.Errorf("aws config: %s=%q: want a whole number of attempts, at least 1", EnvMaxAttempts, v)
		}
		cfg.RetryMaxAttempts = n
	}
	if v := e.get(EnvRetryMode); v != "" {
		mode, err := aws.ParseRetryMode(v)
		if err != nil {
			return aws.Config{}, fmt.Errorf("aws config: %s: %w", EnvRetryMode, err)
		}
		cfg.RetryMode = mode
	}
	if path := e.get(EnvCABundle); path != "" {
		pem, err := os.ReadFile(path)
		if err != nil {
			return aws.Config{}, fmt.Errorf("aws config: %s: %w", EnvCABundle, err)
		}
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(pem) {
			return aws.Config{}, fmt.Errorf("aws config: %s=%s holds no PEM certificate", EnvCABundle, path)
		}
		cfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			if tr.TLSClientConfig == nil {
				tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			}
			tr.TLSClientConfig.RootCAs = roots
		})
	}
	p, err := e.credentials()
	if err != nil {
		return aws.Config{}, err
	}
	cfg.Credentials = aws.NewCredentialsCache(p)
	return cfg, nil
}

// credentials picks the provider as the SDK's chain does for what Lambda can provide:
// the key variables first, then the container credentials endpoint.
func (e lambdaEnv) credentials() (aws.CredentialsProvider, error) {
	id, secret := e.get(EnvAccessKeyID), e.get(EnvSecretAccessKey)
	switch {
	case id != "" && secret != "":
		return credentials.NewStaticCredentialsProvider(id, secret, e.get(EnvSessionToken)), nil
	case id != "" || secret != "":
		return nil, fmt.Errorf("aws config: %s and %s go together: one is set, the other is not", EnvAccessKeyID, EnvSecretAccessKey)
	}
	uri := e.get(EnvContainerCredentialsURI)
	if rel := e.get(EnvContainerCredentialsPath); uri == "" && rel != "" {
		uri = ecsCredentialsHost + rel
	}
	if uri == "" {
		return nil, fmt.Errorf("aws config: no credentials: set %s and %s (Lambda sets them from the execution role) or %s",
			EnvAccessKeyID, EnvSecretAccessKey, EnvContainerCredentialsURI)
	}
	if err := checkCredentialsURI(uri); err != nil {
		return nil, err
	}
	token, tokenFile := e.get(EnvContainerAuthToken), e.get(EnvContainerAuthTokenFile)
	return endpointcreds.New(uri, func(o *endpointcreds.Options) {
		o.AuthorizationToken = token
		if tokenFile != "" {
			// Read at each refresh: the file is rotated under the process.
			o.AuthorizationTokenProvider = endpointcreds.TokenProviderFunc(func() (string, error) {
				b, err := os.ReadFile(tokenFile)
				if err != nil {
					return "", fmt.Errorf("%s: %w", EnvContainerAuthTokenFile, err)
				}
				return strings.TrimSpace(string(b)), nil
			})
		}
	}), nil
}

// checkCredentialsURI allows, as the SDK does, plain HTTP only to this machine or to the
// ECS and EKS credential addresses, so the authorization token never crosses a network
// in clear. (The SDK resolves a host name first; here a name other than localhost must
// be an address.)
func checkCredentialsURI(uri string) error {
	u, err := url.Parse(uri)
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("aws config: %s=%q is not a URL with a host", EnvContainerCredentialsURI, uri)
	}
	if u.Scheme != "http" {
		return nil
	}
	host := u.Hostname()
	ip, err := netip.ParseAddr(host)
	if host == "localhost" || err == nil && (ip.IsLoopback() || ip == netip.MustParseAddr("169.254.170.2") || ip == netip.MustParseAddr("169.254.170.23")) {
		return nil
	}
	return fmt.Errorf("aws config: %s=%q: plain http only to a loopback, ECS or EKS address", EnvContainerCredentialsURI, uri)
}

// lambdaEnv answers the SDK clients' questions about the configuration (their
// ConfigSources) from the environment, as the config package's EnvConfig does.
type lambdaEnv struct{ lookup func(string) (string, bool) }

func (e lambdaEnv) get(name string) string {
	v, _ := e.lookup(name)
	return strings.TrimSpace(v)
}

// GetServiceBaseEndpoint returns AWS_ENDPOINT_URL_<SDK ID>, the SDK ID upper-cased with
// its spaces made underscores (AWS_ENDPOINT_URL_SECRETS_MANAGER).
func (e lambdaEnv) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	v := e.get(EnvEndpointURL + "_" + strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_"))
	return v, v != "", nil
}

// GetIgnoreConfiguredEndpoints reports AWS_IGNORE_CONFIGURED_ENDPOINT_URLS.
func (e lambdaEnv) GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error) {
	return e.flag(EnvIgnoreConfiguredEndpoints)
}

// GetUseFIPSEndpoint reports AWS_USE_FIPS_ENDPOINT.
func (e lambdaEnv) GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error) {
	on, found, err := e.flag(EnvUseFIPSEndpoint)
	if !found || err != nil {
		return aws.FIPSEndpointStateUnset, found, err
	}
	if on {
		return aws.FIPSEndpointStateEnabled, true, nil
	}
	return aws.FIPSEndpointStateDisabled, true, nil
}

// GetUseDualStackEndpoint reports AWS_USE_DUALSTACK_ENDPOINT.
func (e lambdaEnv) GetUseDualStackEndpoint(context.Context) (aws.DualStackEndpointState, bool, error) {
	on, found, err := e.flag(EnvUseDualStackEndpoint)
	if !found || err != nil {
		return aws.DualStackEndpointStateUnset, found, err
	}
	if on {
		return aws.DualStackEndpointStateEnabled, true, nil
	}
	return aws.DualStackEndpointStateDisabled, true, nil
}

// flag reads a true/false variable as the SDK does (case-insensitive).
func (e lambdaEnv) flag(name string) (value, found bool, err error) {
	switch v := strings.ToLower(e.get(name)); v {
	case "":
		return false, false, nil
	case "true":
		return true, true, nil
	case "false":
		return false, true, nil
	default:
		return false, false, fmt.Errorf("aws config: %s=%q: want true or false", name, v)
	}
}
