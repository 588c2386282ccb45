package driver_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/rotation/driver"
)

func TestEndpoint(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		header  string
		body    string
		wantErr string
	}{
		{"step done", http.StatusOK, "", "null", ""},
		{"function error header", http.StatusOK, "Unhandled", `{"errorMessage":"setSecret: log in: refused","errorType":"errorString"}`, "setSecret: log in: refused"},
		{"function error without the header (the runtime emulator)", http.StatusOK, "", `{"errorMessage":"boom","errorType":"errorString"}`, "boom"},
		{"HTTP failure", http.StatusBadGateway, "", "bad gateway", "HTTP 502): bad gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got rotation.Event
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
					t.Errorf("request body: %v", err)
				}
				if tt.header != "" {
					w.Header().Set("X-Amz-Function-Error", tt.header)
				}
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			ev := rotation.Event{Step: rotation.StepSet, SecretID: "arn:x", ClientRequestToken: driver.NewToken()}
			err := driver.Endpoint{URL: srv.URL}.Handle(context.Background(), ev)
			if got != ev {
				t.Errorf("posted %+v, want %+v", got, ev)
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// steps is a Handler that records the steps and fails the one named fail.
type steps struct {
	seen []string
	fail string
}

func (s *steps) Handle(_ context.Context, ev rotation.Event) error {
	s.seen = append(s.seen, ev.Step)
	if ev.Step == s.fail {
		return errors.New("failed")
	}
	return nil
}

func TestRun(t *testing.T) {
	tests := []struct {
		name, fail string
		want       []string
	}{
		{"all four in order", "", rotation.Steps()},
		{"stops at the first failure", rotation.StepSet, []string{rotation.StepCreate, rotation.StepSet}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &steps{fail: tt.fail}
			var reported []string
			err := driver.Run(context.Background(), h, "arn:x", driver.NewToken(), func(r driver.StepResult) {
				reported = append(reported, r.Step)
				if (r.Err != nil) != (r.Step == tt.fail) {
					t.Errorf("step %s reported err %v", r.Step, r.Err)
				}
			})
			if (err != nil) != (tt.fail != "") || !slices.Equal(h.seen, tt.want) || !slices.Equal(reported, tt.want) {
				t.Fatalf("err %v, ran %v, reported %v; want %v", err, h.seen, reported, tt.want)
			}
		})
	}
}

func TestNewToken(t *testing.T) {
	uuid4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, b := driver.NewToken(), driver.NewToken()
	if !uuid4.MatchString(a) || a == b {
		t.Fatalf("tokens %q, %q: want two different version-4 UUIDs", a, b)
	}
}
