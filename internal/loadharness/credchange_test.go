package loadharness_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/loadharness"
	"github.com/rotaudit/rotaudit/internal/ratesdb"
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

// sessionsByRole counts the API's sessions per login role in the fixture's database.
func sessionsByRole(t *testing.T, f *loadharness.Fixture) map[string]int {
	t.Helper()
	rows, err := f.Env.Super(t, "").Query(context.Background(),
		"SELECT usename, count(*)::int FROM pg_stat_activity WHERE datname = $1 AND application_name = 'rotaudit-rates-api' GROUP BY usename", f.Database)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for rows.Next() {
		var u string
		var n int
		if err := rows.Scan(&u, &n); err != nil {
			t.Fatal(err)
		}
		out[u] = n
	}
	return out
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
		pw, err := ratesdb.Password(32)
		if err != nil {
			t.Fatal(err)
		}
		f.SetPassword(t, old.Username, pw)
		// The window of a single-user rotation between setSecret and finishSecret: the
		// database has the new password, AWSCURRENT still the old one.
		time.Sleep(700 * time.Millisecond)
		next := old
		next.Password = pw
		putSecret(t, sm, f.AppSecretID, next)
		load.WaitRequests(t, 300, 20*time.Second)
		time.Sleep(1500 * time.Millisecond) // every pooled session is now younger than the change
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
		pw, err := ratesdb.Password(32)
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
		time.Sleep(2 * time.Second) // lifetime 1s plus jitter: old sessions have drained
		load.WaitRequests(t, 100, 20*time.Second)
		sessions := sessionsByRole(t, f)
		if sessions[second] == 0 || sessions[cur.Username] != 0 {
			t.Fatalf("API sessions by role %v: want only %s", sessions, second)
		}
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
