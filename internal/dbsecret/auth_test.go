package dbsecret

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/rotaudit/rotaudit/internal/dbsecret/dbsecrettest"
)

// authRequest is an authentication request pgproto3 has no type for (SSPI, Kerberos V5,
// SCM credentials, codes that do not exist).
type authRequest uint32

func (authRequest) Backend()            {}
func (authRequest) Decode([]byte) error { return errors.New("not decoded") }
func (a authRequest) Encode(dst []byte) ([]byte, error) {
	dst = append(dst, 'R', 0, 0, 0, 8)
	return binary.BigEndian.AppendUint32(dst, uint32(a)), nil
}

// ctxKey marks the context a test connects with, to find it again in the log.
type ctxKey struct{}

// recordingHandler keeps each log record as text, with the ctxKey value of its context.
type recordingHandler struct {
	mu   sync.Mutex
	recs []string
	ctxs []any
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler            { return h }
func (h *recordingHandler) Handle(ctx context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.Key + "=" + a.Value.String())
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, b.String())
	h.ctxs = append(h.ctxs, ctx.Value(ctxKey{}))
	return nil
}

// TestInsecureAuthNeverSendsThePassword connects to a server that asks for each method and
// records what the client answers: by default nothing may come back after a cleartext, MD5
// or unsupported request, and the error is ErrInsecureAuth naming the server and method.
func TestInsecureAuthNeverSendsThePassword(t *testing.T) {
	const password = "Pw-that-must-never-leave-7f3a"
	ok := []pgproto3.BackendMessage{&pgproto3.AuthenticationOk{}, &pgproto3.ReadyForQuery{TxStatus: 'I'}}
	clear := &pgproto3.AuthenticationCleartextPassword{}
	md5 := &pgproto3.AuthenticationMD5Password{Salt: [4]byte{1, 2, 3, 4}}
	tests := []struct {
		name          string
		first         []pgproto3.BackendMessage
		allow         bool
		wantMethod    string // in the error; empty: the login succeeds
		wantRemedy    bool   // the error names the opt-in
		wantPasswords int
	}{
		{"cleartext refused", []pgproto3.BackendMessage{clear}, false, "cleartext password", true, 0},
		{"md5 refused", []pgproto3.BackendMessage{md5}, false, "MD5 password", true, 0},
		{"password request after OK refused", []pgproto3.BackendMessage{&pgproto3.AuthenticationOk{}, clear}, false, "cleartext password", true, 0},
		{"GSSAPI refused even when insecure methods are allowed", []pgproto3.BackendMessage{&pgproto3.AuthenticationGSS{}}, true, "GSSAPI", false, 0},
		{"SSPI refused", []pgproto3.BackendMessage{authRequest(9)}, true, "SSPI", false, 0},
		{"Kerberos V5 refused", []pgproto3.BackendMessage{authRequest(2)}, true, "Kerberos V5", false, 0},
		{"unknown method refused", []pgproto3.BackendMessage{authRequest(99)}, true, "code 99", false, 0},
		{"trust sends nothing and logs in", ok, false, "", false, 0},
		{"cleartext allowed", []pgproto3.BackendMessage{clear}, true, "", false, 1},
		{"md5 allowed", []pgproto3.BackendMessage{md5}, true, "", false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := dbsecrettest.StartAuthServer(t, tt.first, ok)
			s := Secret{Engine: "postgres", Host: "127.0.0.1", Port: srv.Port, Username: "app", Password: password, DBName: "d"}
			h := &recordingHandler{}
			cfg, err := s.ConnConfig(ConnOptions{SSLMode: "disable", AllowInsecurePasswordAuth: tt.allow, Log: slog.New(h)})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), ctxKey{}, "mine"), 10*time.Second)
			defer cancel()
			conn, err := pgx.ConnectConfig(ctx, cfg)
			if tt.wantMethod == "" {
				if err != nil {
					t.Fatalf("login failed: %v", err)
				}
				conn.Close(ctx)
			} else {
				if !errors.Is(err, ErrInsecureAuth) {
					t.Fatalf("err = %v, want ErrInsecureAuth", err)
				}
				msg := err.Error()
				if !strings.Contains(msg, s.Host) || !strings.Contains(msg, tt.wantMethod) || !strings.Contains(msg, "scram-sha-256") ||
					tt.wantRemedy != strings.Contains(msg, EnvAllowInsecurePasswordAuth) || strings.Contains(msg, password) {
					t.Fatalf("error %q should name the host, %q, the scram-sha-256 remedy (opt-in named: %v) and not the password", msg, tt.wantMethod, tt.wantRemedy)
				}
			}
			if got := srv.PasswordMessages(); got != tt.wantPasswords {
				t.Fatalf("the server received %d password messages, want %d", got, tt.wantPasswords)
			}
			if tt.wantPasswords == 0 && bytes.Contains(srv.Received(), []byte(password)) {
				t.Fatal("the server received the password")
			}
			var warns []string
			for _, r := range h.recs {
				if strings.HasPrefix(r, "WARN") {
					warns = append(warns, r)
				}
			}
			if tt.wantPasswords == 0 {
				if len(warns) != 0 {
					t.Fatalf("warnings %q for a login that sent no password", warns)
				}
				return
			}
			if len(warns) != 1 || !strings.Contains(warns[0], "host=127.0.0.1") || !strings.Contains(warns[0], "auth_method=") ||
				!strings.Contains(warns[0], EnvAllowInsecurePasswordAuth) || strings.Contains(warns[0], password) {
				t.Fatalf("warnings %q, want one naming host, method and %s, without the password", warns, EnvAllowInsecurePasswordAuth)
			}
			if h.ctxs[0] != "mine" {
				t.Fatalf("the warning was logged with another context (value %v): a Lambda's request id would be lost", h.ctxs[0])
			}
		})
	}
}

