package audit_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/rotaudit/rotaudit/internal/audit"
	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
	"github.com/rotaudit/rotaudit/internal/testenv"
	"github.com/rotaudit/rotaudit/internal/testkit/awsfixture"
)

// TestPatternsOnEmulator puts events of calls the rules watch, and of calls they do not, through the committed patterns on the emulator's EventBridge, and requires that
// what it delivers is exactly what the rules watch, and what the in-process matcher (used
// for the invocation report) predicts.
func TestPatternsOnEmulator(t *testing.T) {
	env := testenv.Stack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := env.AWS(t)
	eb, sq := eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	queue, queueARN := awsfixture.Queue(t, ctx, sq, "audit_patterns")
	bus, docs := awsfixture.PatternBus(t, ctx, eb, env.Root, "audit_patterns", queueARN)
	var pats []*audit.Pattern
	for _, doc := range docs {
		pat, err := audit.ParsePattern(doc)
		if err != nil {
			t.Fatal(err)
		}
		pats = append(pats, pat)
	}

	run := testenv.Unique("p")
	type probe struct {
		rec  *cloudtrail.Record
		want bool
	}
	var probes []probe
	add := func(src, name string, want bool, edit func(*cloudtrail.Record)) {
		r := &cloudtrail.Record{EventVersion: "1.09", EventSource: src, EventName: name, EventType: "AwsApiCall",
			EventID:   run + "-" + strings.SplitN(src, ".", 2)[0] + "-" + name + "-" + string(rune('a'+len(probes)%26)),
			EventTime: time.Now().UTC().Format(time.RFC3339), AWSRegion: "us-east-1", SourceIPAddress: "203.0.113.5", RecipientAccountID: "123456789012",
			UserIdentity: cloudtrail.UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::123456789012:user/u", AccountID: "123456789012"}}
		if strings.HasPrefix(name, "Rotation") {
			r.EventType = "AwsServiceEvent"
		}
		if edit != nil {
			edit(r)
		}
		probes = append(probes, probe{r, want})
	}
	// Every name of every source is checked in process (TestPatternsMatchTheRules); here a
	// sample per source, enough to prove the two matchers agree on each pattern's shape,
	// and quick on a loaded emulator.
	w := audit.WatchedCalls()
	for src, names := range w.Calls {
		sample := []string{names[0], names[len(names)-1]}
		if src == "kms.amazonaws.com" {
			sample = append(sample, "Decrypt")
		}
		for _, name := range slices.Compact(sample) {
			if p, ok := strings.CutSuffix(name, "*"); ok {
				name = p + "Succeeded"
			}
			add(src, name, true, func(r *cloudtrail.Record) {
				if name == "Decrypt" {
					r.RequestParameters = json.RawMessage(`{"encryptionContext":{"SecretARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf"}}`)
				}
			})
		}
	}
	add("kms.amazonaws.com", "Decrypt", false, func(r *cloudtrail.Record) {
		r.RequestParameters = json.RawMessage(`{"encryptionContext":{"aws:dynamodb:tableName":"state"}}`)
	})
	add("kms.amazonaws.com", "Decrypt", false, func(r *cloudtrail.Record) {
		r.UserIdentity.InvokedBy = "secretsmanager.amazonaws.com"
		r.RequestParameters = json.RawMessage(`{"encryptionContext":{"SecretARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf"}}`)
	})
	add("kms.amazonaws.com", "GenerateDataKey", false, nil)
	add("kms.amazonaws.com", "GenerateDataKey", true, func(r *cloudtrail.Record) { r.ErrorCode = "AccessDenied" })
	add("secretsmanager.amazonaws.com", "ListSecrets", false, nil)
	add("rds.amazonaws.com", "DescribeDBInstances", false, nil)
	add("ecs.amazonaws.com", "DescribeServices", false, nil)
	add("iam.amazonaws.com", "GetRole", false, nil)
	add("s3.amazonaws.com", "ListBuckets", true, func(r *cloudtrail.Record) { r.UserIdentity.Type = "Root" })

	var entries []ebtypes.PutEventsRequestEntry
	for _, p := range probes {
		ev, err := audit.EventOf(p.rec)
		if err != nil {
			t.Fatal(err)
		}
		predicted := false
		for _, pat := range pats {
			if ok, err := pat.Match(ev); err != nil {
				t.Fatal(err)
			} else if ok {
				predicted = true
			}
		}
		if predicted != p.want {
			t.Errorf("%s %s: in-process matcher says %v, want %v", p.rec.EventSource, p.rec.EventName, predicted, p.want)
		}
		d, _ := json.Marshal(ev["detail"])
		entries = append(entries, ebtypes.PutEventsRequestEntry{EventBusName: aws.String(bus), Source: aws.String("rotaudit.test"), DetailType: aws.String(ev["detail-type"].(string)), Detail: aws.String(string(d))})
	}
	want := 0
	for _, p := range probes {
		if p.want {
			want++
		}
	}
	for i := 0; i < len(entries); i += 10 {
		out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries[i:min(i+10, len(entries))]})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("put events: %v", err)
		}
	}
	got := eventIDs(receive(t, ctx, sq, queue, want, eventID))
	for _, p := range probes {
		if slices.Contains(got, p.rec.EventID) != p.want {
			t.Errorf("%s %s (%s): EventBridge delivered=%v, want %v", p.rec.EventSource, p.rec.EventName, p.rec.EventID, !p.want, p.want)
		}
	}
	t.Logf("%d probes, %d delivered by the emulator's EventBridge", len(probes), len(got))
}
