// Package esm stands in for AWS Lambda's SQS event source mapping on the emulator, where
// no Lambda runs (moto has no execution without Docker): it receives from an SQS FIFO
// queue and invokes the real function behind aws-lambda-rie, one worker per emulator, as
// the mapping does with its maximum concurrency. It is test and benchmark support for the
// backfill (internal/backfill); in AWS, modules/audit-alerts' aws_lambda_event_source_mapping
// does this, and nothing of the product uses this package.
//
// What it keeps of the mapping's contract: batches of up to ten messages, each invocation
// holding the messages of one message group (the queue hands out a group's messages only
// when none of them is in flight, so a group has one batch in flight at a time, in order);
// the event shape Lambda sends (Records[] with messageId, receiptHandle, body, attributes,
// eventSource aws:sqs); ReportBatchItemFailures (only the messages not named in
// batchItemFailures are deleted; a function error deletes none); failed messages come back
// when their visibility timeout ends.
package esm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQSAPI is what the mapping asks of SQS.
type SQSAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
}

// Mapping is one event source mapping: a queue and the workers that invoke the function.
type Mapping struct {
	SQS      SQSAPI
	QueueURL string
	QueueARN string
	Region   string
	// Invoke holds one Invoke URL per worker (an aws-lambda-rie each, which runs one
	// invocation at a time, as one Lambda execution environment does).
	Invoke []string
	// VisibilityTimeout is how long a received message stays hidden (the function's
	// timeout or more, as AWS requires of a mapping's queue).
	VisibilityTimeout time.Duration

	// receiving lets one worker receive at a time. moto 5.2.1's FIFO receive is not atomic:
	// two receives at once each read which groups are in flight before the other marks its
	// messages, so both can take messages of one group (seen under stress-ng: one worker
	// processed g2-2 and g2-3 before another g2-0 and g2-1). AWS never hands out a group's
	// messages while one of them is in flight; one receive at a time restores that here.
	receiving sync.Mutex
}

// Stats counts what the mapping did.
type Stats struct {
	Invocations int `json:"invocations"`
	// Deleted counts messages the function processed (deleted from the queue).
	Deleted int `json:"deleted"`
	// Failed counts messages returned to the queue (batchItemFailures or a function error).
	Failed   int `json:"failed"`
	Records  int `json:"records"`
	Files    int `json:"files"`
	Findings int `json:"findings"`
	// InvokeSeconds adds up the invocations' durations, what Lambda would bill.
	InvokeSeconds float64 `json:"invoke_seconds"`
	Receives      int     `json:"receives"`
	EmptyReceives int     `json:"empty_receives"`
	DeleteCalls   int     `json:"delete_calls"`
}

func (s *Stats) add(o Stats) {
	s.Invocations += o.Invocations
	s.Deleted += o.Deleted
	s.Failed += o.Failed
	s.Records += o.Records
	s.Files += o.Files
	s.Findings += o.Findings
	s.InvokeSeconds += o.InvokeSeconds
	s.Receives += o.Receives
	s.EmptyReceives += o.EmptyReceives
	s.DeleteCalls += o.DeleteCalls
}

