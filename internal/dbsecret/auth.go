package dbsecret

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// ErrInsecureAuth is wrapped by the connection error when the server asked for a way of
// logging in that would hand it the password (cleartext or MD5) and the caller did not
// opt in, or for one this package never answers (Kerberos V5, GSSAPI, SSPI, SCM
// credentials, anything unknown). Nothing was sent after the request: the server did not
// receive the password, in clear or hashed. Retrying, or trying another stored password,
// cannot help; the server's configuration must change.
var ErrInsecureAuth = errors.New("insecure authentication refused")

// EnvAllowInsecurePasswordAuth is the variable, the same in every program that logs in
// with a secret, that sets ConnOptions.AllowInsecurePasswordAuth.
const EnvAllowInsecurePasswordAuth = "DB_ALLOW_INSECURE_PASSWORD_AUTH"

// PostgreSQL's authentication request codes (the Int32 after 'R'), see "Message Formats"
// in the protocol chapter of PostgreSQL's documentation.
const (
	authOK                = 0
	authKerberosV5        = 2
	authCleartextPassword = 3
	authMD5Password       = 5
	authSCMCredential     = 6
	authGSS               = 7
	authGSSContinue       = 8
	authSSPI              = 9
	authSASL              = 10
	authSASLContinue      = 11
	authSASLFinal         = 12
)

// authMethodName names an authentication request code for a person (and pg_hba.conf).
func authMethodName(code uint32) string {
	switch code {
	case authKerberosV5:
		return "Kerberos V5"
	case authCleartextPassword:
		return "cleartext password (pg_hba.conf method \"password\")"
	case authMD5Password:
		return "MD5 password (pg_hba.conf method \"md5\", or a role whose password is stored as MD5)"
	case authSCMCredential:
		return "SCM credentials"
	case authGSS, authGSSContinue:
		return "GSSAPI"
	case authSSPI:
		return "SSPI"
	}
	return "unknown method (authentication request code " + strconv.FormatUint(uint64(code), 10) + ")"
}

// requireAuth is pgx's own method check (libpq's require_auth), set to the same list as
// the guard enforces: should the guard ever lose track of the message framing, pgx still
// refuses before it answers. "none" keeps a trust login working: it sends no password.
func requireAuth(allowInsecure bool) string {
	if allowInsecure {
		return "scram-sha-256,password,md5,none"
	}
	return "scram-sha-256,none"
}

// installAuthGuard makes every connection made with cfg pass the server's messages through
// an authGuard until the login ends. pgx offers no hook between reading an authentication
// request and answering it, so the guard wraps the reader that pgx's protocol decoder is
// built on (BuildFrontend): the decoder cannot act on a request the guard withholds. The
// connection itself is left alone: wrapping the net.Conn (AfterNetConnect) would hide the
// *tls.Conn that SCRAM's channel binding reads the server certificate from.
//
// BuildFrontend gets no context, and the warning of an allowed insecure login should carry
// the caller's (a Lambda's request id comes from it). pgx calls AfterNetConnect, which has
// it, just before BuildFrontend with the same net.Conn, so the context is parked there
// under that key for the moment in between.
func installAuthGuard(cfg *pgconn.Config, host string, port int, allowInsecure bool, log *slog.Logger) {
	cfg.RequireAuth = requireAuth(allowInsecure)
	var ctxs sync.Map // net.Conn → context.Context
	cfg.AfterNetConnect = func(ctx context.Context, _ *pgconn.Config, c net.Conn) (net.Conn, error) {
		ctxs.Store(c, ctx)
		return c, nil
	}
	cfg.BuildFrontend = func(r io.Reader, w io.Writer) *pgproto3.Frontend {
		ctx := context.Background()
		if v, ok := ctxs.LoadAndDelete(w); ok {
			ctx = v.(context.Context)
		}
		g := &authGuard{r: r, host: host, port: port, allowInsecure: allowInsecure, log: log, ctx: ctx}
		return pgproto3.NewFrontend(g, w)
	}
}

