// Package dbcreds keeps a database secret's AWSCURRENT value in memory and hands it to a
// pgx pool, so that the pool survives a rotation of the password or of the login role.
//
// A Cache holds the last good value of one Secrets Manager secret (the RDS JSON that
// package dbsecret parses). It refreshes in the background before the value is TTL old,
// and at once when PostgreSQL rejects a login made with it (RefreshAfterReject). Fetches
// are serialised: callers that need a fresh value while one is being fetched wait for
// that fetch instead of starting their own, and consecutive fetches after rejections back
// off exponentially between MinBackoff and MaxBackoff, so a rotation that has changed the
// password but not yet the secret costs Secrets Manager a handful of calls, not one per
// request. When Secrets Manager cannot be reached the cache keeps serving the last good
// value and logs that it does.
//
// Wiring: PoolConfig returns a pgxpool configuration whose BeforeConnect takes every new
// connection's credentials from the cache, and whose connections live at most a bounded
// time so sessions opened with an old password drain. Do runs a database call and, when
// it failed because its new connection was rejected (SQLSTATE 28P01 or 28000), refreshes
// and runs it again; such a call never reached the server, so repeating it is safe.
// Connections already open are not affected by a password change.
package dbcreds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
)

// ErrSecretNotFound means the secret id names no secret (or the secret has no AWSCURRENT
// value): fix the id, or create the secret.
var ErrSecretNotFound = errors.New("secret not found")

// ErrSSLConflict means the configured sslmode would drop TLS that the secret asks for.
var ErrSSLConflict = errors.New("sslmode conflicts with the secret")

// SecretsAPI is the one Secrets Manager call the cache makes.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Options configures a Cache. Zero durations take the defaults in brackets.
type Options struct {
	// SecretID is the secret's name or ARN. Required.
	SecretID string
	// TTL is the age after which a value counts as stale [5m]; the background refresh
	// runs at three quarters of it.
	TTL time.Duration
	// MinBackoff and MaxBackoff bound the wait between fetches after rejected logins and
	// between retries of a failed background refresh [100ms, 5s].
	MinBackoff, MaxBackoff time.Duration
	// FetchTimeout bounds one GetSecretValue call [5s].
	FetchTimeout time.Duration
	// SSLMode is the libpq sslmode for connections. Empty means verify-full, or disable
	// when the secret itself says "ssl": false. An explicit disable while the secret says
	// "ssl": true is ErrSSLConflict: TLS is never dropped silently.
	SSLMode string
	// RootCert is a PEM bundle for verify-ca/verify-full; empty means the embedded RDS
	// authorities for an RDS or Aurora endpoint, else the system roots.
	RootCert string
	// ConnectTimeout bounds dialing and authentication [5s].
	ConnectTimeout time.Duration
	// ApplicationName shows in pg_stat_activity.
	ApplicationName string
	// AllowInsecurePasswordAuth lets a server that asks for a cleartext or MD5 password
	// have it, with a warning (to Log) per connection. Off, only SCRAM-SHA-256 is
	// answered, and a connection to a server that asks for anything else fails with
	// dbsecret.ErrInsecureAuth having sent nothing; Do does not take that for a rejected
	// login, so it never refreshes and retries on it.
	AllowInsecurePasswordAuth bool
	// Log receives refresh events; nil discards them.
	Log *slog.Logger
}

