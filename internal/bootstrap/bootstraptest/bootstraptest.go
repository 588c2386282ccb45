// Package bootstraptest makes what a first deployment on RDS starts from, on the local
// stack, under unique names: a master login that is CREATEROLE but not a superuser and owns
// an empty database (as RDS creates it), its secret, and an app secret as Terraform writes
// it (no password). Everything is removed at cleanup.
package bootstraptest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rotaudit/rotaudit/internal/devstack"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/bootstrap"
	"github.com/rotaudit/rotaudit/internal/pgrole"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// Fixture is one fresh "RDS instance" on the local PostgreSQL.
type Fixture struct {
	Env *testenv.Env
	SM  *secretsmanager.Client
	// Database, Master, App and Reader are the unique names.
	Database, Master, App, Reader string
	// MasterPassword logs the master in.
	MasterPassword string
	// MasterSecretARN and AppSecretARN are the two secrets.
	MasterSecretARN, AppSecretARN string
	// MoreApps are further applications' logins (Options.MoreApps), and MoreAppSecretARNs
	// their secrets, in the same order.
	MoreApps, MoreAppSecretARNs []string
}

// Options changes the fixture.
type Options struct {
	// RDSManagedMaster writes the master secret as RDS manages it: {"username","password"}.
	RDSManagedMaster bool
	// MoreApps adds that many further applications, each with its own secret, as
	// modules/secret-rotation's more_app_users writes them.
	MoreApps int
}

// New makes the fixture. See the package doc.
func New(t testing.TB, o Options) *Fixture {
	t.Helper()
	env := testenv.Stack(t)
	s := strings.TrimPrefix(testenv.Unique(""), "_")
	f := &Fixture{
		Env: env, SM: secretsmanager.NewFromConfig(env.AWS(t)),
		Database: "bs_" + s, Master: "bs_master_" + s, App: "bs_app_" + s, Reader: "bs_reader_" + s,
	}
	ctx := context.Background()
	pw, err := devstack.Password(32)
	if err != nil {
		t.Fatal(err)
	}
	f.MasterPassword = pw
	t.Cleanup(func() { f.cleanup(t) })
	super := env.Super(t, "")
	// What RDS makes: the master (CREATEROLE, CREATEDB there; here not even CREATEDB, as
	// the stack's rotaudit_admin) and the initial database it owns.
	for _, stmt := range []string{
		"CREATE ROLE " + pgrole.Ident(f.Master) + " LOGIN CREATEROLE NOSUPERUSER NOCREATEDB",
		"CREATE DATABASE " + pgrole.Ident(f.Database) + " OWNER " + pgrole.Ident(f.Master),
		// Every statement the master sends reaches the server log, where tests look for
		// passwords.
		"ALTER ROLE " + pgrole.Ident(f.Master) + " SET log_statement = 'all'",
	} {
		if _, err := super.Exec(ctx, stmt); err != nil {
			t.Fatalf("fixture: %s: %v", stmt, err)
		}
	}
	if err := pgrole.SetPassword(ctx, super, f.Master, pw); err != nil {
		t.Fatal(err)
	}
	// Before PostgreSQL 15 schema public belongs to the bootstrap superuser; RDS's master
	// (rds_superuser) may still change it, which a plain role here may not: it owns it.
	db := env.Super(t, f.Database)
	var superOwned bool
	if err := db.QueryRow(ctx, `SELECT r.rolsuper FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner
		WHERE n.nspname = 'public'`).Scan(&superOwned); err != nil {
		t.Fatal(err)
	}
	if superOwned {
		if _, err := db.Exec(ctx, "ALTER SCHEMA public OWNER TO "+pgrole.Ident(f.Master)); err != nil {
			t.Fatal(err)
		}
	}
	// PostgreSQL 15 gives schema public to pg_database_owner: the master may create in it.
	masterValue := fmt.Sprintf(`{"engine":"postgres","host":"127.0.0.1","port":%d,"username":%q,"password":%q,"dbname":%q,"ssl":false}`, env.PGPort, f.Master, pw, f.Database)
	if o.RDSManagedMaster {
		masterValue = fmt.Sprintf(`{"username":%q,"password":%q}`, f.Master, pw)
	}
	f.MasterSecretARN = f.createSecret(t, "rotaudit/test/"+s+"/master", masterValue)
	f.AppSecretARN = f.createSecret(t, "rotaudit/test/"+s+"/app", f.TerraformAppValue(f.App))
	for i := range o.MoreApps {
		user := fmt.Sprintf("bs_app%d_%s", i+2, s)
		f.MoreApps = append(f.MoreApps, user)
		f.MoreAppSecretARNs = append(f.MoreAppSecretARNs, f.createSecret(t, "rotaudit/test/"+s+"/app-"+user, f.TerraformAppValue(user)))
	}
	return f
}

