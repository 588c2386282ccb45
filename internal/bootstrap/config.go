package bootstrap

import (
	"fmt"
	"strings"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/ratesdb"
)

// The environment variables of the bootstrap Lambda (and of `rotaudit db setup
// --master-secret`, which reads the optional ones too).
const (
	EnvMasterSecretARN        = "MASTER_SECRET_ARN"
	EnvAppSecretARNs          = "APP_SECRET_ARNS"
	EnvAppUsername            = "APP_USERNAME"
	EnvDBName                 = "DB_NAME"
	EnvDBCABundle             = "DB_CA_BUNDLE"
	EnvDBAllowPlaintext       = "DB_ALLOW_PLAINTEXT"
	EnvSecretsManagerEndpoint = "SECRETS_MANAGER_ENDPOINT"
	// EnvDBAllowInsecurePasswordAuth is the same variable in every rotaudit program.
	EnvDBAllowInsecurePasswordAuth = dbsecret.EnvAllowInsecurePasswordAuth
)

// EnvVars lists every environment variable LoadConfig reads: what Terraform must set on the
// Lambda (internal/tfcheck compares the two).
func EnvVars() []string {
	return []string{
		EnvMasterSecretARN, EnvAppSecretARNs, EnvAppUsername, EnvDBName,
		EnvDBCABundle, EnvDBAllowPlaintext, EnvSecretsManagerEndpoint,
		EnvDBAllowInsecurePasswordAuth,
	}
}

// maxAppUsername leaves room for the "_clone" partner within PostgreSQL's 63-byte names.
const maxAppUsername = 63 - len("_clone")

// Config is what a bootstrap prepares, and how it reaches the database.
type Config struct {
	// MasterSecretARN is the master user's secret: a CREATEROLE user that owns the
	// database (the RDS master), as a full database secret or RDS's managed
	// {"username","password"}.
	MasterSecretARN string
	// AppSecretARNs are the application's secrets whose first password the bootstrap sets.
	AppSecretARNs []string
	// AppUsername is the application's login role. A secret may name it, a role of
	// MoreAppUsernames, or one of their _clone partners, and nothing else: names come from
	// here, never from a secret.
	AppUsername string
	// MoreAppUsernames are further applications' login roles on the same database, each
	// with its own secret and the same grants (APP_USERNAME lists them after the first,
	// comma-separated).
	MoreAppUsernames []string
	// DBName is the database that gets the schema.
	DBName string
	// ReaderRole is the NOLOGIN role that holds the grants [ratesdb.DefaultReaderRole].
	ReaderRole string
	// CABundle verifies the server's certificate; empty means the embedded RDS authorities
	// for an RDS or Aurora endpoint, else the system roots.
	CABundle string
	// AllowPlaintext lets a secret without a usable "ssl" value connect without TLS when
	// the server refuses TLS (dbsecret.TLSPolicy); TLS is still tried first.
	AllowPlaintext bool
	// AllowInsecurePasswordAuth lets a server that asks for cleartext or MD5 password
	// authentication have the password, with a warning per connection. Off, only
	// SCRAM-SHA-256 is answered (dbsecret.ErrInsecureAuth otherwise, nothing sent).
	AllowInsecurePasswordAuth bool
	// SecretsManagerEndpoint overrides the Secrets Manager endpoint (a VPC endpoint).
	SecretsManagerEndpoint string
}

