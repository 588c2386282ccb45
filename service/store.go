package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rotaudit/rotaudit/internal/dbcreds"
)

// dayAgg is the aggregate of one route's prices on one day; Count 0 means no prices.
type dayAgg struct {
	Count int
	Avg   float64
}

// ratesQuery aggregates one route over a day range. It reads only days that have prices;
// the handler fills in the calendar. The index on (orig_code, dest_code, day) serves it.
const ratesQuery = `SELECT day, count(*)::int, avg(price)::float8
FROM prices
WHERE orig_code = $1 AND dest_code = $2 AND day BETWEEN $3 AND $4
GROUP BY day`

// store runs the API's SQL on a pool whose credentials come from the cache, again on a
// fresh connection through a database restart (retry.go).
type store struct {
	pool  *pgxpool.Pool
	creds *dbcreds.Cache
	retry retrier
}

// newStore returns a store reading through pool with creds.
func newStore(pool *pgxpool.Pool, creds *dbcreds.Cache) *store {
	return &store{pool: pool, creds: creds, retry: retrier{reset: pool.Reset}}
}

// read runs fn with the cache's credentials (a rejected login refreshes them) and again
// through a restart, within ctx's deadline.
func (s *store) read(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.retry.do(ctx, func(ctx context.Context) error { return s.creds.Do(ctx, fn) })
}

// dailyPrices returns one aggregate per day of [from, to]: out[i] is day from+i.
func (s *store) dailyPrices(ctx context.Context, orig, dest string, from, to time.Time) ([]dayAgg, error) {
	days := int(to.Sub(from).Hours()/24) + 1
	if days < 1 {
		return nil, fmt.Errorf("rates query: empty range %s to %s", from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	var out []dayAgg
	err := s.read(ctx, func(ctx context.Context) error {
		out = make([]dayAgg, days)
		rows, err := s.pool.Query(ctx, ratesQuery, orig, dest, from, to)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				day time.Time
				a   dayAgg
			)
			if err := rows.Scan(&day, &a.Count, &a.Avg); err != nil {
				return err
			}
			// Dates are midnight UTC: the difference is a whole number of days.
			i := int(day.Sub(from).Hours() / 24)
			if i < 0 || i >= days {
				return fmt.Errorf("day %s outside the range asked for", day.Format(time.DateOnly))
			}
			out[i] = a
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("rates query: %w", err)
	}
	return out, nil
}

// ping checks that a connection can be had and answers.
func (s *store) ping(ctx context.Context) error {
	return s.read(ctx, func(ctx context.Context) error { return s.pool.Ping(ctx) })
}
