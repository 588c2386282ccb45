package cost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
	"github.com/rotaudit/rotaudit/internal/testenv"
	"github.com/rotaudit/rotaudit/internal/testkit/awsfixture"
	"github.com/rotaudit/rotaudit/internal/testkit/corpus"
)

// maxEvents bounds the traffic put on the emulator.
const maxEvents = 400

var errEnough = errors.New("enough events")

// detailTypes maps a CloudTrail eventType to the detail-type EventBridge gives it.
var detailTypes = map[string]string{
	"AwsApiCall":       "AWS API Call via CloudTrail",
	"AwsServiceEvent":  "AWS Service Event via CloudTrail",
	"AwsConsoleSignIn": "AWS Console Signin via CloudTrail",
}

// TestAuditFraction measures DefaultAuditFraction: a day of the synthetic CloudTrail
// traffic of internal/testkit/corpus goes through the emulator's EventBridge, on a bus with
// the patterns Terraform deploys, and the share of events that reach the rules' queue is
// compared with the constant.
func TestAuditFraction(t *testing.T) {
	env := testenv.Stack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cfg := env.AWS(t)
	eb, sq := eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)

	queueURL, queueARN := awsfixture.Queue(t, ctx, sq, "cost_fraction")
	bus, _ := awsfixture.PatternBus(t, ctx, eb, env.Root, "cost_bus", queueARN)

	var batch []ebtypes.PutEventsRequestEntry
	sent := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: batch})
		if err != nil {
			return err
		}
		if out.FailedEntryCount != 0 {
			return fmt.Errorf("put events: %d failed", out.FailedEntryCount)
		}
		sent += len(batch)
		batch = batch[:0]
		return nil
	}
	g := corpus.New(12, func(r *cloudtrail.Record) error {
		dt, ok := detailTypes[r.EventType]
		if !ok {
			return fmt.Errorf("record %s: eventType %q", r.EventID, r.EventType)
		}
		d, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if sent+len(batch) >= maxEvents {
			return errEnough
		}
		batch = append(batch, ebtypes.PutEventsRequestEntry{EventBusName: aws.String(bus), Source: aws.String("rotaudit.cost"), DetailType: aws.String(dt), Detail: aws.String(string(d))})
		if len(batch) == 10 {
			return flush()
		}
		return nil
	})
	// The first maxEvents records of the day: about four hours of traffic, a deployment
	// included (moto takes about a second per matching event on a busy machine).
	start := time.Now()
	if _, err := g.Benign(time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), 1); err != nil && !errors.Is(err, errEnough) {
		t.Fatal(err)
	}
	if err := flush(); err != nil {
		t.Fatal(err)
	}

	// Count distinct events on the queue (an event matching both rules arrives twice).
	seen := map[string]bool{}
	for empty := 0; empty < 3; {
		out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			empty++
			continue
		}
		empty = 0
		for _, m := range out.Messages {
			var ev struct {
				Detail struct {
					EventID string `json:"eventID"`
				} `json:"detail"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil || ev.Detail.EventID == "" {
				t.Fatalf("queue message without an event id: %s", aws.ToString(m.Body))
			}
			seen[ev.Detail.EventID] = true
			sq.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle})
		}
	}
	if sent < maxEvents-10 {
		t.Fatalf("only %d events generated", sent)
	}
	got := float64(len(seen)) / float64(sent)
	t.Logf("%d of %d events pass the deployed patterns: audit_fraction %.3f (%s)", len(seen), sent, got, time.Since(start).Round(time.Second))
	if got <= 0 || got >= 1 {
		t.Fatalf("fraction %.3f: the patterns let nothing or everything through", got)
	}
	if math.Abs(got-DefaultAuditFraction) > 0.02 {
		t.Errorf("measured audit_fraction %.3f, DefaultAuditFraction says %.3f: update it (and make cost-readme)", got, DefaultAuditFraction)
	}
}
