package rotation

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/aws/smithy-go"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/pgrole"
)

// Sentinel errors: every error the rotator returns wraps one of them, so callers (and the
// operator reading the log) can tell what kind of failure it was.
var (
	// ErrInvalidEvent: the invocation payload is malformed.
	ErrInvalidEvent = errors.New("invalid rotation event")
	// ErrRotationDisabled: the secret does not have rotation enabled.
	ErrRotationDisabled = errors.New("rotation is not enabled for the secret")
	// ErrNotPending: the token is not a version of the secret, or is not AWSPENDING.
	ErrNotPending = errors.New("token is not the secret's pending version")
	// ErrRotationInProgress: another version holds AWSPENDING.
	ErrRotationInProgress = errors.New("another rotation is in progress")
	// ErrInvalidSecret: a version of the secret is malformed or inconsistent.
	ErrInvalidSecret = errors.New("invalid secret")
	// ErrSecretsManager: a Secrets Manager call failed.
	ErrSecretsManager = errors.New("secrets manager call failed")
	// ErrDBUnreachable: the database could not be reached (network, DNS, timeout).
	ErrDBUnreachable = errors.New("database unreachable")
	// ErrDBTLS: the TLS handshake or certificate check failed.
	ErrDBTLS = errors.New("database TLS failed")
	// ErrDBAuth: the database refused the credentials.
	ErrDBAuth = errors.New("database login refused")
	// ErrDBInsecureAuth: the server asked for a password method that would hand it the
	// password (cleartext, MD5) or one rotaudit does not use, and nothing was sent
	// (dbsecret.ErrInsecureAuth). Not a wrong password: no other stored password is tried,
	// and a retry fails the same way until the server is configured for scram-sha-256.
	ErrDBInsecureAuth = errors.New("database asked for insecure password authentication")
	// ErrDBPrivilege: the logged-in user may not do what the step needs.
	ErrDBPrivilege = errors.New("missing database privilege")
	// ErrProbe: the test query failed with the pending credentials.
	ErrProbe = errors.New("test query failed")
	// ErrDB: the database answered with an error of no class above (a statement refused
	// for another reason, or a session that broke mid-statement).
	ErrDB = errors.New("database error")
)

// smError wraps a Secrets Manager error with what to do about it.
func smError(op string, err error) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		hint := ""
		switch api.ErrorCode() {
		case "ResourceNotFoundException":
			hint = ": check the secret id, its versions and the region"
		case "AccessDeniedException", "AccessDenied", "UnrecognizedClientException":
			hint = ": the function's role lacks this permission (see the IAM policy of the rotation module)"
		case "DecryptionFailure", "KMSAccessDeniedException":
			hint = ": the function's role cannot use the secret's KMS key"
		}
		return fmt.Errorf("%s: %w: %s%s", op, ErrSecretsManager, api.ErrorCode(), hint)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w: ran out of time (%w): check the function's network path to Secrets Manager (VPC endpoint or NAT) and its timeout", op, ErrSecretsManager, err)
	}
	return fmt.Errorf("%s: %w: Secrets Manager unreachable (%w): check the function's network path (VPC endpoint or NAT, SECRETS_MANAGER_ENDPOINT)", op, ErrSecretsManager, err)
}

// dbError classifies a database error and says what to do. who names the user.
func dbError(op, who string, err error) error {
	if errors.Is(err, dbsecret.ErrInsecureAuth) {
		// Before the ConnectError case below, which would call it unreachable (transient).
		return fmt.Errorf("%s: %w for %s: %w", op, ErrDBInsecureAuth, who, err)
	}
	if errors.Is(err, pgrole.ErrNotAdmin) {
		// Found before anything was changed (PostgreSQL would answer 42501 later on).
		return fmt.Errorf("%s: %w for %s: %w", op, ErrDBPrivilege, who, err)
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case pg.Code == "28P01" || pg.Code == "28000":
			return fmt.Errorf("%s: %w for %s (SQLSTATE %s): the password in the secret does not match the database", op, ErrDBAuth, who, pg.Code)
		case pg.Code == "42501":
			return fmt.Errorf("%s: %w for %s: %s (SQLSTATE 42501): grant it, see the rotation doc for what each strategy needs", op, ErrDBPrivilege, who, pg.Message)
		case strings.HasPrefix(pg.Code, "08") || pg.Code == "57P03" || pg.Code == "53300":
			return fmt.Errorf("%s: %w: %s (SQLSTATE %s): retry later", op, ErrDBUnreachable, pg.Message, pg.Code)
		}
		return fmt.Errorf("%s as %s: %w: %s (SQLSTATE %s): %w", op, who, ErrDB, pg.Message, pg.Code, err)
	}
	var certErr *tls.CertificateVerificationError
	var unk x509.UnknownAuthorityError
	var host x509.HostnameError
	if errors.As(err, &certErr) || errors.As(err, &unk) || errors.As(err, &host) ||
		strings.Contains(err.Error(), "server refused TLS") || strings.Contains(err.Error(), "tls:") {
		return fmt.Errorf("%s: %w: %w: point %s at the server's CA bundle, or for a server without TLS set \"ssl\": false in the secret or %s=true", op, ErrDBTLS, err, EnvDBCABundle, EnvDBAllowPlaintext)
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	if errors.As(err, &ne) || errors.As(err, &ce) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w: %w: check host, port, security groups and that the database is up", op, ErrDBUnreachable, err)
	}
	return fmt.Errorf("%s as %s: %w: %w", op, who, ErrDB, err)
}
