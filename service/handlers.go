package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// ratesStore is what the handlers need from the database.
type ratesStore interface {
	dailyPrices(ctx context.Context, orig, dest string, from, to time.Time) (map[time.Time]dayAgg, error)
	ping(ctx context.Context) error
}

// handlers serves the API's routes.
type handlers struct {
	store        ratesStore
	maxRangeDays int
	queryTimeout time.Duration
	log          *slog.Logger
}

// rate is one element of the /rates answer. Count and Price are null per the contract.
type rate struct {
	Day   string   `json:"day"`
	Count *int     `json:"count"`
	Price *float64 `json:"price"`
}

// minTrustedCount is the fewest prices that give an average; fewer give a null price.
const minTrustedCount = 3

// maxCodeLen bounds orig_code and dest_code; port codes are 5 characters, region slugs a
// few dozen.
const maxCodeLen = 64

// ratesParams are the accepted query parameters of /rates.
var ratesParams = map[string]bool{"date_from": true, "date_to": true, "orig_code": true, "dest_code": true}

// errBadRequest is wrapped by every validation error of /rates; its text goes to the client.
var errBadRequest = errors.New("bad request")

// ratesRequest is a validated /rates query.
type ratesRequest struct {
	From, To   time.Time
	Orig, Dest string
}

// parseRatesQuery validates a /rates query string. Errors wrap errBadRequest and say
// which parameter is wrong and why.
func parseRatesQuery(rawQuery string, maxRangeDays int) (ratesRequest, error) {
	var r ratesRequest
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return r, fmt.Errorf("%w: malformed query string", errBadRequest)
	}
	for k, v := range q {
		if !ratesParams[k] {
			return r, fmt.Errorf("%w: unknown parameter %q (allowed: date_from, date_to, orig_code, dest_code)", errBadRequest, trunc(k))
		}
		if len(v) > 1 {
			return r, fmt.Errorf("%w: parameter %s given %d times", errBadRequest, k, len(v))
		}
	}
	if r.From, err = parseDay(q, "date_from"); err != nil {
		return r, err
	}
	if r.To, err = parseDay(q, "date_to"); err != nil {
		return r, err
	}
	if r.Orig, err = parseCode(q, "orig_code"); err != nil {
		return r, err
	}
	if r.Dest, err = parseCode(q, "dest_code"); err != nil {
		return r, err
	}
	if r.To.Before(r.From) {
		return r, fmt.Errorf("%w: date_to %s is before date_from %s", errBadRequest, r.To.Format(time.DateOnly), r.From.Format(time.DateOnly))
	}
	if days := int(r.To.Sub(r.From).Hours()/24) + 1; days > maxRangeDays {
		return r, fmt.Errorf("%w: date_from to date_to spans %d days; at most %d are allowed", errBadRequest, days, maxRangeDays)
	}
	return r, nil
}

func parseDay(q url.Values, name string) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, fmt.Errorf("%w: %s is required (YYYY-MM-DD)", errBadRequest, name)
	}
	// time.Parse accepts some variants (such as a one-digit hour elsewhere); the contract
	// is exactly ten characters.
	d, err := time.Parse(time.DateOnly, v)
	if err != nil || len(v) != len(time.DateOnly) {
		return time.Time{}, fmt.Errorf("%w: %s %q is not a date of the form YYYY-MM-DD", errBadRequest, name, trunc(v))
	}
	return d, nil
}

func parseCode(q url.Values, name string) (string, error) {
	v := q.Get(name)
	if v == "" {
		return "", fmt.Errorf("%w: %s is required", errBadRequest, name)
	}
	if len(v) > maxCodeLen {
		return "", fmt.Errorf("%w: %s is longer than %d characters", errBadRequest, name, maxCodeLen)
	}
	for _, c := range v {
		if c > unicode.MaxASCII || !(unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_' || c == '-') {
			return "", fmt.Errorf("%w: %s %q may hold only letters, digits, '_' and '-'", errBadRequest, name, trunc(v))
		}
	}
	return v, nil
}

// trunc keeps echoed input short.
func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// buildRates lays the aggregates out over every calendar day from to back to from.
func buildRates(from, to time.Time, aggs map[time.Time]dayAgg) []rate {
	out := make([]rate, 0, int(to.Sub(from).Hours()/24)+1)
	for d := to; !d.Before(from); d = d.AddDate(0, 0, -1) {
		r := rate{Day: d.Format(time.DateOnly)}
		if a, ok := aggs[d]; ok && a.Count > 0 {
			n := a.Count
			r.Count = &n
			if n >= minTrustedCount {
				p := a.Avg
				r.Price = &p
			}
		}
		out = append(out, r)
	}
	return out
}

func (h *handlers) root(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"message": "Hello world!"})
}

func (h *handlers) rates(w http.ResponseWriter, r *http.Request) {
	req, err := parseRatesQuery(r.URL.RawQuery, h.maxRangeDays)
	if err != nil {
		writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), errBadRequest.Error()+": "))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.queryTimeout)
	defer cancel()
	aggs, err := h.store.dailyPrices(ctx, req.Orig, req.Dest, req.From, req.To)
	if err != nil {
		h.log.ErrorContext(r.Context(), "rates query failed", "request_id", requestID(r.Context()), "error", err.Error())
		writeError(w, http.StatusServiceUnavailable, "the rates database is not answering; retry shortly")
		return
	}
	writeJSON(w, http.StatusOK, map[string][]rate{"rates": buildRates(req.From, req.To, aggs)})
}

func (h *handlers) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (h *handlers) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), min(h.queryTimeout, 3*time.Second))
	defer cancel()
	if err := h.store.ping(ctx); err != nil {
		h.log.WarnContext(r.Context(), "not ready: database does not answer", "error", err.Error())
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": "database does not answer"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, "no such path: "+trunc(r.URL.Path))
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusMethodNotAllowed, "method "+trunc(r.Method)+" is not allowed here")
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
