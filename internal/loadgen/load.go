// Package loadgen runs a steady load and measures it: N workers, each with one request in
// flight, until Stop, which returns requests, failures (the first few described) and latency
// percentiles. Start drives GET requests against an HTTP base URL; StartFunc runs the same
// loop around any function (the API benchmark drives SQL with it).
//
// It imports no test package, so a benchmark program links only what it measures with
// (internal/testkit/ratesbench); the test-side harness that starts the API and fails a test
// when load does not flow is internal/loadharness.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures an HTTP load.
type Options struct {
	// URL is the API's base URL, such as http://127.0.0.1:41234.
	URL string
	// Paths are requested in turn by every worker (each starting at a different one).
	Paths []string
	// Concurrency is the number of workers, each with one request in flight [8].
	Concurrency int
	// Timeout bounds one request [10s].
	Timeout time.Duration
	// Check, when set, inspects a 200 answer's body; an error counts as a failure.
	Check func(path string, body []byte) error
	// MaxSamples is how many failure descriptions Result keeps [20].
	MaxSamples int
}

// Result is what a load did.
type Result struct {
	Requests, Failures int64
	// Samples describes the first failures, in the order they happened.
	Samples  []string
	Duration time.Duration
	// Latency percentiles of all requests, failed ones included.
	P50, P90, P99, Max time.Duration

	// sorted holds every latency, for Merge.
	sorted []time.Duration
}

// Merge combines results of loads run one after another (such as alternating rounds of a
// benchmark) as if they were one: counts and durations add, percentiles are recomputed.
func Merge(rs ...Result) Result {
	var m Result
	var all []time.Duration
	for _, r := range rs {
		m.Requests += r.Requests
		m.Failures += r.Failures
		m.Duration += r.Duration
		for _, s := range r.Samples {
			if len(m.Samples) < 20 {
				m.Samples = append(m.Samples, s)
			}
		}
		all = append(all, r.sorted...)
	}
	slices.Sort(all)
	m.fill(all)
	return m
}

// fill sets the percentiles from sorted latencies.
func (r *Result) fill(sorted []time.Duration) {
	r.sorted = sorted
	r.P50, r.P90, r.P99 = pct(sorted, 50), pct(sorted, 90), pct(sorted, 99)
	r.Max = 0
	if len(sorted) > 0 {
		r.Max = sorted[len(sorted)-1]
	}
}

// Throughput is requests per second over the whole run.
func (r Result) Throughput() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Duration.Seconds()
}

// String summarises the result on one line, then the failure samples one per line.
func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests in %.1fs (%.0f/s), %d failed; latency p50 %s p90 %s p99 %s max %s",
		r.Requests, r.Duration.Seconds(), r.Throughput(), r.Failures, ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max))
	for _, s := range r.Samples {
		b.WriteString("\n  failure: " + s)
	}
	return b.String()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }

// Load is a running load; Stop it exactly once.
type Load struct {
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	start    time.Time
	requests atomic.Int64
	failures atomic.Int64

	mu         sync.Mutex
	samples    []string
	maxSamples int
	latencies  [][]time.Duration // one slice per worker, merged at Stop
	result     *Result
}

// Start begins an HTTP load as Options describe.
func Start(o Options) *Load {
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if len(o.Paths) == 0 {
		o.Paths = []string{"/"}
	}
	client := &http.Client{
		Timeout: o.Timeout,
		Transport: &http.Transport{
			MaxIdleConns: o.Concurrency * 2, MaxIdleConnsPerHost: o.Concurrency * 2,
			IdleConnTimeout: 90 * time.Second, DisableCompression: true,
		},
	}
	base := strings.TrimRight(o.URL, "/")
	return StartFunc(o.Concurrency, o.MaxSamples, func(ctx context.Context, worker, i int) error {
		path := o.Paths[(worker+i)%len(o.Paths)]
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("GET %s: read body: %w", path, err)
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: status %d: %s", path, resp.StatusCode, strings.TrimSpace(string(body[:min(len(body), 200)])))
		}
		if o.Check != nil {
			if err := o.Check(path, body); err != nil {
				return fmt.Errorf("GET %s: %w", path, err)
			}
		}
		return nil
	})
}

// StartFunc runs fn in a loop on concurrency workers until Stop. fn gets the worker's
// number and its iteration count; an error counts as a failure, except one caused by Stop.
func StartFunc(concurrency, maxSamples int, fn func(ctx context.Context, worker, i int) error) *Load {
	if concurrency <= 0 {
		concurrency = 8
	}
	if maxSamples <= 0 {
		maxSamples = 20
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Load{cancel: cancel, start: time.Now(), maxSamples: maxSamples, latencies: make([][]time.Duration, concurrency)}
	for w := range concurrency {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			lat := make([]time.Duration, 0, 4096)
			defer func() { l.mu.Lock(); l.latencies[w] = lat; l.mu.Unlock() }()
			for i := 0; ; i++ {
				if ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				err := fn(ctx, w, i)
				if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
					return // stopped mid-request: not a result
				}
				lat = append(lat, time.Since(t0))
				l.requests.Add(1)
				if err != nil {
					l.failures.Add(1)
					l.mu.Lock()
					if len(l.samples) < l.maxSamples {
						l.samples = append(l.samples, fmt.Sprintf("%s after start: %v", time.Since(l.start).Round(time.Millisecond), err))
					}
					l.mu.Unlock()
				}
			}
		}()
	}
	return l
}

// Counts returns the requests and failures so far.
func (l *Load) Counts() (requests, failures int64) {
	return l.requests.Load(), l.failures.Load()
}

// WaitRequests blocks until at least n more requests than now have completed, or returns
// an error after timeout: proof that load flows before a test changes anything.
func (l *Load) WaitRequests(n int64, timeout time.Duration) error {
	target := l.requests.Load() + n
	deadline := time.Now().Add(timeout)
	for l.requests.Load() < target {
		if time.Now().After(deadline) {
			return fmt.Errorf("load: only %d of %d requests after %s", l.requests.Load(), target, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// Stop ends the load, waits for the workers and returns the result. Calling it again
// returns the same result.
func (l *Load) Stop() Result {
	l.mu.Lock()
	if l.result != nil {
		defer l.mu.Unlock()
		return *l.result
	}
	l.mu.Unlock()
	l.cancel()
	l.wg.Wait()
	d := time.Since(l.start)
	l.mu.Lock()
	defer l.mu.Unlock()
	var all []time.Duration
	for _, s := range l.latencies {
		all = append(all, s...)
	}
	slices.Sort(all)
	r := Result{Requests: l.requests.Load(), Failures: l.failures.Load(), Samples: l.samples, Duration: d}
	r.fill(all)
	l.result = &r
	return r
}

// pct is the nearest-rank percentile of sorted durations.
func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := (len(sorted)*p + 99) / 100
	return sorted[max(k-1, 0)]
}
