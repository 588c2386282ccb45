package dbsecret_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// TestPasswordMethodsOnARealServer logs in to a private cluster whose pg_hba.conf asks one
// role for a cleartext password and another for MD5: by default both are refused with
// dbsecret.ErrInsecureAuth (that nothing is sent then is proven against a recording server
// in TestInsecureAuthNeverSendsThePassword); with the opt-in both log in, with a warning;
// SCRAM logins, including an "md5" pg_hba.conf line over a SCRAM-stored password (the
// server then asks for SCRAM), work either way and warn about nothing.
func TestPasswordMethodsOnARealServer(t *testing.T) {
	c := testenv.PrivateCluster(t,
		"host all pw_user 127.0.0.1/32 password",
		"host all md5_user 127.0.0.1/32 md5",
		"host all scram_md5_hba 127.0.0.1/32 md5",
	)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	super, err := pgx.Connect(ctx, c.SuperDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer super.Close(ctx)
	pw := "Real-server-pw-" + testenv.Unique("x")
	testenv.Exec(t, super,
		"SET password_encryption = 'md5'",
		"CREATE ROLE md5_user LOGIN PASSWORD "+testenv.Literal(pw),
		"SET password_encryption = 'scram-sha-256'",
		"CREATE ROLE pw_user LOGIN PASSWORD "+testenv.Literal(pw),
		"CREATE ROLE scram_user LOGIN PASSWORD "+testenv.Literal(pw),
		"CREATE ROLE scram_md5_hba LOGIN PASSWORD "+testenv.Literal(pw),
	)
	tests := []struct {
		user       string
		allow      bool
		wantMethod string // in the error; empty: logs in
		wantWarn   bool
	}{
		{"pw_user", false, "cleartext password", false},
		{"md5_user", false, "MD5 password", false},
		{"pw_user", true, "", true},
		{"md5_user", true, "", true},
		{"scram_user", false, "", false},
		{"scram_user", true, "", false},
		{"scram_md5_hba", false, "", false},
	}
	for _, tt := range tests {
		name := tt.user
		if tt.allow {
			name += " with " + dbsecret.EnvAllowInsecurePasswordAuth
		}
		t.Run(name, func(t *testing.T) {
			s := dbsecret.Secret{Engine: "postgres", Host: "127.0.0.1", Port: c.Port, Username: tt.user, Password: pw, DBName: "postgres"}
			var logs bytes.Buffer
			cfg, err := s.ConnConfig(dbsecret.ConnOptions{SSLMode: "disable", AllowInsecurePasswordAuth: tt.allow,
				Log: slog.New(slog.NewJSONHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			conn, err := pgx.ConnectConfig(ctx, cfg)
			if tt.wantMethod != "" {
				if !errors.Is(err, dbsecret.ErrInsecureAuth) || !strings.Contains(err.Error(), tt.wantMethod) || strings.Contains(err.Error(), pw) {
					t.Fatalf("err = %v, want dbsecret.ErrInsecureAuth naming %q, without the password", err, tt.wantMethod)
				}
			} else {
				if err != nil {
					t.Fatalf("login: %v", err)
				}
				var who string
				if err := conn.QueryRow(ctx, "SELECT current_user").Scan(&who); err != nil || who != tt.user {
					t.Fatalf("current_user = %q, %v", who, err)
				}
				conn.Close(ctx)
			}
			warned := strings.Contains(logs.String(), `"level":"WARN"`)
			if warned != tt.wantWarn || strings.Contains(logs.String(), pw) {
				t.Fatalf("warning logged: %v, want %v (log: %s)", warned, tt.wantWarn, logs.String())
			}
		})
	}
}
