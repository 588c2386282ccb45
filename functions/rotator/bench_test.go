package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/pgrole"
	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/rotation/driver"
	"github.com/rotaudit/rotaudit/internal/rotation/rotationtest"
	"github.com/rotaudit/rotaudit/internal/scram"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// TestRotationBenchmark is what `make bench-rotation` runs (scripts/bench-rotation.sh
// sets ROTAUDIT_BENCH=1): full rotation wall time against its floor, and the bootstrap's
// cold start and peak RSS under the runtime emulator; with AWS_ROTATION_LAMBDAS, AWS's
// functions beside ours in the same rounds (bench_aws_test.go).
func TestRotationBenchmark(t *testing.T) {
	if os.Getenv("ROTAUDIT_BENCH") != "1" {
		t.Skip("benchmark: run with ROTAUDIT_BENCH=1 (make bench-rotation)")
	}
	env := testenv.Stack(t)
	// Lambda sets no AWS_CA_BUNDLE; a machine that does (a proxy's roots) makes the SDK
	// parse the bundle at every cold start: 5 ms and 2 MiB that no deployment pays.
	if ca, ok := os.LookupEnv("AWS_CA_BUNDLE"); ok {
		t.Setenv("AWS_CA_BUNDLE", ca) // restored at cleanup
		os.Unsetenv("AWS_CA_BUNDLE")
		fmt.Println("AWS_CA_BUNDLE unset for the functions, ours and AWS's: Lambda sets none")
	}
	runs, coldRuns := 15, 10
	if v := os.Getenv("ROTAUDIT_BENCH_RUNS"); v != "" {
		fmt.Sscanf(v, "%d", &runs)
	}
	if v := os.Getenv("ROTAUDIT_BENCH_COLD_RUNS"); v != "" {
		fmt.Sscanf(v, "%d", &coldRuns)
	}
	theirs := loadAWSBench(t, env)
	strategies := []rotation.Strategy{rotation.SingleUser, rotation.AlternatingUsers}
	type result struct {
		floor, ours, aws []time.Duration
		awsSteps         map[string][]time.Duration
	}
	warm := map[rotation.Strategy]result{}
	fmt.Printf("rotation wall time, in-process, %d runs each (floor and rotation interleaved)\n", runs)
	fmt.Printf("  %-18s %11s %11s %7s | %9s %9s %7s\n", "strategy", "floor p50", "rotate p50", "ratio", "floor min", "rot. min", "ratio")
	for _, strategy := range strategies {
		fl, fu, fa, steps := benchStrategy(t, strategy, runs, theirs)
		warm[strategy] = result{fl, fu, fa, steps}
		fmt.Printf("  %-18s %9.1fms %9.1fms %6.2fx | %7.1fms %7.1fms %6.2fx\n", strategy,
			ms(median(fl)), ms(median(fu)), float64(median(fu))/float64(median(fl)),
			ms(slices.Min(fl)), ms(slices.Min(fu)), float64(slices.Min(fu))/float64(slices.Min(fl)))
	}
	for _, strategy := range strategies {
		benchTrace(t, strategy, runs)
		if theirs != nil {
			var parts []string
			for _, step := range rotation.Steps() {
				parts = append(parts, fmt.Sprintf("%s %.1f", step, ms(median(warm[strategy].awsSteps[step]))))
			}
			fmt.Printf("  AWS's %s, per step (ms): %s\n", awsFolder(strategy), strings.Join(parts, ", "))
		}
	}
	cold := benchColdStart(t, theirs, coldRuns)
	if theirs == nil {
		fmt.Println(awsHowTo)
		return
	}
	fmt.Printf("side by side with AWS's functions (%s), medians; ours / AWS against the goals\n", theirs.dir)
	fmt.Printf("  warm: %d rotations each, ours and AWS's (a python3 process that imported lambda_function once) interleaved\n", runs)
	fmt.Printf("  cold: %d each, exec -> createSecret answered; ours under aws-lambda-rie, AWS's as %s\n", coldRuns, theirs.coldKind())
	fmt.Printf("  %-50s %13s %13s %8s %9s\n", "", "ours", "AWS", "ratio", "goal")
	for _, s := range strategies {
		goalLine("warm rotation, "+string(s), ms(median(warm[s].ours)), ms(median(warm[s].aws)), "ms", 0.5)
	}
	for _, s := range strategies {
		goalLine("cold start, "+string(s), ms(median(cold[s].ours)), ms(median(cold[s].aws)), "ms", 0.1)
	}
	// What no implementation on this emulator goes below: the same runtime library and SDK
	// client making createSecret's four calls back to back.
	for _, s := range strategies {
		floorLine("cold start floor (no logic), "+string(s), ms(median(cold[s].floor)), ms(median(cold[s].aws)), 0.1)
	}
	if theirs.ric {
		// The emulator's own start (the same on both sides) is no part of a Lambda cold
		// start: the service's runtime API is up before the function starts.
		for _, s := range strategies {
			goalLine("cold start w/o emulator start, "+string(s), ms(median(cold[s].oursListen)), ms(median(cold[s].awsListen)), "ms", 0.1)
		}
	}
	for _, s := range strategies {
		goalLine("peak RSS, whole rotation, "+string(s), mib(cold[s].oursKiB), mib(cold[s].awsKiB), "MiB", 0.35)
	}
}

