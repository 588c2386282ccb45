package rotation

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
)

// TLS is the configuration's TLS policy: DB_CA_BUNDLE and DB_ALLOW_PLAINTEXT, and the
// password rule that travels with it, DB_ALLOW_INSECURE_PASSWORD_AUTH.
func (c Config) TLS() dbsecret.TLSPolicy {
	return dbsecret.TLSPolicy{CABundle: c.CABundle, AllowPlaintext: c.AllowPlaintext, AllowInsecurePasswordAuth: c.AllowInsecurePasswordAuth}
}

// ConnOptions returns how the first connection attempt for s is made: no TLS when the
// secret says "ssl": false, otherwise verify-full, against DB_CA_BUNDLE when set, else
// the embedded RDS authorities for an RDS or Aurora endpoint, else the system roots.
// PlaintextFallback says whether a refusal of TLS may then be retried without it.
func (c Config) ConnOptions(s dbsecret.Secret) dbsecret.ConnOptions {
	o := c.TLS().ConnOptions(s)
	o.ConnectTimeout, o.ApplicationName = ConnectTimeout, "rotaudit-rotator"
	return o
}

// PlaintextFallback reports whether a connection for s that the server refuses to run
// over TLS may be made without it: DB_ALLOW_PLAINTEXT=true and a secret whose "ssl" is
// not an explicit true or false (AWS's functions try TLS and fall back on any failure in
// that case; this falls back only when the server says it has no TLS, so a failed
// certificate check stays an error).
func (c Config) PlaintextFallback(s dbsecret.Secret) bool {
	return c.TLS().PlaintextFallback(s)
}

// connect logs in with s (a login that times out is made once more: dbsecret.Connect).
func (r *Rotator) connect(ctx context.Context, s dbsecret.Secret) (DB, error) {
	fallback := r.Config.PlaintextFallback(s)
	o := r.Config.ConnOptions(s)
	o.Log = r.logger()
	db, tls, err := dbsecret.Connect(ctx, o, fallback, func(ctx context.Context, o dbsecret.ConnOptions) (DB, error) {
		return r.dial(ctx, s, o)
	})
	if err != nil {
		return nil, dbError("log in", s.Username, err)
	}
	if !fallback {
		return db, nil
	}
	if tls {
		r.logger().InfoContext(ctx, "database connection", "host", s.Host, "username", s.Username, "tls", true, "sslmode", "verify-full")
	} else {
		r.logger().WarnContext(ctx, "database connection without TLS: the server refused TLS", "host", s.Host, "username", s.Username,
			"tls", false, "reason", EnvDBAllowPlaintext+"=true")
	}
	return db, nil
}

func (r *Rotator) dial(ctx context.Context, s dbsecret.Secret, o dbsecret.ConnOptions) (DB, error) {
	cfg, err := s.ConnConfig(o)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSecret, err)
	}
	// Every session here is new and runs each statement once: a prepared statement
	// (pgx's default) costs a round trip more per query and is never reused. Unnamed
	// statements in the extended protocol keep parameters out of the SQL text.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	dial := r.Dial
	if dial == nil {
		dial = PgxDialer
	}
	return dial(ctx, cfg)
}

// logsIn reports whether s's credentials are accepted. Only a refused login is false;
// an unreachable database is an error.
func (r *Rotator) logsIn(ctx context.Context, s dbsecret.Secret) (bool, error) {
	db, err := r.connect(ctx, s)
	if errors.Is(err, ErrDBAuth) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	db.Close(context.WithoutCancel(ctx))
	return true, nil
}
