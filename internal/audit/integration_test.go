package audit_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/rotaudit/rotaudit/internal/audit"
	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
	"github.com/rotaudit/rotaudit/internal/audit/state"
	"github.com/rotaudit/rotaudit/internal/testenv"
	"github.com/rotaudit/rotaudit/internal/testkit/awsfixture"
)

// auditConfig watches the secret the incident touches.
const auditConfig = `{
  "watched_secrets": [{"name_prefix": "rotaudit/local/"}],
  "readers": ["arn:aws:iam::123456789012:role/rotaudit-api-task"],
  "rotators": ["arn:aws:iam::123456789012:role/rotaudit-rotator"],
  "learning_period": "1h"
}`

// ctEvent is one CloudTrail record as EventBridge would carry it.
type ctEvent struct {
	id, detailType string
	detail         map[string]any
	match          bool // the deployed patterns should let it through
}

func record(id, source, name string, who map[string]any, params any) map[string]any {
	return map[string]any{
		"eventVersion": "1.09", "userIdentity": who, "eventTime": time.Now().UTC().Format(time.RFC3339),
		"eventSource": source, "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.66",
		"userAgent": "aws-cli/2.17.0", "requestParameters": params, "responseElements": nil,
		"eventID": id, "eventType": "AwsApiCall", "recipientAccountId": "123456789012",
	}
}

func assumed(role string) map[string]any {
	return map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/" + role + "/s",
		"accountId": "123456789012", "sessionContext": map[string]any{"sessionIssuer": map[string]any{"type": "Role", "arn": "arn:aws:iam::123456789012:role/" + role}}}
}

