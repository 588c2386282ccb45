package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/rotaudit/rotaudit/internal/devstack"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotaudit/rotaudit/internal/awsclient"
	"github.com/rotaudit/rotaudit/internal/bootstrap"
	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/ratesdb"
)

// dbCommand is `rotaudit db setup`: what scripts/bootstrap.sh runs on every `make up`; with
// --master-secret, the first deployment's bootstrap of a real database instead.
func dbCommand() command {
	return command{
		summary: "rates database: setup (local stack; or --master-secret: bootstrap a deployed one), show (secrets, redacted)",
		run:     runDB,
	}
}

func runDB(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "show" {
		return runDBShow(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "setup" {
		fmt.Fprintln(stderr, "usage: rotaudit db setup [flags] | rotaudit db setup --master-secret ARN --app-secret ARN [--app-username rates_app] | rotaudit db show [secret-id...]")
		if len(args) > 0 && !helpRequested(args[:1]) {
			fmt.Fprintf(stderr, "rotaudit db: unknown subcommand %q (setup, show)\n", args[0])
			return errUnknown
		}
		return errUsage
	}
	if hasFlag(args[1:], "master-secret") {
		return runDBBootstrap(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("db setup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port, err := devstack.PortFromEnv("ROTAUDIT_PG_PORT", devstack.DefaultLocalPort)
	if err != nil {
		return fmt.Errorf("db setup: %w", err)
	}
	super := os.Getenv("ROTAUDIT_PG_SUPER_DSN")
	if super == "" && os.Getenv("ROTAUDIT_PG_SOCKET_DIR") != "" {
		super = fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable", os.Getenv("ROTAUDIT_PG_SOCKET_DIR"), port)
	}
	c := devstack.Defaults(super, port)
	fs.StringVar(&c.SuperConn, "super", c.SuperConn, "superuser connection string (env ROTAUDIT_PG_SUPER_DSN; the password, if any, from PGPASSWORD)")
	fs.StringVar(&c.Host, "host", c.Host, "host written into the secrets")
	fs.IntVar(&c.Port, "port", c.Port, "port written into the secrets (env ROTAUDIT_PG_PORT)")
	fs.StringVar(&c.Database, "database", c.Database, "database to create")
	fs.StringVar(&c.AppRole, "app-role", c.AppRole, "application login role (SELECT only)")
	fs.StringVar(&c.AdminRole, "admin-role", c.AdminRole, "admin role: owns the tables, rotates the app role")
	fs.StringVar(&c.ReaderRole, "reader-role", c.ReaderRole, "NOLOGIN role that holds the grants; the app logins are its members")
	fs.String("master-secret", "", "bootstrap a deployed database with this master secret instead (see rotaudit db setup --master-secret ARN -h)")
	fs.StringVar(&c.AppSecretID, "app-secret", c.AppSecretID, "secret id for the app role")
	fs.StringVar(&c.AdminSecretID, "admin-secret", c.AdminSecretID, "secret id for the admin role")
	fs.StringVar(&c.AdminSecretDatabase, "admin-secret-database", "", "database the admin secret names (default: -database); set to the first database's when adding a second one on the same cluster")
	fs.StringVar(&c.DumpPath, "dump", os.Getenv("RATES_SQL"), "plain pg_dump to load instead of the demo data (env RATES_SQL)")
	fs.BoolVar(&c.ReloadDemo, "reload-demo", false, "replace the tables with the demo data afresh (without --dump)")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	if c.SuperConn == "" {
		return fmt.Errorf("db setup: no superuser connection: set ROTAUDIT_PG_SUPER_DSN or ROTAUDIT_PG_SOCKET_DIR (eval \"$(scripts/stack.sh env)\")")
	}
	if c.DumpPath != "" {
		abs, err := filepath.Abs(c.DumpPath)
		if err != nil {
			return fmt.Errorf("db setup: RATES_SQL: %w", err)
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("db setup: RATES_SQL: %w", err)
		}
		c.DumpPath = abs
	}
	c.Log = slog.New(slog.NewTextHandler(stderr, nil))
	sm, err := awsclient.NewSecretsManager(ctx, "")
	if err != nil {
		return fmt.Errorf("db setup: %w", err)
	}
	res, err := devstack.Setup(ctx, sm, c)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database %s on %s:%d: %d price rows (data: %s)\n", c.Database, c.Host, c.Port, res.PriceRows, res.DataSource)
	if len(res.RoleChanges) > 0 {
		fmt.Fprintf(stdout, "roles and grants: %d changes (reader role %s)\n", len(res.RoleChanges), c.ReaderRole)
	}
	fmt.Fprintf(stdout, "app secret   %s (%s)%s\n", c.AppSecretID, res.AppSecretARN, changedNote(res.AppPasswordSet))
	fmt.Fprintf(stdout, "admin secret %s (%s)%s\n", c.AdminSecretID, res.AdminSecretARN, changedNote(res.AdminPasswordSet))
	return nil
}

func changedNote(changed bool) string {
	if changed {
		return ": new password set"
	}
	return ": kept, its password logs in"
}

// runDBShow prints the current value of each secret with the password redacted, and its
// version stages: what a demo or an operator may look at.
func runDBShow(ctx context.Context, ids []string, stdout, stderr io.Writer) error {
	if helpRequested(ids) {
		fmt.Fprintf(stderr, "usage: rotaudit db show [secret-id...]\n\nPrints each secret's ARN, current version and value with the password redacted\n(default: %s and %s).\n", devstack.DefaultAppSecretID, devstack.DefaultAdminSecretID)
		return errUsage
	}
	if len(ids) == 0 {
		ids = []string{devstack.DefaultAppSecretID, devstack.DefaultAdminSecretID}
	}
	sm, err := awsclient.NewSecretsManager(ctx, "")
	if err != nil {
		return fmt.Errorf("db show: %w", err)
	}
	for _, id := range ids {
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id), VersionStage: aws.String("AWSCURRENT")})
		if err != nil {
			return fmt.Errorf("db show: %s: %w", id, err)
		}
		s, err := dbsecret.Parse([]byte(aws.ToString(out.SecretString)))
		if err != nil {
			return fmt.Errorf("db show: %s: %w", id, err)
		}
		fmt.Fprintf(stdout, "%s\n  arn:     %s\n  current: version %s\n  value:   %s\n", id, aws.ToString(out.ARN), aws.ToString(out.VersionId), s)
		if s.MasterARN != "" {
			fmt.Fprintf(stdout, "  master:  %s\n", s.MasterARN)
		}
	}
	return nil
}

// hasFlag reports whether args set flag name (-name, --name, with or without =value).
func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		a = strings.TrimLeft(a, "-")
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// runDBBootstrap is `rotaudit db setup --master-secret ARN --app-secret ARN`: the first
// deployment's bootstrap on a real database (internal/bootstrap), what the dbbootstrap
// Lambda does, from an operator's machine or an ECS task. The optional settings come from
// the Lambda's variables (DB_CA_BUNDLE, DB_ALLOW_PLAINTEXT, DB_ALLOW_INSECURE_PASSWORD_AUTH,
// SECRETS_MANAGER_ENDPOINT).
func runDBBootstrap(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("db setup --master-secret", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c bootstrap.Config
	var apps string
	dbName := os.Getenv(bootstrap.EnvDBName)
	if dbName == "" {
		dbName = ratesdb.DefaultDatabase
	}
	fs.StringVar(&c.MasterSecretARN, "master-secret", "", "ARN (or name) of the master user's secret: CREATEROLE, owns the database; RDS-managed {username,password} accepted")
	fs.StringVar(&apps, "app-secret", "", "ARN (or name) of the app secret; comma-separated for several")
	fs.StringVar(&c.AppUsername, "app-username", devstack.DefaultAppRole, "the applications' login roles, comma-separated, the first the API's; a secret may name one of them or its _clone, nothing else")
	fs.StringVar(&c.DBName, "database", dbName, "database that gets the schema (env DB_NAME)")
	fs.StringVar(&c.ReaderRole, "reader-role", ratesdb.DefaultReaderRole, "NOLOGIN role that holds the grants")
	fs.StringVar(&c.CABundle, "ca-bundle", os.Getenv(bootstrap.EnvDBCABundle), "PEM bundle for verify-full (env DB_CA_BUNDLE)")
	plaintext := fs.Bool("allow-plaintext", strings.EqualFold(strings.TrimSpace(os.Getenv(bootstrap.EnvDBAllowPlaintext)), "true"),
		"connect without TLS when a secret has no \"ssl\" key and the server refuses TLS (env DB_ALLOW_PLAINTEXT)")
	insecureAuth := fs.Bool("allow-insecure-password-auth", strings.EqualFold(strings.TrimSpace(os.Getenv(bootstrap.EnvDBAllowInsecurePasswordAuth)), "true"),
		"answer a server that asks for a cleartext or MD5 password (it receives the password); default: scram-sha-256 only (env DB_ALLOW_INSECURE_PASSWORD_AUTH)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	c.AppUsername, c.MoreAppUsernames = bootstrap.SplitUsernames(c.AppUsername)
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "db setup: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	c.AllowPlaintext, c.AllowInsecurePasswordAuth = *plaintext, *insecureAuth
	c.SecretsManagerEndpoint = strings.TrimSpace(os.Getenv(bootstrap.EnvSecretsManagerEndpoint))
	for _, a := range strings.Split(apps, ",") {
		if a = strings.TrimSpace(a); a != "" {
			c.AppSecretARNs = append(c.AppSecretARNs, a)
		}
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("db setup: %w (flags --master-secret, --app-secret, --app-username, --database)", err)
	}
	sm, err := awsclient.NewSecretsManager(ctx, c.SecretsManagerEndpoint)
	if err != nil {
		return fmt.Errorf("db setup: %w", err)
	}
	b := &bootstrap.Bootstrapper{SM: sm, Config: c, Log: slog.New(slog.NewJSONHandler(stderr, nil))}
	res, err := b.Run(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database %s: %d migrations applied, %d role and grant changes (reader role %s)\n", res.Database, len(res.Migrated), len(res.RoleChanges), c.ReaderRole)
	for _, a := range res.Apps {
		fmt.Fprintf(stdout, "app secret %s (user %s)%s\n", a.SecretARN, a.Username, changedNote(a.PasswordSet))
	}
	if !res.Changed {
		fmt.Fprintln(stdout, "nothing changed: the database was already bootstrapped")
	}
	return nil
}
