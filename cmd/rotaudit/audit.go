package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/rotaudit/rotaudit/internal/audit"
	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
	"github.com/rotaudit/rotaudit/internal/audit/state"
	"github.com/rotaudit/rotaudit/internal/devstack/incident"
)

func auditCommand() command {
	return command{
		summary: "replay CloudTrail logs through the audit rules (audit replay -h)",
		run:     runAudit,
	}
}

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || helpRequested(args[:1]) {
		fmt.Fprintln(stderr, "usage: rotaudit audit replay [flags] PATH|s3://bucket/prefix ...\n       rotaudit audit backfill [flags]   (send a trail bucket's log files to the auditor through its SQS queue)\n       rotaudit audit incident [flags]   (act out an incident on the AWS emulator)\n       rotaudit audit patterns [flags]   (write or check the EventBridge patterns generated from the rules)")
		return errUsage
	}
	switch args[0] {
	case "replay":
		return auditReplay(ctx, args[1:], stdout, stderr)
	case "backfill":
		return auditBackfill(ctx, args[1:], stdout, stderr)
	case "incident":
		return auditIncident(ctx, args[1:], stdout, stderr)
	case "patterns":
		return auditPatterns(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "rotaudit audit: unknown subcommand %q (replay, backfill, incident, patterns)\n", args[0])
	return errUnknown
}

func auditReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("audit replay", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgFile := fl.String("config", "", "audit configuration file (default: $AUDIT_CONFIG or $AUDIT_CONFIG_FILE)")
	decodeOnly := fl.Bool("decode-only", false, "only decode the records (the benchmark's baseline); print no findings")
	stats := fl.Bool("stats", false, "print records, findings, state requests, throughput and peak memory to stderr as JSON")
	delivered := fl.Bool("count-delivered", false, "with -stats, count the events the EventBridge patterns would deliver live, and the state requests per such event (costs a tenth of replay's speed)")
	var pgLogs []string
	fl.Func("pglog", "a PostgreSQL server log for the DB-xx rules, merged with the CloudTrail input by time (repeatable)", func(v string) error {
		pgLogs = append(pgLogs, v)
		return nil
	})
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: rotaudit audit replay [flags] [PATH|s3://bucket/prefix ...]\n\nPATH is a CloudTrail log file (.json or .json.gz: {\"Records\":[...]}, a JSON array, or JSON lines of\nrecords or EventBridge events) or a directory of them; -pglog adds a PostgreSQL log. All inputs are\nmerged into one stream ordered by event time, as the auditor meets them live, so each login meets\nthe rotations before it. Prints one OCSF finding per line.")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return errUsage
	}
	if len(pgLogs) > 0 && *decodeOnly {
		fmt.Fprintln(stderr, "rotaudit: -pglog and -decode-only do not go together")
		return errUsage
	}
	if fl.NArg() == 0 && len(pgLogs) == 0 {
		fl.Usage()
		return errUsage
	}
	var cfg *audit.Config
	if !*decodeOnly {
		doc, err := configDocument(*cfgFile)
		if err != nil {
			return err
		}
		if cfg, err = audit.ParseConfig(doc); err != nil {
			return err
		}
	}
	out := bufio.NewWriterSize(stdout, 64<<10)
	defer out.Flush()
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	var h *audit.Handler
	// The store counts the DynamoDB requests the Lambda would make for the same events.
	store := state.NewMetered(state.NewMemory())
	if cfg != nil {
		h = &audit.Handler{Engine: audit.NewEngine(cfg, store), Sink: audit.NewJSONLinesSink(out), Log: log, CountDelivered: *stats && *delivered}
	}
	var sum audit.Summary
	start, cpu0 := time.Now(), cpuTime()
	s3c, err := s3Client(ctx, fl.Args())
	if err != nil {
		return err
	}
	if h == nil {
		err = audit.EachLogFile(ctx, s3c, fl.Args(), func(name string, r io.Reader) error {
			sum.Files++
			n, err := cloudtrail.Stream(r, func(*cloudtrail.Record) error { return nil }, func(error) { sum.Malformed++ })
			sum.Records += n
			if errors.Is(err, cloudtrail.ErrMalformed) {
				fmt.Fprintf(stderr, "rotaudit: %s: %v (rest of file skipped)\n", name, err)
				return nil
			}
			return err
		})
	} else {
		err = replaySources(ctx, h, s3c, fl.Args(), pgLogs, &sum)
	}
	if err != nil {
		return err
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("write findings: %w", err)
	}
	if *stats {
		wall, cpu := time.Since(start).Seconds(), cpuTime()-cpu0
		mode := "replay"
		if *decodeOnly {
			mode = "decode-only"
		}
		// Per event the Lambda would be invoked for live; a PostgreSQL login is one too.
		perEvent := func(n int64) float64 {
			if sum.Delivered == 0 {
				return 0
			}
			return float64(n) / float64(sum.Delivered)
		}
		fmt.Fprintf(stderr, `{"mode":%q,"files":%d,"records":%d,"audited":%d,"delivered":%d,"findings":%d,"malformed":%d,"state_writes":%d,"state_reads":%d,"writes_per_delivered_event":%.2f,"reads_per_delivered_event":%.2f,"wall_s":%.3f,"cpu_s":%.3f,"records_per_s":%.0f,"records_per_cpu_s":%.0f,"gomaxprocs":%d,"peak_rss_kib":%d}`+"\n",
			mode, sum.Files, sum.Records, sum.Audited, sum.Delivered, sum.Findings, sum.Malformed, store.Writes(), store.Reads(), perEvent(store.Writes()), perEvent(store.Reads()),
			wall, cpu, float64(sum.Records)/wall, float64(sum.Records)/cpu, runtime.GOMAXPROCS(0), peakRSS())
	}
	return nil
}