// floorColdStart starts the cold-start floor under the emulator, times exec and the
// emulator listening to createSecret answered, and takes its AWSPENDING away again.
func floorColdStart(t *testing.T, rie, bin string, f *rotationtest.Fixture) (first, afterListen time.Duration) {
	t.Helper()
	token := f.StartRotation(t)
	defer clearPending(t, f, token)
	e := rotationtest.StartRIE(t, rie, bin)
	defer e.Stop()
	listening := time.Now()
	inv := driver.Endpoint{URL: e.URL, Client: &http.Client{Timeout: time.Minute}}
	if err := inv.Handle(context.Background(), rotation.Event{Step: rotation.StepCreate, SecretID: f.SecretARN, ClientRequestToken: token}); err != nil {
		t.Fatalf("cold-start floor: %v\n%s", err, e.Out.String())
	}
	done := time.Now()
	return done.Sub(e.Started), done.Sub(listening)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// benchStrategy times runs rotations of the floor, of ours and, when theirs is not nil, of
// AWS's function for strategy, interleaved (ours and AWS's take turns going first).
func benchStrategy(t *testing.T, strategy rotation.Strategy, runs int, theirs *awsBench) (floor, full, aws []time.Duration, awsSteps map[string][]time.Duration) {
	f := rotationtest.New(t, rotationtest.Options{UserPrefix: "bench_app"})
	var w *awsWarm
	if theirs != nil {
		w = theirs.startWarm(t, rotationtest.New(t, rotationtest.Options{UserPrefix: "bench_aws"}), strategy)
	}
	cfg, _ := rotation.LoadConfig(rotation.MapEnv(nil))
	cfg.Strategy = strategy
	cfg.MasterSecretARNs = []string{f.MasterARN}
	r := &rotation.Rotator{SM: f.SM, Dial: rotation.PgxDialer, Config: cfg}
	ctx := context.Background()
	// Warm up both paths (connections to the emulator, the clone's creation).
	for i := 0; i < 2; i++ {
		if err := driver.Run(ctx, r, f.SecretARN, f.StartRotation(t), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := floorRotation(ctx, f, strategy, f.StartRotation(t)); err != nil {
			t.Fatal(err)
		}
		if w != nil {
			if _, err := w.rotate(t); err != nil {
				t.Fatalf("AWS's %s: %v", awsFolder(strategy), err)
			}
		}
	}
	if w != nil {
		w.steps = map[string][]time.Duration{} // the warm-up's are not counted
	}
	var fl, fu, fa []time.Duration
	awsTurn := func() {
		if w == nil {
			return
		}
		d, err := w.rotate(t)
		if err != nil {
			t.Fatalf("AWS's %s: %v", awsFolder(strategy), err)
		}
		fa = append(fa, d)
	}
	for i := 0; i < runs; i++ {
		if i%2 == 1 {
			awsTurn()
		}
		token := f.StartRotation(t)
		start := time.Now()
		excluded, err := floorRotation(ctx, f, strategy, token)
		if err != nil {
			t.Fatalf("floor: %v", err)
		}
		fl = append(fl, time.Since(start)-excluded)
		token = f.StartRotation(t)
		start = time.Now()
		if err := driver.Run(ctx, r, f.SecretARN, token, nil); err != nil {
			t.Fatalf("rotation: %v", err)
		}
		fu = append(fu, time.Since(start))
		if i%2 == 0 {
			awsTurn()
		}
	}
	if w == nil {
		return fl, fu, fa, nil
	}
	return fl, fu, fa, w.steps
}

// floorRotation issues the Secrets Manager calls and database logins and statements of
// one rotation back to back (including the guard's logins with AWSCURRENT, which a safe
// rotation cannot skip), with none of the rotator's logic: no event or secret
// validation, no error classification, no SCRAM computation (timed and subtracted), and
// for alternating users none of the role-mirroring catalog queries.
func floorRotation(ctx context.Context, f *rotationtest.Fixture, strategy rotation.Strategy, token string) (excluded time.Duration, err error) {
	c := f.SM
	id := aws.String(f.SecretARN)
	describe := func() (*sm.DescribeSecretOutput, error) {
		return c.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: id})
	}
	get := func(version, stage string) (dbsecret.Secret, error) {
		in := &sm.GetSecretValueInput{SecretId: id, VersionStage: aws.String(stage)}
		if version != "" {
			in.VersionId = aws.String(version)
		}
		out, err := c.GetSecretValue(ctx, in)
		if err != nil {
			return dbsecret.Secret{}, err
		}
		return dbsecret.Parse([]byte(aws.ToString(out.SecretString)))
	}
	login := func(s dbsecret.Secret) (*pgx.Conn, error) {
		cfg, _ := s.ConnConfig(dbsecret.ConnOptions{SSLMode: "disable"})
		return pgx.ConnectConfig(ctx, cfg)
	}
	// createSecret
	d, err := describe()
	if err != nil {
		return 0, err
	}
	cur, err := get("", "AWSCURRENT")
	if err != nil {
		return 0, err
	}
	get(token, "AWSPENDING") // not found yet
	// The new password is drawn in the function (no call); no database login: the guard
	// and the test query run in setSecret.
	pw := rand.Text()
	next := cur
	next.Password = pw
	if strategy == rotation.AlternatingUsers {
		next.Username, _ = rotation.Partner(cur.Username)
	}
	body, _ := next.Marshal()
	if _, err := c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: id, ClientRequestToken: aws.String(token), SecretString: aws.String(string(body)), VersionStages: []string{"AWSPENDING"}}); err != nil {
		return 0, err
	}
	// setSecret
	describe()
	get("", "AWSCURRENT")
	pending, err := get(token, "AWSPENDING")
	if err != nil {
		return 0, err
	}
	if conn, err := login(pending); err == nil { // refused: not set yet
		conn.Close(ctx)
	}
	// The verifier's computation is the rotator's logic: it is timed and taken out.
	vStart := time.Now()
	verifier, err := scram.NewVerifier(pending.Password)
	if err != nil {
		return 0, err
	}
	excluded = time.Since(vStart)
	who := cur
	if strategy == rotation.AlternatingUsers {
		// The guard before the master acts: AWSCURRENT logs in and runs the test query.
		if err := probeFloor(ctx, login, cur); err != nil {
			return 0, err
		}
		out, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String(cur.MasterARN), VersionStage: aws.String("AWSCURRENT")})
		if err != nil {
			return 0, err
		}
		if who, err = dbsecret.Parse([]byte(aws.ToString(out.SecretString))); err != nil {
			return 0, err
		}
		who.DBName = cur.DBName
	}
	conn, err := login(who)
	if err != nil {
		return 0, err
	}
	stmts := []string{"ALTER ROLE " + pgrole.Ident(pending.Username) + " PASSWORD '" + verifier + "'"}
	if strategy == rotation.AlternatingUsers {
		stmts = append([]string{"BEGIN"}, append(stmts, "COMMIT")...)
	}
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			conn.Close(ctx)
			return 0, err
		}
	}
	conn.Close(ctx)
	// testSecret
	describe()
	get(token, "AWSPENDING")
	pc, err := login(pending)
	if err != nil {
		return 0, fmt.Errorf("floor login with pending: %w", err)
	}
	pc.Exec(ctx, "BEGIN READ ONLY")
	rows, err := pc.Query(ctx, "SELECT 1")
	if err == nil {
		rows.Close()
	}
	pc.Exec(ctx, "ROLLBACK")
	pc.Close(ctx)
	// finishSecret
	describe()
	var from string
	for v, st := range d.VersionIdsToStages {
		if slices.Contains(st, "AWSCURRENT") {
			from = v
		}
	}
	if _, err := c.UpdateSecretVersionStage(ctx, &sm.UpdateSecretVersionStageInput{SecretId: id, VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: aws.String(token), RemoveFromVersionId: aws.String(from)}); err != nil {
		return 0, err
	}
	_, err = c.UpdateSecretVersionStage(ctx, &sm.UpdateSecretVersionStageInput{SecretId: id, VersionStage: aws.String("AWSPENDING"), RemoveFromVersionId: aws.String(token)})
	return excluded, err
}

