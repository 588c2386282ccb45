package loadgen

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentiles(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, tt := range []struct {
		p    int
		want time.Duration
	}{{50, 50 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {1, time.Millisecond}} {
		if got := pct(d, tt.p); got != tt.want {
			t.Errorf("p%d = %s, want %s", tt.p, got, tt.want)
		}
	}
	if pct(nil, 50) != 0 {
		t.Error("empty percentile not zero")
	}
}

func TestStartFuncCountsFailures(t *testing.T) {
	var n atomic.Int64
	l := StartFunc(4, 3, func(ctx context.Context, worker, i int) error {
		if n.Add(1)%10 == 0 {
			return errors.New("every tenth fails")
		}
		time.Sleep(time.Millisecond)
		return nil
	})
	// Wait for the requests the assertions need, not for a time: a busy machine may run
	// only a few in 100 ms.
	if err := l.WaitRequests(20, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	r := l.Stop()
	// Samples keep the first three failures: as many as failed when fewer did (the load
	// may stop after only two of its tenth requests).
	if r.Requests < 20 || r.Failures == 0 || r.Failures > r.Requests/5 || int64(len(r.Samples)) != min(r.Failures, 3) {
		t.Fatalf("%+v", r)
	}
	if again := l.Stop(); again.Requests != r.Requests {
		t.Fatal("second Stop differs")
	}
	m := Merge(r, r)
	if m.Requests != 2*r.Requests || m.P50 != r.P50 || m.Duration != 2*r.Duration {
		t.Fatalf("merge: %+v", m)
	}
}

func TestHTTPLoadChecksStatusAndBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/bad":
			http.Error(w, "nope", http.StatusServiceUnavailable)
		case "/odd":
			w.Write([]byte("odd"))
		default:
			w.Write([]byte("ok"))
		}
	}))
	defer srv.Close()
	check := func(path string, body []byte) error {
		if string(body) != "ok" {
			return errors.New("body not ok")
		}
		return nil
	}
	tests := []struct {
		path, want string
	}{{"/good", ""}, {"/bad", "status 503"}, {"/odd", "body not ok"}}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			l := Start(Options{URL: srv.URL, Paths: []string{tt.path}, Concurrency: 2, Check: check})
			if err := l.WaitRequests(10, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			r := l.Stop()
			if tt.want == "" && r.Failures != 0 || tt.want != "" && (r.Failures != r.Requests || !strings.Contains(r.Samples[0], tt.want)) {
				t.Fatalf("%s", r)
			}
		})
	}
}
