package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rotaudit/rotaudit/internal/lambdakit"
)

// TestAccessPolicy: a sample of the fast successes, and every error and slow request.
func TestAccessPolicy(t *testing.T) {
	for _, tt := range []struct {
		rate                        float64
		wantFast, wantErr, wantSlow int
	}{{0.01, 10, 50, 50}, {0, 0, 50, 50}, {1, 1000, 50, 50}, {0.25, 250, 50, 50}} {
		p := newAccessPolicy(tt.rate, 500*time.Millisecond)
		fast, errs, slow := 0, 0, 0
		for i := 0; i < 1000; i++ {
			if p.logs(200, time.Millisecond) {
				fast++
			}
			if i%20 == 0 {
				if p.logs(503, time.Millisecond) {
					errs++
				}
				if p.logs(200, time.Second) {
					slow++
				}
			}
		}
		if fast != tt.wantFast || errs != tt.wantErr || slow != tt.wantSlow {
			t.Errorf("rate %v: logged %d fast, %d errors, %d slow; want %d, %d, %d", tt.rate, fast, errs, slow, tt.wantFast, tt.wantErr, tt.wantSlow)
		}
	}
}

// TestMetricsLine: one embedded-metric line per interval with the counts and latency
// percentiles of the requests in it, and none for an interval without requests.
func TestMetricsLine(t *testing.T) {
	var m requestMetrics
	for i := 0; i < 98; i++ {
		m.observe(200, 300*time.Microsecond) // bucket (200µs, 400µs]
	}
	m.observe(404, time.Millisecond)
	m.observe(503, 90*time.Millisecond)
	var buf bytes.Buffer
	emf := lambdakit.EMF{W: &buf, Namespace: "rotaudit/api"}
	if err := m.flush(emf); err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	for k, want := range map[string]float64{"Requests": 100, "Status2xx": 98, "Status4xx": 1, "Status5xx": 1, "LatencyP50": 0.4, "LatencyP99": 1.6, "LatencyMax": 90} {
		if line[k] != want {
			t.Errorf("%s = %v, want %v", k, line[k], want)
		}
	}
	if _, ok := line["_aws"]; !ok || line["Service"] != "rates-api" {
		t.Errorf("not an embedded-metric line of the API: %s", buf.String())
	}
	buf.Reset()
	if err := m.flush(emf); err != nil || buf.Len() != 0 {
		t.Fatalf("an empty interval wrote %q (%v)", buf.String(), err)
	}
}

// TestRequestLogSamples: through the router, 200 successful requests give two log lines
// at the default rate, and an error always gives one, with its request id.
func TestRequestLogSamples(t *testing.T) {
	var logs bytes.Buffer
	store := fakeStore{pingFn: func() error { return nil }}
	h := &handlers{store: store, maxRangeDays: 366, queryTimeout: time.Second, log: slog.New(slog.NewJSONHandler(&logs, nil)),
		access: newAccessPolicy(0.01, 500*time.Millisecond), metrics: &requestMetrics{}}
	router := routes(h, h.log)
	for i := 0; i < 200; i++ {
		router.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/healthz", nil))
	}
	req := httptest.NewRequest(http.MethodGet, "/nope", nil)
	req.Header.Set("X-Request-Id", "the-error")
	router.ServeHTTP(httptest.NewRecorder(), req)
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[2], `"request_id":"the-error"`) || !strings.Contains(lines[2], `"status":404`) {
		t.Fatalf("%d lines, want 2 sampled and the error:\n%s", len(lines), logs.String())
	}
	if n := h.metrics.requests.Load(); n != 201 {
		t.Fatalf("metrics counted %d requests, want 201", n)
	}
}
