package backfill_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/rotaudit/rotaudit/internal/audit"
	"github.com/rotaudit/rotaudit/internal/audit/state"
	"github.com/rotaudit/rotaudit/internal/backfill"
	"github.com/rotaudit/rotaudit/internal/rotation/rotationtest"
	"github.com/rotaudit/rotaudit/internal/testenv"
	"github.com/rotaudit/rotaudit/internal/testkit/awsfixture"
	"github.com/rotaudit/rotaudit/internal/testkit/esm"
)

// The audit configuration of the test: learning off, so that the first reads alert.
const auditConfig = `{
  "watched_secrets": [{"name_prefix": "rotaudit/bf/"}],
  "readers": ["arn:aws:iam::123456789012:role/rotaudit-api-task"],
  "rotators": ["arn:aws:iam::123456789012:role/rotaudit-rotator"],
  "learning_period": "0s"
}`

const account = "123456789012"

func record(id string, at time.Time, region, source, name string, who map[string]any, params any) map[string]any {
	return map[string]any{
		"eventVersion": "1.09", "userIdentity": who, "eventTime": at.Format(time.RFC3339),
		"eventSource": source, "eventName": name, "awsRegion": region, "sourceIPAddress": "203.0.113.66",
		"userAgent": "aws-cli/2.17.0", "requestParameters": params, "responseElements": nil,
		"eventID": id, "eventType": "AwsApiCall", "recipientAccountId": account,
	}
}

func assumed(role string) map[string]any {
	return map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::" + account + ":assumed-role/" + role + "/s",
		"accountId": account, "sessionContext": map[string]any{"sessionIssuer": map[string]any{"type": "Role", "arn": "arn:aws:iam::" + account + ":role/" + role}}}
}

// trailFiles writes a small organization trail: two streams (regions) of six five-minute
// files each. Each stream has its own intruder reading its own secret again and again
// (a finding, then updates whose counts depend on the order), the API's reads (silent),
// and a StopLogging; one stream has a root sign-in. Nothing of one stream's state is
// another's, as a secret's events are all in its region's stream: then the order between
// streams, which the backfill does not keep, cannot change the findings.
func trailFiles(run string) map[string][]byte {
	files := map[string][]byte{}
	day := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	for _, region := range []string{"us-east-1", "eu-west-1"} {
		intruder := assumed("contractor-" + region)
		secret := "rotaudit/bf/app-" + region
		for f := range 6 {
			at := day.Add(time.Duration(f*5) * time.Minute)
			var recs []any
			for i := range 4 {
				t := at.Add(time.Duration(i) * time.Minute)
				id := fmt.Sprintf("%s-%s-%d-%d", run, region, f, i)
				recs = append(recs,
					record(id+"-read", t, region, "secretsmanager.amazonaws.com", "GetSecretValue", intruder, map[string]any{"secretId": secret}),
					record(id+"-api", t.Add(time.Second), region, "secretsmanager.amazonaws.com", "GetSecretValue", assumed("rotaudit-api-task"), map[string]any{"secretId": secret}),
					record(id+"-s3", t.Add(2*time.Second), region, "s3.amazonaws.com", "GetObject", intruder, map[string]any{"bucketName": "b"}))
			}
			if f == 3 {
				recs = append(recs, record(fmt.Sprintf("%s-%s-stop", run, region), at.Add(4*time.Minute), region, "cloudtrail.amazonaws.com", "StopLogging", intruder, map[string]any{"name": "trail-" + region}))
			}
			if f == 4 && region == "eu-west-1" {
				root := record(run+"-root", at.Add(4*time.Minute), region, "signin.amazonaws.com", "ConsoleLogin", map[string]any{"type": "Root", "arn": "arn:aws:iam::" + account + ":root", "accountId": account}, nil)
				recs = append(recs, root)
			}
			var gz bytes.Buffer
			zw := gzip.NewWriter(&gz)
			json.NewEncoder(zw).Encode(map[string]any{"Records": recs})
			zw.Close()
			delivered := at.Add(5 * time.Minute)
			key := fmt.Sprintf("AWSLogs/o-abcdef1234/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s%d.json.gz",
				account, region, delivered.Format("2006/01/02"), account, region, delivered.Format("20060102T1504Z"), "r", f)
			files[key] = gz.Bytes()
		}
	}
	return files
}

