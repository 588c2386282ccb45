package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func day(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestParseRatesQuery(t *testing.T) {
	const ok = "date_from=2021-01-01&date_to=2021-01-31&orig_code=CNGGZ&dest_code=EETLL"
	tests := []struct {
		name, query, wantErr string
	}{
		{"valid", ok, ""},
		{"one day", "date_from=2021-01-01&date_to=2021-01-01&orig_code=A&dest_code=B", ""},
		{"region slug", "date_from=2021-01-01&date_to=2021-01-02&orig_code=china_main&dest_code=north-x", ""},
		{"max range", "date_from=2020-01-01&date_to=2020-12-31&orig_code=A&dest_code=B", ""},
		{"over max range", "date_from=2020-01-01&date_to=2021-01-01&orig_code=A&dest_code=B", "spans 367 days; at most 366"},
		{"no date_from", "date_to=2021-01-31&orig_code=A&dest_code=B", "date_from is required"},
		{"no date_to", "date_from=2021-01-31&orig_code=A&dest_code=B", "date_to is required"},
		{"empty date_to", "date_from=2021-01-31&date_to=&orig_code=A&dest_code=B", "date_to is required"},
		{"no orig_code", "date_from=2021-01-01&date_to=2021-01-31&dest_code=B", "orig_code is required"},
		{"no dest_code", "date_from=2021-01-01&date_to=2021-01-31&orig_code=A", "dest_code is required"},
		{"slashes", "date_from=2021/01/01&date_to=2021-01-31&orig_code=A&dest_code=B", "date_from \"2021/01/01\" is not a date"},
		{"short month", "date_from=2021-1-01&date_to=2021-01-31&orig_code=A&dest_code=B", "not a date"},
		{"no such day", "date_from=2021-02-30&date_to=2021-03-31&orig_code=A&dest_code=B", "not a date"},
		{"timestamp", "date_from=2021-01-01T00:00:00Z&date_to=2021-01-31&orig_code=A&dest_code=B", "not a date"},
		{"to before from", "date_from=2021-01-31&date_to=2021-01-01&orig_code=A&dest_code=B", "date_to 2021-01-01 is before date_from 2021-01-31"},
		{"unknown parameter", ok + "&currency=EUR", "unknown parameter \"currency\""},
		{"repeated parameter", ok + "&orig_code=X", "orig_code given 2 times"},
		{"malformed escape", ok + "&x=%zz", "malformed query string"},
		{"semicolon", "date_from=2021-01-01;date_to=2021-01-31", "malformed query string"},
		{"sql in code", "date_from=2021-01-01&date_to=2021-01-31&orig_code=A'%3B--&dest_code=B", "may hold only letters"},
		{"long code", "date_from=2021-01-01&date_to=2021-01-31&orig_code=" + strings.Repeat("A", 65) + "&dest_code=B", "longer than 64"},
		{"unicode code", "date_from=2021-01-01&date_to=2021-01-31&orig_code=%C3%85S&dest_code=B", "may hold only letters"},
		{"huge year", "date_from=0001-01-01&date_to=9999-12-31&orig_code=A&dest_code=B", "at most 366"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseRatesQuery(tt.query, 366)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("want error containing %q, got none", tt.wantErr)
			case tt.wantErr != "" && (!errors.Is(err, errBadRequest) || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %q: want errBadRequest containing %q", err, tt.wantErr)
			}
		})
	}
}

// rate and buildRates are the contract written plainly, with encoding/json: the model that
// the hand-written encoder must match byte for byte.
type rate struct {
	Day   string   `json:"day"`
	Count *int     `json:"count"`
	Price *float64 `json:"price"`
}

func buildRates(from time.Time, aggs []dayAgg) []rate {
	out := []rate{}
	for i := len(aggs) - 1; i >= 0; i-- {
		r := rate{Day: from.AddDate(0, 0, i).Format(time.DateOnly)}
		if n := aggs[i].Count; n > 0 {
			r.Count = &n
			if n >= 3 {
				p := aggs[i].Avg
				r.Price = &p
			}
		}
		out = append(out, r)
	}
	return out
}

