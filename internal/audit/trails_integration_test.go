package audit_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ctapi "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/rotaudit/rotaudit/internal/audit"
	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
	"github.com/rotaudit/rotaudit/internal/audit/state"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// TestLearnTrailsWatchesEveryTrailBucket: with no trail in its configuration, the auditor
// lists the account's trails at start (Handler.LearnTrails, on the emulator's CloudTrail)
// and then reports a lifecycle that expires a trail's log files (RA-07) on the bucket of a
// trail it has never seen an event of; without the listing the same record is quiet.
func TestLearnTrailsWatchesEveryTrailBucket(t *testing.T) {
	env := testenv.Stack(t)
	env.SkipOn(t, testenv.LocalStack, "CloudTrail is not in LocalStack's free edition")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := env.AWS(t)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	ct := ctapi.NewFromConfig(cfg)

	bucket, trail := strings.ReplaceAll(testenv.Unique("trail-logs"), "_", "-"), testenv.Unique("org-trail")
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s3c.DeleteBucket(context.Background(), &s3.DeleteBucketInput{Bucket: aws.String(bucket)}) })
	if _, err := ct.CreateTrail(ctx, &ctapi.CreateTrailInput{Name: aws.String(trail), S3BucketName: aws.String(bucket), IsMultiRegionTrail: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ct.DeleteTrail(context.Background(), &ctapi.DeleteTrailInput{Name: aws.String(trail)}) })

	conf, err := audit.ParseConfig([]byte(`{"watched_secrets": [{"name_prefix": "rotaudit/local/"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	lifecycle := fmt.Sprintf(`{"Records": [{"eventVersion": "1.09", "eventTime": %q, "eventSource": "s3.amazonaws.com",
		"eventName": "PutBucketLifecycle", "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli/2.17.0",
		"userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/mallory", "accountId": "123456789012", "userName": "mallory"},
		"requestParameters": {"bucketName": %q, "LifecycleConfiguration": {"Rule": {"ID": "nuke", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}}}},
		"responseElements": null, "eventID": "lifecycle-1", "eventType": "AwsApiCall", "recipientAccountId": "123456789012"}]}`,
		time.Now().UTC().Format(time.RFC3339), bucket)
	rules := func(learn bool) []string {
		t.Helper()
		h := &audit.Handler{Engine: audit.NewEngine(conf, state.NewMemory()), Log: slog.New(slog.DiscardHandler)}
		if learn {
			h.Trails = ct
			buckets, err := h.LearnTrails(ctx, time.Now().UTC())
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(buckets, bucket) {
				t.Fatalf("learnt buckets %v, want %s among them", buckets, bucket)
			}
		}
		var got []string
		_, err := cloudtrail.Stream(bytes.NewReader([]byte(lifecycle)), func(rec *cloudtrail.Record) error {
			fs, err := h.Engine.Evaluate(ctx, rec)
			for _, f := range fs {
				got = append(got, f.FindingInfo.Analytic.UID)
			}
			return err
		}, func(err error) { t.Errorf("record: %v", err) })
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := rules(false); len(got) != 0 {
		t.Fatalf("without the trails listed: findings %v, want none (the bucket is unknown)", got)
	}
	if got := rules(true); !slices.Equal(got, []string{"RA-07"}) {
		t.Fatalf("with the trails listed: findings %v, want RA-07", got)
	}
}
