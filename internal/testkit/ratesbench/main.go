// Command ratesbench measures the rates API against its floor: the same /rates query run
// directly against PostgreSQL with pgx at the same concurrency, in the same run. It prints
// throughput, p50/p99 and errors for both and their ratios. scripts/bench-api.sh runs it
// (make bench-api) against an API it started.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rotaudit/rotaudit/internal/dbcreds"
	"github.com/rotaudit/rotaudit/internal/loadgen"
)

// route is one /rates query of the workload.
type route struct{ orig, dest, from, to string }

// pickRoutes chooses the workload from the data itself (demo data or a loaded dump): the n
// routes with most prices, each over the 31 days that end on the route's last day.
func pickRoutes(ctx context.Context, pool *pgxpool.Pool, n int) ([]route, error) {
	rows, err := pool.Query(ctx, `SELECT orig_code, dest_code, to_char(max(day) - 30, 'YYYY-MM-DD'), to_char(max(day), 'YYYY-MM-DD')
		FROM prices GROUP BY 1, 2 ORDER BY count(*) DESC, 1, 2 LIMIT $1`, n)
	if err != nil {
		return nil, fmt.Errorf("pick routes: %w", err)
	}
	defer rows.Close()
	var out []route
	for rows.Next() {
		var r route
		if err := rows.Scan(&r.orig, &r.dest, &r.from, &r.to); err != nil {
			return nil, fmt.Errorf("pick routes: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pick routes: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("pick routes: the prices table is empty (make up loads demo data)")
	}
	return out, nil
}

// floorQuery is the API's query (service/store.go) verbatim: the floor runs what the API runs.
const floorQuery = `SELECT day, count(*)::int, avg(price)::float8
FROM prices
WHERE orig_code = $1 AND dest_code = $2 AND day BETWEEN $3 AND $4
GROUP BY day`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ratesbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("ratesbench", flag.ContinueOnError)
	url := fs.String("url", "", "base URL of the running rates API, http://host:port (required)")
	secretID := fs.String("secret", "rotaudit/local/app", "secret with the credentials for the direct-query floor")
	conc := fs.Int("c", 16, "concurrency: requests in flight, and connections of the floor's pool")
	dur := fs.Duration("d", 20*time.Second, "measured time of each side, split over the rounds")
	rounds := fs.Int("rounds", 4, "alternating rounds (query, API, query, API, ...): on a shared machine the background load then weighs on both sides alike")
	httpFloor := fs.Bool("http-floor", true, "also measure GET /healthz (no database): what HTTP alone costs on this machine")
	apiPID := fs.Int("api-pid", 0, "process id of the API, to report its CPU time per request (Linux /proc)")
	warm := fs.Duration("warmup", 3*time.Second, "unmeasured warm-up of each side before the first round")
	rotateCmd := fs.String("rotate-cmd", "", "after the rounds, run this shell command (a rotation of the API's secret) under the same API load and compare the p99 during it with the steady p99")
	label := fs.String("label", "", "layout name printed on the closing summary line (scripts/bench-api.sh collects those lines)")
	peerCmd := fs.String("peer-cmd", "", "after the rounds, start another implementation of the API with this shell command (with PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD from -secret) and measure it beside ours")
	peerURL := fs.String("peer-url", "", "base URL of the -peer-cmd service once started, http://host:port")
	peerName := fs.String("peer-name", "original", "name of the -peer-cmd service in the output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" || strings.HasPrefix(*url, "https://") {
		return errors.New("-url is required, as http://host:port (the load generator speaks plain HTTP/1.1)")
	}
	if (*peerCmd == "") != (*peerURL == "") {
		return errors.New("-peer-cmd and -peer-url go together")
	}
	if *conc < 1 || *dur <= 0 || *rounds < 1 {
		return errors.New("-c and -rounds must be at least 1 and -d positive")
	}

	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("aws config: %w", err)
	}
	creds, err := dbcreds.New(ctx, secretsmanager.NewFromConfig(awsCfg), dbcreds.Options{SecretID: *secretID, ApplicationName: "ratesbench"})
	if err != nil {
		return err
	}
	pcfg, err := creds.PoolConfig(dbcreds.PoolOptions{MaxConns: int32(*conc)})
	if err != nil {
		return err
	}
	pcfg.MinConns = int32(*conc)
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return fmt.Errorf("floor pool: %w", err)
	}
	defer pool.Close()

	workload, err := pickRoutes(ctx, pool, 4)
	if err != nil {
		return err
	}
	sqlFn := func(ctx context.Context, worker, i int) error {
		r := workload[(worker+i)%len(workload)]
		rows, err := pool.Query(ctx, floorQuery, r.orig, r.dest, r.from, r.to)
		if err != nil {
			return err
		}
		n := 0
		for rows.Next() {
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("no rows for %s-%s", r.orig, r.dest)
		}
		return nil
	}
	var paths []string
	for _, r := range workload {
		paths = append(paths, fmt.Sprintf("/rates?date_from=%s&date_to=%s&orig_code=%s&dest_code=%s", r.from, r.to, r.orig, r.dest))
	}
	// A cheap check, so that the load generator's CPU (which shares the machine) stays
	// small: the answer's shape and its 31 days; the API's tests check the values.
	check := func(_ string, body []byte) error {
		if !bytes.HasPrefix(body, []byte(`{"rates":[`)) || bytes.Count(body, []byte(`{"day":`)) != 31 {
			return fmt.Errorf("unexpected body: %.80s", body)
		}
		return nil
	}

	fmt.Fprintf(out, "workload: %d routes x 31 days (", len(workload))
	for i, r := range workload {
		if i > 0 {
			fmt.Fprint(out, ", ")
		}
		fmt.Fprintf(out, "%s-%s", r.orig, r.dest)
	}
	fmt.Fprintf(out, "), concurrency %d, %s measured per side in %d alternating rounds\n", *conc, *dur, *rounds)
	startSQL := func() *loadgen.Load { return loadgen.StartFunc(*conc, 5, sqlFn) }
	addr := strings.TrimPrefix(strings.TrimPrefix(*url, "http://"), "https://")
	addr = strings.TrimRight(addr, "/")
	startHTTPAt := func(addr string, paths []string, check func(string, []byte) error) func() *loadgen.Load {
		return func() *loadgen.Load {
			rc := newRawClient(addr, addr, *conc, 10*time.Second)
			return loadgen.StartFunc(*conc, 5, func(ctx context.Context, worker, i int) error {
				path := paths[(worker+i)%len(paths)]
				status, body, err := rc.get(ctx, worker, path)
				if err != nil {
					return fmt.Errorf("GET %s: %w", path, err)
				}
				if status != 200 {
					return fmt.Errorf("GET %s: status %d: %.200s", path, status, body)
				}
				if check != nil {
					return check(path, body)
				}
				return nil
			})
		}
	}
	startHTTP := func(paths []string, check func(string, []byte) error) func() *loadgen.Load {
		return startHTTPAt(addr, paths, check)
	}
	startAPI := startHTTP(paths, check)
	fmt.Fprintf(out, "warming up both sides, %s each\n", *warm)
	for _, start := range []func() *loadgen.Load{startSQL, startAPI} {
		l := start()
		sleep(ctx, *warm)
		l.Stop()
	}
	var floors, apis []loadgen.Result
	var cpuFloor, cpuAPI, cpuAPIProc cpuTimes
	slice := *dur / time.Duration(*rounds)
	for i := range *rounds {
		c0 := sample(*apiPID)
		f := measure(ctx, startSQL, slice)
		c1 := sample(*apiPID)
		a := measure(ctx, startAPI, slice)
		c2 := sample(*apiPID)
		cpuFloor.self += c1.self - c0.self
		cpuAPI.self += c2.self - c1.self
		cpuAPIProc.other += c2.other - c1.other
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fmt.Fprintf(out, "round %d: query %6.0f req/s p50 %s | API %6.0f req/s p50 %s\n", i+1, f.Throughput(), msStr(f.P50), a.Throughput(), msStr(a.P50))
		floors, apis = append(floors, f), append(apis, a)
	}
	floor, api := loadgen.Merge(floors...), loadgen.Merge(apis...)
	var health loadgen.Result
	var cpuHealth cpuTimes
	if *httpFloor {
		startHealth := startHTTP([]string{"/healthz"}, nil)
		c0 := sample(*apiPID)
		health = measure(ctx, startHealth, slice)
		c1 := sample(*apiPID)
		cpuHealth = cpuTimes{self: c1.self - c0.self, other: c1.other - c0.other}
	}
	var rot loadgen.Result
	if *rotateCmd != "" {
		// The rotation's own duration is the measured window: the load starts, the command
		// runs to its end, the load stops.
		l := startAPI()
		cmd := exec.CommandContext(ctx, "sh", "-c", *rotateCmd)
		cmdOut, err := cmd.CombinedOutput()
		rot = l.Stop()
		if err != nil {
			return fmt.Errorf("-rotate-cmd: %w\n%s", err, cmdOut)
		}
	}
	fmt.Fprintf(out, "\n%-22s %12s %10s %10s %8s\n", "", "req/s", "p50", "p99", "errors")
	for _, row := range []struct {
		name string
		r    loadgen.Result
	}{{"query alone (pgx)", floor}, {"API GET /rates", api}, {"API during rotation", rot}, {"API GET /healthz", health}} {
		if row.r.Requests == 0 {
			continue
		}
		fmt.Fprintf(out, "%-22s %12.0f %10s %10s %8d\n", row.name, row.r.Throughput(), msStr(row.r.P50), msStr(row.r.P99), row.r.Failures)
	}
	perReq := func(d time.Duration, n int64) string {
		if n == 0 {
			return "-"
		}
		return fmt.Sprintf("%.0fus", float64(d.Microseconds())/float64(n))
	}
	fmt.Fprintf(out, "\nCPU per request: load generator %s on the query side, %s on the API side",
		perReq(cpuFloor.self, floor.Requests), perReq(cpuAPI.self, api.Requests))
	if *apiPID > 0 {
		fmt.Fprintf(out, "; API process %s", perReq(cpuAPIProc.other, api.Requests))
	}
	fmt.Fprintln(out, " (client, API and PostgreSQL share this machine's CPUs)")
	if health.Requests > 0 {
		fmt.Fprintf(out, "HTTP alone (/healthz, no database): load generator %s, API process %s per request\n",
			perReq(cpuHealth.self, health.Requests), perReq(cpuHealth.other, health.Requests))
	}
	p50 := float64(api.P50) / float64(floor.P50)
	thr := api.Throughput() / floor.Throughput()
	fmt.Fprintf(out, "\nAPI p50 / query p50            = %.2f  (goal <= 1.25) %s\n", p50, verdict(p50 <= 1.25))
	fmt.Fprintf(out, "API req/s / query-alone req/s  = %.2f  (goal >= 0.95) %s\n", thr, verdict(thr >= 0.95))
	rotP99 := 0.0
	if rot.Requests > 0 {
		rotP99 = float64(rot.P99) / float64(api.P99)
		fmt.Fprintf(out, "p99 during rotation / steady p99 = %.2f  (goal <= 2.00) %s\n", rotP99, verdict(rotP99 <= 2))
	}
	if *label != "" {
		fmt.Fprintf(out, "summary %s: api_rps=%.0f floor_rps=%.0f ratio=%.2f p50_ratio=%.2f steady_p99=%s rotation_p99=%s rotation_p99_ratio=%.2f rotation_requests=%d errors=%d\n",
			*label, api.Throughput(), floor.Throughput(), thr, p50, msStr(api.P99), msStr(rot.P99), rotP99, rot.Requests,
			floor.Failures+api.Failures+health.Failures+rot.Failures)
	}
	if *peerCmd != "" {
		// Fresh: a rotation (-rotate-cmd) may have changed user and password.
		current, err := creds.Refresh(ctx)
		if err != nil {
			return err
		}
		p := peer{name: *peerName, cmd: *peerCmd, url: strings.TrimRight(*peerURL, "/")}
		if err := comparePeer(ctx, out, p, current, paths, *conc, *rounds, slice, *warm, startAPI, startHTTPAt); err != nil {
			return err
		}
	}
	for _, s := range append(append(append(floor.Samples, api.Samples...), health.Samples...), rot.Samples...) {
		fmt.Fprintln(out, "  error:", s)
	}
	if n := floor.Failures + api.Failures + health.Failures + rot.Failures; n > 0 {
		return fmt.Errorf("%d errors during the benchmark", n)
	}
	return nil
}

// cpuTimes is CPU time used: by this process (self) and by the API process (other).
type cpuTimes struct{ self, other time.Duration }

// sample reads this process's CPU time and, when pid > 0, that process's from /proc.
func sample(pid int) cpuTimes {
	var c cpuTimes
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		c.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if pid > 0 {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			// Fields after the parenthesised command: utime and stime are the 12th and 13th.
			if i := strings.LastIndexByte(string(b), ')'); i > 0 {
				f := strings.Fields(string(b[i+1:]))
				if len(f) > 12 {
					u, _ := strconv.ParseInt(f[11], 10, 64)
					s, _ := strconv.ParseInt(f[12], 10, 64)
					c.other = time.Duration(u+s) * (time.Second / clockTicks)
				}
			}
		}
	}
	return c
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times: 100 on Linux.
const clockTicks = 100

// measure runs a fresh load for d.
func measure(ctx context.Context, start func() *loadgen.Load, d time.Duration) loadgen.Result {
	l := start()
	sleep(ctx, d)
	return l.Stop()
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func msStr(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}