// probeFloor logs in with s and runs SELECT 1 in a read-only transaction.
func probeFloor(ctx context.Context, login func(dbsecret.Secret) (*pgx.Conn, error), s dbsecret.Secret) error {
	c, err := login(s)
	if err != nil {
		return fmt.Errorf("floor login with current: %w", err)
	}
	defer c.Close(ctx)
	c.Exec(ctx, "BEGIN READ ONLY")
	if rows, err := c.Query(ctx, "SELECT 1"); err == nil {
		rows.Close()
	}
	_, err = c.Exec(ctx, "ROLLBACK")
	return err
}

// coldResult is one strategy's cold starts (exec to createSecret answered) and peak RSS
// after a whole rotation, ours and AWS's.
type coldResult struct {
	ours, aws             []time.Duration
	oursListen, awsListen []time.Duration // from the emulator listening
	oursKiB, awsKiB       int
	// floor, floorListen: the cold-start floor (functions/rotator/internal/coldfloor), a
	// Go bootstrap making createSecret's four calls back to back, no logic.
	floor, floorListen []time.Duration
}

// benchColdStart measures, runs times per strategy, the emulator started with a fresh
// bootstrap to the first step answered, and the bootstrap's peak RSS after a whole
// rotation; with theirs, AWS's function likewise, in turns with ours.
func benchColdStart(t *testing.T, theirs *awsBench, runs int) map[rotation.Strategy]coldResult {
	rie := rotationtest.RIE(t)
	bootstrap := rotationtest.BuildBootstrap(t)
	floorBin := rotationtest.BuildFunction(t, "rotator/internal/coldfloor")
	res := map[rotation.Strategy]coldResult{}
	fmt.Printf("bootstrap under aws-lambda-rie, median of %d cold starts\n", runs)
	for _, s := range []rotation.Strategy{rotation.SingleUser, rotation.AlternatingUsers} {
		f := rotationtest.New(t, rotationtest.Options{UserPrefix: "bench_cold"})
		var fa *rotationtest.Fixture
		if theirs != nil {
			fa = rotationtest.New(t, rotationtest.Options{UserPrefix: "bench_awscold"})
		}
		var total, initOnly []time.Duration
		var rss []int
		var r coldResult
		var awsRSS []int
		for i := 0; i < runs; i++ {
			awsTurn := func() {
				d, l, kib := theirs.coldRotation(t, rie, fa, s)
				r.aws, r.awsListen, awsRSS = append(r.aws, d), append(r.awsListen, l), append(awsRSS, kib)
			}
			if theirs != nil && i%2 == 1 {
				awsTurn()
			}
			floorTurn := func() {
				d, l := floorColdStart(t, rie, floorBin, f)
				r.floor, r.floorListen = append(r.floor, d), append(r.floorListen, l)
			}
			if i%2 == 0 {
				floorTurn()
			}
			d, l, outside, kib := ourColdRotation(t, rie, bootstrap, f, s)
			total, initOnly, rss = append(total, d), append(initOnly, outside), append(rss, kib)
			r.oursListen = append(r.oursListen, l)
			if i%2 == 1 {
				floorTurn()
			}
			if theirs != nil && i%2 == 0 {
				awsTurn()
			}
		}
		slices.Sort(rss)
		fmt.Printf("  %s\n", s)
		fmt.Printf("    emulator exec -> first step (createSecret) answered: %6.1f ms\n", ms(median(total)))
		fmt.Printf("    emulator listening -> first step answered:           %6.1f ms\n", ms(median(r.oursListen)))
		fmt.Printf("      of which outside the step (bootstrap start + init): %5.1f ms\n", ms(median(initOnly)))
		fmt.Printf("    bootstrap peak RSS (VmHWM) after a full rotation:      %5.1f MiB (max %.1f MiB)\n", mib(rss[len(rss)/2]), mib(rss[len(rss)-1]))
		fmt.Printf("    floor, createSecret's four calls without logic: exec %.1f ms, listening %.1f ms -> answered (ours %.2fx, %.2fx of it)\n",
			ms(median(r.floor)), ms(median(r.floorListen)), float64(median(total))/float64(median(r.floor)), float64(median(r.oursListen))/float64(median(r.floorListen)))
		r.ours, r.oursKiB = total, rss[len(rss)/2]
		if len(awsRSS) > 0 {
			slices.Sort(awsRSS)
			r.awsKiB = awsRSS[len(awsRSS)/2]
		}
		res[s] = r
	}
	return res
}

func mib(kib int) float64 { return float64(kib) / 1024 }

// stepDuration finds the duration_ms the function logged for step.
func stepDuration(out, step string) time.Duration {
	for _, line := range strings.Split(out, "\n") {
		var rec struct {
			Step       string  `json:"step"`
			DurationMS float64 `json:"duration_ms"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Step == step && rec.DurationMS > 0 {
			return time.Duration(rec.DurationMS * float64(time.Millisecond))
		}
	}
	return 0
}
