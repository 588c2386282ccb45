package rotation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/lambdakit"
)

// TestLoginThatTimesOutIsMadeOnceMore: a login that ran out of ConnectTimeout (a loaded
// server: one took 5.07 s to authenticate beside stress-ng) is made once more when the
// invocation has the time; a refused password, a second timeout, or an invocation without
// the time for another ConnectTimeout is not retried.
func TestLoginThatTimesOutIsMadeOnceMore(t *testing.T) {
	timeout := fmt.Errorf("failed to connect to `host=db.internal user=app database=rates`: %w", context.DeadlineExceeded)
	cluster := newFakeCluster()
	secret, err := dbsecret.Parse([]byte(earlyBody))
	if err != nil {
		t.Fatal(err)
	}
	wrong := secret
	wrong.Password = "not-it"
	for _, tc := range []struct {
		name      string
		secret    dbsecret.Secret
		timeouts  int           // how many dials time out before the cluster answers
		budget    time.Duration // the invocation's time left; 0: no deadline
		wantDials int
		wantErr   error
	}{
		{"one timeout, then a login", secret, 1, 0, 2, nil},
		{"one timeout within the function's 30 s", secret, 1, 30 * time.Second, 2, nil},
		{"two timeouts", secret, 2, 0, 2, ErrDBUnreachable},
		{"a refused password", wrong, 0, 0, 1, ErrDBAuth},
		{"no time for another try", secret, 1, ConnectTimeout, 1, ErrDBUnreachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			dials := 0
			r := &Rotator{Log: lambdakit.NewLogger(&logs), Dial: func(ctx context.Context, cfg *pgx.ConnConfig) (DB, error) {
				dials++
				if dials <= tc.timeouts {
					return nil, timeout
				}
				return cluster.dial(ctx, cfg)
			}}
			ctx := context.Background()
			if tc.budget > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.budget)
				defer cancel()
			}
			db, err := r.connect(ctx, tc.secret)
			if dials != tc.wantDials {
				t.Errorf("%d dials, want %d", dials, tc.wantDials)
			}
			switch {
			case tc.wantErr == nil && (err != nil || db == nil):
				t.Fatalf("connect = %v, %v; want a session", db, err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("connect error %v, want %v", err, tc.wantErr)
			}
			if retried := strings.Contains(logs.String(), "trying once more"); retried != (tc.wantDials == 2) {
				t.Errorf("the retry logged: %v, want %v:\n%s", retried, tc.wantDials == 2, logs.String())
			}
		})
	}
}
