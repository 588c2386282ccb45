package rotation

import (
	"crypto/x509"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
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

// PasswordPolicy is how new passwords are drawn: GetRandomPassword's parameters, which
// the function draws by itself (password.go).
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
	// embedded RDS authorities for RDS and Aurora endpoints (package rdsca) and the system
	// roots for any other host. LoadConfig checks that the file holds a certificate.
	CABundle string
	// AllowPlaintext makes a secret without a usable "ssl" value (absent, or what AWS's
	// functions read as "try TLS": "yes", 1, null) prefer TLS and allow plaintext: verified
	// TLS is tried first, and plaintext only when the server refuses TLS, never after a
	// failed certificate check. A secret with "ssl": true still requires TLS.
	AllowPlaintext bool
	// AllowInsecurePasswordAuth lets a server that asks for cleartext or MD5 password
	// authentication have the password, with a warning per connection. Off by default:
	// only SCRAM-SHA-256 is answered, and any other request fails the connection with
	// ErrDBInsecureAuth before anything is sent (package dbsecret). Separate from
	// AllowPlaintext, which is about TLS.
	AllowInsecurePasswordAuth bool
	// AllowPrivilegedUsers lets the alternating strategy rotate a user with CREATEROLE,
	// REPLICATION or BYPASSRLS, or a member of a role with one (see guard.go). Off by
	// default: such a user's clone carries the same power.
	AllowPrivilegedUsers bool
	// SecretsManagerEndpoint overrides the Secrets Manager endpoint (a VPC endpoint), as
	// in AWS's functions.
	SecretsManagerEndpoint string
	// CloneMemberOfUser makes the clone a member of the user (CLONE_MEMBER_OF_USER).
	CloneMemberOfUser bool
	// MasterSecretARNs are the master secrets the alternating strategy may use
	// (MASTER_SECRET_ARNS): a secret's masterarn must name one of them (master.go).
	MasterSecretARNs []string
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
	EnvMasterSecretARNs        = "MASTER_SECRET_ARNS"
	// EnvDBAllowInsecurePasswordAuth is the same variable in every rotaudit program.
	EnvDBAllowInsecurePasswordAuth = dbsecret.EnvAllowInsecurePasswordAuth
)

// EnvVars lists every environment variable LoadConfig reads.
func EnvVars() []string {
	return []string{
		EnvSecretsManagerEndpoint, EnvExcludeCharacters, EnvPasswordLength, EnvExcludeNumbers,
		EnvExcludePunctuation, EnvExcludeUppercase, EnvExcludeLowercase,
		EnvRequireEachIncludedType, EnvRotationStrategy, EnvTestQuery, EnvDBCABundle,
		EnvDBAllowPlaintext, EnvAllowPrivilegedUsers, EnvCloneMemberOfUser, EnvMasterSecretARNs,
		EnvDBAllowInsecurePasswordAuth,
	}
}

