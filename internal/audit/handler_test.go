package audit

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/rotaudit/rotaudit/internal/audit/state"
)

type fakeSNS struct {
	publish func(*sns.PublishInput) (*sns.PublishOutput, error)
}

func (f *fakeSNS) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	return f.publish(in)
}

type fakeS3 struct {
	get  func(*s3.GetObjectInput) (*s3.GetObjectOutput, error)
	list func(*s3.ListObjectsV2Input) (*s3.ListObjectsV2Output, error)
}

func (f *fakeS3) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	return f.list(in)
}

func (f *fakeS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return f.get(in)
}

const intruderEvent = `{"version":"0","id":"e-1","detail-type":"AWS API Call via CloudTrail","source":"aws.secretsmanager","detail":
{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/intruder/x","sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::111122223333:role/intruder"}}},
"eventTime":"2026-11-20T12:00:00Z","eventSource":"secretsmanager.amazonaws.com","eventName":"GetSecretValue","sourceIPAddress":"203.0.113.9",
"requestParameters":{"secretId":"rotaudit/prod/app"},"eventID":"ev-intruder","recipientAccountId":"111122223333"}}`

func newTestHandler(t *testing.T, pub func(*sns.PublishInput) (*sns.PublishOutput, error), get func(*s3.GetObjectInput) (*s3.GetObjectOutput, error)) *Handler {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	return &Handler{
		Engine: NewEngine(testConfig(t), state.NewMemory()),
		S3:     &fakeS3{get: get},
		Sink:   &SNSSink{API: &fakeSNS{publish: pub}, Topic: "arn:aws:sns:eu-west-1:111122223333:alerts", Log: log},
		Log:    log,
	}
}

func TestHandlerPublishesWithAttributes(t *testing.T) {
	var got []*sns.PublishInput
	h := newTestHandler(t, func(in *sns.PublishInput) (*sns.PublishOutput, error) {
		got = append(got, in)
		return &sns.PublishOutput{MessageId: aws.String("m-1")}, nil
	}, nil)
	sum, err := h.Handle(context.Background(), json.RawMessage(intruderEvent))
	if err != nil || sum.Records != 1 || sum.Findings != 1 {
		t.Fatalf("summary %+v, err %v", sum, err)
	}
	in := got[0]
	if v := aws.ToString(in.MessageAttributes["severity"].StringValue); v != "High" {
		t.Errorf("severity attribute %q", v)
	}
	if v := aws.ToString(in.MessageAttributes["rule_id"].StringValue); v != "RA-01" {
		t.Errorf("rule_id attribute %q", v)
	}
	if s := aws.ToString(in.Subject); !strings.HasPrefix(s, "[HIGH] RA-01 ") || len(s) > 100 {
		t.Errorf("subject %q", s)
	}
	var f Finding
	if err := json.Unmarshal([]byte(aws.ToString(in.Message)), &f); err != nil || f.FindingInfo.RelatedEvents[0].UID != "ev-intruder" {
		t.Errorf("message is not the finding on ev-intruder: %v %s", err, aws.ToString(in.Message))
	}
}

func TestHandlerRetriesAlertAfterPublishFailure(t *testing.T) {
	fail := true
	sent := 0
	h := newTestHandler(t, func(*sns.PublishInput) (*sns.PublishOutput, error) {
		if fail {
			return nil, errors.New("throttled")
		}
		sent++
		return &sns.PublishOutput{}, nil
	}, nil)
	if _, err := h.Handle(context.Background(), json.RawMessage(intruderEvent)); err == nil {
		t.Fatal("a failed publish must fail the invocation so Lambda retries it")
	}
	fail = false
	if _, err := h.Handle(context.Background(), json.RawMessage(intruderEvent)); err != nil {
		t.Fatal(err)
	}
	if sent != 1 {
		t.Fatalf("the retry sent %d alerts, want 1 (dedup must not swallow an alert never sent)", sent)
	}
	if _, err := h.Handle(context.Background(), json.RawMessage(intruderEvent)); err != nil || sent != 1 {
		t.Fatalf("a repeat after success sent again: %d, %v", sent, err)
	}
}

func TestHandlerMalformedIsNotRetried(t *testing.T) {
	h := newTestHandler(t, func(*sns.PublishInput) (*sns.PublishOutput, error) {
		t.Fatal("nothing should be published")
		return nil, nil
	}, nil)
	for _, in := range []string{`not json`, `{"detail-type":"Scheduled Event","detail":{}}`, `{"detail-type":"AWS API Call via CloudTrail","detail":{"eventName":1}}`} {
		sum, err := h.Handle(context.Background(), json.RawMessage(in))
		if err != nil || sum.Malformed != 1 {
			t.Errorf("%s: summary %+v, err %v (malformed input is logged and dropped)", in, sum, err)
		}
	}
}