// Run delivers until done reports true on the stats so far (checked after every receive)
// or ctx ends; it returns the stats and the first error of SQS or of an Invoke request
// (a function error is not one: its messages return to the queue).
func (m *Mapping) Run(ctx context.Context, done func(Stats) bool) (Stats, error) {
	if len(m.Invoke) == 0 {
		return Stats{}, fmt.Errorf("esm: no worker (Invoke is empty)")
	}
	vt := m.VisibilityTimeout
	if vt == 0 {
		// Lambda's longest timeout: a slow invocation on a busy machine must not see its
		// messages come back while it still works on them (modules/audit-alerts gives the
		// queue six times the function's timeout).
		vt = 15 * time.Minute
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		total Stats
		first error
		wg    sync.WaitGroup
	)
	client := &http.Client{Timeout: 15 * time.Minute}
	for _, url := range m.Invoke {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				mu.Lock()
				stop := done(total)
				mu.Unlock()
				if stop {
					cancel()
					return
				}
				st, err := m.round(ctx, client, url, vt)
				mu.Lock()
				total.add(st)
				if err != nil && first == nil && ctx.Err() == nil {
					first = err
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first == nil && !done(total) {
		first = ctx.Err()
	}
	return total, first
}

// round receives one batch and invokes the function once per message group in it.
func (m *Mapping) round(ctx context.Context, client *http.Client, url string, vt time.Duration) (Stats, error) {
	var st Stats
	m.receiving.Lock()
	out, err := m.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(m.QueueURL),
		MaxNumberOfMessages:         10,
		WaitTimeSeconds:             1,
		VisibilityTimeout:           int32(vt / time.Second),
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
	})
	m.receiving.Unlock()
	st.Receives++
	if err != nil {
		return st, fmt.Errorf("esm: receive: %w", err)
	}
	if len(out.Messages) == 0 {
		st.EmptyReceives++
		return st, nil
	}
	var order []string
	groups := map[string][]sqstypes.Message{}
	for _, msg := range out.Messages {
		g := msg.Attributes[string(sqstypes.MessageSystemAttributeNameMessageGroupId)]
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], msg)
	}
	for _, g := range order {
		s, err := m.invoke(ctx, client, url, groups[g])
		st.add(s)
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

type record struct {
	MessageID         string            `json:"messageId"`
	ReceiptHandle     string            `json:"receiptHandle"`
	Body              string            `json:"body"`
	Attributes        map[string]string `json:"attributes"`
	MessageAttributes map[string]any    `json:"messageAttributes"`
	MD5OfBody         string            `json:"md5OfBody"`
	EventSource       string            `json:"eventSource"`
	EventSourceARN    string            `json:"eventSourceARN"`
	AWSRegion         string            `json:"awsRegion"`
}

// invoke hands one group's messages to the function and deletes those it processed.
func (m *Mapping) invoke(ctx context.Context, client *http.Client, url string, msgs []sqstypes.Message) (Stats, error) {
	st := Stats{Invocations: 1}
	recs := make([]record, len(msgs))
	for i, msg := range msgs {
		recs[i] = record{MessageID: aws.ToString(msg.MessageId), ReceiptHandle: aws.ToString(msg.ReceiptHandle), Body: aws.ToString(msg.Body),
			Attributes: msg.Attributes, MessageAttributes: map[string]any{}, MD5OfBody: aws.ToString(msg.MD5OfBody),
			EventSource: "aws:sqs", EventSourceARN: m.QueueARN, AWSRegion: m.Region}
	}
	payload, _ := json.Marshal(map[string]any{"Records": recs})
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return st, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return st, fmt.Errorf("esm: invoke %s: %w", url, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	st.InvokeSeconds = time.Since(start).Seconds()
	if err != nil {
		return st, fmt.Errorf("esm: invoke %s: %w", url, err)
	}
	var res struct {
		Records           int    `json:"records"`
		Files             int    `json:"files"`
		Findings          int    `json:"findings"`
		ErrorMessage      string `json:"errorMessage"`
		BatchItemFailures []struct {
			ItemIdentifier string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(body, &res); err != nil || res.ErrorMessage != "" || resp.StatusCode != http.StatusOK {
		// A function error: Lambda deletes nothing; every message returns to the queue.
		st.Failed = len(msgs)
		return st, nil
	}
	st.Records, st.Files, st.Findings = res.Records, res.Files, res.Findings
	failed := map[string]bool{}
	for _, f := range res.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	var del []sqstypes.DeleteMessageBatchRequestEntry
	for i, msg := range msgs {
		if failed[aws.ToString(msg.MessageId)] {
			st.Failed++
			continue
		}
		del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: msg.ReceiptHandle})
	}
	if len(del) == 0 {
		return st, nil
	}
	out, err := m.SQS.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(m.QueueURL), Entries: del})
	st.DeleteCalls++
	if err != nil {
		return st, fmt.Errorf("esm: delete: %w", err)
	}
	if len(out.Failed) > 0 {
		return st, fmt.Errorf("esm: delete: %d of %d refused: %s", len(out.Failed), len(del), aws.ToString(out.Failed[0].Message))
	}
	st.Deleted = len(del)
	return st, nil
}