// TestPipelineOnEmulator runs the deployed path on the emulator: the EventBridge patterns
// Terraform deploys route CloudTrail events to a queue (moto cannot target Lambda), the
// handler the Lambda runs reads them with its state in DynamoDB, and the findings arrive on
// a queue subscribed to the alert topic.
func TestPipelineOnEmulator(t *testing.T) {
	env := testenv.Stack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := env.AWS(t)
	ddb, eb, sq, sn := dynamodb.NewFromConfig(cfg), eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg), sns.NewFromConfig(cfg)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle, o.DisableLogOutputChecksumValidationSkipped = true, true })

	table := awsfixture.StateTable(t, ctx, ddb, "audit_state")
	ruleQueue, ruleQueueARN := awsfixture.Queue(t, ctx, sq, "audit_rule")
	alertQueue, alertQueueARN := awsfixture.Queue(t, ctx, sq, "audit_alerts")
	topic, err := sn.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(testenv.Unique("audit_alerts"))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sn.DeleteTopic(context.Background(), &sns.DeleteTopicInput{TopicArn: topic.TopicArn}) })
	if _, err := sn.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(alertQueueARN)}); err != nil {
		t.Fatal(err)
	}

	bus, _ := awsfixture.PatternBus(t, ctx, eb, env.Root, "audit_bus", ruleQueueARN)

	run := testenv.Unique("ev")
	stranger := assumed("contractor-ci")
	rotation := record(run+"-rotfail", "secretsmanager.amazonaws.com", "RotationFailed", map[string]any{"accountId": "123456789012", "invokedBy": "secretsmanager.amazonaws.com"}, nil)
	rotation["eventType"] = "AwsServiceEvent"
	rotation["errorMessage"] = "setSecret: alter role: permission denied"
	rotation["additionalEventData"] = map[string]any{"SecretId": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rotaudit/local/app-AbCdEf"}
	root := record(run+"-root", "signin.amazonaws.com", "ConsoleLogin", map[string]any{"type": "Root", "arn": "arn:aws:iam::123456789012:root", "accountId": "123456789012"}, nil)
	events := []ctEvent{
		{run + "-read1", "AWS API Call via CloudTrail", record(run+"-read1", "secretsmanager.amazonaws.com", "GetSecretValue", stranger, map[string]any{"secretId": "rotaudit/local/app"}), true},
		{run + "-read2", "AWS API Call via CloudTrail", record(run+"-read2", "secretsmanager.amazonaws.com", "GetSecretValue", stranger, map[string]any{"secretId": "rotaudit/local/app"}), true},
		{run + "-apiread", "AWS API Call via CloudTrail", record(run+"-apiread", "secretsmanager.amazonaws.com", "GetSecretValue", assumed("rotaudit-api-task"), map[string]any{"secretId": "rotaudit/local/app"}), true},
		{run + "-selectors", "AWS API Call via CloudTrail", record(run+"-selectors", "cloudtrail.amazonaws.com", "PutEventSelectors", stranger, map[string]any{"trailName": "rotaudit", "eventSelectors": []any{map[string]any{"readWriteType": "WriteOnly", "includeManagementEvents": true}}}), true},
		{run + "-rotfail", "AWS Service Event via CloudTrail", rotation, true},
		{run + "-iam", "AWS API Call via CloudTrail", record(run+"-iam", "iam.amazonaws.com", "PutRolePolicy", stranger, map[string]any{"roleName": "contractor-ci", "policyName": "x", "policyDocument": `{"Statement":[{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}]}`}), true},
		{run + "-root", "AWS Console Signin via CloudTrail", root, true},
		{run + "-s3", "AWS API Call via CloudTrail", record(run+"-s3", "s3.amazonaws.com", "GetObject", stranger, map[string]any{"bucketName": "b"}), false},
		{run + "-iamread", "AWS API Call via CloudTrail", record(run+"-iamread", "iam.amazonaws.com", "GetRole", stranger, map[string]any{"roleName": "x"}), false},
	}
	var entries []ebtypes.PutEventsRequestEntry
	for _, e := range events {
		d, _ := json.Marshal(e.detail)
		entries = append(entries, ebtypes.PutEventsRequestEntry{EventBusName: aws.String(bus), Source: aws.String("rotaudit.test"), DetailType: aws.String(e.detailType), Detail: aws.String(string(d))})
	}
	out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
	if err != nil {
		t.Fatalf("put events: %v", err)
	}
	if out.FailedEntryCount != 0 {
		t.Fatalf("put events: %v (failed %d)", err, out.FailedEntryCount)
	}

	wantDelivered := 0
	for _, e := range events {
		if e.match {
			wantDelivered++
		}
	}
	delivered := receive(t, ctx, sq, ruleQueue, wantDelivered, eventID)
	gotIDs := eventIDs(delivered)
	for _, e := range events {
		if slices.Contains(gotIDs, e.id) != e.match {
			t.Errorf("event %s: delivered=%v, pattern should deliver=%v", e.id, !e.match, e.match)
		}
	}

	// One Lambda invocation per delivered event (a fresh handler each time, as after a
	// cold start, so only DynamoDB carries state), the last two as one SQS batch.
	cfgDoc, err := audit.ParseConfig([]byte(auditConfig))
	if err != nil {
		t.Fatal(err)
	}
	newHandler := func() *audit.Handler {
		log := slog.New(slog.NewJSONHandler(testWriter{t}, nil))
		return &audit.Handler{
			Engine: audit.NewEngine(cfgDoc, state.NewDynamo(ddb, table)),
			S3:     s3c,
			Sink:   &audit.SNSSink{API: sn, Topic: aws.ToString(topic.TopicArn), Log: log},
			Log:    log,
		}
	}
	slices.Sort(delivered) // any order must do; sorting makes runs comparable
	for i, body := range delivered[:len(delivered)-2] {
		if _, err := newHandler().Handle(ctx, json.RawMessage(body)); err != nil {
			t.Fatalf("invocation %d: %v", i, err)
		}
	}
	batch, _ := json.Marshal(map[string]any{"Records": []any{
		map[string]any{"messageId": "m1", "eventSource": "aws:sqs", "body": delivered[len(delivered)-2]},
		map[string]any{"messageId": "m2", "eventSource": "aws:sqs", "body": delivered[len(delivered)-1]},
	}})
	if _, err := newHandler().Handle(ctx, batch); err != nil {
		t.Fatalf("sqs batch invocation: %v", err)
	}

	// A trail log file delivered to S3 and announced by an object-created notification.
	bucket := strings.ReplaceAll(testenv.Unique("audit-trail"), "_", "-")
	// In us-east-1 a retried CreateBucket is answered with success; elsewhere with
	// BucketAlreadyOwnedByYou, which CreateOnce checks with HeadBucket.
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
	key := "AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/26/log file.json.gz"
	logRec := record(run+"-s3log", "kms.amazonaws.com", "ScheduleKeyDeletion", stranger, map[string]any{"keyId": "k"})
	logRec2 := record(run+"-s3log2", "cloudtrail.amazonaws.com", "StopLogging", stranger, map[string]any{"name": "rotaudit"})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	json.NewEncoder(zw).Encode(map[string]any{"Records": []any{logRec, logRec2}})
	zw.Close()
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(gz.Bytes())}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s3c.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		s3c.DeleteBucket(context.Background(), &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
	})
	note := fmt.Sprintf(`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":%q},"object":{"key":%q}}}]}`, bucket, strings.ReplaceAll(key, " ", "+"))
	sum, err := newHandler().Handle(ctx, json.RawMessage(note))
	if err != nil || sum.Files != 1 || sum.Records != 2 {
		t.Fatalf("s3 notification: %+v, %v", sum, err)
	}
	// Replay reads the same file through the same S3 source, by listing the bucket's prefix.
	var replayed []string
	err = audit.EachLogFile(ctx, s3c, []string{"s3://" + bucket + "/AWSLogs/"}, func(name string, r io.Reader) error {
		n, err := cloudtrail.Stream(r, func(*cloudtrail.Record) error { return nil }, func(bad error) { t.Errorf("%s: %v", name, bad) })
		replayed = append(replayed, fmt.Sprintf("%s: %d records", name, n))
		return err
	})
	if want := []string{"s3://" + bucket + "/" + key + ": 2 records"}; err != nil || !slices.Equal(replayed, want) {
		t.Fatalf("replay of s3://%s/AWSLogs/: %q, %v; want %q", bucket, replayed, err, want)
	}

	// The subscriber queue must hold exactly these findings: the repeated read deduplicated
	// through DynamoDB into one update of the read's finding (count 2, both event ids), the
	// API's own read silent.
	want := map[string]string{
		"RA-01": run + "-read1", "RA-07": run + "-selectors", "RA-06": run + "-rotfail",
		"RA-11": run + "-iam", "RA-12": run + "-root",
	}
	wantS3 := map[string]string{"RA-07": run + "-s3log2"}
	alerts := receive(t, ctx, sq, alertQueue, len(want)+len(wantS3)+1, snsMessage)
	got := map[string][]string{}
	var updates []audit.Finding
	uids := map[string]string{}
	for _, body := range alerts {
		var n struct {
			Subject           string
			Message           string
			MessageAttributes map[string]struct{ Type, Value string }
		}
		if err := json.Unmarshal([]byte(body), &n); err != nil {
			t.Fatalf("not an SNS notification: %s", body)
		}
		var f audit.Finding
		if err := json.Unmarshal([]byte(n.Message), &f); err != nil {
			t.Fatalf("not a finding: %s", n.Message)
		}
		rule := f.FindingInfo.Analytic.UID
		if f.ClassUID != 2004 || n.MessageAttributes["rule_id"].Value != rule || n.MessageAttributes["severity"].Value != f.Severity || !strings.Contains(n.Subject, rule) {
			t.Errorf("alert %s: class %d, attributes %v, subject %q", rule, f.ClassUID, n.MessageAttributes, n.Subject)
		}
		if f.IsUpdate() {
			updates = append(updates, f)
			continue
		}
		uids[rule] = f.FindingInfo.UID
		got[rule] = append(got[rule], f.FindingInfo.RelatedEvents[0].UID)
	}
	if len(updates) != 1 || updates[0].FindingInfo.Analytic.UID != "RA-01" || updates[0].Count != 2 ||
		updates[0].FindingInfo.UID != uids["RA-01"] || len(updates[0].FindingInfo.RelatedEvents) != 2 {
		t.Errorf("want one update of the RA-01 finding with count 2 and both reads, got %+v", updates)
	}
	for rule, id := range want {
		ids := got[rule]
		if s3id, ok := wantS3[rule]; ok {
			if !slices.Contains(ids, s3id) {
				t.Errorf("%s: no finding for the S3-delivered event %s (got %v)", rule, s3id, ids)
			}
			ids = slices.DeleteFunc(slices.Clone(ids), func(s string) bool { return s == s3id })
		}
		if rule == "RA-01" && len(ids) == 1 && ids[0] == run+"-read2" {
			continue // the two reads may be handled in either order; one alert either way
		}
		if len(ids) != 1 || ids[0] != id {
			t.Errorf("%s: findings rest on %v, want exactly [%s]", rule, ids, id)
		}
	}
	if extra := receive(t, ctx, sq, alertQueue, 0, snsMessage); len(extra) != 0 {
		t.Errorf("%d unexpected extra alerts: %v", len(extra), extra)
	}

	// Dedup keys live in the table with the contract's ttl attribute.
	scan, err := ddb.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	dedup := 0
	for _, it := range scan.Items {
		pk := it["pk"].(*ddbtypes.AttributeValueMemberS).Value
		if _, ok := it["ttl"].(*ddbtypes.AttributeValueMemberN); strings.HasPrefix(pk, "dedup|") && ok {
			dedup++
		}
	}
	if dedup < len(want) {
		t.Errorf("only %d dedup items with a ttl in the state table", dedup)
	}
}