func (o *Options) defaults() {
	if o.TTL <= 0 {
		o.TTL = 5 * time.Minute
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Second
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = 5 * time.Second
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 5 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// Creds is one fetched version of the secret with the connection settings built from it.
// It is immutable; a refresh makes a new one.
type Creds struct {
	Secret    dbsecret.Secret
	VersionID string
	FetchedAt time.Time
	// Config carries host, port, database, user, password and TLS for a connection.
	Config *pgx.ConnConfig
}

// Cache is the in-process cache of one secret. Its methods are safe for concurrent use.
type Cache struct {
	sm  SecretsAPI
	opt Options

	mu        sync.Mutex
	cur       *Creds
	fetching  chan struct{} // non-nil while a fetch runs; closed when it ends
	lastFetch time.Time     // when the last fetch (successful or not) ended
	backoff   time.Duration // wait before the next fetch after a rejection
}

// New fetches the secret's AWSCURRENT value once and returns a cache holding it. A secret
// that does not exist is ErrSecretNotFound; one that does not parse is dbsecret.ErrInvalid
// with the offending key named.
func New(ctx context.Context, sm SecretsAPI, opt Options) (*Cache, error) {
	if opt.SecretID == "" {
		return nil, errors.New("dbcreds: secret id is empty")
	}
	opt.defaults()
	c := &Cache{sm: sm, opt: opt, backoff: opt.MinBackoff}
	cr, err := c.fetch(ctx)
	if err != nil {
		return nil, err
	}
	c.cur = cr
	c.lastFetch = time.Now()
	return c, nil
}

// Current returns the value in use.
func (c *Cache) Current() *Creds {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

// fetch reads and parses AWSCURRENT. It holds no lock.
func (c *Cache) fetch(ctx context.Context) (*Creds, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opt.FetchTimeout)
	defer cancel()
	// VersionStage explicitly: some emulators return another version without it, and
	// against AWS it documents what is meant.
	out, err := c.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(c.opt.SecretID), VersionStage: aws.String("AWSCURRENT"),
	})
	if err != nil {
		var nf *smtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return nil, fmt.Errorf("dbcreds: secret %q: %w (check the id, the region and that it has an AWSCURRENT value)", c.opt.SecretID, ErrSecretNotFound)
		}
		return nil, fmt.Errorf("dbcreds: get secret value %q: %w", c.opt.SecretID, err)
	}
	if out.SecretString == nil {
		return nil, fmt.Errorf("dbcreds: secret %q: %w: no SecretString (binary secrets are not database secrets)", c.opt.SecretID, dbsecret.ErrInvalid)
	}
	s, err := dbsecret.Parse([]byte(*out.SecretString))
	if err != nil {
		return nil, fmt.Errorf("dbcreds: secret %q: %w", c.opt.SecretID, err)
	}
	mode, err := SSLMode(c.opt.SSLMode, s)
	if err != nil {
		return nil, fmt.Errorf("dbcreds: secret %q: %w", c.opt.SecretID, err)
	}
	cfg, err := s.ConnConfig(dbsecret.ConnOptions{SSLMode: mode, RootCert: c.opt.RootCert, ConnectTimeout: c.opt.ConnectTimeout,
		ApplicationName: c.opt.ApplicationName, AllowInsecurePasswordAuth: c.opt.AllowInsecurePasswordAuth, Log: c.opt.Log})
	if err != nil {
		return nil, fmt.Errorf("dbcreds: secret %q: %w", c.opt.SecretID, err)
	}
	return &Creds{Secret: s, VersionID: aws.ToString(out.VersionId), FetchedAt: time.Now(), Config: cfg}, nil
}

// SSLMode resolves the sslmode for a secret: configured when set (refusing to disable TLS
// that the secret asks for), otherwise the rule every client of a secret follows
// (dbsecret.TLSPolicy, without its plaintext fallback: the pool dials through pgx, whose
// fallbacks would also retry after a failed certificate check): verify-full, or disable
// when the secret says "ssl": false.
func SSLMode(configured string, s dbsecret.Secret) (string, error) {
	switch configured {
	case "":
		return dbsecret.TLSPolicy{}.ConnOptions(s).SSLMode, nil
	case "disable":
		if s.SSL != nil && *s.SSL {
			return "", fmt.Errorf("%w: sslmode disable, but the secret says \"ssl\": true", ErrSSLConflict)
		}
		return configured, nil
	case "require", "verify-ca", "verify-full":
		return configured, nil
	}
	return "", fmt.Errorf("sslmode %q is not one of disable, require, verify-ca, verify-full", configured)
}

// refresh fetches a new value unless one is being fetched, in which case it waits for that
// one. wait is how long to hold off first (backoff). It returns the value in use after.
func (c *Cache) refresh(ctx context.Context, reason string, wait time.Duration) (*Creds, error) {
	c.mu.Lock()
	if ch := c.fetching; ch != nil {
		c.mu.Unlock()
		select {
		case <-ch:
			return c.Current(), nil
		case <-ctx.Done():
			return c.Current(), ctx.Err()
		}
	}
	ch := make(chan struct{})
	c.fetching = ch
	prev := c.cur
	c.mu.Unlock()

	var (
		cr  *Creds
		err error
	)
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			err = ctx.Err()
		}
		t.Stop()
	}
	if err == nil {
		// The fetch outlives a caller that gives up: others may be waiting for it.
		cr, err = c.fetch(context.WithoutCancel(ctx))
	}

	c.mu.Lock()
	c.lastFetch = time.Now()
	if err == nil {
		c.cur = cr
		if reason == "rejected" && prev != nil && cr.VersionID == prev.VersionID {
			c.backoff = min(c.backoff*2, c.opt.MaxBackoff)
		} else {
			c.backoff = c.opt.MinBackoff
		}
	} else {
		c.backoff = min(c.backoff*2, c.opt.MaxBackoff)
	}
	c.fetching = nil
	close(ch)
	c.mu.Unlock()

	log := c.opt.Log.With("secret_id", c.opt.SecretID, "reason", reason)
	switch {
	case err != nil && prev != nil:
		log.Warn("secret refresh failed; serving the last good value", "error", err.Error(),
			"version_id", prev.VersionID, "value_age_seconds", int(time.Since(prev.FetchedAt).Seconds()))
		return prev, err
	case err != nil:
		return nil, err
	case prev == nil || cr.VersionID != prev.VersionID:
		log.Info("secret refreshed: new version", "version_id", cr.VersionID, "username", cr.Secret.Username)
	default:
		log.Debug("secret refreshed: same version", "version_id", cr.VersionID)
	}
	return cr, nil
}

// Refresh fetches the current value now (or joins a fetch under way).
func (c *Cache) Refresh(ctx context.Context) (*Creds, error) {
	return c.refresh(ctx, "requested", 0)
}

