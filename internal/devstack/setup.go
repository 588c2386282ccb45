// Package devstack sets up the local stack a developer runs (make up): the rates database
// on the stack's PostgreSQL, with its roles, schema and data (package ratesdb), and the
// Secrets Manager secrets that hold the logins' credentials in the JSON AWS uses for RDS
// secrets, on the stack's emulator. It is not part of what is deployed: on AWS the
// bootstrap function (internal/bootstrap) prepares the database and RDS or Terraform
// makes the secrets. Package incident acts out the demo's credential incident.
//
// Setup does all of it idempotently: run it twice and the second run changes nothing,
// keeping every password that still logs in.
package devstack

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/pgrole"
	"github.com/rotaudit/rotaudit/internal/ratesdb"
)

// Names used by the local stack; the cross-team contract fixes them.
const (
	DefaultAppRole       = "rates_app"
	DefaultAdminRole     = "rotaudit_admin"
	DefaultAppSecretID   = "rotaudit/local/app"
	DefaultAdminSecretID = "rotaudit/local/admin"
)

// SecretsAPI is the part of the Secrets Manager client that Setup uses.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
}

// Config says what Setup prepares.
type Config struct {
	// SuperConn is a pgx connection string for a superuser, to the maintenance database.
	// It creates the roles and the database; the tables are made as AdminRole.
	SuperConn string
	// Host and Port are what clients use to reach the server; they go into the secrets.
	Host string
	Port int
	// Database, AppRole and AdminRole name what Setup creates.
	Database, AppRole, AdminRole string
	// AppSecretID and AdminSecretID name the secrets.
	AppSecretID, AdminSecretID string
	// AdminSecretDatabase is the dbname the admin secret names; empty: Database. A second
	// database on the same cluster keeps the first's, so its setup leaves the shared master
	// secret as it is.
	AdminSecretDatabase string
	// ReaderRole is the NOLOGIN role that holds the grants [ratesdb.DefaultReaderRole].
	ReaderRole string
	// DumpPath, when set, is a plain pg_dump (such as the reference rates.sql) loaded instead
	// of the demo data; it replaces whatever data the tables held.
	DumpPath string
	// ReloadDemo replaces the tables and loads the demo data afresh (without DumpPath).
	ReloadDemo bool
	// Demo sizes the demo data, loaded when the tables are empty and DumpPath is unset.
	Demo ratesdb.DemoOptions
	// Log receives progress; nil discards it.
	Log *slog.Logger
}

// Defaults returns the local stack's configuration for a server on 127.0.0.1:port.
func Defaults(superConn string, port int) Config {
	return Config{
		SuperConn: superConn, Host: "127.0.0.1", Port: port,
		Database: ratesdb.DefaultDatabase, AppRole: DefaultAppRole, AdminRole: DefaultAdminRole,
		ReaderRole: ratesdb.DefaultReaderRole, AppSecretID: DefaultAppSecretID, AdminSecretID: DefaultAdminSecretID,
		Demo: ratesdb.DefaultDemo,
	}
}

// Result reports what Setup did.
type Result struct {
	Migrated   []int
	DataSource string // "demo", "dump <path>" or "kept"
	PriceRows  int64
	// AppSecretARN and AdminSecretARN identify the secrets.
	AppSecretARN, AdminSecretARN string
	// AppPasswordSet and AdminPasswordSet are true when Setup chose a new password.
	AppPasswordSet, AdminPasswordSet bool
	// RoleChanges lists what Provision changed in roles and grants; empty when nothing.
	RoleChanges []string
}

