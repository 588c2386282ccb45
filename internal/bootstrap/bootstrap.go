// Package bootstrap prepares a fresh database for rotaudit on the first deployment, the
// way it has to be done on RDS, where nobody has a superuser: with the master user, a
// CREATEROLE user that owns the database, it
//
//  1. applies the schema migrations (internal/ratesdb/migrations) as the master, which then
//     owns the tables;
//  2. creates the NOLOGIN reader role that holds every grant and the application's login
//     role(s) as its members (ratesdb.Provision);
//  3. sets each app secret's first password: GetRandomPassword, then the password's SCRAM
//     verifier in the database (never the password in SQL), then PutSecretValue of a
//     complete RDS-format value as the new AWSCURRENT.
//
// It runs once per deployment (a Lambda invoked by Terraform, or `rotaudit db setup
// --master-secret`) and is idempotent: a second run changes nothing while each app
// secret's password logs in. It refuses an app secret whose username is neither one of
// APP_USERNAME's logins nor a _clone partner of one: a secret's writer must not be able to
// choose which role the master gives a password to. Every login gets the same grants,
// through the one reader role.
package bootstrap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/pgrole"
	"github.com/rotaudit/rotaudit/internal/ratesdb"
)

// Sentinel errors callers can act on.
var (
	// ErrRefused: a secret asks for something the configuration does not allow.
	ErrRefused = errors.New("bootstrap refused")
	// ErrMaster: the master user cannot do what the bootstrap needs.
	ErrMaster = errors.New("master user cannot bootstrap")
)