// RefreshAfterReject is called when the server rejected a login made with rejected. If
// the cache already holds a newer fetch it returns that at once; otherwise it fetches,
// after the backoff when the previous fetch was recent.
func (c *Cache) RefreshAfterReject(ctx context.Context, rejected *Creds) (*Creds, error) {
	c.mu.Lock()
	cur := c.cur
	wait := c.backoff - time.Since(c.lastFetch)
	c.mu.Unlock()
	if rejected != nil && cur.FetchedAt.After(rejected.FetchedAt) {
		return cur, nil
	}
	return c.refresh(ctx, "rejected", wait)
}

// Run refreshes in the background until ctx ends: every three quarters of the TTL, and
// after a failure again after the backoff.
func (c *Cache) Run(ctx context.Context) {
	every := c.opt.TTL * 3 / 4
	next := every
	for {
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if _, err := c.refresh(ctx, "ttl", 0); err != nil {
			c.mu.Lock()
			next = min(c.backoff, every)
			c.mu.Unlock()
			continue
		}
		next = every
	}
}

// BeforeConnect sets the credentials of a new connection from the cache. It never calls
// Secrets Manager, so it never blocks on it. Its signature is pgxpool.Config.BeforeConnect.
func (c *Cache) BeforeConnect(_ context.Context, cfg *pgx.ConnConfig) error {
	cr := c.Current()
	src := cr.Config
	cfg.Host, cfg.Port, cfg.Database = src.Host, src.Port, src.Database
	cfg.User, cfg.Password = src.User, src.Password
	cfg.TLSConfig, cfg.Fallbacks = src.TLSConfig, nil
	cfg.ConnectTimeout = src.ConnectTimeout
	// The password rule (package dbsecret) travels with the value: its errors and warnings
	// name the host this value points at.
	cfg.BuildFrontend, cfg.AfterNetConnect, cfg.RequireAuth = src.BuildFrontend, src.AfterNetConnect, src.RequireAuth
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	if name := src.RuntimeParams["application_name"]; name != "" {
		cfg.RuntimeParams["application_name"] = name
	}
	return nil
}

// PoolOptions sizes the pool that PoolConfig returns.
type PoolOptions struct {
	// MaxConns caps open connections [pgxpool's default].
	MaxConns int32
	// MaxConnLifetime bounds a connection's life, so sessions opened with a password
	// that has since changed drain [15m]; pgxpool adds up to 20% jitter.
	MaxConnLifetime time.Duration
	// MaxConnIdleTime closes idle connections [5m].
	MaxConnIdleTime time.Duration
}

// PoolConfig returns a pgxpool configuration that takes credentials from the cache.
func (c *Cache) PoolConfig(o PoolOptions) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig("")
	if err != nil {
		return nil, fmt.Errorf("dbcreds: pool config: %w", err)
	}
	// Start from the current value so that everything but the credentials (TLS, timeouts,
	// runtime parameters) is set even before BeforeConnect.
	cfg.ConnConfig = c.Current().Config.Copy()
	cfg.BeforeConnect = c.BeforeConnect
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	cfg.MaxConnLifetime = o.MaxConnLifetime
	if cfg.MaxConnLifetime <= 0 {
		cfg.MaxConnLifetime = 15 * time.Minute
	}
	cfg.MaxConnLifetimeJitter = cfg.MaxConnLifetime / 5
	cfg.MaxConnIdleTime = o.MaxConnIdleTime
	if cfg.MaxConnIdleTime <= 0 {
		cfg.MaxConnIdleTime = 5 * time.Minute
	}
	return cfg, nil
}

// IsAuthFailure reports whether err is the server rejecting a login: a wrong password
// (28P01) or a role that does not exist or may not log in (28000).
func IsAuthFailure(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	return pe.Code == "28P01" || pe.Code == "28000"
}

// Do runs fn and, while it fails with a rejected login, refreshes the cache and runs it
// again, until ctx ends. fn must be safe to repeat when its connection was never made
// (any statement is: a rejected login means nothing reached the server).
func (c *Cache) Do(ctx context.Context, fn func(ctx context.Context) error) error {
	for {
		used := c.Current()
		err := fn(ctx)
		if err == nil || !IsAuthFailure(err) {
			return err
		}
		c.opt.Log.Warn("database rejected the cached credentials; refreshing", "secret_id", c.opt.SecretID,
			"version_id", used.VersionID, "username", used.Secret.Username, "error", err.Error())
		if _, rerr := c.RefreshAfterReject(ctx, used); rerr != nil && ctx.Err() != nil {
			return err
		}
		if ctx.Err() != nil {
			return err
		}
	}
}

// IsRetryable reports whether err is the database going away or not being there yet, so
// that the same read on a fresh connection may succeed: a connection refused or reset,
// a pooled connection the server closed (a restart or failover), or the server saying it
// is shutting down or starting up (SQLSTATE class 08, 57P01-57P03). A rejected login, a
// server that asks for a password method this client refuses, a query error and the
// caller's own deadline are not.
func IsRetryable(err error) bool {
	if err == nil || IsAuthFailure(err) || errors.Is(err, dbsecret.ErrInsecureAuth) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || pgconn.SafeToRetry(err)
}