// authGuard reads the server's messages of one connection, from the start until the
// server is ready for queries, and fails the read that holds an authentication request
// the policy refuses, before pgx sees it. It only follows the framing (a type byte and a
// length) and the request code; pgx decodes and checks everything else.
type authGuard struct {
	r             io.Reader
	host          string
	port          int
	allowInsecure bool
	log           *slog.Logger
	ctx           context.Context

	done   bool    // the login is over: ReadyForQuery seen; pass everything through
	warned bool    // the insecure-login warning was logged
	hdr    [5]byte // the current message's type and length, as far as read
	nhdr   int
	code   [4]byte // an authentication request's code, as far as read
	ncode  int
	left   int // body bytes of the current message not yet read
}

// Read reads from the connection and inspects what it got before handing it on.
func (g *authGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if g.done || n == 0 {
		return n, err
	}
	if ierr := g.inspect(p[:n]); ierr != nil {
		// Nothing of this read reaches pgx, which then closes the connection.
		return 0, ierr
	}
	return n, err
}

// inspect follows the messages in b, which continues what earlier calls saw.
func (g *authGuard) inspect(b []byte) error {
	for len(b) > 0 && !g.done {
		if g.nhdr < len(g.hdr) {
			k := copy(g.hdr[g.nhdr:], b)
			g.nhdr += k
			b = b[k:]
			if g.nhdr < len(g.hdr) {
				return nil
			}
			// A message length counts itself; one under 4 is no message pgx could decode.
			length := binary.BigEndian.Uint32(g.hdr[1:])
			if length < 4 || length > 1<<30 {
				return fmt.Errorf("server %s: malformed message (length %d) before login completed", g.addr(), length)
			}
			g.left, g.ncode = int(length-4), 0
			switch g.hdr[0] {
			case 'Z':
				// ReadyForQuery ends the startup: after it pgx answers no authentication
				// request. Watching until here, not just until AuthenticationOk, covers a
				// server that sends a password request after saying OK.
				g.done, g.ctx = true, nil
				return nil
			case 'R':
				if g.left < len(g.code) {
					return fmt.Errorf("server %s: malformed authentication request (length %d)", g.addr(), length)
				}
			}
		} else if g.hdr[0] == 'R' && g.ncode < len(g.code) {
			k := copy(g.code[g.ncode:], b)
			g.ncode += k
			g.left -= k
			b = b[k:]
			if g.ncode == len(g.code) {
				if err := g.check(binary.BigEndian.Uint32(g.code[:])); err != nil {
					return err
				}
			}
		} else {
			k := min(len(b), g.left)
			g.left -= k
			b = b[k:]
		}
		if g.nhdr == len(g.hdr) && g.left == 0 && (g.hdr[0] != 'R' || g.ncode == len(g.code)) {
			g.nhdr = 0
		}
	}
	return nil
}

// check applies the policy to one authentication request.
func (g *authGuard) check(code uint32) error {
	switch code {
	case authOK, authSASL, authSASLContinue, authSASLFinal:
		// OK sends nothing (trust, or the end of a login); SASL is SCRAM-SHA-256, which
		// never lets the server see the password (pgx offers no other SASL mechanism
		// unless an OAuth token provider is configured, and none is).
		return nil
	case authCleartextPassword, authMD5Password:
		if g.allowInsecure {
			if !g.warned {
				g.warned = true
				g.log.WarnContext(g.ctx, "database login by an insecure password method: the server receives the password (cleartext) or a hash it can relay or crack (MD5); configure scram-sha-256",
					"host", g.host, "port", g.port, "auth_method", authMethodName(code), "reason", EnvAllowInsecurePasswordAuth+"=true")
			}
			return nil
		}
		return fmt.Errorf("%w: server %s asked for %s authentication, which would hand it the password or a hash it can relay or crack; nothing was sent. "+
			"Configure the server for scram-sha-256 (password_encryption = scram-sha-256 and the method scram-sha-256 in pg_hba.conf, "+
			"then set the role's password again so it is stored as SCRAM), or, to accept this risk, set %s=true",
			ErrInsecureAuth, g.addr(), authMethodName(code), EnvAllowInsecurePasswordAuth)
	}
	return fmt.Errorf("%w: server %s asked for %s authentication, which rotaudit does not use; nothing was sent. "+
		"Configure pg_hba.conf to use scram-sha-256 for this user", ErrInsecureAuth, g.addr(), authMethodName(code))
}

func (g *authGuard) addr() string {
	return net.JoinHostPort(g.host, strconv.Itoa(g.port))
}
