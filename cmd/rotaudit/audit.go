package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/rotaudit/rotaudit/internal/audit"
	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
	"github.com/rotaudit/rotaudit/internal/audit/corpus"
	"github.com/rotaudit/rotaudit/internal/audit/incident"
	"github.com/rotaudit/rotaudit/internal/audit/state"
)

func auditCommand() command {
	return command{
		summary: "replay CloudTrail logs through the audit rules (audit replay -h)",
		run:     runAudit,
	}
}

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || helpRequested(args[:1]) {
		fmt.Fprintln(stderr, "usage: rotaudit audit replay [flags] PATH|s3://bucket/prefix ...\n       rotaudit audit corpus [flags]     (generate a synthetic corpus for benchmarks)\n       rotaudit audit incident [flags]   (act out an incident on the AWS emulator)")
		return errUsage
	}
	switch args[0] {
	case "replay":
		return auditReplay(ctx, args[1:], stdout, stderr)
	case "corpus":
		return auditCorpus(args[1:], stdout, stderr)
	case "incident":
		return auditIncident(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "rotaudit audit: unknown subcommand %q (replay, corpus, incident)\n", args[0])
	return errUsage
}

func auditReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("audit replay", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgFile := fl.String("config", "", "audit configuration file (default: $AUDIT_CONFIG or $AUDIT_CONFIG_FILE)")
	decodeOnly := fl.Bool("decode-only", false, "only decode the records (the benchmark's baseline); print no findings")
	stats := fl.Bool("stats", false, "print records, findings, throughput and peak memory to stderr as JSON")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: rotaudit audit replay [flags] PATH|s3://bucket/prefix ...\n\nPATH is a CloudTrail log file (.json or .json.gz: {\"Records\":[...]}, a JSON array, or JSON lines of\nrecords or EventBridge events) or a directory of them. Prints one OCSF finding per line.")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return errUsage
	}
	if fl.NArg() == 0 {
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
	if cfg != nil {
		h = &audit.Handler{Engine: audit.NewEngine(cfg, state.NewMemory()), Sink: audit.NewJSONLinesSink(out), Log: log}
	}
	var sum audit.Summary
	start, cpu0 := time.Now(), cpuTime()
	src := &sources{ctx: ctx}
	err := src.each(fl.Args(), func(name string, r io.Reader) error {
		sum.Files++
		if h == nil {
			n, err := cloudtrail.Stream(r, func(*cloudtrail.Record) error { return nil }, func(error) { sum.Malformed++ })
			sum.Records += n
			if errors.Is(err, cloudtrail.ErrMalformed) {
				fmt.Fprintf(stderr, "rotaudit: %s: %v (rest of file skipped)\n", name, err)
				return nil
			}
			return err
		}
		return h.StreamFile(ctx, name, r, &sum)
	})
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
		fmt.Fprintf(stderr, `{"mode":%q,"files":%d,"records":%d,"findings":%d,"malformed":%d,"wall_s":%.3f,"cpu_s":%.3f,"records_per_s":%.0f,"records_per_cpu_s":%.0f,"gomaxprocs":%d,"peak_rss_kib":%d}`+"\n",
			mode, sum.Files, sum.Records, sum.Findings, sum.Malformed, wall, cpu, float64(sum.Records)/wall, float64(sum.Records)/cpu, runtime.GOMAXPROCS(0), peakRSS())
	}
	return nil
}

func configDocument(file string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("-config: %w", err)
		}
		return b, nil
	}
	if doc := os.Getenv(audit.EnvConfig); doc != "" {
		return []byte(doc), nil
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

// sources opens every input in turn: local files, directories (walked in name order) and
// s3://bucket/prefix (every object under the prefix, in key order).
type sources struct {
	ctx context.Context
	s3  *s3.Client
}

func (s *sources) each(args []string, fn func(name string, r io.Reader) error) error {
	for _, a := range args {
		var err error
		if strings.HasPrefix(a, "s3://") {
			err = s.bucket(a, fn)
		} else {
			err = s.local(a, fn)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *sources) local(path string, fn func(string, io.Reader) error) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	var files []string
	if info.IsDir() {
		err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".gz") || strings.HasSuffix(p, ".jsonl")) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return err
		}
		sort.Strings(files)
	} else {
		files = []string{path}
	}
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = fn(p, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}

func (s *sources) bucket(url string, fn func(string, io.Reader) error) error {
	bucket, prefix, _ := strings.Cut(strings.TrimPrefix(url, "s3://"), "/")
	if bucket == "" {
		return fmt.Errorf("%q: want s3://bucket/prefix", url)
	}
	if s.s3 == nil {
		cfg, err := config.LoadDefaultConfig(s.ctx)
		if err != nil {
			return fmt.Errorf("aws config: %w", err)
		}
		// An emulator behind AWS_ENDPOINT_URL serves buckets by path, not by host name.
		pathStyle := os.Getenv("AWS_ENDPOINT_URL") != "" || os.Getenv("AWS_ENDPOINT_URL_S3") != ""
		s.s3 = s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.UsePathStyle = pathStyle
			// Emulators send no checksums; the SDK would log that for every object.
			o.DisableLogOutputChecksumValidationSkipped = pathStyle
		})
	}
	p := s3.NewListObjectsV2Paginator(s.s3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(s.ctx)
		if err != nil {
			return fmt.Errorf("list %s: %w", url, err)
		}
		for _, obj := range page.Contents {
			key := aws.ToString(obj.Key)
			out, err := s.s3.GetObject(s.ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			if err != nil {
				return fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
			}
			err = fn("s3://"+bucket+"/"+key, out.Body)
			out.Body.Close()
			if err != nil {
				return fmt.Errorf("s3://%s/%s: %w", bucket, key, err)
			}
		}
	}
	return nil
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
	if *verbose {
		opt.Log = stderr
	}
	return incident.Run(ctx, cfg, opt)
}

func auditCorpus(args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("audit corpus", flag.ContinueOnError)
	fl.SetOutput(stderr)
	dir := fl.String("out", "", "directory to write the gzip log files into (created)")
	files := fl.Int("files", 4, "number of files")
	records := fl.Int("records", 100000, "records per file")
	seed := fl.Uint64("seed", 1, "random seed")
	printConfig := fl.Bool("print-config", false, "print the audit configuration that matches the corpus and exit")
	benign := fl.Int("benign-days", 0, "instead of the mixed corpus, write N days of benign traffic only (API reads, four rotations, Terraform deploys) as one file")
	if err := fl.Parse(args); err != nil {
		return errUsage
	}
	if *printConfig {
		fmt.Fprintln(stdout, corpus.Config())
		return nil
	}
	if *dir == "" || *files < 1 || *records < 1 {
		fmt.Fprintln(stderr, "rotaudit audit corpus: -out is required; -files and -records must be positive")
		return errUsage
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	if *benign > 0 {
		p := filepath.Join(*dir, fmt.Sprintf("benign-%dd.json.gz", *benign))
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		err = corpus.WriteLogFile(f, func(emit corpus.Emit) error {
			_, err := corpus.New(*seed, emit).Benign(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), *benign)
			return err
		})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("benign corpus: %w", err)
		}
		fmt.Fprintln(stdout, p)
		return nil
	}
	paths, err := corpus.WriteMixed(*dir, *seed, *files, *records, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		return err
	}
	for _, p := range paths {
		fmt.Fprintln(stdout, p)
	}
	return nil
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
