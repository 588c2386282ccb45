package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotaudit/rotaudit/internal/dbcreds"
	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/loadharness"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// apiRate is one element of a /rates answer as a client decodes it.
type apiRate struct {
	Day   string   `json:"day"`
	Count *int     `json:"count"`
	Price *float64 `json:"price"`
}

func getRates(t *testing.T, base, orig, dest, from, to string) []apiRate {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("%s/rates?date_from=%s&date_to=%s&orig_code=%s&dest_code=%s", base, from, to, orig, dest))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var out struct {
		Rates []apiRate `json:"rates"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return out.Rates
}

// expectedRates computes the contract's answer independently of the API's SQL and Go: a
// calendar from generate_series, newest first, count and average per day by a left join.
func expectedRates(t *testing.T, f *loadharness.Fixture, orig, dest, from, to string) []apiRate {
	t.Helper()
	rows, err := f.Env.Super(t, f.Database).Query(context.Background(), `
		SELECT to_char(g.d, 'YYYY-MM-DD'), count(p.price)::int, avg(p.price)::float8
		FROM generate_series($3::date, $4::date, interval '1 day') AS g(d)
		LEFT JOIN prices p ON p.orig_code = $1 AND p.dest_code = $2 AND p.day = g.d::date
		GROUP BY g.d ORDER BY g.d DESC`, orig, dest, from, to)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []apiRate
	for rows.Next() {
		var (
			r   apiRate
			n   int
			avg *float64
		)
		if err := rows.Scan(&r.Day, &n, &avg); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			r.Count = &n
			if n >= 3 {
				r.Price = avg
			}
		}
		out = append(out, r)
	}
	return out
}

func sameRates(got, want []apiRate) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d elements, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Day != w.Day || (g.Count == nil) != (w.Count == nil) || (g.Price == nil) != (w.Price == nil) ||
			g.Count != nil && *g.Count != *w.Count || g.Price != nil && math.Abs(*g.Price-*w.Price) > 1e-6 {
			return fmt.Errorf("element %d: got %s, want %s", i, show(g), show(w))
		}
	}
	return nil
}

func show(r apiRate) string {
	b, _ := json.Marshal(r)
	return string(b)
}

// sampleRoutes picks routes of the fixture's data with a spread of price counts.
func sampleRoutes(t *testing.T, f *loadharness.Fixture, n int) [][2]string {
	t.Helper()
	rows, err := f.Env.Super(t, f.Database).Query(context.Background(), `
		SELECT orig_code, dest_code FROM (
			SELECT orig_code, dest_code, count(*) AS c, row_number() OVER (ORDER BY count(*), orig_code, dest_code) AS k
			FROM prices GROUP BY 1, 2) r
		WHERE k % greatest(1, (SELECT count(DISTINCT (orig_code, dest_code)) FROM prices) / $1) = 0
		ORDER BY k`, n)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var r [2]string
		if err := rows.Scan(&r[0], &r[1]); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if len(out) < n/2 {
		t.Fatalf("only %d sample routes", len(out))
	}
	return out
}

// TestContractOnReferenceDump loads ../shared/reference/rates.sql into a scratch database
// and checks the reference README's example and a sample of routes.
func TestContractOnReferenceDump(t *testing.T) {
	env := testenv.Stack(t)
	dump := filepath.Join(env.Root, "..", "shared", "reference", "rates.sql")
	if _, err := os.Stat(dump); err != nil {
		t.Skipf("the reference dump %s is absent (%v): nothing to check the contract against", dump, err)
	}
	f := loadharness.NewFixture(t, env, loadharness.FixtureOptions{DumpPath: dump})
	api := loadharness.StartAPI(t, env, f.AppSecretID)

	got := getRates(t, api.URL, "CNGGZ", "EETLL", "2021-01-01", "2021-01-31")
	if len(got) != 31 || got[0].Day != "2021-01-31" || got[0].Count == nil || *got[0].Count != 3 ||
		got[0].Price == nil || math.Abs(*got[0].Price-1154.33) > 0.01 || got[30].Day != "2021-01-01" {
		t.Fatalf("README example: got %d elements, first %s", len(got), show(got[0]))
	}
	if err := sameRates(got, expectedRates(t, f, "CNGGZ", "EETLL", "2021-01-01", "2021-01-31")); err != nil {
		t.Fatalf("README example route: %v", err)
	}
	nulls := map[string]bool{}
	for _, r := range sampleRoutes(t, f, 40) {
		got := getRates(t, api.URL, r[0], r[1], "2020-12-30", "2021-02-01")
		if err := sameRates(got, expectedRates(t, f, r[0], r[1], "2020-12-30", "2021-02-01")); err != nil {
			t.Errorf("%s to %s: %v", r[0], r[1], err)
		}
		for _, g := range got {
			nulls[fmt.Sprintf("count null %v, price null %v", g.Count == nil, g.Price == nil)] = true
		}
	}
	// The sample must cover all three cases, or it proves less than it claims.
	if len(nulls) != 3 {
		t.Errorf("sample covers only %v", nulls)
	}
}

// TestContractOnDemoData checks the same against the demo data a fresh `make up` loads.
func TestContractOnDemoData(t *testing.T) {
	env := testenv.Stack(t)
	f := loadharness.NewFixture(t, env, loadharness.FixtureOptions{})
	api := loadharness.StartAPI(t, env, f.AppSecretID)
	cases := 0
	for _, r := range sampleRoutes(t, f, 20) {
		got := getRates(t, api.URL, r[0], r[1], "2021-01-01", "2021-01-31")
		if err := sameRates(got, expectedRates(t, f, r[0], r[1], "2021-01-01", "2021-01-31")); err != nil {
			t.Errorf("%s to %s: %v", r[0], r[1], err)
		}
		cases++
	}
	// An unknown route is every day null, not an error.
	got := getRates(t, api.URL, "XXXXX", "YYYYY", "2021-01-01", "2021-01-03")
	if len(got) != 3 || got[0].Count != nil || got[0].Price != nil {
		t.Fatalf("unknown route: %v", got)
	}
	resp, err := http.Get(api.URL + "/rates?date_from=2021-01-01&date_to=2022-01-02&orig_code=A&dest_code=B")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "at most 366") {
		t.Fatalf("huge range: %d %s", resp.StatusCode, body)
	}
}

// TestStartupErrors: what a bad secret does to startup. Each must stop the API with an
// error that says what is wrong, and never print the password.
func TestStartupErrors(t *testing.T) {
	env := testenv.Stack(t)
	sm := secretsmanager.NewFromConfig(env.AWS(t))
	ctx := context.Background()
	const pw = "never-print-THIS-pw"
	mk := func(t *testing.T, value string) string {
		id := testenv.Unique("rotaudit/test/startup")
		if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(value)}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: aws.String(id), ForceDeleteWithoutRecovery: aws.Bool(true)})
		})
		return id
	}
	tests := []struct {
		name   string
		value  string // "" means: no such secret
		want   []string
		wantIs error
	}{
		{"no such secret", "", []string{"DB_SECRET_ID=", "secret not found"}, dbcreds.ErrSecretNotFound},
		{"not JSON", "user=app password=" + pw, []string{"not a JSON object"}, dbsecret.ErrInvalid},
		{"lacks password", `{"engine":"postgres","host":"127.0.0.1","username":"app"}`, []string{`key "password" is missing`}, dbsecret.ErrInvalid},
		{"lacks host", `{"engine":"postgres","username":"app","password":"` + pw + `"}`, []string{`key "host" is missing`}, dbsecret.ErrInvalid},
		{"wrong engine", `{"engine":"mysql","host":"h","username":"app","password":"` + pw + `"}`, []string{`key "engine"`}, dbsecret.ErrInvalid},
		{"ssl true but DB_SSLMODE=disable", `{"engine":"postgres","host":"127.0.0.1","username":"app","password":"` + pw + `","ssl":true}`, []string{"sslmode disable"}, dbcreds.ErrSSLConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "rotaudit/test/does-not-exist-" + testenv.Unique("x")
			if tt.value != "" {
				id = mk(t, tt.value)
			}
			env := map[string]string{"DB_SECRET_ID": id, "PORT": "0"}
			if strings.Contains(tt.name, "DB_SSLMODE") {
				env["DB_SSLMODE"] = "disable"
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := run(ctx, envOf(env), io.Discard)
			if err == nil {
				t.Fatal("started with a bad secret")
			}
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), pw) {
				t.Errorf("error prints the password: %v", err)
			}
		})
	}
}

// TestGracefulShutdown: SIGTERM under load lets the API finish what it started and exit 0.
func TestGracefulShutdown(t *testing.T) {
	env := testenv.Stack(t)
	f := loadharness.NewFixture(t, env, loadharness.FixtureOptions{})
	api := loadharness.StartAPI(t, env, f.AppSecretID)
	load := loadharness.Start(loadharness.Options{URL: api.URL, Concurrency: 4,
		Paths: []string{"/rates?date_from=2021-01-01&date_to=2021-01-31&orig_code=CNGGZ&dest_code=EETLL"}})
	load.WaitRequests(t, 100, 20*time.Second)
	if err := api.Stop(); err != nil {
		t.Fatal(err)
	}
	res := load.Stop()
	// Requests after the listener closed fail to connect: refused, or, for a connection the
	// kernel had queued for the closing listener but the server never accepted, reset
	// while dialling. None may fail any other way (a reset or an error once connected).
	for _, s := range res.Samples {
		dialReset := strings.Contains(s, "dial tcp") && strings.Contains(s, "connect: connection reset by peer")
		if !strings.Contains(s, "connection refused") && !dialReset {
			t.Errorf("a request failed during shutdown other than by a closed listener: %s", s)
		}
	}
	if !strings.Contains(api.Log(), `"msg":"stopped"`) {
		t.Errorf("no clean stop in the log:\n%s", api.Log())
	}
}

// outageProxy forwards TCP to target until cut, after which it refuses: an AWS endpoint
// that goes away.
type outageProxy struct {
	ln  net.Listener
	mu  sync.Mutex
	cut bool
	cs  []net.Conn
}

func newOutageProxy(t *testing.T, target string) *outageProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &outageProxy{ln: ln}
	t.Cleanup(func() { ln.Close(); p.Cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.cut {
				p.mu.Unlock()
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.cs = append(p.cs, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

// Cut drops every connection and refuses new ones.
func (p *outageProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for _, c := range p.cs {
		c.Close()
	}
}

// TestSecretsManagerOutage: when Secrets Manager cannot be reached the API keeps serving
// with the last good value and says so in its log.
func TestSecretsManagerOutage(t *testing.T) {
	env := testenv.Stack(t)
	f := loadharness.NewFixture(t, env, loadharness.FixtureOptions{})
	target := strings.TrimPrefix(env.Endpoint, "http://")
	proxy := newOutageProxy(t, target)
	api := loadharness.StartAPI(t, env, f.AppSecretID, "AWS_ENDPOINT_URL=http://"+proxy.ln.Addr().String(),
		"DB_SECRET_TTL=1s", "DB_POOL_MAX_CONN_LIFETIME=1s")
	load := loadharness.Start(loadharness.Options{URL: api.URL, Concurrency: 4,
		Paths: []string{"/rates?date_from=2021-01-01&date_to=2021-01-31&orig_code=CNGGZ&dest_code=EETLL"}})
	defer load.Stop()
	load.WaitRequests(t, 100, 20*time.Second)
	proxy.Cut()
	time.Sleep(3 * time.Second) // several failed background refreshes, new connections meanwhile
	load.WaitRequests(t, 100, 20*time.Second)
	res := load.Stop()
	if res.Failures != 0 {
		t.Fatalf("requests failed while Secrets Manager was unreachable: %s", res)
	}
	if !strings.Contains(api.Log(), "serving the last good value") {
		t.Fatalf("the log does not say it serves the last good value:\n%s", api.Log())
	}
}

// TestDatabaseRestartUnderLoad restarts the API's PostgreSQL (a private cluster, so no
// other test's database goes away) while requests keep coming. A restart shorter than
// the request deadline costs no request: reads that meet a closed connection or a
// refused one run again on a fresh connection. An outage longer than the deadline
// answers 503 with Retry-After, and the API serves again within a second of the server's
// return.
func TestDatabaseRestartUnderLoad(t *testing.T) {
	stack := testenv.Stack(t)
	cluster := testenv.PrivateCluster(t)
	env := *stack
	env.PGPort, env.SuperDSN, env.ServerLog = cluster.Port, cluster.SuperDSN, ""
	f := loadharness.NewFixture(t, &env, loadharness.FixtureOptions{})
	const path = "/rates?date_from=2021-01-01&date_to=2021-01-31&orig_code=CNGGZ&dest_code=EETLL"

	t.Run("restart within the deadline", func(t *testing.T) {
		api := loadharness.StartAPI(t, &env, f.AppSecretID, "DB_POOL_MAX_CONNS=4", "DB_QUERY_TIMEOUT=10s")
		load := loadharness.Start(loadharness.Options{URL: api.URL, Concurrency: 4, Paths: []string{path}, Timeout: 30 * time.Second})
		defer load.Stop()
		load.WaitRequests(t, 200, 30*time.Second)
		start := time.Now()
		cluster.Stop(t, "fast")
		cluster.Start(t)
		down := time.Since(start)
		load.WaitRequests(t, 200, 30*time.Second)
		res := load.Stop()
		t.Logf("restart took %v; %s", down, res)
		if res.Failures != 0 {
			t.Fatalf("%d of %d requests failed through a %v restart: %v", res.Failures, res.Requests, down, res.Samples)
		}
	})

	t.Run("outage longer than the deadline", func(t *testing.T) {
		api := loadharness.StartAPI(t, &env, f.AppSecretID, "DB_POOL_MAX_CONNS=4", "DB_QUERY_TIMEOUT=1s")
		client := &http.Client{Timeout: 10 * time.Second}
		get := func() (int, string) {
			resp, err := client.Get(api.URL + path)
			if err != nil {
				return 0, ""
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode, resp.Header.Get("Retry-After")
		}
		if code, _ := get(); code != http.StatusOK {
			t.Fatalf("before the outage: %d", code)
		}
		cluster.Stop(t, "fast")
		code, retryAfter := get()
		if code != http.StatusServiceUnavailable || retryAfter == "" {
			t.Fatalf("during the outage: %d with Retry-After %q, want 503 with Retry-After", code, retryAfter)
		}
		// Requests keep arriving while the server is away, as they would in production.
		stop := make(chan struct{})
		served := make(chan time.Time, 1)
		go func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if code, _ := get(); code == http.StatusOK {
					served <- time.Now()
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
		defer close(stop)
		cluster.Start(t)
		back := time.Now()
		select {
		case at := <-served:
			if d := at.Sub(back); d > time.Second {
				t.Fatalf("served again %v after the server's return, want within 1s", d)
			} else {
				t.Logf("served again %v after the server's return", d)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("not served again within 20s of the server's return")
		}
	})
}
