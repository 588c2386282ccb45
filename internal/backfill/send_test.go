package backfill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

type fakeS3 struct {
	list func(in *s3.ListObjectsV2Input) (*s3.ListObjectsV2Output, error)
}

func (f fakeS3) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	return f.list(in)
}

type fakeSQS struct {
	send func(in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error)
}

func (f fakeSQS) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	return f.send(in)
}

type fakeProgress struct {
	load  func(run string) (Mark, error)
	save  func(run string, m Mark) error
	reset func(run string) error
}

func (f fakeProgress) Load(_ context.Context, run string) (Mark, error) { return f.load(run) }
func (f fakeProgress) Save(_ context.Context, run string, m Mark) error { return f.save(run, m) }
func (f fakeProgress) Reset(_ context.Context, run string) error        { return f.reset(run) }

// bucket lists keys as S3 does: in key order, from StartAfter, pageSize at a time.
func bucket(keys []string, pageSize int) fakeS3 {
	sorted := slices.Clone(keys)
	sort.Strings(sorted)
	return fakeS3{list: func(in *s3.ListObjectsV2Input) (*s3.ListObjectsV2Output, error) {
		var page []s3types.Object
		after := aws.ToString(in.StartAfter)
		if tok := aws.ToString(in.ContinuationToken); tok != "" {
			after = tok
		}
		for _, k := range sorted {
			if k > after && strings.HasPrefix(k, aws.ToString(in.Prefix)) {
				page = append(page, s3types.Object{Key: aws.String(k), ETag: aws.String(`"` + k[len(k)-12:] + `"`)})
			}
		}
		out := &s3.ListObjectsV2Output{IsTruncated: aws.Bool(false)}
		if len(page) > pageSize {
			page = page[:pageSize]
			out.IsTruncated, out.NextContinuationToken = aws.Bool(true), page[len(page)-1].Key
		}
		out.Contents = page
		return out, nil
	}}
}

func logKey(acct, region string, day, minute int) string {
	return fmt.Sprintf("AWSLogs/o-abcdef1234/%s/CloudTrail/%s/2026/01/%02d/%s_CloudTrail_%s_202601%02dT%02d%02dZ_r%d.json.gz", acct, region, day, acct, region, day, minute/60, minute%60, minute)
}

// trail is three streams' files over three days, with a digest and a bad key among them.
func trail() []string {
	var keys []string
	for _, s := range [][2]string{{"111122223333", "us-east-1"}, {"111122223333", "eu-west-1"}, {"444455556666", "us-east-1"}} {
		for day := 1; day <= 3; day++ {
			for m := 0; m < 7; m++ {
				keys = append(keys, logKey(s[0], s[1], day, m*5))
			}
		}
	}
	return append(keys,
		"AWSLogs/o-abcdef1234/111122223333/CloudTrail-Digest/us-east-1/2026/01/01/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20260101T0000Z.json.gz",
		"AWSLogs/o-abcdef1234/111122223333/CloudTrail/us-east-1/2026/01/02/999999999999_CloudTrail_us-east-1_20260102T0000Z_z.json.gz")
}

type sent struct {
	key, group, dedup string
}

