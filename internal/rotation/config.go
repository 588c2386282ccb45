package rotation

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Strategy says which user a rotation changes.
type Strategy string

// The two strategies of AWS's rotation functions.
const (
	// SingleUser changes the password of the secret's own user, logged in as that user.
	SingleUser Strategy = "single-user"
	// AlternatingUsers switches between user and user_clone, changed by the master user of
	// the secret at masterarn, so the previous credentials keep working until the next
	// rotation.
	AlternatingUsers Strategy = "alternating-users"
)

// CloneSuffix names the second user of an alternating pair, as AWS's functions do.
const CloneSuffix = "_clone"

// DefaultExcludeCharacters is AWS's default for EXCLUDE_CHARACTERS: characters that break
// connection strings and shells.
const DefaultExcludeCharacters = `:/@"'\`

// PasswordPolicy is what GetRandomPassword is asked for.
type PasswordPolicy struct {
	Length                  int64
	ExcludeCharacters       string
	ExcludeNumbers          bool
	ExcludePunctuation      bool
	ExcludeUppercase        bool
	ExcludeLowercase        bool
	RequireEachIncludedType bool
}

// Config is the rotation function's configuration, read from its environment.
type Config struct {
	Password PasswordPolicy
	Strategy Strategy
	// TestQuery is run by testSecret with the pending credentials, in a read-only
	// transaction.
	TestQuery string
	// CABundle is the PEM file that verifies the server's certificate; empty means the
	// system roots.
	CABundle string
	// AllowPlaintext permits a connection without TLS when the secret has no "ssl" key.
	AllowPlaintext bool
	// AllowPrivilegedUsers lets the alternating strategy rotate a user with CREATEROLE,
	// REPLICATION or BYPASSRLS, or a member of a role with one (see guard.go). Off by
	// default: such a user's clone carries the same power.
	AllowPrivilegedUsers bool
	// SecretsManagerEndpoint overrides the Secrets Manager endpoint (a VPC endpoint), as
	// in AWS's functions.
	SecretsManagerEndpoint string
	// CloneMemberOfUser makes the clone a member of the user (CLONE_MEMBER_OF_USER).
	CloneMemberOfUser bool
}

// The environment variables the function reads: AWS's names, then rotaudit's.
const (
	EnvSecretsManagerEndpoint  = "SECRETS_MANAGER_ENDPOINT"
	EnvExcludeCharacters       = "EXCLUDE_CHARACTERS"
	EnvPasswordLength          = "PASSWORD_LENGTH"
	EnvExcludeNumbers          = "EXCLUDE_NUMBERS"
	EnvExcludePunctuation      = "EXCLUDE_PUNCTUATION"
	EnvExcludeUppercase        = "EXCLUDE_UPPERCASE"
	EnvExcludeLowercase        = "EXCLUDE_LOWERCASE"
	EnvRequireEachIncludedType = "REQUIRE_EACH_INCLUDED_TYPE"
	EnvRotationStrategy        = "ROTATION_STRATEGY"
	EnvTestQuery               = "TEST_QUERY"
	EnvDBCABundle              = "DB_CA_BUNDLE"
	EnvDBAllowPlaintext        = "DB_ALLOW_PLAINTEXT"
	EnvAllowPrivilegedUsers    = "ALLOW_PRIVILEGED_USERS"
)

// EnvVars lists every environment variable LoadConfig reads.
func EnvVars() []string {
	return []string{
		EnvSecretsManagerEndpoint, EnvExcludeCharacters, EnvPasswordLength, EnvExcludeNumbers,
		EnvExcludePunctuation, EnvExcludeUppercase, EnvExcludeLowercase,
		EnvRequireEachIncludedType, EnvRotationStrategy, EnvTestQuery, EnvDBCABundle,
		EnvDBAllowPlaintext, EnvAllowPrivilegedUsers, EnvCloneMemberOfUser,
	}
}

// LoadConfig builds the configuration from getenv (os.Getenv in the function). A bad
// value is an error naming the variable.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := Config{
		Password: PasswordPolicy{
			Length:                  32,
			ExcludeCharacters:       DefaultExcludeCharacters,
			RequireEachIncludedType: true,
		},
		Strategy:               SingleUser,
		TestQuery:              "SELECT 1",
		CABundle:               getenv(EnvDBCABundle),
		SecretsManagerEndpoint: strings.TrimSpace(getenv(EnvSecretsManagerEndpoint)),
	}
	// AWS's functions treat a present EXCLUDE_CHARACTERS as the whole list, even empty.
	if v, ok := lookup(getenv, EnvExcludeCharacters); ok {
		c.Password.ExcludeCharacters = v
	}
	if v, ok := lookup(getenv, EnvPasswordLength); ok && strings.TrimSpace(v) != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 8 || n > 4096 {
			return Config{}, fmt.Errorf("config: %s=%q: want a whole number from 8 to 4096", EnvPasswordLength, v)
		}
		c.Password.Length = n
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{
		{EnvExcludeNumbers, &c.Password.ExcludeNumbers},
		{EnvExcludePunctuation, &c.Password.ExcludePunctuation},
		{EnvExcludeUppercase, &c.Password.ExcludeUppercase},
		{EnvExcludeLowercase, &c.Password.ExcludeLowercase},
		{EnvRequireEachIncludedType, &c.Password.RequireEachIncludedType},
		{EnvDBAllowPlaintext, &c.AllowPlaintext},
		{EnvAllowPrivilegedUsers, &c.AllowPrivilegedUsers},
		{EnvCloneMemberOfUser, &c.CloneMemberOfUser},
	} {
		if err := parseBool(getenv, b.name, b.dst); err != nil {
			return Config{}, err
		}
	}
	if c.Password.ExcludeNumbers && c.Password.ExcludePunctuation && c.Password.ExcludeUppercase && c.Password.ExcludeLowercase {
		return Config{}, fmt.Errorf("config: %s, %s, %s and %s are all true: no character is left for passwords",
			EnvExcludeNumbers, EnvExcludePunctuation, EnvExcludeUppercase, EnvExcludeLowercase)
	}
	if v := strings.TrimSpace(getenv(EnvRotationStrategy)); v != "" {
		switch Strategy(v) {
		case SingleUser, AlternatingUsers:
			c.Strategy = Strategy(v)
		default:
			return Config{}, fmt.Errorf("config: %s=%q: want %q or %q", EnvRotationStrategy, v, SingleUser, AlternatingUsers)
		}
	}
	if v, ok := lookup(getenv, EnvTestQuery); ok {
		if strings.TrimSpace(v) == "" {
			return Config{}, fmt.Errorf("config: %s is set but empty: unset it for the default SELECT 1", EnvTestQuery)
		}
		c.TestQuery = v
	}
	return c, nil
}

// lookup treats an empty value as set: getenv cannot tell unset from empty, so only a
// non-empty value counts, except where AWS gives empty a meaning.
func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

func parseBool(getenv func(string) string, name string, dst *bool) error {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return nil
	}
	switch strings.ToLower(v) {
	case "true":
		*dst = true
	case "false":
		*dst = false
	default:
		return fmt.Errorf("config: %s=%q: want true or false", name, v)
	}
	return nil
}

// NewSecretsManagerClient builds the Secrets Manager client the rotator uses: the standard
// SDK configuration (so AWS_ENDPOINT_URL points it at an emulator), with
// SECRETS_MANAGER_ENDPOINT taking precedence as it does in AWS's rotation functions.
func NewSecretsManagerClient(ctx context.Context, cfg Config) (*secretsmanager.Client, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	return secretsmanager.NewFromConfig(awsCfg, func(o *secretsmanager.Options) {
		if cfg.SecretsManagerEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.SecretsManagerEndpoint)
		}
	}), nil
}
