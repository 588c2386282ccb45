package main

import (
	"context"
	"io"
	"log/slog"
	"math"
	"math/bits"
	"sync/atomic"
	"time"

	"github.com/rotaudit/rotaudit/internal/lambdakit"
)

// Watching the API at a cost that does not grow with traffic.
//
// One JSON line per request is CloudWatch Logs ingestion per request: at 1,000 requests a
// second and ~200 bytes a line, some 17 GB a day. Instead every request is counted into
// per-interval metrics (requests, status classes, latency percentiles) written as one
// CloudWatch embedded-metric line per interval, and the access log keeps a sample of the
// successful requests (ACCESS_LOG_SAMPLE, 1 in 100 by default) while every error (status
// 400 and up) and every slow request (SLOW_REQUEST) is always logged with its request id.

// latencyBuckets are the upper bounds of the latency histogram: 50 µs doubling to ~7 min.
const latencyBuckets = 24

// requestMetrics counts requests between two flushes, lock-free.
type requestMetrics struct {
	requests, s2xx, s3xx, s4xx, s5xx atomic.Uint64
	buckets                          [latencyBuckets]atomic.Uint64
	maxMicros                        atomic.Uint64
}

// bucketOf returns the histogram bucket of d: bucket i holds (50µs·2^(i-1), 50µs·2^i].
func bucketOf(d time.Duration) int {
	u := uint64(max(d.Microseconds(), 1) - 1)
	return min(bits.Len64(u/50), latencyBuckets-1)
}

// bucketBound is bucket i's upper bound.
func bucketBound(i int) time.Duration { return 50 * time.Microsecond << i }

func (m *requestMetrics) observe(status int, d time.Duration) {
	m.requests.Add(1)
	switch {
	case status >= 500:
		m.s5xx.Add(1)
	case status >= 400:
		m.s4xx.Add(1)
	case status >= 300:
		m.s3xx.Add(1)
	default:
		m.s2xx.Add(1)
	}
	m.buckets[bucketOf(d)].Add(1)
	us := uint64(d.Microseconds())
	for old := m.maxMicros.Load(); us > old && !m.maxMicros.CompareAndSwap(old, us); old = m.maxMicros.Load() {
	}
}

// flush writes the counts since the last flush as one embedded-metric line and starts
// counting afresh. An interval without requests writes nothing.
func (m *requestMetrics) flush(emf lambdakit.EMF) error {
	n := m.requests.Swap(0)
	var counts [latencyBuckets]uint64
	for i := range counts {
		counts[i] = m.buckets[i].Swap(0)
	}
	s2, s3, s4, s5, maxUS := m.s2xx.Swap(0), m.s3xx.Swap(0), m.s4xx.Swap(0), m.s5xx.Swap(0), m.maxMicros.Swap(0)
	if n == 0 {
		return nil
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return emf.Put("Service", "rates-api",
		lambdakit.Metric{Name: "Requests", Unit: "Count", Value: float64(n)},
		lambdakit.Metric{Name: "Status2xx", Unit: "Count", Value: float64(s2)},
		lambdakit.Metric{Name: "Status3xx", Unit: "Count", Value: float64(s3)},
		lambdakit.Metric{Name: "Status4xx", Unit: "Count", Value: float64(s4)},
		lambdakit.Metric{Name: "Status5xx", Unit: "Count", Value: float64(s5)},
		lambdakit.Metric{Name: "LatencyP50", Unit: "Milliseconds", Value: ms(quantile(counts, n, 0.50))},
		lambdakit.Metric{Name: "LatencyP99", Unit: "Milliseconds", Value: ms(quantile(counts, n, 0.99))},
		lambdakit.Metric{Name: "LatencyMax", Unit: "Milliseconds", Value: float64(maxUS) / 1000},
	)
}

// quantile returns the upper bound of the bucket that holds the q-quantile of n samples.
func quantile(counts [latencyBuckets]uint64, n uint64, q float64) time.Duration {
	rank := uint64(math.Ceil(q * float64(n)))
	var seen uint64
	for i, c := range counts {
		if seen += c; seen >= rank {
			return bucketBound(i)
		}
	}
	return bucketBound(latencyBuckets - 1)
}

// runMetrics flushes m every interval until ctx ends, then once more.
func runMetrics(ctx context.Context, m *requestMetrics, w io.Writer, interval time.Duration, log *slog.Logger) {
	emf := lambdakit.EMF{W: w, Namespace: "rotaudit/api"}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := m.flush(emf); err != nil {
				log.Warn("request metrics", "error", err.Error())
			}
			return
		case <-t.C:
			if err := m.flush(emf); err != nil {
				log.Warn("request metrics", "error", err.Error())
			}
		}
	}
}

// accessPolicy says which requests get a log line.
type accessPolicy struct {
	// every logs one successful request in every; 0 logs none.
	every uint64
	// slow logs every request that took at least this long.
	slow time.Duration
	seen atomic.Uint64
}

// newAccessPolicy samples successful requests at rate (0 to 1).
func newAccessPolicy(rate float64, slow time.Duration) *accessPolicy {
	p := &accessPolicy{slow: slow}
	if rate > 0 {
		p.every = uint64(math.Round(1 / rate))
	}
	return p
}

// logs reports whether a request that ended with status after d gets a line.
func (p *accessPolicy) logs(status int, d time.Duration) bool {
	if status >= 400 || d >= p.slow {
		return true
	}
	return p.every > 0 && p.seen.Add(1)%p.every == 0
}
