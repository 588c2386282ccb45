// Command backfillbench is the AWS side of make bench-backfill (scripts/bench-backfill.sh):
// it puts a corpus of log files into a bucket of the emulator as an organization trail
// writes them (-upload), or runs one backfill of that bucket through an SQS FIFO queue to
// the real auditor behind N aws-lambda-rie workers fed by internal/testkit/esm, the
// stand-in for Lambda's event source mapping (-workers N), and prints what it measured as
// one JSON line. Benchmark support: no product links it.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/rotaudit/rotaudit/internal/audit"
	"github.com/rotaudit/rotaudit/internal/backfill"
	"github.com/rotaudit/rotaudit/internal/testkit/esm"
)

// account is the account of the trail the corpus is filed under.
const account = "111122223333"

// regions are the streams the corpus's files are spread over, file i in regions[i%streams].
var regions = []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-central-1", "ap-southeast-1",
	"ap-southeast-2", "ap-northeast-1", "ca-central-1", "sa-east-1", "eu-north-1", "ap-south-1", "eu-west-3", "ap-northeast-2"}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "backfillbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fl := flag.NewFlagSet("backfillbench", flag.ContinueOnError)
	bucket := fl.String("bucket", "", "the emulator's bucket of the corpus (required)")
	upload := fl.String("upload", "", "put this folder's log files into -bucket under AWSLogs/, spread over -streams regions, and stop")
	streams := fl.Int("streams", 8, "with -upload: number of account-region streams to spread the files over")
	workers := fl.Int("workers", 1, "aws-lambda-rie workers: the event source mapping's maximum concurrency")
	rie := fl.String("rie", "", "aws-lambda-rie binary")
	bootstrap := fl.String("bootstrap", "", "the auditor built as Lambda runs it")
	configFile := fl.String("config", "", "the audit configuration (AUDIT_CONFIG of the function)")
	timeout := fl.Duration("timeout", time.Hour, "give up after this long")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if err := backfill.ValidateBucket(*bucket); err != nil {
		return fmt.Errorf("-bucket: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	if os.Getenv("AWS_ENDPOINT_URL") == "" {
		return errors.New("AWS_ENDPOINT_URL is not set: the benchmark runs on the local emulator (eval \"$(scripts/stack.sh env)\")")
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle, o.DisableLogOutputChecksumValidationSkipped = true, true })
	if *upload != "" {
		if *streams < 1 || *streams > len(regions) {
			return fmt.Errorf("-streams %d: between 1 and %d", *streams, len(regions))
		}
		return uploadCorpus(ctx, s3c, *bucket, *upload, *streams, stdout)
	}
	if *workers < 1 || *rie == "" || *bootstrap == "" || *configFile == "" {
		return errors.New("-workers must be positive; -rie, -bootstrap and -config are required")
	}
	doc, err := os.ReadFile(*configFile)
	if err != nil {
		return err
	}
	return measure(ctx, cfg, s3c, *bucket, *workers, *rie, *bootstrap, string(doc), stdout)
}

// uploadCorpus files each log file as CloudTrail would: under its stream's folder and day,
// named with its delivery time. File i goes to stream i % streams, so each stream's files
// keep their order.
func uploadCorpus(ctx context.Context, s3c *s3.Client, bucket, dir string, streams int, stdout io.Writer) error {
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		var owned interface{ ErrorCode() string }
		if !errors.As(err, &owned) || (owned.ErrorCode() != "BucketAlreadyOwnedByYou" && owned.ErrorCode() != "BucketAlreadyExists") {
			return fmt.Errorf("create bucket %s: %w", bucket, err)
		}
	}
	names, err := filepath.Glob(filepath.Join(dir, "*_CloudTrail_*.json.gz"))
	if err != nil || len(names) == 0 {
		return fmt.Errorf("no log files in %s", dir)
	}
	sort.Strings(names)
	for i, p := range names {
		// ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_N.json.gz
		parts := strings.Split(filepath.Base(p), "_")
		stamp, err := time.Parse("20060102T1504Z", parts[3])
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		region := regions[i%streams]
		key := fmt.Sprintf("AWSLogs/o-benchmark01/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s", account, region, stamp.Format("2006/01/02"), account, region, parts[3], parts[4])
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		_, err = s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: f})
		f.Close()
		if err != nil {
			return fmt.Errorf("put %s: %w", key, err)
		}
	}
	fmt.Fprintf(stdout, "%d files in s3://%s/AWSLogs/ over %d streams\n", len(names), bucket, streams)
	return nil
}

