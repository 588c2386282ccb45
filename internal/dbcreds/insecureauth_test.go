package dbcreds

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/dbsecret/dbsecrettest"
)

// TestInsecureAuthIsNotRefreshed: a pool connection to a server that asks for a cleartext
// or MD5 password fails with dbsecret.ErrInsecureAuth having sent nothing, and Do does not
// take it for a rejected login: no refresh from Secrets Manager, no second try.
func TestInsecureAuthIsNotRefreshed(t *testing.T) {
	for _, tt := range []struct {
		name    string
		request pgproto3.BackendMessage
	}{
		{"cleartext", &pgproto3.AuthenticationCleartextPassword{}},
		{"md5", &pgproto3.AuthenticationMD5Password{Salt: [4]byte{2, 2, 2, 2}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := dbsecrettest.StartAuthServer(t, []pgproto3.BackendMessage{tt.request},
				[]pgproto3.BackendMessage{&pgproto3.ErrorResponse{Severity: "FATAL", Code: "28P01", Message: "password authentication failed"}})
			v := &versioned{value: fmt.Sprintf(`{"engine":"postgres","host":"127.0.0.1","port":%d,"username":"app","password":"pw","dbname":"rates","ssl":false}`, srv.Port), version: "v1"}
			fsm := v.sm(t)
			c, err := New(context.Background(), fsm, Options{SecretID: "s", MinBackoff: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			pc, err := c.PoolConfig(PoolOptions{MaxConns: 1})
			if err != nil {
				t.Fatal(err)
			}
			pool, err := pgxpool.NewWithConfig(context.Background(), pc)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err = c.Do(ctx, func(ctx context.Context) error {
				conn, err := pool.Acquire(ctx)
				if err != nil {
					return err
				}
				conn.Release()
				return nil
			})
			if !errors.Is(err, dbsecret.ErrInsecureAuth) || IsAuthFailure(err) {
				t.Fatalf("err = %v, want dbsecret.ErrInsecureAuth, not a rejected login", err)
			}
			if n := fsm.calls.Load(); n != 1 {
				t.Fatalf("%d GetSecretValue calls, want 1 (no refresh)", n)
			}
			if n, p := srv.Conns(), srv.PasswordMessages(); n != 1 || p != 0 {
				t.Fatalf("the server saw %d logins and %d password messages, want 1 and 0", n, p)
			}
		})
	}
}
