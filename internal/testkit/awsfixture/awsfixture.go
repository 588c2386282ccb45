// Package awsfixture makes the AWS pieces that the audit and cost tests build on the local
// emulator, under unique names and removed at cleanup: an SQS queue, and an EventBridge bus
// whose rules are the patterns Terraform deploys for the auditor, routed to a queue.
package awsfixture

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/rotaudit/rotaudit/internal/testenv"
)

// PatternFiles are the EventBridge pattern documents that modules/audit-alerts deploys,
// in modules/audit-alerts/patterns.
var PatternFiles = []string{"management-events.json", "iam-events.json", "access-events.json"}

// Queue creates an SQS queue named prefix and a unique suffix and returns its URL and ARN.
func Queue(t testing.TB, ctx context.Context, sq *sqs.Client, prefix string) (url, arn string) {
	t.Helper()
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(testenv.Unique(prefix))})
	if err != nil {
		t.Fatalf("create queue: %v", err)
	}
	t.Cleanup(func() { sq.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: q.QueueUrl}) })
	attrs, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatalf("queue arn: %v", err)
	}
	return aws.ToString(q.QueueUrl), attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
}

// PatternBus creates an EventBridge bus named prefix and a unique suffix with one rule per
// deployed pattern (PatternFiles, read under the repository root), each sending what it
// matches to targetARN. It returns the bus's name and the pattern documents in the order of
// PatternFiles.
func PatternBus(t testing.TB, ctx context.Context, eb *eventbridge.Client, root, prefix, targetARN string) (bus string, patterns [][]byte) {
	t.Helper()
	bus = testenv.Unique(prefix)
	// CreateEventBus is the one call here that is not idempotent (a retried CreateQueue,
	// PutRule or PutTargets is answered with what the first attempt made).
	if _, err := testenv.CreateOnce(ctx, bus,
		func(ctx context.Context) (string, error) {
			out, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)})
			if err != nil {
				return "", err
			}
			return aws.ToString(out.EventBusArn), nil
		},
		func(ctx context.Context) (string, error) {
			out, err := eb.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(bus)})
			if err != nil {
				return "", err
			}
			return aws.ToString(out.Arn), nil
		}); err != nil {
		t.Fatalf("create event bus: %v", err)
	}
	t.Cleanup(func() {
		eb.DeleteEventBus(context.Background(), &eventbridge.DeleteEventBusInput{Name: aws.String(bus)})
	})
	for _, file := range PatternFiles {
		doc, err := os.ReadFile(filepath.Join(root, "modules", "audit-alerts", "patterns", file))
		if err != nil {
			t.Fatal(err)
		}
		patterns = append(patterns, doc)
		// Rule names need only be unique on their bus, which is the test's own.
		name := strings.TrimSuffix(file, ".json")
		if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventBusName: aws.String(bus), EventPattern: aws.String(string(doc)), State: ebtypes.RuleStateEnabled}); err != nil {
			t.Fatalf("put rule %s: %v", file, err)
		}
		t.Cleanup(func() {
			eb.DeleteRule(context.Background(), &eventbridge.DeleteRuleInput{Name: aws.String(name), EventBusName: aws.String(bus)})
		})
		if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), EventBusName: aws.String(bus), Targets: []ebtypes.Target{{Id: aws.String("target"), Arn: aws.String(targetARN)}}}); err != nil {
			t.Fatalf("put target of rule %s: %v", file, err)
		}
		t.Cleanup(func() {
			eb.RemoveTargets(context.Background(), &eventbridge.RemoveTargetsInput{Rule: aws.String(name), EventBusName: aws.String(bus), Ids: []string{"target"}})
		})
	}
	return bus, patterns
}

// FIFOQueue creates an SQS FIFO queue named prefix, a unique suffix and .fifo, without
// content-based deduplication (the sender gives each message's deduplication id), and
// returns its URL and ARN.
func FIFOQueue(t testing.TB, ctx context.Context, sq *sqs.Client, prefix string) (url, arn string) {
	t.Helper()
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String(testenv.Unique(prefix) + ".fifo"),
		Attributes: map[string]string{string(sqstypes.QueueAttributeNameFifoQueue): "true"},
	})
	if err != nil {
		t.Fatalf("create FIFO queue: %v", err)
	}
	t.Cleanup(func() { sq.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: q.QueueUrl}) })
	attrs, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatalf("queue arn: %v", err)
	}
	return aws.ToString(q.QueueUrl), attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
}

// StateTable creates a DynamoDB table of the auditor's state contract (pk and sk strings,
// on-demand, TTL on attribute ttl: modules/audit-alerts), named after prefix, and deletes
// it when the test ends.
func StateTable(t testing.TB, ctx context.Context, ddb *dynamodb.Client, prefix string) string {
	t.Helper()
	name := testenv.Unique(prefix)
	_, err := testenv.CreateOnce(ctx, name,
		func(ctx context.Context) (*ddbtypes.TableDescription, error) {
			out, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
				TableName:            aws.String(name),
				BillingMode:          ddbtypes.BillingModePayPerRequest,
				AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}, {AttributeName: aws.String("sk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
				KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}, {AttributeName: aws.String("sk"), KeyType: ddbtypes.KeyTypeRange}},
			})
			if err != nil {
				return nil, err
			}
			return out.TableDescription, nil
		},
		func(ctx context.Context) (*ddbtypes.TableDescription, error) {
			out, err := ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
			if err != nil {
				return nil, err
			}
			return out.Table, nil
		})
	if err != nil {
		t.Fatalf("create state table %s: %v", name, err)
	}
	t.Cleanup(func() { ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)}) })
	// Enabling TTL again is accepted by the emulators; AWS refuses it ("TimeToLive is already
	// enabled"), which after a retry means done.
	if _, err := ddb.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(name), TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String("ttl"), Enabled: aws.Bool(true)}}); err != nil && !ttlEnabled(ctx, ddb, name) {
		t.Fatalf("enable ttl on %s: %v", name, err)
	}
	return name
}

// ttlEnabled reports whether table's TTL is on.
func ttlEnabled(ctx context.Context, ddb *dynamodb.Client, table string) bool {
	out, err := ddb.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	return err == nil && out.TimeToLiveDescription != nil && out.TimeToLiveDescription.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabled
}
