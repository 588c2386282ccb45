package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/ratesdb"
)

// dbCommand is `rotaudit db setup`: what scripts/bootstrap.sh runs on every `make up`.
func dbCommand() command {
	return command{
		summary: "rates database: setup (roles, schema, data, secrets), show (secrets, redacted)",
		run:     runDB,
	}
}

func runDB(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "show" {
		return runDBShow(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "setup" {
		fmt.Fprintln(stderr, "usage: rotaudit db setup [flags] | rotaudit db show [secret-id...]")
		return errUsage
	}
	fs := flag.NewFlagSet("db setup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port, err := ratesdb.PortFromEnv("ROTAUDIT_PG_PORT", ratesdb.DefaultLocalPort)
	if err != nil {
		return fmt.Errorf("db setup: %w", err)
	}
	super := os.Getenv("ROTAUDIT_PG_SUPER_DSN")
	if super == "" && os.Getenv("ROTAUDIT_PG_SOCKET_DIR") != "" {
		super = fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable", os.Getenv("ROTAUDIT_PG_SOCKET_DIR"), port)
	}
	c := ratesdb.Defaults(super, port)
	fs.StringVar(&c.SuperConn, "super", c.SuperConn, "superuser connection string (env ROTAUDIT_PG_SUPER_DSN; the password, if any, from PGPASSWORD)")
	fs.StringVar(&c.Host, "host", c.Host, "host written into the secrets")
	fs.IntVar(&c.Port, "port", c.Port, "port written into the secrets (env ROTAUDIT_PG_PORT)")
	fs.StringVar(&c.Database, "database", c.Database, "database to create")
	fs.StringVar(&c.AppRole, "app-role", c.AppRole, "application login role (SELECT only)")
	fs.StringVar(&c.AdminRole, "admin-role", c.AdminRole, "admin role: owns the tables, rotates the app role")
	fs.StringVar(&c.AppSecretID, "app-secret", c.AppSecretID, "secret id for the app role")
	fs.StringVar(&c.AdminSecretID, "admin-secret", c.AdminSecretID, "secret id for the admin role")
	fs.StringVar(&c.DumpPath, "dump", os.Getenv("RATES_SQL"), "plain pg_dump to load instead of the demo data (env RATES_SQL)")
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
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("db setup: aws config: %w", err)
	}
	res, err := ratesdb.Setup(ctx, secretsmanager.NewFromConfig(awsCfg), c)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database %s on %s:%d: %d price rows (data: %s)\n", c.Database, c.Host, c.Port, res.PriceRows, res.DataSource)
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
	if len(ids) == 0 {
		ids = []string{ratesdb.DefaultAppSecretID, ratesdb.DefaultAdminSecretID}
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("db show: aws config: %w", err)
	}
	sm := secretsmanager.NewFromConfig(awsCfg)
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
