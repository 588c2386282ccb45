package esm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/rotaudit/rotaudit/internal/testenv"
	"github.com/rotaudit/rotaudit/internal/testkit/awsfixture"
	"github.com/rotaudit/rotaudit/internal/testkit/esm"
)

// TestMappingContract holds the stand-in to the event source mapping's contract on the
// emulator's FIFO queue: each invocation holds one group's messages, never two batches of a
// group at once, a group's messages in the order sent, messages named in batchItemFailures
// come back after their visibility timeout, and a function error deletes nothing.
//
// The order is checked on the group that never fails: moto 5.2.1 redelivers a FIFO group
// out of order after a visibility timeout (its receive skips the group's first messages
// while later ones are still marked in flight, then hands out the last one first), where
// AWS keeps the order. The groups that fail are checked for each message exactly once.
func TestMappingContract(t *testing.T) {
	env := testenv.Stack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sq := sqs.NewFromConfig(env.AWS(t))
	url, arn := awsfixture.FIFOQueue(t, ctx, sq, "esm_contract")
	var entries []sqstypes.SendMessageBatchRequestEntry
	for i := range 15 {
		g := fmt.Sprint("g", i%3)
		entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i % 10)), MessageBody: aws.String(fmt.Sprintf("%s-%d", g, i/3)),
			MessageGroupId: aws.String(g), MessageDeduplicationId: aws.String(fmt.Sprint(i))})
		if len(entries) == 10 || i == 14 {
			if out, err := sq.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries}); err != nil || len(out.Failed) > 0 {
				t.Fatalf("send: %v %+v", err, out)
			}
			entries = nil
		}
	}

	var (
		mu       sync.Mutex
		seen     = map[string][]string{} // group -> bodies processed, in order
		inFlight = map[string]bool{}
		calls    = map[string]int{} // group -> invocations
	)
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Records []struct {
				MessageID   string            `json:"messageId"`
				Body        string            `json:"body"`
				EventSource string            `json:"eventSource"`
				Attributes  map[string]string `json:"attributes"`
			}
		}
		json.NewDecoder(r.Body).Decode(&ev)
		group := ev.Records[0].Attributes["MessageGroupId"]
		mu.Lock()
		calls[group]++
		call := calls[group]
		if inFlight[group] {
			t.Errorf("two batches of group %s at once", group)
		}
		inFlight[group] = true
		mu.Unlock()
		defer func() { mu.Lock(); inFlight[group] = false; mu.Unlock() }()
		if group == "g0" && call == 1 { // a function error: the whole batch returns
			w.Write([]byte(`{"errorMessage":"boom","errorType":"Error"}`))
			return
		}
		var failures []map[string]string
		for i, rec := range ev.Records {
			if rec.Attributes["MessageGroupId"] != group || rec.EventSource != "aws:sqs" {
				t.Errorf("an invocation mixes groups or lacks eventSource: %+v", rec)
			}
			if group == "g1" && call == 1 && i >= 1 { // the first message is processed, the rest returns
				failures = append(failures, map[string]string{"itemIdentifier": rec.MessageID})
				continue
			}
			mu.Lock()
			seen[group] = append(seen[group], rec.Body)
			mu.Unlock()
		}
		json.NewEncoder(w).Encode(map[string]any{"records": 1, "batchItemFailures": failures})
	}))
	defer fn.Close()

	m := &esm.Mapping{SQS: sq, QueueURL: url, QueueARN: arn, Region: "us-east-1", Invoke: []string{fn.URL, fn.URL},
		// Long enough that a batch is deleted before it shows again on a busy machine; the
		// failed ones come back after it.
		VisibilityTimeout: 10 * time.Second}
	st, err := m.Run(ctx, func(s esm.Stats) bool { return s.Deleted >= 15 })
	if err != nil || st.Deleted != 15 || st.Failed == 0 {
		t.Fatalf("stats %+v, %v", st, err)
	}
	for _, g := range []string{"g0", "g1", "g2"} {
		want := []string{g + "-0", g + "-1", g + "-2", g + "-3", g + "-4"}
		got := seen[g]
		if g != "g2" {
			got = slices.Sorted(slices.Values(got))
		}
		if !slices.Equal(got, want) {
			t.Errorf("group %s processed %v, want each once %v", g, seen[g], want)
		}
	}
}