func TestRatesLayout(t *testing.T) {
	aggs := []dayAgg{{}, {Count: 1, Avg: 7}, {Count: 2, Avg: 10}, {Count: 3, Avg: 1154.3333333333333}, {}}
	got := strings.TrimSpace(string(appendRatesJSON(nil, day("2020-12-31"), aggs)))
	want := `{"rates":[{"day":"2021-01-04","count":null,"price":null},{"day":"2021-01-03","count":3,"price":1154.3333333333333},` +
		`{"day":"2021-01-02","count":2,"price":null},{"day":"2021-01-01","count":1,"price":null},{"day":"2020-12-31","count":null,"price":null}]}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// fakeStore is a ratesStore whose answers the test sets.
type fakeStore struct {
	daily  func(orig, dest string, from, to time.Time) ([]dayAgg, error)
	pingFn func() error
}

func (f fakeStore) dailyPrices(_ context.Context, orig, dest string, from, to time.Time) ([]dayAgg, error) {
	return f.daily(orig, dest, from, to)
}
func (f fakeStore) ping(context.Context) error { return f.pingFn() }

func TestRoutes(t *testing.T) {
	store := fakeStore{
		daily: func(orig, dest string, from, to time.Time) ([]dayAgg, error) {
			if orig == "DOWN" {
				return nil, errors.New("connection refused")
			}
			aggs := make([]dayAgg, int(to.Sub(from).Hours()/24)+1)
			aggs[len(aggs)-1] = dayAgg{Count: 3, Avg: 1154.3333333333333}
			return aggs, nil
		},
		pingFn: func() error { return nil },
	}
	down := store
	down.pingFn = func() error { return errors.New("no database") }
	tests := []struct {
		name, method, target string
		store                fakeStore
		status               int
		body                 string // exact JSON, or a substring when it starts with ~
	}{
		{"root", "GET", "/", store, 200, `{"message":"Hello world!"}`},
		{"rates", "GET", "/rates?date_from=2021-01-30&date_to=2021-01-31&orig_code=CNGGZ&dest_code=EETLL", store, 200,
			`{"rates":[{"day":"2021-01-31","count":3,"price":1154.3333333333333},{"day":"2021-01-30","count":null,"price":null}]}`},
		{"rates bad date", "GET", "/rates?date_from=x&date_to=2021-01-31&orig_code=A&dest_code=B", store, 400, `{"error":"date_from \"x\" is not a date of the form YYYY-MM-DD"}`},
		{"rates database down", "GET", "/rates?date_from=2021-01-30&date_to=2021-01-31&orig_code=DOWN&dest_code=B", store, 503, `~not answering`},
		{"healthz", "GET", "/healthz", down, 200, `{"status":"ok"}`},
		{"readyz", "GET", "/readyz", store, 200, `{"status":"ready"}`},
		{"readyz down", "GET", "/readyz", down, 503, `~"status":"unavailable"`},
		{"not found", "GET", "/prices", store, 404, `{"error":"no such path: /prices"}`},
		{"method not allowed", "POST", "/rates", store, 405, `{"error":"method POST is not allowed here"}`},
		{"head allowed?", "DELETE", "/", store, 405, `~not allowed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &handlers{store: tt.store, maxRangeDays: 366, queryTimeout: time.Second, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			rec := httptest.NewRecorder()
			routes(h, h.log).ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))
			body := strings.TrimSpace(rec.Body.String())
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d (body %s)", rec.Code, tt.status, body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if !json.Valid([]byte(body)) {
				t.Errorf("body is not JSON: %s", body)
			}
			if want, ok := strings.CutPrefix(tt.body, "~"); ok {
				if !strings.Contains(body, want) {
					t.Errorf("body %s does not contain %s", body, want)
				}
			} else if body != tt.body {
				t.Errorf("body %s\nwant %s", body, tt.body)
			}
			if rec.Header().Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
		})
	}
}

