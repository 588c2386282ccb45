package audit

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/rotaudit/rotaudit/internal/backfill"
)

func backfillKey(name string) string {
	return "AWSLogs/o-abcdef1234/111122223333/CloudTrail/us-east-1/2026/11/20/111122223333_CloudTrail_us-east-1_20261120T1200Z_" + name + ".json.gz"
}

func sqsEvent(bodies ...string) json.RawMessage {
	var recs []map[string]any
	for i, b := range bodies {
		recs = append(recs, map[string]any{"messageId": "m" + string(rune('1'+i)), "eventSource": "aws:sqs", "body": b,
			"attributes": map[string]string{"MessageGroupId": "111122223333/us-east-1"}})
	}
	raw, _ := json.Marshal(map[string]any{"Records": recs})
	return raw
}

// TestHandlerBackfillBatch: a FIFO batch of backfill messages is read in order; a malformed
// message is dropped, and a failed file is reported with every message after it, which is
// not read, so that the group's files come back in their order.
func TestHandlerBackfillBatch(t *testing.T) {
	trail, err := os.ReadFile("cloudtrail/testdata/trail-log.json")
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(trail)
	zw.Close()
	var asked []string
	h := newTestHandler(t, func(*sns.PublishInput) (*sns.PublishOutput, error) { return &sns.PublishOutput{}, nil },
		func(in *s3.GetObjectInput) (*s3.GetObjectOutput, error) {
			asked = append(asked, aws.ToString(in.Key))
			if strings.Contains(aws.ToString(in.Key), "_broken") {
				return nil, errors.New("slow down")
			}
			return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(gz.Bytes()))}, nil
		})
	msg := func(name string) string {
		return backfill.Message{Version: backfill.Version, Bucket: "org-trail", Key: backfillKey(name), ETag: `"e"`}.Body()
	}
	event := sqsEvent(msg("one"), `{"rotaudit_backfill":1,"bucket":"org-trail","key":"elsewhere/x.json.gz","etag":"e"}`,
		intruderEvent, msg("broken"), msg("two"))
	sum, err := h.Handle(context.Background(), event)
	if err != nil {
		t.Fatalf("a backfill batch answers per message, not with an error: %v", err)
	}
	if sum.Files != 1 || sum.Records != 4 || sum.Malformed != 1 {
		t.Errorf("summary %+v: want the first file's 3 records and the inline event's, one malformed message", sum)
	}
	var failed []string
	for _, f := range sum.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if !slices.Equal(failed, []string{"m4", "m5"}) {
		t.Errorf("failures %v, want the broken file and the one after it", failed)
	}
	if want := []string{backfillKey("one"), backfillKey("broken")}; !slices.Equal(asked, want) {
		t.Errorf("read %v, want %v (nothing after a failure)", asked, want)
	}
	out, _ := json.Marshal(sum)
	if !strings.Contains(string(out), `"batchItemFailures":[{"itemIdentifier":"m4"},{"itemIdentifier":"m5"}]`) {
		t.Errorf("the response Lambda reads: %s", out)
	}

	// The retry of the failed messages alone: nothing fails, nothing is reported.
	sum, err = h.Handle(context.Background(), sqsEvent(msg("two")))
	if err != nil || len(sum.BatchItemFailures) != 0 || sum.Files != 1 {
		t.Fatalf("retry: %+v, %v", sum, err)
	}
	if out, _ := json.Marshal(sum); strings.Contains(string(out), "batchItemFailures") {
		t.Errorf("a batch without failures reports the field: %s", out)
	}
}
