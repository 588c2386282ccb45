package bootstrap

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/dbsecret/dbsecrettest"
)

// TestInsecureAuthIsNotRetried: the wait for a starting server must not take a request
// for a cleartext or MD5 password for "not up yet": the server answered, and every retry
// would be one more chance to hand it the password. One connection, nothing sent.
func TestInsecureAuthIsNotRetried(t *testing.T) {
	for _, tt := range []struct {
		name    string
		request pgproto3.BackendMessage
	}{
		{"cleartext", &pgproto3.AuthenticationCleartextPassword{}},
		{"md5", &pgproto3.AuthenticationMD5Password{Salt: [4]byte{1, 1, 1, 1}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := dbsecrettest.StartAuthServer(t, []pgproto3.BackendMessage{tt.request}, nil)
			no := false
			s := dbsecret.Secret{Engine: "postgres", Host: "127.0.0.1", Port: srv.Port, Username: "master", Password: "master-pw", DBName: "rates", SSL: &no}
			b := &Bootstrapper{}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := b.connectWhenUp(ctx, s, slog.New(slog.DiscardHandler))
			if !errors.Is(err, dbsecret.ErrInsecureAuth) || notUpYet(err) {
				t.Fatalf("err = %v (not up yet: %v), want dbsecret.ErrInsecureAuth, not retried", err, notUpYet(err))
			}
			if n, p := srv.Conns(), srv.PasswordMessages(); n != 1 || p != 0 {
				t.Fatalf("the server saw %d logins and %d password messages, want 1 and 0", n, p)
			}
		})
	}
}
