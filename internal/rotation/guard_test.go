package rotation

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestGuardBeforeAnythingChanges: setSecret refuses, having changed nothing in the
// database, when the secret's own credentials do not log in or name a user the master
// must not clone; createSecret, which contacts no database, refuses only what it can see
// without one (an unpinned master). The integration test TestConfusedDeputy replays both
// attacks on the real database.
func TestGuardBeforeAnythingChanges(t *testing.T) {
	const previousJSON = `{"engine":"postgres","host":"db","port":5432,"username":"app","password":"prev-pass","dbname":"rates","ssl":false,"masterarn":"arn:aws:secretsmanager:us-east-1:1:secret:m-AbCdEf"}`
	plain := func(name string) []any { return []any{name, false, false, false, false} }
	tests := []struct {
		name     string
		strategy Strategy
		allow    bool
		setup    func(*fakeCluster, *fakeSM)
		wantErr  error
		wantMsg  string
	}{
		{"alternating: password not known", AlternatingUsers, false, func(c *fakeCluster, _ *fakeSM) {
			c.passwords["app"] = "the-real-one"
		}, ErrDBAuth, "must log in as \"app\""},
		{"alternating: previous of the same user logs in", AlternatingUsers, false, func(c *fakeCluster, f *fakeSM) {
			c.passwords["app"] = "prev-pass"
			f.values["v0"], f.stages["v0"] = previousJSON, []string{StagePrevious}
		}, nil, ""},
		{"alternating: previous of another user does not count", AlternatingUsers, false, func(c *fakeCluster, f *fakeSM) {
			c.passwords = map[string]string{"app": "x", "app_clone": "prev-pass"}
			f.values["v0"], f.stages["v0"] = strings.Replace(previousJSON, `"app"`, `"app_clone"`, 1), []string{StagePrevious}
		}, ErrDBAuth, "must log in"},
		{"alternating: CREATEROLE", AlternatingUsers, false, func(c *fakeCluster, _ *fakeSM) {
			c.roles["app"] = [][]any{{"app", false, true, false, false}}
		}, ErrUnsafeUser, "CREATEROLE"},
		{"alternating: CREATEROLE allowed by the operator", AlternatingUsers, true, func(c *fakeCluster, _ *fakeSM) {
			c.roles["app"] = [][]any{{"app", false, true, false, false}}
		}, nil, ""},
		{"alternating: BYPASSRLS through a group", AlternatingUsers, false, func(c *fakeCluster, _ *fakeSM) {
			c.roles["app"] = [][]any{plain("app"), {"rls_admins", false, false, false, true}}
		}, ErrUnsafeUser, `BYPASSRLS through its membership in "rls_admins"`},
		{"alternating: REPLICATION", AlternatingUsers, false, func(c *fakeCluster, _ *fakeSM) {
			c.roles["app"] = [][]any{{"app", false, false, true, false}}
		}, ErrUnsafeUser, "REPLICATION"},
		{"alternating: server files", AlternatingUsers, false, func(c *fakeCluster, _ *fakeSM) {
			c.roles["app"] = [][]any{plain("app"), plain("pg_write_server_files")}
		}, ErrUnsafeUser, "pg_write_server_files"},
		{"alternating: superuser even when allowed", AlternatingUsers, true, func(c *fakeCluster, _ *fakeSM) {
			c.roles["app"] = [][]any{{"app", true, false, false, false}}
		}, ErrUnsafeUser, "never rotated through the master"},
		{"single: CREATEROLE is its own business", SingleUser, false, func(c *fakeCluster, _ *fakeSM) {
			c.roles["app"] = [][]any{{"app", false, true, false, false}}
		}, nil, ""},
		{"alternating: test query fails with the current credentials", AlternatingUsers, false, func(c *fakeCluster, _ *fakeSM) {
			c.queryErr = &pgconn.PgError{Code: "42P01", Message: `relation "nope" does not exist`}
		}, ErrProbe, "before any change"},
		{"single: no database before setSecret", SingleUser, false, func(c *fakeCluster, _ *fakeSM) {
			c.passwords["app"] = "the-real-one"
		}, nil, ""},
		{"alternating: master not pinned", AlternatingUsers, false, func(c *fakeCluster, f *fakeSM) {
			f.values["v1"] = strings.Replace(currentJSON, "secret:m-AbCdEf", "secret:other-AbCdEf", 1)
		}, ErrMasterNotAllowed, "not in MASTER_SECRET_ARNS"},
		{"alternating: the partner is the master", AlternatingUsers, false, func(c *fakeCluster, f *fakeSM) {
			f.values["v1"] = strings.Replace(strings.Replace(currentJSON, `"app"`, `"master_clone"`, 1), "old-pass", "clone-pass", 1)
			c.passwords["master_clone"] = "clone-pass"
		}, ErrUnsafeUser, "(the other user of the pair)"},
		{"alternating: the partner has CREATEROLE", AlternatingUsers, false, func(c *fakeCluster, _ *fakeSM) {
			c.roles["app_clone"] = [][]any{{"app_clone", false, true, false, false}}
		}, ErrUnsafeUser, `"app_clone" (the other user of the pair) has CREATEROLE`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := newFakeSM(currentJSON), newFakeCluster()
			tt.setup(c, f)
			r := &Rotator{SM: f, Dial: c.dial, Config: Config{Strategy: tt.strategy, AllowPrivilegedUsers: tt.allow, Password: PasswordPolicy{Length: 32}, MasterSecretARNs: []string{fakeMasterARN}}}
			err := r.Handle(context.Background(), Event{Step: StepCreate, SecretID: "x", ClientRequestToken: fakeToken})
			if errors.Is(tt.wantErr, ErrMasterNotAllowed) {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantMsg) || f.puts != 0 {
					t.Fatalf("createSecret: err = %v, puts = %d; want %v mentioning %q and nothing stored", err, f.puts, tt.wantErr, tt.wantMsg)
				}
				return
			}
			if err != nil || f.puts != 1 {
				t.Fatalf("createSecret: err = %v, puts = %d; want a stored pending version", err, f.puts)
			}
			if tt.wantErr == nil {
				return
			}
			err = r.Handle(context.Background(), Event{Step: StepSet, SecretID: "x", ClientRequestToken: fakeToken})
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("setSecret: err = %v, want %v mentioning %q", err, tt.wantErr, tt.wantMsg)
			}
			if len(c.writes) > 0 {
				t.Fatalf("refused, yet the database was sent %q", c.writes)
			}
		})
	}
}