// LoadConfig builds the configuration from lookupEnv (os.LookupEnv in the function),
// which tells an unset variable from a set but empty one, as AWS's functions do for
// EXCLUDE_CHARACTERS. A bad value, or a DB_CA_BUNDLE that is missing or holds no
// certificate, is an error naming the variable.
func LoadConfig(lookupEnv func(string) (string, bool)) (Config, error) {
	get := func(name string) string {
		v, _ := lookupEnv(name)
		return v
	}
	c := Config{
		Password: PasswordPolicy{
			Length:                  32,
			ExcludeCharacters:       DefaultExcludeCharacters,
			RequireEachIncludedType: true,
		},
		Strategy:               SingleUser,
		TestQuery:              "SELECT 1",
		CABundle:               strings.TrimSpace(get(EnvDBCABundle)),
		SecretsManagerEndpoint: strings.TrimSpace(get(EnvSecretsManagerEndpoint)),
	}
	// Set, even to "", it is the whole list: AWS's functions read it with
	// os.environ.get(name, default), so an empty value means no exclusions.
	if v, ok := lookupEnv(EnvExcludeCharacters); ok {
		c.Password.ExcludeCharacters = v
	}
	if v := strings.TrimSpace(get(EnvPasswordLength)); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
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
		{EnvDBAllowInsecurePasswordAuth, &c.AllowInsecurePasswordAuth},
	} {
		if err := parseBool(b.name, get(b.name), b.dst); err != nil {
			return Config{}, err
		}
	}
	if c.Password.ExcludeNumbers && c.Password.ExcludePunctuation && c.Password.ExcludeUppercase && c.Password.ExcludeLowercase {
		return Config{}, fmt.Errorf("config: %s, %s, %s and %s are all true: no character is left for passwords",
			EnvExcludeNumbers, EnvExcludePunctuation, EnvExcludeUppercase, EnvExcludeLowercase)
	}
	if v := strings.TrimSpace(get(EnvRotationStrategy)); v != "" {
		switch Strategy(v) {
		case SingleUser, AlternatingUsers:
			c.Strategy = Strategy(v)
		default:
			return Config{}, fmt.Errorf("config: %s=%q: want %q or %q", EnvRotationStrategy, v, SingleUser, AlternatingUsers)
		}
	}
	if v, ok := lookupEnv(EnvTestQuery); ok {
		if strings.TrimSpace(v) == "" {
			return Config{}, fmt.Errorf("config: %s is set but empty: unset it for the default SELECT 1", EnvTestQuery)
		}
		c.TestQuery = v
	}
	arns, err := parseSecretARNs(get(EnvMasterSecretARNs))
	if err != nil {
		return Config{}, err
	}
	c.MasterSecretARNs = arns
	if c.Strategy == AlternatingUsers && len(arns) == 0 {
		return Config{}, fmt.Errorf("config: %s=%s needs %s: the ARNs of the master secrets this function may use (AWS's function takes any masterarn the secret names; see the drop-in table)",
			EnvRotationStrategy, AlternatingUsers, EnvMasterSecretARNs)
	}
	if c.CABundle != "" {
		if err := checkCABundle(c.CABundle); err != nil {
			return Config{}, err
		}
	}
	return c, nil
}

// checkCABundle refuses, at start, a DB_CA_BUNDLE that every connection would fail on.
func checkCABundle(path string) error {
	pem, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %s=%q: %w: give the path, inside the function, of a PEM bundle (or unset it: RDS and Aurora endpoints are verified with the embedded RDS authorities)", EnvDBCABundle, path, err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return fmt.Errorf("config: %s=%q holds no PEM certificate", EnvDBCABundle, path)
	}
	return nil
}

// MapEnv is a lookupEnv over a map, for callers that build the environment themselves
// (tests, the Terraform checks).
func MapEnv(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
}

// parseBool reads a boolean as AWS's functions do (true, 1, y, yes in any case are true)
// and takes false, 0, n, no as false. Unlike AWS, which reads every other value as false,
// anything else is an error: a typo must not silently turn a setting off. Empty means the
// default (AWS: false).
func parseBool(name, value string, dst *bool) error {
	switch strings.ToLower(strings.TrimSpace(value)) {
	case "":
	case "true", "1", "y", "yes":
		*dst = true
	case "false", "0", "n", "no":
		*dst = false
	default:
		return fmt.Errorf("config: %s=%q: want true or false (also accepted: 1, y, yes / 0, n, no)", name, value)
	}
	return nil
}

// parseSecretARNs reads MASTER_SECRET_ARNS: full secret ARNs separated by commas or
// white space.
func parseSecretARNs(v string) ([]string, error) {
	var out []string
	for _, a := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		parts := strings.SplitN(a, ":", 7)
		if len(parts) != 7 || parts[0] != "arn" || parts[2] != "secretsmanager" || parts[5] != "secret" || parts[6] == "" || secretSuffix(a) == "" {
			return nil, fmt.Errorf("config: %s: %q is not a secret's full ARN (arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<6 characters>)", EnvMasterSecretARNs, a)
		}
		out = append(out, a)
	}
	return out, nil
}
