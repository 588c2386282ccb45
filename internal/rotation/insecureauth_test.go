package rotation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/dbsecret/dbsecrettest"
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