// TerraformAppValue is the app secret's first value as the Terraform module writes it:
// everything but a usable password.
func (f *Fixture) TerraformAppValue(user string) string {
	return fmt.Sprintf(`{"engine":"postgres","host":"127.0.0.1","port":%d,"dbname":%q,"username":%q,"masterarn":%q,"ssl":false}`,
		f.Env.PGPort, f.Database, user, f.MasterSecretARN)
}

func (f *Fixture) createSecret(t testing.TB, name, value string) string {
	t.Helper()
	out, err := testenv.CreateSecret(context.Background(), f.SM, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
	if err != nil {
		t.Fatalf("fixture: create secret %s: %v", name, err)
	}
	return aws.ToString(out.ARN)
}

// Config is the bootstrap's configuration for the fixture.
func (f *Fixture) Config() bootstrap.Config {
	return bootstrap.Config{
		MasterSecretARN: f.MasterSecretARN, AppSecretARNs: append([]string{f.AppSecretARN}, f.MoreAppSecretARNs...),
		AppUsername: f.App, MoreAppUsernames: f.MoreApps, DBName: f.Database, ReaderRole: f.Reader,
	}
}

// LambdaEnv returns the bootstrap Lambda's environment for the fixture, as NAME=value. The
// Lambda always uses the default reader role, rates_reader, which the local stack's `make up`
// has made already: the fixture leaves it in place (its grants in the fixture's database
// and its memberships go with them at cleanup).
func (f *Fixture) LambdaEnv() []string {
	return []string{
		bootstrap.EnvMasterSecretARN + "=" + f.MasterSecretARN,
		bootstrap.EnvAppSecretARNs + "=" + f.AppSecretARN,
		bootstrap.EnvAppUsername + "=" + f.App,
		bootstrap.EnvDBName + "=" + f.Database,
	}
}

// Put writes a new AWSCURRENT value into secret arn, moving the label explicitly (see
// bootstrap.PutCurrent: moto's PutSecretValue alone leaves two AWSCURRENT versions after a
// stage move).
func (f *Fixture) Put(t testing.TB, arn, value string) {
	t.Helper()
	if err := bootstrap.PutCurrent(context.Background(), f.SM, arn, value); err != nil {
		t.Fatal(err)
	}
}

// CurrentVersion returns the version id that holds AWSCURRENT.
func (f *Fixture) CurrentVersion(t testing.TB, arn string) string {
	t.Helper()
	out, err := f.SM.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn), VersionStage: aws.String("AWSCURRENT")})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.VersionId)
}

// RoleExists reports whether a role exists in the cluster.
func (f *Fixture) RoleExists(t testing.TB, role string) bool {
	t.Helper()
	var ok bool
	if err := f.Env.Super(t, "").QueryRow(context.Background(), "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", role).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

func (f *Fixture) cleanup(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, arn := range append([]string{f.AppSecretARN, f.MasterSecretARN}, f.MoreAppSecretARNs...) {
		if arn != "" {
			f.SM.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(arn), ForceDeleteWithoutRecovery: aws.Bool(true)})
		}
	}
	c, err := pgx.Connect(ctx, f.Env.SuperDSN)
	if err != nil {
		t.Logf("bootstrap fixture cleanup: %v", err)
		return
	}
	defer c.Close(ctx)
	c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgrole.Ident(f.Database)+" WITH (FORCE)")
	// The master goes last: on PostgreSQL 16+ the memberships it granted depend on it.
	var roles []string
	for _, u := range append([]string{f.App}, f.MoreApps...) {
		roles = append(roles, u+"_clone", u)
	}
	for _, r := range append(roles, f.Reader, f.Master) {
		if _, err := c.Exec(ctx, "DROP ROLE IF EXISTS "+pgrole.Ident(r)); err != nil {
			t.Logf("bootstrap fixture cleanup: drop role %s: %v", r, err)
		}
	}
}