// TestDynamoStoreOnEmulator checks the store's semantics on the emulator's DynamoDB,
// including that an item whose ttl has passed counts as absent (DynamoDB deletes expired
// items late, emulators never).
func TestDynamoStoreOnEmulator(t *testing.T) {
	env := testenv.Stack(t)
	ctx := context.Background()
	ddb := dynamodb.NewFromConfig(env.AWS(t))
	st := state.NewDynamo(ddb, awsfixture.StateTable(t, ctx, ddb, "audit_state"))
	t0 := time.Now().Truncate(time.Second)

	fresh, _, err := st.Remember(ctx, "k", t0, t0.Add(time.Hour))
	if err != nil || !fresh {
		t.Fatalf("first remember: %v %v", fresh, err)
	}
	fresh, first, err := st.Remember(ctx, "k", t0.Add(time.Minute), t0.Add(time.Hour))
	if err != nil || fresh || !first.Equal(t0) {
		t.Fatalf("second remember: fresh=%v first=%v err=%v", fresh, first, err)
	}
	fresh, _, err = st.Remember(ctx, "k", t0.Add(2*time.Hour), t0.Add(3*time.Hour))
	if err != nil || !fresh {
		t.Fatalf("remember after expiry: fresh=%v err=%v, want fresh", fresh, err)
	}
	// Refresh: a used entry lives on past its first expiry; an unused one still expires.
	if fresh, _, err := st.Refresh(ctx, "r", t0, t0.Add(time.Hour)); err != nil || !fresh {
		t.Fatalf("first refresh: %v %v", fresh, err)
	}
	if fresh, first, err := st.Refresh(ctx, "r", t0.Add(50*time.Minute), t0.Add(110*time.Minute)); err != nil || fresh || !first.Equal(t0) {
		t.Fatalf("refresh while live: fresh=%v first=%v err=%v", fresh, first, err)
	}
	if fresh, _, err := st.Refresh(ctx, "r", t0.Add(100*time.Minute), t0.Add(160*time.Minute)); err != nil || fresh {
		t.Fatalf("refresh after the first expiry of a used entry: fresh=%v err=%v, want known", fresh, err)
	}
	if fresh, _, err := st.Refresh(ctx, "r", t0.Add(170*time.Minute), t0.Add(230*time.Minute)); err != nil || !fresh {
		t.Fatalf("refresh after the entry went unused past its expiry: fresh=%v err=%v, want fresh", fresh, err)
	}
	for i, m := range []string{"a", "b", "a", "c"} {
		now := t0.Add(time.Duration(i) * time.Minute)
		n, err := st.Count(ctx, "set", m, now, now.Add(-10*time.Minute), now.Add(10*time.Minute))
		if want := []int{1, 2, 2, 3}[i]; err != nil || n != want {
			t.Fatalf("count step %d: %d %v, want %d", i, n, err, want)
		}
	}
	if _, found, err := st.Swap(ctx, "sw", "v1", t0, t0.Add(time.Hour)); err != nil || found {
		t.Fatalf("first swap: %v %v", found, err)
	}
	if old, found, err := st.Swap(ctx, "sw", "v2", t0, t0.Add(time.Hour)); err != nil || !found || old != "v1" {
		t.Fatalf("second swap: %q %v %v", old, found, err)
	}
	if _, found, err := st.Swap(ctx, "sw", "v3", t0.Add(2*time.Hour), t0.Add(3*time.Hour)); err != nil || found {
		t.Fatalf("swap after expiry returned the old value: %v %v", found, err)
	}
}

