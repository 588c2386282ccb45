// Package loadharness drives the real rates API under steady load while something changes
// underneath it (a password, the login role, a whole rotation), and fails the test when a
// request fails. The credential-change tests of the API and the rotation tests use it. It
// is test support: every helper takes a testing.TB. The load itself comes from
// internal/loadgen, which benchmark programs use without this package.
//
// Three parts:
//
//   - NewFixture(t, env, FixtureOptions{}) makes an isolated copy of what `make up` makes:
//     a scratch rates database with schema and demo data (or a dump), its own app and admin
//     roles and their secrets in the emulator, all under unique names and removed at
//     cleanup. Fixture.NewRole adds another login role like the app role; SetPassword
//     changes a password as a rotation does (SCRAM verifier only).
//
//   - StartAPI(t, env, secretID, extraEnv...) builds ./service once per test process, runs
//     it on a free port with nothing but DB_SECRET_ID and the AWS SDK variables in its
//     environment (plus extraEnv, such as "DB_POOL_MAX_CONN_LIFETIME=2s"), waits for
//     GET /readyz to answer 200, and at cleanup stops it with SIGTERM, failing the test if
//     it does not exit 0 in time. The returned *API has the base URL and the process log.
//
//   - Start(Options{URL, Paths, Concurrency}) runs loadgen's steady load of GET requests
//     until Stop, which returns a Result (requests, failures, the first failure descriptions,
//     latency percentiles); Load.WaitRequests fails the test when the load does not flow.
//
// Typical use:
//
//	env := testenv.Stack(t)
//	f := loadharness.NewFixture(t, env, loadharness.FixtureOptions{})
//	api := loadharness.StartAPI(t, env, f.AppSecretID, "DB_POOL_MAX_CONN_LIFETIME=1s")
//	load := loadharness.Start(loadharness.Options{URL: api.URL, Paths: []string{"/rates?..."}, Concurrency: 8})
//	load.WaitRequests(t, 200, 10*time.Second) // load is flowing
//	... change credentials ...
//	res := load.Stop()
//	if res.Failures != 0 { t.Fatalf("%s\n%s", res, api.Log()) }
package loadharness

import (
	"testing"
	"time"

	"github.com/rotaudit/rotaudit/internal/loadgen"
)

// Options configures an HTTP load (loadgen.Options).
type Options = loadgen.Options

// Result is what a load did (loadgen.Result).
type Result = loadgen.Result

// Load is a running HTTP load whose waits fail the test; Stop it exactly once.
type Load struct {
	*loadgen.Load
}

// Start begins an HTTP load as Options describe.
func Start(o Options) *Load { return &Load{loadgen.Start(o)} }

// WaitRequests blocks until at least n more requests than now have completed, failing the
// test after timeout: proof that load flows before the test changes anything.
func (l *Load) WaitRequests(t testing.TB, n int64, timeout time.Duration) {
	t.Helper()
	if err := l.Load.WaitRequests(n, timeout); err != nil {
		t.Fatal(err)
	}
}
