package loadharness_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rotaudit/rotaudit/internal/devstack"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/loadharness"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// ratesPaths are demo-data routes over the whole month.
var ratesPaths = []string{
	"/rates?date_from=2021-01-01&date_to=2021-01-31&orig_code=CNGGZ&dest_code=EETLL",
	"/rates?date_from=2021-01-10&date_to=2021-01-20&orig_code=NOOSL&dest_code=CNSGH",
	"/rates?date_from=2021-01-01&date_to=2021-01-07&orig_code=CNSGH&dest_code=NLRTM",
}

// checkRates requires a well-formed answer with one element per requested day.
func checkRates(path string, body []byte) error {
	var r struct {
		Rates []struct{ Day string } `json:"rates"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("body is not the rates JSON: %w", err)
	}
	want := map[string]int{ratesPaths[0]: 31, ratesPaths[1]: 11, ratesPaths[2]: 7}[path]
	if len(r.Rates) != want {
		return fmt.Errorf("%d rates, want %d", len(r.Rates), want)
	}
	return nil
}

func putSecret(t *testing.T, sm *secretsmanager.Client, id string, s dbsecret.Secret) {
	t.Helper()
	body, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(string(body))}); err != nil {
		t.Fatal(err)
	}
}

func canLogin(s dbsecret.Secret) error {
	cfg, err := s.ConnConfig(dbsecret.ConnOptions{SSLMode: "disable"})
	if err != nil {
		return err
	}
	c, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		return err
	}
	return c.Close(context.Background())
}

// apiSessions is what waitSessions saw: the API's sessions in the fixture's database per
// login role, and how many of them began before a given time.
type apiSessions struct {
	byRole map[string]int
	older  int
}

// waitSessions polls the API's sessions (on one superuser connection) until done says they
// are as the test wants, or limit passes; it returns the last count either way. The pool
// retires a session after its lifetime (1 s here, plus jitter) when the session is next
// released, which on a busy machine takes as long as it takes: the test waits for the
// sessions to be so, not for a time.
func waitSessions(t *testing.T, f *loadharness.Fixture, since time.Time, limit time.Duration, done func(apiSessions) bool) apiSessions {
	t.Helper()
	conn := f.Env.Super(t, "")
	deadline := time.Now().Add(limit)
	for {
		s := apiSessions{byRole: map[string]int{}}
		rows, err := conn.Query(context.Background(),
			"SELECT usename, count(*)::int, count(*) FILTER (WHERE backend_start < $2)::int FROM pg_stat_activity WHERE datname = $1 AND application_name = 'rotaudit-rates-api' GROUP BY usename", f.Database, since)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var u string
			var n, older int
			if err := rows.Scan(&u, &n, &older); err != nil {
				t.Fatal(err)
			}
			s.byRole[u] = n
			s.older += older
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if done(s) || time.Now().After(deadline) {
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCredentialChangeUnderLoad is issue 2's item 6: with the API under steady load, the
// app role's password changes in PostgreSQL and then in the secret (the order and the gap
// of a single-user rotation), and later the secret switches to a second login role while
// the first one loses LOGIN. Not one request may fail.
func TestCredentialChangeUnderLoad(t *testing.T) {
	env := testenv.Stack(t)
	f := loadharness.NewFixture(t, env, loadharness.FixtureOptions{})
	sm := secretsmanager.NewFromConfig(env.AWS(t))
	// A short connection lifetime makes the pool open new connections all through the test,
	// so the changes below meet new logins, not only sessions opened before them.
	api := loadharness.StartAPI(t, env, f.AppSecretID, "DB_POOL_MAX_CONN_LIFETIME=1s", "DB_POOL_MAX_CONNS=4")
	load := loadharness.Start(loadharness.Options{URL: api.URL, Paths: ratesPaths, Concurrency: 8, Check: checkRates})
	defer load.Stop()
	load.WaitRequests(t, 200, 20*time.Second)

	t.Run("password changed, then the secret", func(t *testing.T) {
		old := testenv.CurrentSecret(t, sm, f.AppSecretID)
		pw, err := devstack.Password(32)
		if err != nil {
			t.Fatal(err)
		}
		changed := time.Now()
		f.SetPassword(t, old.Username, pw)
		// The window of a single-user rotation between setSecret and finishSecret: the
		// database has the new password, AWSCURRENT still the old one.
		time.Sleep(700 * time.Millisecond)
		next := old
		next.Password = pw
		putSecret(t, sm, f.AppSecretID, next)
		load.WaitRequests(t, 300, 20*time.Second)
		if s := waitSessions(t, f, changed, 30*time.Second, func(s apiSessions) bool { return s.older == 0 }); s.older != 0 {
			t.Fatalf("%d API sessions older than the password change are still open", s.older)
		}
		load.WaitRequests(t, 100, 20*time.Second) // logins with the new password serve requests
		if err := canLogin(old); err == nil {
			t.Fatal("the old password still logs in: the test changed nothing")
		}
		if !strings.Contains(api.Log(), `"msg":"secret refreshed: new version"`) {
			t.Fatalf("the API never picked up the new secret version; log:\n%s", api.Log())
		}
		if _, failed := load.Counts(); failed != 0 {
			t.Fatalf("%d requests failed: %s", failed, load.Stop())
		}
	})

	t.Run("secret switched to a second login role", func(t *testing.T) {
		cur := testenv.CurrentSecret(t, sm, f.AppSecretID)
		pw, err := devstack.Password(32)
		if err != nil {
			t.Fatal(err)
		}
		second := f.NewRole(t, "b", pw)
		next := cur
		next.Username, next.Password = second, pw
		putSecret(t, sm, f.AppSecretID, next)
		// The first role stops logging in: sessions opened with it keep working, new logins
		// with the cached value are rejected and must lead to a refresh.
		f.Exec(t, "ALTER ROLE "+pgx.Identifier{cur.Username}.Sanitize()+" NOLOGIN")
		load.WaitRequests(t, 300, 20*time.Second)
		s := waitSessions(t, f, time.Now(), 30*time.Second, func(s apiSessions) bool {
			return s.byRole[second] > 0 && s.byRole[cur.Username] == 0
		})
		if s.byRole[second] == 0 || s.byRole[cur.Username] != 0 {
			t.Fatalf("API sessions by role %v: want only %s", s.byRole, second)
		}
		load.WaitRequests(t, 100, 20*time.Second)
		if !strings.Contains(api.Log(), "database rejected the cached credentials") {
			t.Fatal("no login was rejected: the test did not exercise the refresh on 28P01/28000")
		}
		if strings.Contains(api.Log(), pw) {
			t.Fatal("the API log contains the password")
		}
		if _, failed := load.Counts(); failed != 0 {
			t.Fatalf("%d requests failed: %s", failed, load.Stop())
		}
	})

	res := load.Stop()
	t.Logf("load over both changes: %s", res)
	if res.Failures != 0 || res.Requests < 500 {
		t.Fatalf("want zero failures over at least 500 requests: %s\napi log tail:\n%s", res, api.Log()[max(0, len(api.Log())-4000):])
	}
}