func TestTransient(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{dbError("probe", "u", &pgconn.PgError{Code: "42P01"}), false},
		{dbError("probe", "u", &pgconn.PgError{Code: "42501", Message: "permission denied"}), false},
		{dbError("probe", "u", &pgconn.PgError{Code: "57P01"}), true},
		{dbError("probe", "u", &pgconn.PgError{Code: "40001"}), true},
		{dbError("probe", "u", context.DeadlineExceeded), true},
	} {
		if got := transient(tt.err); got != tt.want {
			t.Errorf("transient(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// TestMayUseMaster: masterarn matches a pinned ARN as a full ARN, the partial ARN without
// Secrets Manager's suffix, or the bare name; nothing else.
func TestMayUseMaster(t *testing.T) {
	c := Config{MasterSecretARNs: []string{"arn:aws:secretsmanager:us-east-1:1:secret:team/admin-AbCdEf"}}
	for id, want := range map[string]bool{
		"arn:aws:secretsmanager:us-east-1:1:secret:team/admin-AbCdEf": true,
		"arn:aws:secretsmanager:us-east-1:1:secret:team/admin":        true,
		"team/admin": true,
		"arn:aws:secretsmanager:us-east-1:2:secret:team/admin-AbCdEf": false,
		"arn:aws:secretsmanager:us-east-1:1:secret:team/admin-XyZ123": false,
		"team/admin-AbCdEf": false,
		"admin":             false,
		"":                  false,
	} {
		if got := c.mayUseMaster(id); got != want {
			t.Errorf("mayUseMaster(%q) = %v, want %v", id, got, want)
		}
	}
	if (Config{}).mayUseMaster("team/admin") {
		t.Error("an empty list allows a master")
	}
}

// TestEveryDBErrorWrapsASentinel: whatever the database answers, the rotator's error
// wraps one of the sentinels of errors.go, so a caller can always tell its kind.
func TestEveryDBErrorWrapsASentinel(t *testing.T) {
	sentinels := []error{ErrDBAuth, ErrDBPrivilege, ErrDBUnreachable, ErrDBTLS, ErrDBInsecureAuth, ErrDB}
	for _, in := range []error{
		&pgconn.PgError{Code: "28P01"}, &pgconn.PgError{Code: "42501"}, &pgconn.PgError{Code: "57P03"},
		&pgconn.PgError{Code: "42P01", Message: "relation does not exist"}, &pgconn.PgError{Code: "XX000"},
		errors.New("conn closed"), context.DeadlineExceeded,
	} {
		err := dbError("probe", "u", in)
		if !slices.ContainsFunc(sentinels, func(s error) bool { return errors.Is(err, s) }) {
			t.Errorf("dbError(%v) = %v wraps no sentinel", in, err)
		}
	}
}