// result is what one measured backfill prints.
type result struct {
	Workers int `json:"workers"`
	esm.Stats
	SendCalls      int     `json:"send_calls"`
	SendSeconds    float64 `json:"send_s"`
	DrainSeconds   float64 `json:"drain_s"`
	RecordsPerS    float64 `json:"records_per_s"`
	FunctionCPU    float64 `json:"function_cpu_s"`
	EmulatorCPU    float64 `json:"rie_cpu_s"`
	StartupSeconds float64 `json:"startup_s"`
	// ByRule counts the new findings (not updates) the function published, by rule.
	ByRule map[string]int `json:"by_rule"`
}

// counting counts the SendMessageBatch calls of the backfill.
type counting struct {
	*sqs.Client
	calls int
}

func (c *counting) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	c.calls++
	return c.Client.SendMessageBatch(ctx, in, opts...)
}

func measure(ctx context.Context, cfg aws.Config, s3c *s3.Client, bucket string, workers int, rie, bootstrap, auditConfig string, stdout io.Writer) error {
	ddb, sq, sn := dynamodb.NewFromConfig(cfg), sqs.NewFromConfig(cfg), sns.NewFromConfig(cfg)
	name := fmt.Sprintf("bench-backfill-%d-%d", workers, time.Now().UnixNano())
	// A fresh state table, topic and queue for each run: every run starts from no state, as
	// replay starts from an empty memory.
	if _, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}, {AttributeName: aws.String("sk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}, {AttributeName: aws.String("sk"), KeyType: ddbtypes.KeyTypeRange}},
	}); err != nil {
		return fmt.Errorf("create table: %w", err)
	}
	defer ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	topic, err := sn.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		return fmt.Errorf("create topic: %w", err)
	}
	defer sn.DeleteTopic(context.Background(), &sns.DeleteTopicInput{TopicArn: topic.TopicArn})
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + ".fifo"), Attributes: map[string]string{"FifoQueue": "true"}})
	if err != nil {
		return fmt.Errorf("create queue: %w", err)
	}
	defer sq.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: q.QueueUrl})
	// The findings, as the alert topic's subscribers get them.
	alerts, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-alerts")})
	if err != nil {
		return fmt.Errorf("create queue: %w", err)
	}
	defer sq.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: alerts.QueueUrl})
	alertAttrs, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: alerts.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return err
	}
	if _, err := sn.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(alertAttrs.Attributes["QueueArn"]),
		Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	attrs, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return err
	}

	res := result{Workers: workers}
	start := time.Now()
	var urls []string
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			stop(p)
		}
	}()
	// Lambda's longest timeout: the corpus's files are larger than most of a real trail's,
	// and a batch of ten of them on a busy machine takes minutes.
	env := append(os.Environ(), "AWS_LAMBDA_FUNCTION_TIMEOUT=900", "AUDIT_CONFIG="+auditConfig, "STATE_TABLE="+name, "ALERT_TOPIC_ARN="+aws.ToString(topic.TopicArn), "AUDIT_CONFIG_FILE=")
	for range workers {
		p, url, err := startRIE(rie, bootstrap, env)
		if err != nil {
			return err
		}
		procs = append(procs, p)
		urls = append(urls, url)
	}
	res.StartupSeconds = time.Since(start).Seconds()

	sender := &counting{Client: sq}
	b := &backfill.Backfill{S3: s3c, SQS: sender, Progress: &backfill.DynamoProgress{API: ddb, Table: name}, Log: slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	start = time.Now()
	sent, err := b.Run(ctx, backfill.Options{Bucket: bucket, Prefix: "AWSLogs/", QueueURL: aws.ToString(q.QueueUrl)})
	if err != nil {
		return err
	}
	res.SendSeconds, res.SendCalls = time.Since(start).Seconds(), sender.calls
	fmt.Fprintf(os.Stderr, "    sent %d files in %d groups in %.1fs; draining with %d workers\n", sent.Sent, sent.Groups, res.SendSeconds, workers)

	m := &esm.Mapping{SQS: sq, QueueURL: aws.ToString(q.QueueUrl), QueueARN: attrs.Attributes["QueueArn"], Region: cfg.Region, Invoke: urls, VisibilityTimeout: 15 * time.Minute}
	start = time.Now()
	st, err := m.Run(ctx, func(s esm.Stats) bool { return s.Deleted >= sent.Sent })
	res.DrainSeconds = time.Since(start).Seconds()
	if err != nil {
		return fmt.Errorf("drain: %w (%+v)", err, st)
	}
	res.Stats = st
	res.RecordsPerS = float64(st.Records) / res.DrainSeconds
	for _, p := range procs {
		fn, own := cpuSeconds(p.Process.Pid)
		res.FunctionCPU += fn
		res.EmulatorCPU += own
	}
	if res.ByRule, err = findingsByRule(ctx, sq, aws.ToString(alerts.QueueUrl)); err != nil {
		return err
	}
	out, _ := json.Marshal(res)
	fmt.Fprintln(stdout, string(out))
	return nil
}