// Setup creates or updates roles, database, schema, data, grants and secrets. See the
// package doc.
//
// The superuser makes only the admin role and the database. Everything else runs as the
// admin role, as on RDS, where the master user is not a superuser: the migrations, the data,
// and Provision (the reader role that holds every grant, the app login role as its member).
// A reload (DumpPath or ReloadDemo) replaces the tables and grants the reader role again in
// one transaction, so a running API waits for it instead of failing.
func Setup(ctx context.Context, sm SecretsAPI, c Config) (Result, error) {
	var res Result
	log := c.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.ReaderRole == "" {
		c.ReaderRole = ratesdb.DefaultReaderRole
	}
	for _, f := range []struct{ name, v string }{
		{"database", c.Database}, {"app role", c.AppRole}, {"admin role", c.AdminRole},
		{"app secret id", c.AppSecretID}, {"admin secret id", c.AdminSecretID}, {"host", c.Host},
	} {
		if f.v == "" {
			return res, fmt.Errorf("setup: %s is empty", f.name)
		}
	}
	if c.AppRole == c.AdminRole || c.ReaderRole == c.AppRole || c.ReaderRole == c.AdminRole {
		return res, fmt.Errorf("setup: app role %q, admin role %q and reader role %q must differ", c.AppRole, c.AdminRole, c.ReaderRole)
	}
	var dump *os.File
	if c.DumpPath != "" {
		f, err := os.Open(c.DumpPath)
		if err != nil {
			return res, fmt.Errorf("setup: RATES_SQL: %w", err)
		}
		defer f.Close()
		dump = f
	}
	super, err := pgx.Connect(ctx, c.SuperConn)
	if err != nil {
		return res, fmt.Errorf("setup: connect as superuser: %w", err)
	}
	defer super.Close(context.WithoutCancel(ctx))

	log.Info("roles", "app_role", c.AppRole, "admin_role", c.AdminRole, "reader_role", c.ReaderRole)
	if err := ensureRole(ctx, super, c.AdminRole, "LOGIN CREATEROLE NOSUPERUSER NOCREATEDB NOREPLICATION NOBYPASSRLS"); err != nil {
		return res, err
	}
	// A login role someone widened by hand is narrowed again: only a superuser can.
	for _, r := range []string{c.AppRole, c.AppRole + "_clone"} {
		if err := narrowRole(ctx, super, r); err != nil {
			return res, err
		}
	}
	if err := letAdminRotate(ctx, super, c.AdminRole, c.AppRole); err != nil {
		return res, err
	}
	if err := ensureDatabase(ctx, super, c.Database, c.AdminRole); err != nil {
		return res, err
	}

	dbConn, err := connectAs(ctx, c.SuperConn, c.Database, c.AdminRole)
	if err != nil {
		return res, err
	}
	defer dbConn.Close(context.WithoutCancel(ctx))

	res.DataSource = "kept"
	reload := dump != nil || c.ReloadDemo
	var changes []string
	err = pgx.BeginFunc(ctx, dbConn, func(tx pgx.Tx) error {
		if reload {
			// The dump creates the tables itself; the migrations then add what it lacks (the
			// index). Readers block on the dropped tables until the commit.
			if _, err := tx.Exec(ctx, "DROP TABLE IF EXISTS prices, ports, regions, schema_migrations CASCADE"); err != nil {
				return fmt.Errorf("setup: drop tables before reloading: %w", err)
			}
		}
		if dump != nil {
			log.Info("replacing the rates data with a dump", "path", c.DumpPath)
			start := time.Now()
			if err := ratesdb.LoadDump(ctx, tx, dump); err != nil {
				return fmt.Errorf("setup: RATES_SQL %s: %w", c.DumpPath, err)
			}
			log.Info("dump loaded", "path", c.DumpPath, "seconds", time.Since(start).Seconds())
			res.DataSource = "dump " + c.DumpPath
		}
		var err error
		if res.Migrated, err = ratesdb.Migrate(ctx, tx); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
		if len(res.Migrated) > 0 {
			log.Info("migrated", "versions", res.Migrated)
		}
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM prices").Scan(&res.PriceRows); err != nil {
			return fmt.Errorf("setup: count prices: %w", err)
		}
		if res.PriceRows == 0 && dump == nil {
			d, err := ratesdb.Demo(c.Demo)
			if err != nil {
				return fmt.Errorf("setup: %w", err)
			}
			log.Info("loading demo data", "seed", c.Demo.Seed, "price_rows", len(d.Prices))
			if err := ratesdb.Load(ctx, tx, d); err != nil {
				return fmt.Errorf("setup: %w", err)
			}
			res.DataSource = "demo"
			res.PriceRows = int64(len(d.Prices))
		}
		if dump != nil {
			// A dump comes without statistics; the planner needs them to use the index.
			if _, err := tx.Exec(ctx, "ANALYZE regions, ports, prices"); err != nil {
				return fmt.Errorf("setup: analyze: %w", err)
			}
		}
		changes, err = ratesdb.Provision(ctx, tx, c.Database, ratesdb.Roles{Reader: c.ReaderRole, Logins: []string{c.AppRole}})
		if err != nil {
			return fmt.Errorf("setup: %w", err)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	for _, ch := range changes {
		log.Info("roles and grants", "change", ch)
	}
	res.RoleChanges = changes

	adminDB := c.Database
	if c.AdminSecretDatabase != "" {
		adminDB = c.AdminSecretDatabase
	}
	adminSecret := dbsecret.Secret{Engine: "postgres", Host: c.Host, Port: c.Port, Username: c.AdminRole, DBName: adminDB, SSL: ptr(false)}
	res.AdminSecretARN, res.AdminPasswordSet, err = ensureSecret(ctx, sm, super, c.AdminSecretID, adminSecret, log)
	if err != nil {
		return res, err
	}
	appSecret := dbsecret.Secret{Engine: "postgres", Host: c.Host, Port: c.Port, Username: c.AppRole, DBName: c.Database, SSL: ptr(false), MasterARN: res.AdminSecretARN}
	res.AppSecretARN, res.AppPasswordSet, err = ensureSecret(ctx, sm, super, c.AppSecretID, appSecret, log)
	if err != nil {
		return res, err
	}
	return res, nil
}

// narrowRole takes from an existing login role every attribute beyond LOGIN and INHERIT,
// only when it has one, so a second run issues nothing.
func narrowRole(ctx context.Context, super *pgx.Conn, role string) error {
	unsafe, ok, err := ratesdb.UnsafeAttributes(ctx, super, role)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	if !ok || unsafe == "" {
		return nil
	}
	if _, err := super.Exec(ctx, "ALTER ROLE "+pgx.Identifier{role}.Sanitize()+" NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"); err != nil {
		return fmt.Errorf("setup: narrow role %s: %w", role, err)
	}
	return nil
}

func ensureRole(ctx context.Context, super *pgx.Conn, role, attrs string) error {
	var exists bool
	if err := super.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", role).Scan(&exists); err != nil {
		return fmt.Errorf("setup: look up role %s: %w", role, err)
	}
	verb := "ALTER"
	if !exists {
		verb = "CREATE"
	}
	// Attributes are reasserted on every run so a role someone widened by hand narrows again.
	if _, err := super.Exec(ctx, verb+" ROLE "+pgx.Identifier{role}.Sanitize()+" WITH "+attrs); err != nil {
		var exists2 bool
		// Two setups at once: the other one created it first.
		if super.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", role).Scan(&exists2) == nil && exists2 && verb == "CREATE" {
			return ensureRole(ctx, super, role, attrs)
		}
		return fmt.Errorf("setup: %s role %s: %w", strings.ToLower(verb), role, err)
	}
	return nil
}

