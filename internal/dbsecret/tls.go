package dbsecret

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rotaudit/rotaudit/internal/rdsca"
)

// TLSPolicy is the one TLS rule of the programs that log in with a secret (the rotator,
// the first deployment's bootstrap, the API's credential cache). A secret whose "ssl" is
// true gets verify-full and one whose "ssl" is false no TLS. A secret that leaves it open
// (absent, or what AWS's functions read as "try TLS": "yes", 1, null) gets verify-full
// too, unless AllowPlaintext: then TLS is still tried first, and plaintext only when the
// server refuses TLS, never after a failed certificate check. (AWS's functions fall back
// on any failure, which is a silent downgrade.)
type TLSPolicy struct {
	// CABundle is the PEM file that verifies the server; empty means the embedded RDS
	// authorities for an RDS or Aurora endpoint (package rdsca), else the system roots.
	CABundle string
	// AllowPlaintext lets a secret that leaves "ssl" open connect without TLS when the
	// server refuses TLS (DB_ALLOW_PLAINTEXT).
	AllowPlaintext bool
	// AllowInsecurePasswordAuth is not about TLS but about who may see the password, and
	// travels with it so the programs take both rules from one place: it lets a server have
	// the password by cleartext or MD5 authentication (DB_ALLOW_INSECURE_PASSWORD_AUTH,
	// ConnOptions.AllowInsecurePasswordAuth).
	AllowInsecurePasswordAuth bool
}

// ConnOptions returns the TLS settings of the first attempt for s, and the password
// authentication rule; the caller adds the timeout, the application name and the logger.
func (p TLSPolicy) ConnOptions(s Secret) ConnOptions {
	if s.SSL != nil && !*s.SSL {
		return ConnOptions{SSLMode: "disable", AllowInsecurePasswordAuth: p.AllowInsecurePasswordAuth}
	}
	return ConnOptions{SSLMode: "verify-full", RootCert: p.CABundle, RootCAs: defaultRoots(p.CABundle, s.Host),
		AllowInsecurePasswordAuth: p.AllowInsecurePasswordAuth}
}

// PlaintextFallback reports whether a connection for s that the server refuses to run
// over TLS may be made again without it.
func (p TLSPolicy) PlaintextFallback(s Secret) bool {
	return p.AllowPlaintext && s.SSL == nil
}

// Connect logs in with dial, first with o (TLSPolicy.ConnOptions plus the caller's
// timeout and name) and, when fallback (TLSPolicy.PlaintextFallback) and the server
// refuses TLS, once more without TLS. tls reports whether the connection uses TLS.
//
// A login that runs out of o's connect timeout is made once more when ctx leaves the time
// for it: on a loaded server authentication alone has taken over 5 s (a CI run beside
// stress-ng logged a rotator's login 5.07 s after it began), while an unreachable server
// fails the second try as it did the first, within the caller's deadline.
func Connect[C any](ctx context.Context, o ConnOptions, fallback bool, dial func(context.Context, ConnOptions) (C, error)) (conn C, tls bool, err error) {
	conn, tls, err = connectOnce(ctx, o, fallback, dial)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil && hasTime(ctx, o.connectTimeout()+time.Second) {
		if o.Log != nil {
			o.Log.WarnContext(ctx, "database login timed out; trying once more",
				"timeout", o.connectTimeout().String(), "error", err.Error())
		}
		conn, tls, err = connectOnce(ctx, o, fallback, dial)
	}
	return conn, tls, err
}

func connectOnce[C any](ctx context.Context, o ConnOptions, fallback bool, dial func(context.Context, ConnOptions) (C, error)) (conn C, tls bool, err error) {
	conn, err = dial(ctx, o)
	if err == nil || !fallback || !RefusedTLS(err) {
		return conn, err == nil && o.SSLMode != "disable", err
	}
	o.SSLMode, o.RootCert, o.RootCAs = "disable", "", nil
	conn, err = dial(ctx, o)
	return conn, false, err
}

// hasTime reports whether ctx leaves at least d (or has no deadline).
func hasTime(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) >= d
}

// RefusedTLS reports whether err is the server answering the TLS request with "no TLS
// here", and not TLS that started and then failed (a certificate check, a handshake),
// which is never a reason to try plaintext.
func RefusedTLS(err error) bool {
	var ce *pgconn.ConnectError
	return errors.As(err, &ce) && strings.Contains(err.Error(), "server refused TLS connection")
}

// defaultRoots is the pool that verifies host when no bundle is given: the embedded RDS
// authorities for an RDS or Aurora endpoint, which the system roots never hold (without
// them every client of an RDS secret would fail verify-full as shipped); nil otherwise.
func defaultRoots(caBundle, host string) *x509.CertPool {
	if caBundle == "" && rdsca.IsRDSHost(host) {
		return rdsca.Pool()
	}
	return nil
}
