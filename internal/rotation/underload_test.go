package rotation_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotaudit/rotaudit/internal/loadharness"
	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/rotation/driver"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// loadPaths are demo-data routes of the rates API.
var loadPaths = []string{
	"/rates?date_from=2021-01-01&date_to=2021-01-31&orig_code=CNGGZ&dest_code=EETLL",
	"/rates?date_from=2021-01-10&date_to=2021-01-20&orig_code=NOOSL&dest_code=CNSGH",
	"/rates?date_from=2021-01-01&date_to=2021-01-07&orig_code=CNSGH&dest_code=NLRTM",
}

// TestTwentyRotationsUnderLoad runs the real rates API under a steady load while its
// secret is rotated 20 times, alternating the two strategies: no request may fail.
func TestTwentyRotationsUnderLoad(t *testing.T) {
	env := testenv.Stack(t)
	f := loadharness.NewFixture(t, env, loadharness.FixtureOptions{})
	api := loadharness.StartAPI(t, env, f.AppSecretID, "DB_POOL_MAX_CONN_LIFETIME=1s", "DB_POOL_MAX_CONNS=4")
	load := loadharness.Start(loadharness.Options{URL: api.URL, Paths: loadPaths, Concurrency: 8})
	load.WaitRequests(t, 200, 20*time.Second)

	smc := secretsmanager.NewFromConfig(env.AWS(t))
	ctx := context.Background()
	users := map[string]bool{}
	for i := 1; i <= 20; i++ {
		strategy := rotation.AlternatingUsers
		if i%2 == 0 {
			strategy = rotation.SingleUser
		}
		cfg, _ := rotation.LoadConfig(rotation.MapEnv(nil))
		cfg.Strategy = strategy
		cfg.MasterSecretARNs = []string{f.AdminSecretARN}
		// The harness's secret has no rotation schedule: rotate it as an operator would.
		r := &rotation.Rotator{SM: smc, Dial: rotation.PgxDialer, Config: cfg, AllowDisabled: true}
		token, _, err := driver.Start(ctx, r, f.AppSecretID)
		if err != nil {
			load.Stop()
			t.Fatalf("rotation %d: start: %v", i, err)
		}
		if err := driver.Run(ctx, r, f.AppSecretID, token, nil); err != nil {
			load.Stop()
			t.Fatalf("rotation %d (%s): %v", i, strategy, err)
		}
		users[testenv.CurrentSecret(t, smc, f.AppSecretID).Username] = true
		// Let the API pick the new credentials up and serve with them.
		load.WaitRequests(t, 50, 20*time.Second)
	}
	res := load.Stop()
	t.Logf("20 rotations under load: %s", res)
	if res.Failures != 0 {
		t.Fatalf("%d of %d requests failed during rotations:\n%s\nAPI log tail:\n%s", res.Failures, res.Requests, res, lastLines(api.Log(), 40))
	}
	if res.Requests < 1000 {
		t.Fatalf("only %d requests: the load did not run through the rotations", res.Requests)
	}
	if len(users) != 2 {
		t.Fatalf("users seen in AWSCURRENT: %v, want both of the pair", users)
	}
}
