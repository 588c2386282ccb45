package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/rotaudit/rotaudit/internal/audit"
	"github.com/rotaudit/rotaudit/internal/backfill"
)

// auditBackfill sends a trail bucket's log files to the auditor's backfill queue
// (internal/backfill), resuming where a run with the same flags stopped.
func auditBackfill(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("audit backfill", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var o backfill.Options
	fl.StringVar(&o.Bucket, "bucket", "", "the trail's S3 bucket (required)")
	fl.StringVar(&o.Prefix, "prefix", "AWSLogs/", "list only keys under this prefix (AWSLogs/o-ORG/ACCOUNT/ for one account of an organization trail)")
	fl.StringVar(&o.QueueURL, "queue", "", "URL of the auditor's backfill FIFO queue (terraform output backfill_queue_url; required)")
	from := fl.String("from", "", "first day of delivery to send, YYYY-MM-DD (UTC; default: the oldest file)")
	to := fl.String("to", "", "last day of delivery to send, YYYY-MM-DD (UTC, included; default: the newest file)")
	table := fl.String("table", os.Getenv(audit.EnvStateTable), "DynamoDB table that keeps the run's progress: the auditor's state table (default $"+audit.EnvStateTable+")")
	fl.BoolVar(&o.Restart, "restart", false, "forget the progress of an earlier run with the same flags and send everything again")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: rotaudit audit backfill -bucket BUCKET -queue URL [-prefix AWSLogs/...] [-from YYYY-MM-DD] [-to YYYY-MM-DD] [-table STATE_TABLE]\n\nSends one message per CloudTrail log file to the auditor's backfill FIFO queue, each stream's files\nin delivery order; the auditor Lambda reads the queue with bounded concurrency. Run it again with the\nsame flags to resume: it continues after the last file it sent. Prints what it did as JSON.")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return errUsage
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "rotaudit audit backfill: unexpected argument %q\n", fl.Arg(0))
		return errUsage
	}
	var err error
	if o.From, err = parseDay("-from", *from); err != nil {
		return err
	}
	if o.To, err = parseDay("-to", *to); err != nil {
		return err
	}
	if err := o.Validate(); err != nil {
		return err
	}
	if *table == "" {
		return fmt.Errorf("-table is empty and %s is not set: name the auditor's state table, where the run's progress is kept", audit.EnvStateTable)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("aws config: %w", err)
	}
	pathStyle := os.Getenv("AWS_ENDPOINT_URL") != "" || os.Getenv("AWS_ENDPOINT_URL_S3") != ""
	b := &backfill.Backfill{
		S3:       s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle }),
		SQS:      sqs.NewFromConfig(cfg),
		Progress: &backfill.DynamoProgress{API: dynamodb.NewFromConfig(cfg), Table: *table},
		Log:      slog.New(slog.NewJSONHandler(stderr, nil)),
	}
	start := time.Now()
	res, err := b.Run(ctx, o)
	out, _ := json.Marshal(struct {
		backfill.Result
		Seconds float64 `json:"seconds"`
	}{res, time.Since(start).Seconds()})
	fmt.Fprintln(stdout, string(out))
	if err != nil {
		return fmt.Errorf("backfill: %w", err)
	}
	return nil
}

// parseDay parses a YYYY-MM-DD flag value as that day's start in UTC; "" is the zero time.
func parseDay(flagName, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q: want a day as YYYY-MM-DD", flagName, v)
	}
	return t, nil
}