func TestRequestIDFromCaller(t *testing.T) {
	h := &handlers{store: fakeStore{}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, tt := range []struct{ in, want string }{{"abc-123", "abc-123"}, {"bad id\nwith newline", ""}, {strings.Repeat("a", 65), ""}} {
		req := httptest.NewRequest("GET", "/healthz", nil)
		req.Header.Set("X-Request-Id", tt.in)
		rec := httptest.NewRecorder()
		routes(h, h.log).ServeHTTP(rec, req)
		got := rec.Header().Get("X-Request-Id")
		if tt.want != "" && got != tt.want || tt.want == "" && (got == tt.in || got == "") {
			t.Errorf("X-Request-Id %q became %q", tt.in, got)
		}
	}
}

func TestPanicIsJSON500(t *testing.T) {
	h := &handlers{store: fakeStore{pingFn: func() error { panic("boom") }}, queryTimeout: time.Second, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	rec := httptest.NewRecorder()
	routes(h, h.log).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusInternalServerError || strings.TrimSpace(rec.Body.String()) != `{"error":"internal error"}` {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
}

func FuzzParseRatesQuery(f *testing.F) {
	for _, s := range []string{
		"date_from=2021-01-01&date_to=2021-01-31&orig_code=CNGGZ&dest_code=EETLL",
		"date_from=2021-01-31&date_to=2021-01-01&orig_code=A&dest_code=B", "x=%zz", "", "date_from=0001-01-01&date_to=9999-12-31&orig_code=A&dest_code=B",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		r, err := parseRatesQuery(q, 366)
		if err != nil {
			if !errors.Is(err, errBadRequest) {
				t.Fatalf("error not errBadRequest: %v", err)
			}
			return
		}
		days := int(r.To.Sub(r.From).Hours()/24) + 1
		if days < 1 || days > 366 || r.Orig == "" || r.Dest == "" || len(r.Orig) > maxCodeLen {
			t.Fatalf("accepted invalid request %+v from %q", r, q)
		}
		var v struct{ Rates []rate }
		if err := json.Unmarshal(appendRatesJSON(nil, r.From, make([]dayAgg, days)), &v); err != nil || len(v.Rates) != days ||
			v.Rates[0].Day != r.To.Format(time.DateOnly) || v.Rates[days-1].Day != r.From.Format(time.DateOnly) {
			t.Fatalf("%d rates for %d days (%v)", len(v.Rates), days, err)
		}
	})
}

// TestRatesJSON: the hand-written encoder gives exactly encoding/json's bytes.
func TestRatesJSON(t *testing.T) {
	var aggs []dayAgg
	for _, p := range []float64{1154.3333333333333, 0, 1e-7, 123456789012345678901234.0, 2.5e-6, 1e21, -3.25, 1e20} {
		aggs = append(aggs, dayAgg{Count: 3, Avg: p})
	}
	aggs = append(aggs, dayAgg{}, dayAgg{Count: 1, Avg: 5}, dayAgg{Count: 2, Avg: 5}, dayAgg{Count: 40, Avg: 5})
	for _, a := range [][]dayAgg{aggs, aggs[:1], make([]dayAgg, 366)} {
		for _, from := range []string{"2021-01-01", "2020-02-28", "1999-12-31"} {
			want, err := json.Marshal(map[string][]rate{"rates": buildRates(day(from), a)})
			if err != nil {
				t.Fatal(err)
			}
			if got := appendRatesJSON(nil, day(from), a); string(got) != string(want)+"\n" {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		}
	}
}

func TestAppendDate(t *testing.T) {
	for _, d := range []time.Time{day("2021-01-31"), day("0001-01-01"), day("9999-12-31"), day("2000-02-29"), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if got, want := string(appendDate(nil, d)), d.Format(time.DateOnly); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

func FuzzAppendFloat(f *testing.F) {
	for _, v := range []float64{0, 1, 1154.3333333333333, 1e-7, 1e21, 5e-324} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		want, _ := json.Marshal(v)
		if got := appendFloat(nil, v); string(got) != string(want) {
			t.Fatalf("%v: got %s, want %s", v, got, want)
		}
	})
}

// deadlineStore records the deadline of the context each database call gets.
type deadlineStore struct{ ping_, daily time.Duration }

func (d *deadlineStore) dailyPrices(ctx context.Context, _, _ string, from, to time.Time) ([]dayAgg, error) {
	dl, _ := ctx.Deadline()
	d.daily = time.Until(dl)
	return make([]dayAgg, int(to.Sub(from).Hours()/24)+1), nil
}

func (d *deadlineStore) ping(ctx context.Context) error {
	dl, _ := ctx.Deadline()
	d.ping_ = time.Until(dl)
	return nil
}

// TestReadinessWaitsAsLongAsARequest: /readyz gives the database the time a rates request
// gives it (DB_QUERY_TIMEOUT), so it never calls the API unready while its requests are
// answered (a stressed e2e run once saw a 3 s readiness bound fail during a stall that the
// rates requests, with 10 s, rode out).
func TestReadinessWaitsAsLongAsARequest(t *testing.T) {
	for _, qt := range []time.Duration{2 * time.Second, 10 * time.Second, time.Minute} {
		st := &deadlineStore{}
		h := &handlers{store: st, maxRangeDays: 366, queryTimeout: qt, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		for _, path := range []string{"/readyz", "/rates?date_from=2021-01-30&date_to=2021-01-31&orig_code=A&dest_code=B"} {
			rec := httptest.NewRecorder()
			routes(h, h.log).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
			}
		}
		// Both deadlines lie within the query timeout and within a second of it.
		for name, left := range map[string]time.Duration{"readyz": st.ping_, "rates": st.daily} {
			if left > qt || left < qt-time.Second {
				t.Errorf("query timeout %v: the %s database call had %v left, want about %v", qt, name, left, qt)
			}
		}
	}
}

// TestClientGoneIsNotAServerError: a request whose client went away while the database call
// ran ends as 499, counted with the 4xx; the same failure with the client still there is a
// 503 with Retry-After.
func TestClientGoneIsNotAServerError(t *testing.T) {
	var logs bytes.Buffer
	st := fakeStore{
		daily: func(string, string, time.Time, time.Time) ([]dayAgg, error) {
			return nil, context.Canceled
		},
		pingFn: func() error { return context.Canceled },
	}
	m := &requestMetrics{}
	h := &handlers{store: st, maxRangeDays: 366, queryTimeout: time.Second, log: slog.New(slog.NewJSONHandler(&logs, nil)),
		access: newAccessPolicy(0, time.Hour), metrics: m}
	srv := routes(h, h.log)
	for _, path := range []string{"/readyz", "/rates?date_from=2021-01-30&date_to=2021-01-31&orig_code=A&dest_code=B"} {
		for _, gone := range []bool{true, false} {
			ctx, cancel := context.WithCancel(context.Background())
			if gone {
				cancel()
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil).WithContext(ctx))
			cancel()
			want := http.StatusServiceUnavailable
			if gone {
				want = statusClientClosedRequest
			}
			if rec.Code != want {
				t.Errorf("%s, client gone %v: status %d, want %d", path, gone, rec.Code, want)
			}
		}
	}
	if got := m.s4xx.Load(); got != 2 {
		t.Errorf("%d requests counted as 4xx, want the 2 whose client went away", got)
	}
	if got := m.s5xx.Load(); got != 2 {
		t.Errorf("%d requests counted as 5xx, want the 2 whose client stayed", got)
	}
	if n := strings.Count(logs.String(), `"level":"ERROR"`); n != 1 {
		t.Errorf("%d ERROR lines, want 1 (the failed rates query whose client stayed):\n%s", n, logs.String())
	}
}