// findingsByRule drains the alert queue and counts the new findings by rule.
func findingsByRule(ctx context.Context, sq *sqs.Client, url string) (map[string]int, error) {
	by := map[string]int{}
	for {
		out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
		if err != nil {
			return nil, fmt.Errorf("alerts: %w", err)
		}
		if len(out.Messages) == 0 {
			return by, nil
		}
		var del []sqstypes.DeleteMessageBatchRequestEntry
		for i, m := range out.Messages {
			var f audit.Finding
			if json.Unmarshal([]byte(aws.ToString(m.Body)), &f) == nil && !f.IsUpdate() {
				by[f.FindingInfo.Analytic.UID]++
			}
			del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: m.ReceiptHandle})
		}
		if _, err := sq.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: del}); err != nil {
			return nil, fmt.Errorf("alerts: %w", err)
		}
	}
}

// startRIE runs aws-lambda-rie with the bootstrap on free ports and waits until it listens.
func startRIE(rie, bootstrap string, env []string) (*exec.Cmd, string, error) {
	port, api := freePort(), freePort()
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", "127.0.0.1:"+strconv.Itoa(port), "--runtime-api-address", "127.0.0.1:"+strconv.Itoa(api), "--log-level", "error", bootstrap)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("start %s: %w", rie, err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 100*time.Millisecond)
		if err == nil {
			c.Close()
			return cmd, fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", port), nil
		}
		if time.Now().After(deadline) {
			stop(cmd)
			return nil, "", fmt.Errorf("aws-lambda-rie did not listen on %d within 30s", port)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// stop ends an emulator and its bootstrap (its process group).
func stop(cmd *exec.Cmd) {
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}
}

// cpuSeconds returns the CPU time of the emulator's children (the function) and of the
// emulator itself, from /proc.
func cpuSeconds(pid int) (children, self float64) {
	self = procCPU(pid)
	entries, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, e := range entries {
		b, err := os.ReadFile(e)
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			child, _ := strconv.Atoi(filepath.Base(filepath.Dir(e)))
			children += procCPU(child)
		}
	}
	return children, self
}

// procCPU is a process's user and system time in seconds (clock ticks of 1/100 s).
func procCPU(pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	fields := strings.Fields(line[strings.LastIndexByte(line, ')')+1:])
	if len(fields) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(fields[11], 64)
	st, _ := strconv.ParseFloat(fields[12], 64)
	return (ut + st) / 100
}