// replaySources merges every input into one stream ordered by event time, as the Lambda
// meets them: each CloudTrail input (a file, a directory, an S3 prefix) and each PostgreSQL
// log is one source.
func replaySources(ctx context.Context, h *audit.Handler, s3c audit.S3ListAPI, inputs, pgLogs []string, sum *audit.Summary) error {
	var sources []audit.Source
	for _, in := range inputs {
		sources = append(sources, h.CloudTrailSource(ctx, s3c, in, sum))
	}
	for _, path := range pgLogs {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("postgresql log: %w", err)
		}
		defer f.Close()
		sources = append(sources, h.PostgresSource(ctx, path, f, sum))
	}
	return h.Replay(ctx, sources, sum)
}

func configDocument(file string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("-config: %w", err)
		}
		return b, nil
	}
	if v := os.Getenv(audit.EnvConfig); v != "" {
		return audit.ConfigDocument(v)
	}
	if f := os.Getenv(audit.EnvConfigFile); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", audit.EnvConfigFile, err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("no audit configuration: pass -config FILE or set %s or %s", audit.EnvConfig, audit.EnvConfigFile)
}

// s3Client builds the S3 client that replay reads s3:// inputs with, or nil when no input
// is on S3 (a local replay needs no AWS configuration).
func s3Client(ctx context.Context, inputs []string) (audit.S3ListAPI, error) {
	if !slices.ContainsFunc(inputs, audit.IsS3URL) {
		return nil, nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	// An emulator behind AWS_ENDPOINT_URL serves buckets by path, not by host name.
	pathStyle := os.Getenv("AWS_ENDPOINT_URL") != "" || os.Getenv("AWS_ENDPOINT_URL_S3") != ""
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = pathStyle
		// Emulators send no checksums; the SDK would log that for every object.
		o.DisableLogOutputChecksumValidationSkipped = pathStyle
	}), nil
}

func auditIncident(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("audit incident", flag.ContinueOnError)
	fl.SetOutput(stderr)
	patterns := fl.String("patterns", filepath.Join("modules", "audit-alerts", "patterns"), "folder of the EventBridge pattern documents")
	keep := fl.Bool("keep", false, "keep the demo's table, queues, topic and bus")
	verbose := fl.Bool("v", false, "show the auditor's JSON logs on stderr")
	if err := fl.Parse(args); err != nil {
		return errUsage
	}
	if os.Getenv("AWS_ENDPOINT_URL") == "" {
		return fmt.Errorf("AWS_ENDPOINT_URL is not set: the incident is acted out on the local emulator only (eval \"$(scripts/stack.sh env)\")")
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("aws config: %w", err)
	}
	opt := incident.Options{PatternDir: *patterns, Out: stdout, Keep: *keep}
	// The database part needs the native stack's PostgreSQL: its log file and superuser
	// socket (scripts/stack.sh env exports both).
	if logPath, sock := os.Getenv("ROTAUDIT_PG_LOG"), os.Getenv("ROTAUDIT_PG_SOCKET_DIR"); logPath != "" && sock != "" {
		port, err := strconv.Atoi(os.Getenv("ROTAUDIT_PG_PORT"))
		if err != nil {
			return fmt.Errorf("ROTAUDIT_PG_PORT=%q is not a port number", os.Getenv("ROTAUDIT_PG_PORT"))
		}
		if _, err := os.Stat(logPath); err == nil {
			opt.Postgres = &incident.Postgres{SuperDSN: fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable", sock, port), Port: port, ServerLog: logPath}
		}
	}
	if *verbose {
		opt.Log = stderr
	}
	return incident.Run(ctx, cfg, opt)
}

// cpuTime is the process's user and system CPU time in seconds.
func cpuTime() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// peakRSS is the process's peak resident set size in KiB (Linux reports ru_maxrss in KiB).
func peakRSS() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return int64(ru.Maxrss)
}

// auditPatterns writes the EventBridge patterns generated from the rules (go generate runs
// it) or checks the committed ones. (Which fraction of a benign corpus each set of patterns
// sends to the Lambda is measured by the developer's tool internal/testkit/auditcorpus.)
func auditPatterns(args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("audit patterns", flag.ContinueOnError)
	fl.SetOutput(stderr)
	dir := fl.String("dir", "modules/audit-alerts/patterns", "directory of the pattern files")
	check := fl.Bool("check", false, "do not write: fail when the files in -dir differ from the generated ones")
	if err := fl.Parse(args); err != nil || fl.NArg() > 0 {
		return errUsage
	}
	files, err := audit.PatternFiles()
	if err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		path := filepath.Join(*dir, n)
		if *check {
			have, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("patterns: %w", err)
			}
			if string(have) != string(files[n]) {
				return fmt.Errorf("patterns: %s differs from what the rules watch: run go generate ./internal/audit", path)
			}
			continue
		}
		if err := os.WriteFile(path, files[n], 0o644); err != nil {
			return fmt.Errorf("patterns: %w", err)
		}
		fmt.Fprintf(stdout, "wrote %s (%d bytes)\n", path, len(files[n]))
	}
	return nil
}