// eventIDs returns the CloudTrail event id of each EventBridge event that a rule delivered
// to a queue, in order.
func eventIDs(bodies []string) []string {
	ids := make([]string, 0, len(bodies))
	for _, body := range bodies {
		ids = append(ids, eventID(body))
	}
	return ids
}

// eventID is the CloudTrail event id in an EventBridge event a rule delivered.
func eventID(body string) string {
	var ev struct {
		Detail struct {
			EventID string `json:"eventID"`
		} `json:"detail"`
	}
	json.Unmarshal([]byte(body), &ev)
	return ev.Detail.EventID
}

// snsMessage is the message an SNS notification delivered to a queue carries.
func snsMessage(body string) string {
	var n struct{ Message string }
	json.Unmarshal([]byte(body), &n)
	return n.Message
}

// receive collects message bodies until want distinct ones have arrived or 45 seconds
// pass; want 0 means "collect whatever arrives within two seconds". Bodies with the same
// key count once: EventBridge and SNS deliver at least once, and a PutEvents or Publish
// that the SDK sent again after a lost answer delivers its messages twice.
func receive(t *testing.T, ctx context.Context, sq *sqs.Client, url string, want int, key func(body string) string) []string {
	t.Helper()
	var bodies []string
	seen := map[string]bool{}
	deadline := time.Now().Add(45 * time.Second) // generous: the shared emulator can be slow under load
	if want == 0 {
		deadline = time.Now().Add(2 * time.Second)
	}
	for time.Now().Before(deadline) && (want == 0 || len(bodies) < want) {
		out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			sq.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
			body := aws.ToString(m.Body)
			k := key(body)
			if seen[k] {
				t.Logf("queue %s: a second delivery of %.80s", url, k)
				continue
			}
			seen[k] = true
			bodies = append(bodies, body)
		}
	}
	if want > 0 && len(bodies) < want {
		t.Fatalf("queue %s: %d messages arrived, want %d", url, len(bodies), want)
	}
	return bodies
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}
