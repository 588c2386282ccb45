package loadharness_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotaudit/rotaudit/internal/loadharness"
	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/rotation/driver"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// TestReloadAfterAlternatingRotation is issue 9 §2: an alternating rotation leaves the app
// secret on the clone, then the data is reloaded (the reference dump, as
// `RATES_SQL=../shared/reference/rates.sql make up` does, or the demo data when the dump is
// absent). The reload grants the reader role, of which both users are members, so the API,
// logging in as the clone, keeps answering 200 through the reload and after it.
func TestReloadAfterAlternatingRotation(t *testing.T) {
	env := testenv.Stack(t)
	f := loadharness.NewFixture(t, env, loadharness.FixtureOptions{})
	sm := secretsmanager.NewFromConfig(env.AWS(t))
	ctx := context.Background()

	cfg, err := rotation.LoadConfig(rotation.MapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Strategy = rotation.AlternatingUsers
	cfg.MasterSecretARNs = []string{f.AdminSecretARN}
	r := &rotation.Rotator{SM: sm, Dial: rotation.PgxDialer, Config: cfg, AllowDisabled: true}
	token, _, err := driver.Start(ctx, r, f.AppSecretID)
	if err != nil {
		t.Fatal(err)
	}
	if err := driver.Run(ctx, r, f.AppSecretID, token, nil); err != nil {
		t.Fatalf("alternating rotation: %v", err)
	}
	clone := f.AppRole + "_clone"
	if u := testenv.CurrentSecret(t, sm, f.AppSecretID).Username; u != clone {
		t.Fatalf("after an alternating rotation the secret names %s, want %s", u, clone)
	}

	// New sessions all through the test: every login after the reload is the clone's.
	api := loadharness.StartAPI(t, env, f.AppSecretID, "DB_POOL_MAX_CONN_LIFETIME=1s", "DB_POOL_MAX_CONNS=4")
	load := loadharness.Start(loadharness.Options{URL: api.URL, Paths: ratesPaths, Concurrency: 8, Check: checkRates})
	defer load.Stop()
	load.WaitRequests(t, 200, 20*time.Second)

	dump := filepath.Join(env.Root, "..", "shared", "reference", "rates.sql")
	if _, err := os.Stat(dump); err != nil {
		t.Logf("reference dump %s absent: reloading the demo data instead", dump)
		dump = ""
	}
	reloaded := time.Now()
	res := f.Reload(t, dump)
	t.Logf("reloaded: %d price rows (%s); role changes: %v", res.PriceRows, res.DataSource, res.RoleChanges)
	before, _ := load.Counts()
	load.WaitRequests(t, 300, 20*time.Second)
	// Pooled sessions older than the reload age out; then every session is the clone's.
	sessions := waitSessions(t, f, reloaded, 30*time.Second, func(s apiSessions) bool { return s.older == 0 && s.byRole[clone] > 0 })
	if sessions.byRole[clone] == 0 || sessions.older != 0 {
		t.Fatalf("API sessions by role %v, %d older than the reload: want only new sessions, the clone's", sessions.byRole, sessions.older)
	}
	load.WaitRequests(t, 200, 20*time.Second)
	out := load.Stop()
	t.Logf("load through the reload: %s (%d requests after it)", out, out.Requests-before)
	if out.Failures != 0 {
		t.Fatalf("%d of %d requests failed around the reload: %s\nAPI log tail:\n%s", out.Failures, out.Requests, out, tail(api.Log(), 4000))
	}
}

func tail(s string, n int) string { return s[max(0, len(s)-n):] }
