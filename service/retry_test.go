package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestRetrierRidesThroughARestart: reads failing as a restart makes them fail are run
// again until they succeed; the first broken pooled connection empties the pool once;
// an error a fresh connection cannot mend, and an outage longer than the deadline, come
// back as they are.
func TestRetrierRidesThroughARestart(t *testing.T) {
	brokenConn := io.ErrUnexpectedEOF
	shutdown := &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}
	for _, tt := range []struct {
		name       string
		errs       []error // the answers of successive calls; then nil
		deadline   time.Duration
		wantCalls  int
		wantResets int
		wantErr    bool
	}{
		{"broken pooled connections, then the server is back", []error{brokenConn, shutdown, brokenConn}, 5 * time.Second, 4, 1, false},
		{"a query error is not retried", []error{&pgconn.PgError{Code: "42P01"}}, 5 * time.Second, 1, 0, true},
		{"a rejected login is the credential cache's", []error{&pgconn.PgError{Code: "28P01"}}, 5 * time.Second, 1, 0, true},
		{"an outage longer than the deadline", []error{shutdown, shutdown, shutdown, shutdown, shutdown, shutdown, shutdown, shutdown}, 60 * time.Millisecond, -1, 1, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resets, calls := 0, 0
			r := &retrier{reset: func() { resets++ }}
			ctx, cancel := context.WithTimeout(context.Background(), tt.deadline)
			defer cancel()
			start := time.Now()
			err := r.do(ctx, func(context.Context) error {
				calls++
				if calls <= len(tt.errs) {
					return tt.errs[calls-1]
				}
				return nil
			})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantCalls >= 0 && calls != tt.wantCalls {
				t.Errorf("%d calls, want %d", calls, tt.wantCalls)
			}
			if resets != tt.wantResets {
				t.Errorf("%d pool resets, want %d", resets, tt.wantResets)
			}
			if dl, _ := ctx.Deadline(); tt.wantErr && time.Now().After(dl.Add(50*time.Millisecond)) {
				t.Errorf("gave up %v after the deadline (took %v)", time.Since(dl), time.Since(start))
			}
		})
	}
}

// TestUnavailableSaysWhenToRetry: a 503 carries Retry-After.
func TestUnavailableSaysWhenToRetry(t *testing.T) {
	down := fakeStore{
		daily: func(string, string, time.Time, time.Time) ([]dayAgg, error) {
			return nil, errors.New("connection refused")
		},
		pingFn: func() error { return errors.New("no database") },
	}
	h := &handlers{store: down, maxRangeDays: 366, queryTimeout: time.Second, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, path := range []string{"/readyz", "/rates?date_from=2021-01-30&date_to=2021-01-31&orig_code=DOWN&dest_code=B"} {
		rec := httptest.NewRecorder()
		routes(h, h.log).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" {
			t.Errorf("%s: %d, Retry-After %q; want 503 with Retry-After: 1", path, rec.Code, rec.Header().Get("Retry-After"))
		}
	}
}