func TestHandlerStreamsS3LogFiles(t *testing.T) {
	trail, err := os.ReadFile("cloudtrail/testdata/trail-log.json")
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(trail)
	zw.Close()
	published := 0
	pub := func(*sns.PublishInput) (*sns.PublishOutput, error) { published++; return &sns.PublishOutput{}, nil }
	var asked string
	h := newTestHandler(t, pub, func(in *s3.GetObjectInput) (*s3.GetObjectOutput, error) {
		asked = aws.ToString(in.Bucket) + "/" + aws.ToString(in.Key)
		return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(gz.Bytes()))}, nil
	})
	note, _ := os.ReadFile("cloudtrail/testdata/s3-notification.json")
	sum, err := h.Handle(context.Background(), note)
	if err != nil || sum.Files != 1 || sum.Records != 3 {
		t.Fatalf("summary %+v, err %v", sum, err)
	}
	if !strings.HasSuffix(asked, "file one.json.gz") || published != sum.Findings || published == 0 {
		t.Errorf("asked for %q, published %d of %d findings", asked, published, sum.Findings)
	}

	h = newTestHandler(t, pub, func(*s3.GetObjectInput) (*s3.GetObjectOutput, error) { return nil, errors.New("slow down") })
	if _, err := h.Handle(context.Background(), note); err == nil {
		t.Error("an S3 failure must fail the invocation so Lambda retries it")
	}
}

// TestHandlerLogSubscription: a CloudWatch Logs delivery of PostgreSQL's log is read by the
// DB-xx rules; a broken one is logged and skipped, not retried.
func TestHandlerLogSubscription(t *testing.T) {
	var subjects []string
	h := newTestHandler(t, func(in *sns.PublishInput) (*sns.PublishOutput, error) {
		subjects = append(subjects, aws.ToString(in.Subject))
		return &sns.PublishOutput{}, nil
	}, nil)
	lines := []string{
		"2026-11-20 09:00:00 UTC:203.0.113.9(4000):[unknown]@[unknown]:[77]:LOG:  connection received: host=203.0.113.9 port=4000",
		"2026-11-20 09:00:00 UTC:203.0.113.9(4000):backup_ro@rates:[77]:LOG:  connection authorized: user=backup_ro database=rates",
	}
	var events []map[string]any
	for i, l := range lines {
		events = append(events, map[string]any{"id": fmt.Sprint(i), "timestamp": 1763629200000, "message": l})
	}
	body, _ := json.Marshal(map[string]any{"messageType": "DATA_MESSAGE", "logGroup": "/aws/rds/instance/rotaudit-prod/postgresql", "logEvents": events})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(body)
	zw.Close()
	raw, _ := json.Marshal(map[string]any{"awslogs": map[string]string{"data": base64.StdEncoding.EncodeToString(gz.Bytes())}})
	sum, err := h.Handle(context.Background(), raw)
	if err != nil || sum.Records != 1 || sum.Findings != 2 {
		t.Fatalf("summary %+v, err %v", sum, err)
	}
	// An unknown role (DB-05) from outside the client subnets (DB-02).
	if len(subjects) != 2 || !strings.Contains(subjects[0], "DB-02") || !strings.Contains(subjects[1], "DB-05") {
		t.Errorf("alerts %q", subjects)
	}
	sum, err = h.Handle(context.Background(), json.RawMessage(`{"awslogs":{"data":"not base64!"}}`))
	if err != nil || sum.Malformed != 1 {
		t.Errorf("broken delivery: %+v, %v", sum, err)
	}
}

// TestDeliveryTeachesTrailBucket: with nothing configured but the secrets, a bucket that
// trail log files are read from is a trail's bucket, and deleting it is reported.
func TestDeliveryTeachesTrailBucket(t *testing.T) {
	cfg, err := ParseConfig([]byte(`{"watched_secrets": [{"arn": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:rotaudit/prod/app-AbCdEf"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	h := &Handler{Engine: NewEngine(cfg, state.NewMemory()), Sink: NewJSONLinesSink(&out), Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	ctx := context.Background()
	const prefix = "s3://acme-trail-logs/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/20/111122223333_CloudTrail_eu-west-1_20261120T"
	delivery := `{"Records":[{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/batch/i-1","sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::111122223333:role/batch"}}},
"eventTime":"2026-11-20T08:55:00Z","eventSource":"sqs.amazonaws.com","eventName":"SendMessage","sourceIPAddress":"10.0.3.4","eventID":"d1","recipientAccountId":"111122223333"}]}`
	deleted := `{"Records":[{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/mallory","accountId":"111122223333","userName":"mallory"},
"eventTime":"2026-11-20T09:05:00Z","eventSource":"s3.amazonaws.com","eventName":"DeleteBucket","sourceIPAddress":"203.0.113.7","userAgent":"[aws-cli/2.15.0]",
"requestParameters":{"bucketName":"acme-trail-logs","Host":"acme-trail-logs.s3.eu-west-1.amazonaws.com"},"eventID":"d2","eventType":"AwsApiCall","recipientAccountId":"111122223333"}]}`
	var sum Summary
	for i, f := range []string{delivery, deleted} {
		if err := h.StreamFile(ctx, fmt.Sprintf("%s09%02dZ_x%d.json.gz", prefix, i*5, i), strings.NewReader(f), &sum); err != nil {
			t.Fatal(err)
		}
	}
	if sum.Findings != 1 || !strings.Contains(out.String(), `"uid":"RA-07"`) || !strings.Contains(out.String(), `"severity":"Critical"`) {
		t.Fatalf("findings %d: %s", sum.Findings, out.String())
	}
}
