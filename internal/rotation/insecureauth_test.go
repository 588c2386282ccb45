package rotation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/dbsecret/dbsecrettest"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// TestInsecureAuthIsNotAWrongPassword: a server that asks for a cleartext password (and
// would refuse any, as a server that only collects them does) must not make setSecret
// read the refusal as a wrong password and try AWSCURRENT and then AWSPREVIOUS: each try
// would send it one more password. One connection, no password, ErrDBInsecureAuth.
func TestInsecureAuthIsNotAWrongPassword(t *testing.T) {
	refuse := &pgproto3.ErrorResponse{Severity: "FATAL", Code: "28P01", Message: "password authentication failed"}
	for _, tt := range []struct {
		name    string
		request pgproto3.BackendMessage
	}{
		{"cleartext", &pgproto3.AuthenticationCleartextPassword{}},
		{"md5", &pgproto3.AuthenticationMD5Password{Salt: [4]byte{7, 7, 7, 7}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := dbsecrettest.StartAuthServer(t, []pgproto3.BackendMessage{tt.request}, []pgproto3.BackendMessage{refuse})
			secret := func(pw string) string {
				return fmt.Sprintf(`{"engine":"postgres","host":"127.0.0.1","port":%d,"username":"app","password":%q,"dbname":"d","ssl":false}`, srv.Port, pw)
			}
			f := newFakeSM(secret("current-pw"))
			f.values[fakeToken] = secret("pending-pw")
			f.values["v0"], f.stages["v0"] = secret("previous-pw"), []string{StagePrevious}
			r := &Rotator{SM: f, Dial: PgxDialer, Config: Config{Strategy: SingleUser, Password: PasswordPolicy{Length: 32}}}
			err := r.Handle(context.Background(), Event{Step: StepSet, SecretID: "x", ClientRequestToken: fakeToken})
			if !errors.Is(err, ErrDBInsecureAuth) || !errors.Is(err, dbsecret.ErrInsecureAuth) || errors.Is(err, ErrDBAuth) {
				t.Fatalf("err = %v, want ErrDBInsecureAuth and not ErrDBAuth", err)
			}
			if transient(err) {
				t.Fatalf("transient(%v) = true: a retry cannot help until the server changes", err)
			}
			if !strings.Contains(err.Error(), "scram-sha-256") || !strings.Contains(err.Error(), EnvDBAllowInsecurePasswordAuth) {
				t.Fatalf("err = %v, want the remedy (scram-sha-256, or %s)", err, EnvDBAllowInsecurePasswordAuth)
			}
			if n, p := srv.Conns(), srv.PasswordMessages(); n != 1 || p != 0 {
				t.Fatalf("the server saw %d logins and %d password messages, want 1 and 0 (AWSPENDING only, nothing sent)", n, p)
			}
		})
	}
}

// TestOneRotationMovesAnMD5RoleToSCRAM, on a real server whose pg_hba.conf says md5 for a
// role whose password is stored as MD5: setSecret refuses without the opt-in (nothing
// changed); with it, it logs in by MD5 (warned) and sets the pending password as a SCRAM
// verifier, after which the server asks that role for SCRAM, so the pending credentials
// log in without the opt-in.
func TestOneRotationMovesAnMD5RoleToSCRAM(t *testing.T) {
	c := testenv.PrivateCluster(t, "host all md5_app 127.0.0.1/32 md5")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	super, err := pgx.Connect(ctx, c.SuperDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer super.Close(ctx)
	testenv.Exec(t, super, "SET password_encryption = 'md5'", "CREATE ROLE md5_app LOGIN PASSWORD 'Old-md5-pass-1'")
	secret := func(pw string) string {
		return fmt.Sprintf(`{"engine":"postgres","host":"127.0.0.1","port":%d,"username":"md5_app","password":%q,"dbname":"postgres","ssl":false}`, c.Port, pw)
	}
	f := newFakeSM(secret("Old-md5-pass-1"))
	var logs bytes.Buffer
	r := &Rotator{SM: f, Dial: PgxDialer, Log: slog.New(slog.NewJSONHandler(&logs, nil)),
		Config: Config{Strategy: SingleUser, Password: PasswordPolicy{Length: 32}}}
	// The pending version as createSecret makes it (with its check value, provenance.go).
	current, err := dbsecret.Parse([]byte(secret("Old-md5-pass-1")))
	if err != nil {
		t.Fatal(err)
	}
	pending, err := r.NewPending(ctx, current, fakeToken)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := pending.Marshal()
	f.values[fakeToken] = string(body)
	ev := Event{Step: StepSet, SecretID: "x", ClientRequestToken: fakeToken}
	if err := r.Handle(ctx, ev); !errors.Is(err, ErrDBInsecureAuth) {
		t.Fatalf("without the opt-in: err = %v, want ErrDBInsecureAuth", err)
	}
	r.Config.AllowInsecurePasswordAuth = true
	if err := r.Handle(ctx, ev); err != nil {
		t.Fatalf("with %s=true: %v", EnvDBAllowInsecurePasswordAuth, err)
	}
	if !strings.Contains(logs.String(), `"auth_method":"MD5 password`) || strings.Contains(logs.String(), "Old-md5-pass-1") {
		t.Fatalf("want a warning naming the MD5 method and no password; log: %s", logs.String())
	}
	var stored string
	if err := super.QueryRow(ctx, "SELECT left(rolpassword, 14) FROM pg_authid WHERE rolname = 'md5_app'").Scan(&stored); err != nil || stored != "SCRAM-SHA-256$" {
		t.Fatalf("stored password starts %q (%v), want a SCRAM verifier", stored, err)
	}
	r.Config.AllowInsecurePasswordAuth = false
	if ok, err := r.logsIn(ctx, pending); err != nil || !ok {
		t.Fatalf("the pending credentials after the rotation, without the opt-in: ok %v, err %v; want SCRAM to log in", ok, err)
	}
}