// TestRequireAuthIsTheSecondLock: with the guard taken out, pgx's own require_auth, set by
// ConnConfig to the same list, still refuses before it answers. It is the backstop should
// the guard ever lose track of the framing; the error is pgx's, not ErrInsecureAuth.
func TestRequireAuthIsTheSecondLock(t *testing.T) {
	for _, allow := range []bool{false, true} {
		srv := dbsecrettest.StartAuthServer(t, []pgproto3.BackendMessage{&pgproto3.AuthenticationCleartextPassword{}},
			[]pgproto3.BackendMessage{&pgproto3.AuthenticationOk{}, &pgproto3.ReadyForQuery{TxStatus: 'I'}})
		s := Secret{Engine: "postgres", Host: "127.0.0.1", Port: srv.Port, Username: "app", Password: "pw", DBName: "d"}
		cfg, err := s.ConnConfig(ConnOptions{SSLMode: "disable", AllowInsecurePasswordAuth: allow, Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		cfg.BuildFrontend = pgproto3.NewFrontend // the guard, out
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if allow {
			if err != nil {
				t.Fatalf("allowed: %v", err)
			}
			conn.Close(ctx)
		} else if err == nil || !strings.Contains(err.Error(), "require_auth") || srv.PasswordMessages() != 0 {
			t.Fatalf("err = %v, %d password messages: want pgx's require_auth refusal and nothing sent", err, srv.PasswordMessages())
		}
		cancel()
	}
}

// encode concatenates the wire form of msgs.
func encode(t testing.TB, msgs ...pgproto3.BackendMessage) []byte {
	t.Helper()
	var b []byte
	for _, m := range msgs {
		var err error
		if b, err = m.Encode(b); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// readAll reads r to its end and returns what came through and the error that ended it
// (nil at io.EOF).
func readAll(r io.Reader) ([]byte, error) {
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// TestAuthGuardFraming feeds the guard whole and byte by byte: a refused request must fail
// before its last byte is handed on (so pgx never holds the whole message), and an allowed
// login must pass through unchanged, including what follows ReadyForQuery.
func TestAuthGuardFraming(t *testing.T) {
	scram := encode(t,
		&pgproto3.AuthenticationSASL{AuthMechanisms: []string{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"}},
		&pgproto3.AuthenticationSASLContinue{Data: []byte("r=abc,s=c2FsdA==,i=4096")},
		&pgproto3.AuthenticationSASLFinal{Data: []byte("v=abc")},
		&pgproto3.AuthenticationOk{},
		&pgproto3.ParameterStatus{Name: "server_version", Value: "15.0"},
		&pgproto3.BackendKeyData{ProcessID: 1, SecretKey: []byte{0, 0, 0, 2}},
		&pgproto3.ReadyForQuery{TxStatus: 'I'},
		// After the startup pgx answers no authentication request; the guard is out of the way.
		&pgproto3.AuthenticationCleartextPassword{},
	)
	notice := encode(t, &pgproto3.NoticeResponse{Severity: "NOTICE", Message: strings.Repeat("x", 5000)})
	refused := append(notice, encode(t, &pgproto3.AuthenticationMD5Password{Salt: [4]byte{9, 9, 9, 9}})...)
	tests := []struct {
		name    string
		stream  []byte
		allow   bool
		wantErr bool
	}{
		{"SCRAM login", scram, false, false},
		{"MD5 after a long notice", refused, false, true},
		{"MD5 allowed", refused, true, false},
		{"length under 4", []byte{'N', 0, 0, 0, 3}, false, true},
		{"authentication request too short for its code", []byte{'R', 0, 0, 0, 6, 0, 0}, false, true},
	}
	for _, tt := range tests {
		for _, split := range []bool{false, true} {
			name := tt.name
			if split {
				name += ", byte by byte"
			}
			t.Run(name, func(t *testing.T) {
				var r io.Reader = bytes.NewReader(tt.stream)
				if split {
					r = iotest.OneByteReader(r)
				}
				g := &authGuard{r: r, host: "db", port: 5432, allowInsecure: tt.allow, log: slog.New(slog.DiscardHandler), ctx: context.Background()}
				got, err := readAll(g)
				if tt.wantErr {
					if err == nil || len(got) >= len(tt.stream) {
						t.Fatalf("passed %d of %d bytes, err %v: want an error before the last byte", len(got), len(tt.stream), err)
					}
					return
				}
				if err != nil || !bytes.Equal(got, tt.stream) {
					t.Fatalf("passed %d of %d bytes, err %v: want everything", len(got), len(tt.stream), err)
				}
			})
		}
	}
}

// FuzzAuthGuard checks the guard against pgx's own decoder: whatever the server sends,
// however it arrives, what the guard hands on never decodes, before ReadyForQuery, to a
// request for a method other than SCRAM.
func FuzzAuthGuard(f *testing.F) {
	f.Add([]byte{'R', 0, 0, 0, 8, 0, 0, 0, 3}, uint8(1))
	f.Add([]byte{'R', 0, 0, 0, 12, 0, 0, 0, 5, 1, 2, 3, 4}, uint8(3))
	f.Add([]byte{'R', 0, 0, 0, 8, 0, 0, 0, 0, 'R', 0, 0, 0, 8, 0, 0, 0, 7}, uint8(0))
	f.Add([]byte{'S', 0, 0, 0, 6, 'a', 0, 'R', 0, 0, 0, 8, 0, 0, 0, 3}, uint8(7))
	f.Add([]byte{'Z', 0, 0, 0, 5, 'I', 'R', 0, 0, 0, 8, 0, 0, 0, 3}, uint8(2))
	f.Fuzz(func(t *testing.T, stream []byte, chunk uint8) {
		var r io.Reader = bytes.NewReader(stream)
		if chunk > 0 {
			r = &chunkReader{r: r, n: int(chunk)}
		}
		g := &authGuard{r: r, host: "db", port: 5432, log: slog.New(slog.DiscardHandler), ctx: context.Background()}
		passed, _ := readAll(g)
		fe := pgproto3.NewFrontend(bytes.NewReader(passed), io.Discard)
		for {
			m, err := fe.Receive()
			if err != nil {
				return
			}
			switch m.(type) {
			case *pgproto3.ReadyForQuery:
				return
			case *pgproto3.AuthenticationCleartextPassword, *pgproto3.AuthenticationMD5Password,
				*pgproto3.AuthenticationGSS, *pgproto3.AuthenticationGSSContinue:
				t.Fatalf("the guard let %T through", m)
			}
		}
	})
}

// chunkReader reads at most n bytes at a time.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	return c.r.Read(p[:min(len(p), c.n)])
}