// LoadConfig builds the configuration from getenv. A missing or bad value is an error
// naming the variable.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := Config{
		MasterSecretARN:        strings.TrimSpace(getenv(EnvMasterSecretARN)),
		DBName:                 strings.TrimSpace(getenv(EnvDBName)),
		ReaderRole:             ratesdb.DefaultReaderRole,
		CABundle:               strings.TrimSpace(getenv(EnvDBCABundle)),
		SecretsManagerEndpoint: strings.TrimSpace(getenv(EnvSecretsManagerEndpoint)),
	}
	if c.DBName == "" {
		c.DBName = ratesdb.DefaultDatabase
	}
	c.AppUsername, c.MoreAppUsernames = SplitUsernames(getenv(EnvAppUsername))
	for _, a := range strings.Split(getenv(EnvAppSecretARNs), ",") {
		if a = strings.TrimSpace(a); a != "" {
			c.AppSecretARNs = append(c.AppSecretARNs, a)
		}
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{
		{EnvDBAllowPlaintext, &c.AllowPlaintext},
		{EnvDBAllowInsecurePasswordAuth, &c.AllowInsecurePasswordAuth},
	} {
		switch v := strings.ToLower(strings.TrimSpace(getenv(b.name))); v {
		case "", "false":
		case "true":
			*b.dst = true
		default:
			return Config{}, fmt.Errorf("config: %s=%q: want true or false", b.name, v)
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate checks a configuration built in code (the CLI) as LoadConfig checks the
// environment; errors name the variable.
func (c Config) Validate() error {
	switch {
	case c.MasterSecretARN == "":
		return fmt.Errorf("config: %s is required: the master user's secret", EnvMasterSecretARN)
	case len(c.AppSecretARNs) == 0:
		return fmt.Errorf("config: %s is required: the app secrets, comma-separated", EnvAppSecretARNs)
	case c.AppUsername == "":
		return fmt.Errorf("config: %s is required: the application's login role", EnvAppUsername)
	}
	// Every login and every _clone partner is one role of one secret: two secrets changing
	// one role's password would undo each other.
	roles := map[string]bool{c.ReaderRole: true}
	for _, u := range c.AppUsernames() {
		if err := roleName(EnvAppUsername, u, maxAppUsername); err != nil {
			return err
		}
		for _, r := range []string{u, u + "_clone"} {
			if roles[r] {
				if r == c.ReaderRole {
					return fmt.Errorf("config: %s=%q cannot be the reader role %q or its _clone", EnvAppUsername, u, c.ReaderRole)
				}
				return fmt.Errorf("config: %s lists role %q twice (as a user or another user's _clone)", EnvAppUsername, r)
			}
			roles[r] = true
		}
	}
	if err := roleName(EnvDBName, c.DBName, 63); err != nil {
		return err
	}
	if c.ReaderRole == "" {
		return fmt.Errorf("config: the reader role is required")
	}
	seen := map[string]bool{}
	for _, a := range c.AppSecretARNs {
		if seen[a] {
			return fmt.Errorf("config: %s lists %s twice", EnvAppSecretARNs, a)
		}
		seen[a] = true
	}
	return nil
}

// roleName accepts what PostgreSQL keeps as given: 1 to max bytes, no NUL, and no
// surrounding blanks that an operator would not see.
func roleName(env, v string, max int) error {
	if v == "" || len(v) > max || strings.ContainsRune(v, 0) || strings.TrimSpace(v) != v {
		return fmt.Errorf("config: %s=%q: want a name of 1 to %d bytes", env, v, max)
	}
	return nil
}

// AppUsernames returns every application login role, AppUsername first.
func (c Config) AppUsernames() []string {
	return append([]string{c.AppUsername}, c.MoreAppUsernames...)
}

// allows reports whether a secret may name user: a configured login or its _clone.
func (c Config) allows(user string) bool {
	for _, u := range c.AppUsernames() {
		if user == u || user == u+"_clone" {
			return true
		}
	}
	return false
}

// SplitUsernames reads APP_USERNAME's comma-separated list: the first login and the others.
// Blank entries are dropped, so a trailing comma is harmless.
func SplitUsernames(v string) (first string, more []string) {
	for _, u := range strings.Split(v, ",") {
		switch u = strings.TrimSpace(u); {
		case u == "":
		case first == "":
			first = u
		default:
			more = append(more, u)
		}
	}
	return first, more
}