func newBackfill(s3api S3API, sq SQSAPI, p Progress) *Backfill {
	return &Backfill{S3: s3api, SQS: sq, Progress: p, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
}

func options() Options {
	return Options{Bucket: "org-trail", Prefix: "AWSLogs/", QueueURL: "https://sqs.us-east-1.amazonaws.com/111122223333/backfill.fifo"}
}

// recorder is an SQS queue that keeps what it accepted and refuses the send numbered
// failAt (1-based; 0 never).
func recorder(t *testing.T, got *[]sent, failAt int) fakeSQS {
	calls := 0
	return fakeSQS{send: func(in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
		calls++
		if len(in.Entries) > maxBatch {
			t.Fatalf("a batch of %d entries", len(in.Entries))
		}
		if calls == failAt {
			return nil, errors.New("throttled")
		}
		for _, e := range in.Entries {
			m, err := ParseMessage([]byte(aws.ToString(e.MessageBody)))
			if err != nil {
				t.Fatalf("sent an invalid message: %v", err)
			}
			if m.DedupID() != aws.ToString(e.MessageDeduplicationId) {
				t.Fatalf("dedup id %s is not the message's", aws.ToString(e.MessageDeduplicationId))
			}
			*got = append(*got, sent{m.Key, aws.ToString(e.MessageGroupId), aws.ToString(e.MessageDeduplicationId)})
		}
		return &sqs.SendMessageBatchOutput{}, nil
	}}
}

func memoryProgress(marks map[string]Mark) fakeProgress {
	return fakeProgress{
		load: func(run string) (Mark, error) { return marks[run], nil },
		save: func(run string, m Mark) error {
			if m.LastKey <= marks[run].LastKey {
				return ErrBehind
			}
			marks[run] = m
			return nil
		},
		reset: func(run string) error { delete(marks, run); return nil },
	}
}

func TestBackfillSendsEachStreamInOrder(t *testing.T) {
	var got []sent
	res, err := newBackfill(bucket(trail(), 7), recorder(t, &got, 0), memoryProgress(map[string]Mark{})).Run(context.Background(), options())
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 63 || res.NotLogFiles != 1 || res.Invalid != 1 || res.Groups != 3 || len(got) != 63 {
		t.Fatalf("result %+v, %d sent", res, len(got))
	}
	byGroup := map[string][]string{}
	for _, s := range got {
		k, _ := ParseKey(s.key)
		if s.group != k.Account+"/"+k.Region {
			t.Fatalf("%s in group %s", s.key, s.group)
		}
		byGroup[s.group] = append(byGroup[s.group], s.key)
	}
	for g, keys := range byGroup {
		var times []string
		for _, k := range keys {
			pk, _ := ParseKey(k)
			times = append(times, pk.Delivered.Format("20060102T1504"))
		}
		if !slices.IsSorted(times) || len(keys) != 21 {
			t.Errorf("group %s: %d files, delivery order %v", g, len(keys), times)
		}
	}
}

func TestBackfillDays(t *testing.T) {
	var got []sent
	o := options()
	o.From, _ = parseDayForTest("2026-01-02")
	o.To = o.From
	res, err := newBackfill(bucket(trail(), 1000), recorder(t, &got, 0), memoryProgress(map[string]Mark{})).Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 21 || res.OutOfRange != 42 {
		t.Fatalf("one day of three streams: %+v", res)
	}
	for _, s := range got {
		if !strings.Contains(s.key, "/2026/01/02/") {
			t.Fatalf("sent %s", s.key)
		}
	}
}

// TestBackfillResumes interrupts a run at each of its sends in turn and runs it again:
// the two runs together send every file once, none twice, in each stream's order.
func TestBackfillResumes(t *testing.T) {
	var all []sent
	if _, err := newBackfill(bucket(trail(), 1000), recorder(t, &all, 0), memoryProgress(map[string]Mark{})).Run(context.Background(), options()); err != nil {
		t.Fatal(err)
	}
	for failAt := 1; failAt <= 7; failAt++ {
		t.Run(fmt.Sprint("send ", failAt, " fails"), func(t *testing.T) {
			marks := map[string]Mark{}
			var got []sent
			_, err := newBackfill(bucket(trail(), 4), recorder(t, &got, failAt), memoryProgress(marks)).Run(context.Background(), options())
			if err == nil || !strings.Contains(err.Error(), "throttled") {
				t.Fatalf("first run: %v", err)
			}
			if n := len(got); n != (failAt-1)*maxBatch || marks[options().RunID()].Files != n {
				t.Fatalf("first run sent %d, mark %+v", n, marks[options().RunID()])
			}
			res, err := newBackfill(bucket(trail(), 4), recorder(t, &got, 0), memoryProgress(marks)).Run(context.Background(), options())
			if err != nil {
				t.Fatal(err)
			}
			if failAt > 1 && res.ResumedAfter == "" {
				t.Error("the second run did not resume")
			}
			if !slices.Equal(got, all) {
				t.Fatalf("the two runs sent %d files, one run %d; first difference at %d", len(got), len(all), firstDiff(got, all))
			}
			again, err := newBackfill(bucket(trail(), 4), recorder(t, &got, 0), memoryProgress(marks)).Run(context.Background(), options())
			if err != nil || again.Sent != 0 {
				t.Fatalf("a third run sent %d (%v)", again.Sent, err)
			}
		})
	}
	t.Run("restart", func(t *testing.T) {
		marks := map[string]Mark{}
		var got []sent
		b := newBackfill(bucket(trail(), 1000), recorder(t, &got, 0), memoryProgress(marks))
		b.Run(context.Background(), options())
		o := options()
		o.Restart = true
		if res, err := b.Run(context.Background(), o); err != nil || res.Sent != len(all) {
			t.Fatalf("restart sent %d (%v)", res.Sent, err)
		}
	})
}

func firstDiff(a, b []sent) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestBackfillRefusedEntries(t *testing.T) {
	marks := map[string]Mark{}
	sq := fakeSQS{send: func(in *sqs.SendMessageBatchInput) (*sqs.SendMessageBatchOutput, error) {
		return &sqs.SendMessageBatchOutput{Failed: []sqstypes.BatchResultErrorEntry{{Id: in.Entries[3].Id, Code: aws.String("InvalidParameterValue"), Message: aws.String("no")}}}, nil
	}}
	_, err := newBackfill(bucket(trail(), 1000), sq, memoryProgress(marks)).Run(context.Background(), options())
	if err == nil || !strings.Contains(err.Error(), "1 of 10 messages refused") || marks[options().RunID()].LastKey != "" {
		t.Fatalf("a refused entry: %v, mark %+v", err, marks)
	}
}

func TestOptionsValidate(t *testing.T) {
	day, _ := parseDayForTest("2026-01-02")
	tests := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"bucket", func(o *Options) { o.Bucket = "s3://org-trail" }, "-bucket"},
		{"standard queue", func(o *Options) { o.QueueURL = "https://sqs.us-east-1.amazonaws.com/111122223333/backfill" }, "FIFO"},
		{"queue name", func(o *Options) { o.QueueURL = "backfill.fifo" }, "URL"},
		{"days reversed", func(o *Options) { o.From, o.To = day, day.AddDate(0, 0, -1) }, "before -from"},
		{"prefix", func(o *Options) { o.Prefix = "trails" }, "-prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options()
			tt.edit(&o)
			if err := o.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want an error with %q, got %v", tt.want, err)
			}
		})
	}
	if err := options().Validate(); err != nil {
		t.Fatal(err)
	}
}