// finding is what the comparison looks at: the rule, whether it is an update and its
// count, and the events it rests on.
func findingKey(f *audit.Finding) string {
	var ids []string
	for _, e := range f.FindingInfo.RelatedEvents {
		ids = append(ids, e.UID)
	}
	return fmt.Sprintf("%s update=%v count=%d events=%s", f.FindingInfo.Analytic.UID, f.IsUpdate(), f.Count, strings.Join(ids, ","))
}

// interrupting sends through the real queue and cancels the run after its first batch:
// an operator's Ctrl-C. It counts every entry SQS accepted.
type interrupting struct {
	api    *sqs.Client
	cancel context.CancelFunc
	sent   *[]string
	batch  int
}

func (i *interrupting) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	out, err := i.api.SendMessageBatch(ctx, in, opts...)
	if err == nil {
		for _, e := range in.Entries {
			*i.sent = append(*i.sent, aws.ToString(e.MessageDeduplicationId))
		}
	}
	if i.batch++; i.batch == 1 && i.cancel != nil {
		i.cancel()
	}
	return out, err
}

// TestBackfillOnEmulator runs the backfill as deployed, on the emulator: the command's
// listing and sends into an SQS FIFO queue (interrupted after its first batch, then
// resumed), the real auditor function behind two aws-lambda-rie workers fed by the stand-in
// for the event source mapping, state in DynamoDB, findings on SNS. The findings must be
// those of audit replay over the same files, and no file may be sent twice.
func TestBackfillOnEmulator(t *testing.T) {
	env := testenv.Stack(t)
	ctx, cancelAll := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancelAll()
	cfg := env.AWS(t)
	ddb, sq, sn := dynamodb.NewFromConfig(cfg), sqs.NewFromConfig(cfg), sns.NewFromConfig(cfg)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle, o.DisableLogOutputChecksumValidationSkipped = true, true })
	rie := rotationtest.RIE(t)
	bin := rotationtest.BuildFunction(t, "auditor")

	run := testenv.Unique("bf")
	bucket := strings.ReplaceAll(run, "_", "-")
	if _, err := testenv.CreateOnce(ctx, bucket,
		func(ctx context.Context) (*s3.CreateBucketOutput, error) {
			return s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
		},
		func(ctx context.Context) (*s3.CreateBucketOutput, error) {
			_, err := s3c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
			return &s3.CreateBucketOutput{}, err
		}); err != nil {
		t.Fatal(err)
	}
	files := trailFiles(run)
	for key, body := range files {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	digest := "AWSLogs/o-abcdef1234/" + account + "/CloudTrail-Digest/us-east-1/2026/11/20/" + account + "_CloudTrail-Digest_us-east-1_t_us-east-1_20261120T1300Z.json.gz"
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(digest), Body: strings.NewReader("{}")}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for key := range files {
			s3c.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		}
		s3c.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(digest)})
		s3c.DeleteBucket(context.Background(), &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	})

	// audit replay over the bucket: the reference.
	conf, err := audit.ParseConfig([]byte(auditConfig))
	if err != nil {
		t.Fatal(err)
	}
	var replayed bytes.Buffer
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	h := &audit.Handler{Engine: audit.NewEngine(conf, state.NewMemory()), Sink: audit.NewJSONLinesSink(&replayed), Log: quiet}
	var sum audit.Summary
	if err := h.Replay(ctx, []audit.Source{h.CloudTrailSource(ctx, s3c, "s3://"+bucket+"/AWSLogs/", &sum)}, &sum); err != nil {
		t.Fatalf("replay: %v", err)
	}
	var want []string
	for line := range strings.Lines(replayed.String()) {
		var f audit.Finding
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatal(err)
		}
		want = append(want, findingKey(&f))
	}
	sort.Strings(want)
	if sum.Files != 12 || len(want) < 6 || !slices.ContainsFunc(want, func(s string) bool { return strings.Contains(s, "update=true") }) {
		t.Fatalf("replay read %d files and found %v: the fixture should give findings and updates", sum.Files, want)
	}

	// The deployment's pieces: state table, alert topic and a queue subscribed to it, the
	// backfill FIFO queue.
	table := awsfixture.StateTable(t, ctx, ddb, "bf_state")
	alerts, alertsARN := awsfixture.Queue(t, ctx, sq, "bf_alerts")
	topic, err := sn.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(testenv.Unique("bf_alerts"))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sn.DeleteTopic(context.Background(), &sns.DeleteTopicInput{TopicArn: topic.TopicArn}) })
	if _, err := sn.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(alertsARN),
		Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
		t.Fatal(err)
	}
	queue, queueARN := awsfixture.FIFOQueue(t, ctx, sq, "bf_backfill")

	// The backfill, interrupted after its first batch of ten, then run again.
	opts := backfill.Options{Bucket: bucket, Prefix: "AWSLogs/", QueueURL: queue}
	progress := &backfill.DynamoProgress{API: ddb, Table: table}
	var sent []string
	first, cancelFirst := context.WithCancel(ctx)
	b := &backfill.Backfill{S3: s3c, SQS: &interrupting{api: sq, cancel: cancelFirst, sent: &sent}, Progress: progress, Log: quiet}
	res, err := b.Run(first, opts)
	if err == nil || len(sent) != 10 || res.Sent != 10 || res.NotLogFiles != 1 {
		t.Fatalf("interrupted run: %+v, %v; SQS accepted %d", res, err, len(sent))
	}
	b.SQS = &interrupting{api: sq, sent: &sent}
	res, err = b.Run(ctx, opts)
	if err != nil || res.ResumedAfter == "" || res.Sent != 2 {
		t.Fatalf("resumed run: %+v, %v", res, err)
	}
	if res, err = b.Run(ctx, opts); err != nil || res.Sent != 0 {
		t.Fatalf("a third run: %+v, %v", res, err)
	}
	if dup := duplicates(sent); len(sent) != 12 || len(dup) > 0 {
		t.Fatalf("the runs sent %d messages for 12 files; sent twice: %v", len(sent), dup)
	}

	// The auditor behind two emulators, fed as the event source mapping feeds it.
	extra := []string{audit.EnvConfig + "=" + auditConfig, audit.EnvStateTable + "=" + table, audit.EnvAlertTopic + "=" + aws.ToString(topic.TopicArn)}
	var workers []*rotationtest.Emulator
	for range 2 {
		workers = append(workers, rotationtest.StartRIE(t, rie, bin, extra...))
	}
	m := &esm.Mapping{SQS: sq, QueueURL: queue, QueueARN: queueARN, Region: cfg.Region}
	for _, w := range workers {
		m.Invoke = append(m.Invoke, w.URL)
	}
	st, err := m.Run(ctx, func(s esm.Stats) bool { return s.Deleted >= 12 })
	if err != nil || st.Deleted != 12 || st.Failed != 0 || st.Files != 12 || st.Records != sum.Records {
		t.Fatalf("event source mapping: %+v, %v (replay read %d records)\nworker output:\n%s\n%s", st, err, sum.Records, workers[0].Out.String(), workers[1].Out.String())
	}

	// The alerts are replay's findings, no more.
	var got []string
	deadline := time.Now().Add(time.Minute) // a bound, not a wait: it ends when all arrived
	for len(got) < len(want) && time.Now().Before(deadline) {
		got = append(got, receiveFindings(t, ctx, sq, alerts)...)
	}
	got = append(got, receiveFindings(t, ctx, sq, alerts)...) // anything extra
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Fatalf("backfill findings differ from replay's:\nbackfill %q\nreplay   %q", got, want)
	}
	t.Logf("%d findings, as replay's; %d invocations on 2 workers", len(got), st.Invocations)
}

func duplicates(ids []string) []string {
	seen := map[string]bool{}
	var dup []string
	for _, id := range ids {
		if seen[id] {
			dup = append(dup, id)
		}
		seen[id] = true
	}
	return dup
}

// receiveFindings takes what one receive returns from the alert queue.
func receiveFindings(t *testing.T, ctx context.Context, sq *sqs.Client, url string) []string {
	t.Helper()
	out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	var del []sqstypes.DeleteMessageBatchRequestEntry
	for i, msg := range out.Messages {
		var f audit.Finding
		if err := json.Unmarshal([]byte(aws.ToString(msg.Body)), &f); err != nil {
			t.Fatalf("not a finding: %s", aws.ToString(msg.Body))
		}
		keys = append(keys, findingKey(&f))
		del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: msg.ReceiptHandle})
	}
	if len(del) > 0 {
		sq.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: del})
	}
	return keys
}