// excludeCharacters is the rotator's default EXCLUDE_CHARACTERS: characters that break
// connection strings and shells.
const excludeCharacters = `:/@"'\`

// connectTimeout bounds one login.
const connectTimeout = 10 * time.Second

// SecretsAPI is the part of the Secrets Manager client the bootstrap uses.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	GetRandomPassword(ctx context.Context, in *secretsmanager.GetRandomPasswordInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetRandomPasswordOutput, error)
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	UpdateSecretVersionStage(ctx context.Context, in *secretsmanager.UpdateSecretVersionStageInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error)
}

// stagingLabel marks the bootstrap's new version between PutSecretValue and the move of
// AWSCURRENT; it is not AWSPENDING, so a rotation in progress is never disturbed.
const stagingLabel = "rotaudit-bootstrap"

// Bootstrapper runs the bootstrap; it holds no state between runs.
type Bootstrapper struct {
	SM     SecretsAPI
	Config Config
	// Log receives one record per step; nil discards. Never a password.
	Log *slog.Logger
}

// AppResult is what happened to one app secret.
type AppResult struct {
	SecretARN string `json:"secret_arn"`
	Username  string `json:"username"`
	// PasswordSet is true when the bootstrap set a new password and stored it.
	PasswordSet bool `json:"password_set"`
}

// Result reports a run. Changed is false when the run found everything in place.
type Result struct {
	Database    string      `json:"database"`
	Migrated    []int       `json:"migrated"`
	RoleChanges []string    `json:"role_changes"`
	Apps        []AppResult `json:"apps"`
	Changed     bool        `json:"changed"`
}

// Handle is the Lambda handler: the event (what Terraform's invocation sends) may be
// empty or any JSON object and is not read; the result is returned as JSON.
func (b *Bootstrapper) Handle(ctx context.Context, event json.RawMessage) (Result, error) {
	if len(event) > 0 && string(event) != "null" {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(event, &obj); err != nil {
			return Result{}, fmt.Errorf("bootstrap: the event must be a JSON object (its content is not used): %w", err)
		}
	}
	return b.Run(ctx)
}

// appSecret is one app secret as read.
type appSecret struct {
	arn    string
	secret dbsecret.Secret
}

// Run bootstraps the database. See the package doc.
func (b *Bootstrapper) Run(ctx context.Context) (Result, error) {
	c := b.Config
	if c.ReaderRole == "" {
		c.ReaderRole = ratesdb.DefaultReaderRole
	}
	if err := c.Validate(); err != nil {
		return Result{}, err
	}
	log := b.logger()
	res := Result{Database: c.DBName, Migrated: []int{}, RoleChanges: []string{}, Apps: []AppResult{}}
	start := time.Now()

	masterARN, masterRaw, err := b.current(ctx, c.MasterSecretARN)
	if err != nil {
		return res, err
	}
	master, credentialsOnly, err := dbsecret.ParseCredentials(masterRaw)
	if err != nil {
		return res, fmt.Errorf("bootstrap: master secret %s: %w", masterARN, err)
	}
	apps, err := b.readApps(ctx, c, master.Username)
	if err != nil {
		return res, err
	}
	// An RDS-managed master secret names no server: the app secrets do.
	if credentialsOnly {
		srv := apps[0].secret
		master.Engine, master.Host, master.Port, master.SSL = srv.Engine, srv.Host, srv.Port, srv.SSL
	}
	master.DBName = c.DBName
	for _, a := range apps {
		if m := a.secret.MasterARN; m != "" && m != masterARN && m != c.MasterSecretARN {
			// The rotator will use the secret's masterarn, not this master: say so, since
			// the roles below are administered by this one.
			log.WarnContext(ctx, "the app secret's masterarn is another secret than the bootstrap's master", "secret_arn", a.arn, "masterarn", m, "master_secret_arn", masterARN)
		}
	}
	log.InfoContext(ctx, "bootstrap started", "master", master, "master_secret_arn", masterARN, "rds_managed_master", credentialsOnly,
		"app_usernames", c.AppUsernames(), "reader_role", c.ReaderRole, "app_secrets", len(apps))

	conn, err := b.connectMaster(ctx, master, log)
	if err != nil {
		return res, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := checkMaster(ctx, conn, master.Username); err != nil {
		return res, err
	}

	logins := c.AppUsernames()
	for _, a := range apps {
		if !slices.Contains(logins, a.secret.Username) {
			logins = append(logins, a.secret.Username)
		}
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var err error
		if res.Migrated, err = ratesdb.Migrate(ctx, tx); err != nil {
			return fmt.Errorf("bootstrap: %w (the master must own database %s or hold CREATE on schema public)", err, c.DBName)
		}
		if res.RoleChanges, err = ratesdb.Provision(ctx, tx, c.DBName, ratesdb.Roles{Reader: c.ReaderRole, Logins: logins}); err != nil {
			return fmt.Errorf("bootstrap: %w", err)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	if res.Migrated == nil {
		res.Migrated = []int{}
	}
	if res.RoleChanges == nil {
		res.RoleChanges = []string{}
	}
	log.InfoContext(ctx, "schema and roles", "migrated", res.Migrated, "role_changes", res.RoleChanges)

	for _, a := range apps {
		ar, err := b.ensurePassword(ctx, conn, a, log)
		if err != nil {
			return res, err
		}
		res.Apps = append(res.Apps, ar)
	}
	res.Changed = len(res.Migrated) > 0 || len(res.RoleChanges) > 0 || slices.ContainsFunc(res.Apps, func(a AppResult) bool { return a.PasswordSet })
	log.InfoContext(ctx, "bootstrap done", "changed", res.Changed, "duration_ms", time.Since(start).Milliseconds())
	return res, nil
}

// current reads a secret's AWSCURRENT value, always naming the stage (see EMULATOR.md).
func (b *Bootstrapper) current(ctx context.Context, id string) (arn string, value []byte, err error) {
	out, err := b.SM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id), VersionStage: aws.String("AWSCURRENT")})
	if err != nil {
		return "", nil, fmt.Errorf("bootstrap: read secret %s: %w", id, err)
	}
	if out.SecretString == nil {
		return "", nil, fmt.Errorf("bootstrap: secret %s has no SecretString", id)
	}
	return aws.ToString(out.ARN), []byte(*out.SecretString), nil
}

// readApps reads and checks every app secret: user named by the configuration, the
// configured database, one server for all, one secret per user.
func (b *Bootstrapper) readApps(ctx context.Context, c Config, masterUser string) ([]appSecret, error) {
	if c.allows(masterUser) || masterUser == c.ReaderRole {
		return nil, fmt.Errorf("bootstrap: %w: the master user %s cannot be an application's role (%s=%s)", ErrRefused, masterUser, EnvAppUsername, strings.Join(c.AppUsernames(), ","))
	}
	var apps []appSecret
	users := map[string]string{}
	for _, id := range c.AppSecretARNs {
		arn, raw, err := b.current(ctx, id)
		if err != nil {
			return nil, err
		}
		s, err := dbsecret.ParseUnbootstrapped(raw)
		if err != nil {
			return nil, fmt.Errorf("bootstrap: app secret %s: %w", arn, err)
		}
		if !c.allows(s.Username) {
			return nil, fmt.Errorf("bootstrap: %w: app secret %s names user %q; %s=%s allows only those users and their _clone partners",
				ErrRefused, arn, s.Username, EnvAppUsername, strings.Join(c.AppUsernames(), ","))
		}
		if prev, dup := users[s.Username]; dup {
			return nil, fmt.Errorf("bootstrap: %w: app secrets %s and %s both name user %s: each login needs its own secret", ErrRefused, prev, arn, s.Username)
		}
		users[s.Username] = arn
		var keys map[string]json.RawMessage
		if json.Unmarshal(raw, &keys) == nil {
			if _, ok := keys["dbname"]; !ok {
				s.DBName = c.DBName // Terraform may leave it out; the written value has it.
			}
		}
		if s.DBName != c.DBName {
			return nil, fmt.Errorf("bootstrap: %w: app secret %s names database %q, %s is %q", ErrRefused, arn, s.DBName, EnvDBName, c.DBName)
		}
		if len(apps) > 0 && !apps[0].secret.SameServer(s) {
			return nil, fmt.Errorf("bootstrap: %w: app secrets %s and %s name different servers", ErrRefused, apps[0].arn, arn)
		}
		apps = append(apps, appSecret{arn: arn, secret: s})
	}
	return apps, nil
}

// logger is Log, or a logger that discards.
func (b *Bootstrapper) logger() *slog.Logger {
	if b.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return b.Log
}

// connect logs in with s under the rotator's TLS rule (dbsecret.TLSPolicy): verify-full
// unless the secret says "ssl": false; with DB_ALLOW_PLAINTEXT, a secret without "ssl"
// falls back to plaintext only when the server refuses TLS.
func (b *Bootstrapper) connect(ctx context.Context, s dbsecret.Secret) (*pgx.Conn, error) {
	p := dbsecret.TLSPolicy{CABundle: b.Config.CABundle, AllowPlaintext: b.Config.AllowPlaintext, AllowInsecurePasswordAuth: b.Config.AllowInsecurePasswordAuth}
	o := p.ConnOptions(s)
	o.ConnectTimeout, o.ApplicationName, o.Log = connectTimeout, "rotaudit-bootstrap", b.logger()
	conn, _, err := dbsecret.Connect(ctx, o, p.PlaintextFallback(s), func(ctx context.Context, o dbsecret.ConnOptions) (*pgx.Conn, error) {
		cfg, err := s.ConnConfig(o)
		if err != nil {
			return nil, err
		}
		return pgx.ConnectConfig(ctx, cfg)
	})
	return conn, err
}

// connectMaster logs in as the master to the configured database, creating it first when
// it does not exist (which needs CREATEDB; RDS creates the database named at launch).
func (b *Bootstrapper) connectMaster(ctx context.Context, master dbsecret.Secret, log *slog.Logger) (*pgx.Conn, error) {
	conn, err := b.connectWhenUp(ctx, master, log)
	if err == nil {
		return conn, nil
	}
	var pg *pgconn.PgError
	if !errors.As(err, &pg) || pg.Code != "3D000" {
		return nil, fmt.Errorf("bootstrap: %w: log in as %s to %s:%d/%s: %w", ErrMaster, master.Username, master.Host, master.Port, master.DBName, err)
	}
	maint := master
	maint.DBName = dbsecret.DefaultDBName
	mc, err := b.connect(ctx, maint)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w: database %s does not exist, and logging in to %s to create it failed: %w", ErrMaster, master.DBName, maint.DBName, err)
	}
	_, err = mc.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{master.DBName}.Sanitize())
	mc.Close(context.WithoutCancel(ctx))
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w: create database %s (the master needs CREATEDB, or create it with the instance): %w", ErrMaster, master.DBName, err)
	}
	log.InfoContext(ctx, "database created", "database", master.DBName)
	conn, err = b.connect(ctx, master)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w: log in as %s to %s: %w", ErrMaster, master.Username, master.DBName, err)
	}
	return conn, nil
}

// startupWait bounds how long connectWhenUp waits for a server that is not up yet when ctx
// has no deadline (the CLI); in the Lambda the invocation's deadline bounds it.
const startupWait = 2 * time.Minute

// startupRetry is the pause between two logins while the server is not up.
const startupRetry = 2 * time.Second

// connectWhenUp logs in, and tries again while the server is not up yet: Terraform invokes
// the bootstrap as soon as the ECS database service exists, and its PostgreSQL takes
// seconds more to accept connections (a minute on a first start, when initdb runs). Any
// other failure (a wrong password, TLS, a missing database) is returned at once. It gives
// up early enough to report the error before the Lambda's deadline.
func (b *Bootstrapper) connectWhenUp(ctx context.Context, s dbsecret.Secret, log *slog.Logger) (*pgx.Conn, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(startupWait)
	}
	for attempt := 1; ; attempt++ {
		conn, err := b.connect(ctx, s)
		if err == nil || !notUpYet(err) || time.Until(deadline) < startupRetry+connectTimeout+time.Second {
			return conn, err
		}
		log.InfoContext(ctx, "the database does not accept connections yet; trying again", "attempt", attempt, "error", err.Error())
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(startupRetry):
		}
	}
}

// notUpYet says whether err means the server is not (yet) there: nothing listens, the
// name does not resolve yet (service discovery registers a task once it runs), the
// connection times out, or PostgreSQL answers that it is starting up.
func notUpYet(err error) bool {
	if errors.Is(err, dbsecret.ErrInsecureAuth) {
		// An answer from a server that is up; waiting changes nothing.
		return false
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "57P03" // cannot_connect_now: starting up, shutting down or in recovery
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.IsNotFound || dns.IsTemporary || dns.IsTimeout
	}
	var ne net.Error
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EHOSTUNREACH) || (errors.As(err, &ne) && ne.Timeout())
}

// checkMaster requires CREATEROLE: without it nothing below can work, and saying so first
// is clearer than the first failing statement.
func checkMaster(ctx context.Context, conn *pgx.Conn, user string) error {
	var createRole, super bool
	if err := conn.QueryRow(ctx, "SELECT rolcreaterole, rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&createRole, &super); err != nil {
		return fmt.Errorf("bootstrap: read the master's attributes: %w", err)
	}
	if !createRole && !super {
		return fmt.Errorf("bootstrap: %w: %s lacks CREATEROLE (the RDS master user has it)", ErrMaster, user)
	}
	return nil
}

// ensurePassword keeps an app secret whose password logs in; otherwise (no password yet,
// or one the database refuses) it sets a new one. Order: database first, then the secret.
// If storing the secret fails, the role holds a password no secret has, which is no worse
// than before (the old one did not log in either) and the next run replaces it.
func (b *Bootstrapper) ensurePassword(ctx context.Context, master *pgx.Conn, a appSecret, log *slog.Logger) (AppResult, error) {
	r := AppResult{SecretARN: a.arn, Username: a.secret.Username}
	if a.secret.Password != "" {
		conn, err := b.connect(ctx, a.secret)
		if err == nil {
			conn.Close(context.WithoutCancel(ctx))
			log.InfoContext(ctx, "app secret kept: its password logs in", "secret_arn", a.arn, "username", a.secret.Username)
			return r, nil
		}
		var pg *pgconn.PgError
		if !errors.As(err, &pg) || (pg.Code != "28P01" && pg.Code != "28000") {
			// Unreachable, TLS: changing the password would not help and could break a
			// working login.
			return r, fmt.Errorf("bootstrap: log in with app secret %s as %s: %w", a.arn, a.secret.Username, err)
		}
		log.InfoContext(ctx, "app secret's password is refused: setting a new one", "secret_arn", a.arn, "username", a.secret.Username, "sqlstate", pg.Code)
	} else {
		log.InfoContext(ctx, "app secret has no password yet: setting the first one", "secret_arn", a.arn, "username", a.secret.Username)
	}
	pw, err := b.SM.GetRandomPassword(ctx, &secretsmanager.GetRandomPasswordInput{
		PasswordLength:          aws.Int64(32),
		ExcludeCharacters:       aws.String(excludeCharacters),
		RequireEachIncludedType: aws.Bool(true),
	})
	if err != nil {
		return r, fmt.Errorf("bootstrap: get random password: %w", err)
	}
	next := a.secret
	next.Password = aws.ToString(pw.RandomPassword)
	if next.Password == "" {
		return r, errors.New("bootstrap: GetRandomPassword returned an empty password")
	}
	body, err := next.Marshal()
	if err != nil {
		return r, fmt.Errorf("bootstrap: app secret %s: %w", a.arn, err)
	}
	if err := pgrole.SetPassword(ctx, master, next.Username, next.Password); err != nil {
		return r, fmt.Errorf("bootstrap: %w", err)
	}
	if err := PutCurrent(ctx, b.SM, a.arn, string(body)); err != nil {
		return r, fmt.Errorf("bootstrap: store app secret %s (the database already has the new password; run the bootstrap again): %w", a.arn, err)
	}
	if conn, err := b.connect(ctx, next); err != nil {
		return r, fmt.Errorf("bootstrap: the new password of %s does not log in: %w", next.Username, err)
	} else {
		conn.Close(context.WithoutCancel(ctx))
	}
	r.PasswordSet = true
	log.InfoContext(ctx, "app secret: first password set", "secret_arn", a.arn, "username", next.Username)
	return r, nil
}

// StageAPI is the part of the Secrets Manager client PutCurrent uses.
type StageAPI interface {
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	UpdateSecretVersionStage(ctx context.Context, in *secretsmanager.UpdateSecretVersionStageInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error)
}

// PutCurrent writes value as a new version of secret arn and moves AWSCURRENT to it (the
// old current version becomes AWSPREVIOUS), the way a rotation's finishSecret does.
// PutSecretValue alone moves AWSCURRENT on AWS, but not on moto once a rotation has moved
// the stage (../shared/EMULATOR.md): it leaves two versions labelled AWSCURRENT. Moving the
// label explicitly is right on both.
func PutCurrent(ctx context.Context, sm StageAPI, arn, value string) error {
	d, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)})
	if err != nil {
		return fmt.Errorf("describe secret: %w", err)
	}
	current := ""
	for id, stages := range d.VersionIdsToStages {
		if slices.Contains(stages, "AWSCURRENT") {
			current = id
		}
	}
	put, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(arn), SecretString: aws.String(value), VersionStages: []string{stagingLabel},
	})
	if err != nil {
		return fmt.Errorf("put secret value: %w", err)
	}
	move := &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(arn), VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: put.VersionId}
	if current != "" {
		move.RemoveFromVersionId = aws.String(current)
	}
	if _, err := sm.UpdateSecretVersionStage(ctx, move); err != nil && !hasStage(ctx, sm, arn, *put.VersionId, "AWSCURRENT", true) {
		return fmt.Errorf("move AWSCURRENT to version %s: %w", aws.ToString(put.VersionId), err)
	}
	if _, err := sm.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
		SecretId: aws.String(arn), VersionStage: aws.String(stagingLabel), RemoveFromVersionId: put.VersionId,
	}); err != nil && !hasStage(ctx, sm, arn, *put.VersionId, stagingLabel, false) {
		return fmt.Errorf("remove label %s: %w", stagingLabel, err)
	}
	return nil
}

// hasStage reports whether version holds stage (want true) or lacks it (want false) now.
// A stage move the SDK retried after the answer to its first attempt was lost fails,
// although the first attempt made the change: the secret's state says which it was.
// (Found under load: moto applied the move, the connection broke, the retry was refused
// with "Version stage AWSCURRENT not found in version ...".) AWS's SDK retries the same
// way, so the check is for AWS too.
func hasStage(ctx context.Context, sm StageAPI, arn, version, stage string, want bool) bool {
	d, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)})
	if err != nil {
		return false
	}
	return slices.Contains(d.VersionIdsToStages[version], stage) == want
}
