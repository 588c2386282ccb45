package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rotaudit/rotaudit/internal/dbcreds"
	"github.com/rotaudit/rotaudit/internal/loadharness"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// BenchmarkRatesHandler measures one /rates request through the router, the handler and
// the real database, without the network: what the API itself costs per request.
func BenchmarkRatesHandler(b *testing.B) {
	env := testenv.Stack(b)
	f := loadharness.NewFixture(b, env, loadharness.FixtureOptions{})
	ctx := context.Background()
	creds, err := dbcreds.New(ctx, secretsmanager.NewFromConfig(env.AWS(b)), dbcreds.Options{SecretID: f.AppSecretID})
	if err != nil {
		b.Fatal(err)
	}
	pc, err := creds.PoolConfig(dbcreds.PoolOptions{MaxConns: 4})
	if err != nil {
		b.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	h := &handlers{store: newStore(pool, creds), maxRangeDays: 366, queryTimeout: 10 * time.Second, log: log}
	mux := routes(h, log)
	req := httptest.NewRequest(http.MethodGet, "/rates?date_from=2021-01-01&date_to=2021-01-31&orig_code=CNGGZ&dest_code=EETLL", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code, rec.Body)
		}
	}
}