func ensureDatabase(ctx context.Context, super *pgx.Conn, db, owner string) error {
	var exists bool
	if err := super.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", db).Scan(&exists); err != nil {
		return fmt.Errorf("setup: look up database %s: %w", db, err)
	}
	if !exists {
		if _, err := super.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()+" OWNER "+pgx.Identifier{owner}.Sanitize()); err != nil {
			return fmt.Errorf("setup: create database %s: %w", db, err)
		}
	}
	return nil
}

// connectAs opens a superuser session on database db and drops to role: everything done
// on it has that role's privileges and ownership. Before that, role (the database's owner)
// is made owner of schema public where a superuser still owns it (PostgreSQL 14 and
// earlier; from 15 the database owner owns it through pg_database_owner), so that
// Provision can take CREATE on it back from PUBLIC.
func connectAs(ctx context.Context, superConn, db, role string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(superConn)
	if err != nil {
		return nil, fmt.Errorf("setup: superuser connection string: %w", err)
	}
	cfg.Database = db
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("setup: connect to %s: %w", db, err)
	}
	var superOwned bool
	err = conn.QueryRow(ctx, `SELECT r.rolsuper FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner
		WHERE n.nspname = 'public'`).Scan(&superOwned)
	if err == nil && superOwned {
		_, err = conn.Exec(ctx, "ALTER SCHEMA public OWNER TO "+pgx.Identifier{role}.Sanitize())
	}
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		conn.Close(ctx)
		return nil, fmt.Errorf("setup: give schema public of %s to %s: %w", db, role, err)
	}
	if _, err := conn.Exec(ctx, "SET ROLE "+pgx.Identifier{role}.Sanitize()); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("setup: set role %s: %w", role, err)
	}
	return conn, nil
}

