package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/rotation/rotationtest"
	"github.com/rotaudit/rotaudit/internal/scram"
)

// Where a warm rotation's wall time goes, step by step: the Secrets Manager calls, the
// database logins and the statements the rotator makes, each timed where it is made
// (calls made side by side overlap, so their sum can pass the step's wall time). The
// step logic decides how many of each there are; this is what it has to work with.

// tracer records the I/O of the step in progress.
type tracer struct {
	mu   sync.Mutex
	step string
	// per step, per kind ("GetSecretValue", "login", "sql"): durations of this rotation.
	ops map[string]map[string][]time.Duration
}

// begin starts recording step (the steps run one after the other).
func (tr *tracer) begin(step string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.step = step
}

func (tr *tracer) record(kind string, d time.Duration) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.ops[tr.step] == nil {
		tr.ops[tr.step] = map[string][]time.Duration{}
	}
	tr.ops[tr.step][kind] = append(tr.ops[tr.step][kind], d)
}

func timed[T any](tr *tracer, kind string, f func() (T, error)) (T, error) {
	start := time.Now()
	v, err := f()
	tr.record(kind, time.Since(start))
	return v, err
}

// tracedSM times every Secrets Manager call.
type tracedSM struct {
	c  rotation.SecretsManager
	tr *tracer
}

func (s tracedSM) DescribeSecret(ctx context.Context, in *sm.DescribeSecretInput, o ...func(*sm.Options)) (*sm.DescribeSecretOutput, error) {
	return timed(s.tr, "DescribeSecret", func() (*sm.DescribeSecretOutput, error) { return s.c.DescribeSecret(ctx, in, o...) })
}

func (s tracedSM) GetSecretValue(ctx context.Context, in *sm.GetSecretValueInput, o ...func(*sm.Options)) (*sm.GetSecretValueOutput, error) {
	return timed(s.tr, "GetSecretValue", func() (*sm.GetSecretValueOutput, error) { return s.c.GetSecretValue(ctx, in, o...) })
}

func (s tracedSM) PutSecretValue(ctx context.Context, in *sm.PutSecretValueInput, o ...func(*sm.Options)) (*sm.PutSecretValueOutput, error) {
	return timed(s.tr, "PutSecretValue", func() (*sm.PutSecretValueOutput, error) { return s.c.PutSecretValue(ctx, in, o...) })
}

func (s tracedSM) UpdateSecretVersionStage(ctx context.Context, in *sm.UpdateSecretVersionStageInput, o ...func(*sm.Options)) (*sm.UpdateSecretVersionStageOutput, error) {
	return timed(s.tr, "UpdateSecretVersionStage", func() (*sm.UpdateSecretVersionStageOutput, error) { return s.c.UpdateSecretVersionStage(ctx, in, o...) })
}

// tracedDB times every statement on a session.
type tracedDB struct {
	rotation.DB
	tr *tracer
}

func (d tracedDB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return timed(d.tr, "sql", func() (pgconn.CommandTag, error) { return d.DB.Exec(ctx, sql, args...) })
}

func (d tracedDB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return timed(d.tr, "sql", func() (pgx.Rows, error) { return d.DB.Query(ctx, sql, args...) })
}

// QueryRow is timed up to the row's Scan, where its round trip ends.
func (d tracedDB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return tracedRow{d.DB.QueryRow(ctx, sql, args...), d.tr, time.Now()}
}

type tracedRow struct {
	pgx.Row
	tr    *tracer
	start time.Time
}

func (r tracedRow) Scan(dest ...any) error {
	err := r.Row.Scan(dest...)
	r.tr.record("sql", time.Since(r.start))
	return err
}

// traceDial times logins, refused ones included.
func traceDial(tr *tracer) rotation.Dialer {
	return func(ctx context.Context, cfg *pgx.ConnConfig) (rotation.DB, error) {
		db, err := timed(tr, "login", func() (rotation.DB, error) { return rotation.PgxDialer(ctx, cfg) })
		if err != nil {
			return nil, err
		}
		return tracedDB{db, tr}, nil
	}
}

// benchTrace runs rotations with strategy under the tracer and prints, per step, the
// median wall time and the median count and time of each kind of I/O, then the median
// cost of one of each kind, and of a SCRAM verifier.
func benchTrace(t *testing.T, strategy rotation.Strategy, runs int) {
	f := rotationtest.New(t, rotationtest.Options{UserPrefix: "bench_trace"})
	tr := &tracer{}
	cfg, _ := rotation.LoadConfig(rotation.MapEnv(nil))
	cfg.Strategy = strategy
	cfg.MasterSecretARNs = []string{f.MasterARN}
	r := &rotation.Rotator{SM: tracedSM{f.SM, tr}, Dial: traceDial(tr), Config: cfg}
	ctx := context.Background()
	wall := map[string][]time.Duration{}
	counts := map[string]map[string][]int{}
	sums := map[string]map[string][]time.Duration{}
	all := map[string][]time.Duration{}
	for i := 0; i < runs+1; i++ {
		token := f.StartRotation(t)
		tr.mu.Lock()
		tr.ops = map[string]map[string][]time.Duration{}
		tr.mu.Unlock()
		for _, step := range rotation.Steps() {
			tr.begin(step)
			start := time.Now()
			if err := r.Handle(ctx, rotation.Event{Step: step, SecretID: f.SecretARN, ClientRequestToken: token}); err != nil {
				t.Fatalf("%s: %v", step, err)
			}
			if i == 0 {
				continue // warm-up
			}
			wall[step] = append(wall[step], time.Since(start))
		}
		if i == 0 {
			continue
		}
		for _, step := range rotation.Steps() {
			if counts[step] == nil {
				counts[step], sums[step] = map[string][]int{}, map[string][]time.Duration{}
			}
			for kind, ds := range tr.ops[step] {
				counts[step][kind] = append(counts[step][kind], len(ds))
				var sum time.Duration
				for _, d := range ds {
					sum += d
				}
				sums[step][kind] = append(sums[step][kind], sum)
				all[kind] = append(all[kind], ds...)
			}
		}
	}
	fmt.Printf("where a warm %s rotation goes (median of %d; calls made side by side overlap)\n", strategy, runs)
	var total time.Duration
	for _, step := range rotation.Steps() {
		total += median(wall[step])
		var parts []string
		for _, kind := range slices.Sorted(maps.Keys(counts[step])) {
			parts = append(parts, fmt.Sprintf("%s x%d %.1f", kind, medianInt(counts[step][kind]), ms(median(sums[step][kind]))))
		}
		fmt.Printf("  %-13s %6.1f ms: %s\n", step, ms(median(wall[step])), strings.Join(parts, ", "))
	}
	fmt.Printf("  %-13s %6.1f ms\n", "sum of steps", ms(total))
	var costs []string
	for _, kind := range slices.Sorted(maps.Keys(all)) {
		costs = append(costs, fmt.Sprintf("%s %.2f", kind, ms(median(all[kind]))))
	}
	var v []time.Duration
	for i := 0; i < 15; i++ {
		start := time.Now()
		scram.NewVerifier("bench-password-of-32-characters!")
		v = append(v, time.Since(start))
	}
	costs = append(costs, fmt.Sprintf("scram.NewVerifier %.2f", ms(median(v))))
	fmt.Printf("  one of each, ms: %s\n", strings.Join(costs, ", "))
}

func medianInt(xs []int) int {
	s := slices.Clone(xs)
	sort.Ints(s)
	return s[len(s)/2]
}