// ensureSecret makes sure secret id holds working credentials for want.Username (or for
// whatever login its current value names, which a rotation may have changed). It keeps a
// current value whose server matches and whose password logs in; otherwise it sets a new
// random password on the role and stores it as the new AWSCURRENT value.
func ensureSecret(ctx context.Context, sm SecretsAPI, super *pgx.Conn, id string, want dbsecret.Secret, log *slog.Logger) (arn string, changed bool, err error) {
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id), VersionStage: aws.String("AWSCURRENT")})
	var nf *smtypes.ResourceNotFoundException
	exists := err == nil
	switch {
	case err == nil:
		arn = aws.ToString(out.ARN)
		if cur, perr := dbsecret.Parse([]byte(aws.ToString(out.SecretString))); perr == nil && cur.SameServer(want) && cur.MasterARN == want.MasterARN {
			if loginWorks(ctx, cur) {
				log.Info("secret kept: its password logs in", "secret_id", id, "username", cur.Username)
				return arn, false, nil
			}
		}
	case errors.As(err, &nf):
	default:
		return "", false, fmt.Errorf("setup: read secret %s: %w", id, err)
	}
	pw, err := Password(32)
	if err != nil {
		return "", false, fmt.Errorf("setup: %w", err)
	}
	want.Password = pw
	// A SCRAM verifier, not the password, goes to the server: a failed statement is logged
	// with its text.
	if err := pgrole.SetPassword(ctx, super, want.Username, pw); err != nil {
		return "", false, fmt.Errorf("setup: %w", err)
	}
	body, err := want.Marshal()
	if err != nil {
		return "", false, fmt.Errorf("setup: secret %s: %w", id, err)
	}
	if exists {
		if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(string(body))}); err != nil {
			return "", false, fmt.Errorf("setup: put secret value %s: %w", id, err)
		}
		log.Info("secret updated with a new password", "secret_id", id, "username", want.Username)
		return arn, true, nil
	}
	created, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(id),
		Description:  aws.String("rotaudit local stack: PostgreSQL credentials of " + want.Username),
		SecretString: aws.String(string(body)),
	})
	var exists2 *smtypes.ResourceExistsException
	if errors.As(err, &exists2) {
		// A retried call whose first attempt made the secret (its answer lost on a busy
		// machine; AWS answers the retry's token idempotently, LocalStack refuses it): the
		// secret holding exactly this value is the one just made.
		if again, gerr := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id), VersionStage: aws.String("AWSCURRENT")}); gerr == nil && aws.ToString(again.SecretString) == string(body) {
			log.Info("secret created (a retried call found it made)", "secret_id", id, "username", want.Username)
			return aws.ToString(again.ARN), true, nil
		}
	}
	if err != nil {
		return "", false, fmt.Errorf("setup: create secret %s: %w", id, err)
	}
	log.Info("secret created", "secret_id", id, "username", want.Username)
	return aws.ToString(created.ARN), true, nil
}

// loginWorks tries the secret's credentials over TCP, as a client would.
func loginWorks(ctx context.Context, s dbsecret.Secret) bool {
	cfg, err := s.ConnConfig(dbsecret.ConnOptions{SSLMode: "disable", ConnectTimeout: 5 * time.Second, ApplicationName: "rotaudit-setup"})
	if err != nil {
		return false
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false
	}
	conn.Close(ctx)
	return true
}

// passwordAlphabet avoids the characters that need quoting in a connection string, a URL
// or a shell: letters and digits.
const passwordAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// Password returns n characters drawn uniformly from letters and digits by crypto/rand.
func Password(n int) (string, error) {
	if n < 16 || n > 256 {
		return "", fmt.Errorf("password length %d out of range 16-256", n)
	}
	b := make([]byte, n)
	max := big.NewInt(int64(len(passwordAlphabet)))
	for i := range b {
		k, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("password: crypto/rand: %w", err)
		}
		b[i] = passwordAlphabet[k.Int64()]
	}
	return string(b), nil
}

func ptr[T any](v T) *T { return &v }

// DefaultLocalPort is the local stack's PostgreSQL port when PG_PORT does not move it; it
// equals the default in scripts/lib.sh. It lies below Linux's ephemeral port range
// (32768-60999), where an outgoing connection could hold it for a moment and stop the server
// from starting.
const DefaultLocalPort = 15432

// PortFromEnv reads a TCP port number from the named variable, or def when it is unset.
func PortFromEnv(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("%s=%q is not a port number (1-65535)", name, v)
	}
	return p, nil
}
