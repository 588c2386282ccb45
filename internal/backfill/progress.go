package backfill

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Mark is how far a run got: the last key sent and how many files it has sent in all.
type Mark struct {
	LastKey string
	Files   int
}

// Progress keeps each run's mark between invocations of the command.
type Progress interface {
	Load(ctx context.Context, run string) (Mark, error)
	// Save moves the run's mark forward; it fails rather than move it back.
	Save(ctx context.Context, run string, m Mark) error
	Reset(ctx context.Context, run string) error
}

// ErrBehind is the error of a Save that would move a mark back: another run with the
// same options is ahead of this one.
var ErrBehind = errors.New("another backfill with the same options is further on")

// DynamoAPI is the part of the DynamoDB client the progress store uses.
type DynamoAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// progressTTL is how long a run's mark is kept after its last save.
const progressTTL = 90 * 24 * time.Hour

// progressSK is the sort key of a mark. The audit's own items never use it, and their
// partition keys never start with "backfill|".
const progressSK = "backfill-progress"

// DynamoProgress keeps the marks in the auditor's state table (hash key pk, range key sk,
// TTL attribute ttl): the table every deployment has, and one item per run.
type DynamoProgress struct {
	API   DynamoAPI
	Table string
	Now   func() time.Time
}

func (d *DynamoProgress) key(run string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: run}, "sk": &types.AttributeValueMemberS{Value: progressSK}}
}

// Load returns the run's mark, the zero Mark when it has none.
func (d *DynamoProgress) Load(ctx context.Context, run string) (Mark, error) {
	out, err := d.API.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.Table), Key: d.key(run), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Mark{}, fmt.Errorf("get %s: %w", d.Table, err)
	}
	var m Mark
	if v, ok := out.Item["last_key"].(*types.AttributeValueMemberS); ok {
		m.LastKey = v.Value
	}
	if v, ok := out.Item["files"].(*types.AttributeValueMemberN); ok {
		m.Files, _ = strconv.Atoi(v.Value)
	}
	return m, nil
}

// Save writes m if it is past the stored mark (a conditional put).
func (d *DynamoProgress) Save(ctx context.Context, run string, m Mark) error {
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	item := d.key(run)
	item["last_key"] = &types.AttributeValueMemberS{Value: m.LastKey}
	item["files"] = &types.AttributeValueMemberN{Value: strconv.Itoa(m.Files)}
	item["updated"] = &types.AttributeValueMemberS{Value: now().UTC().Format(time.RFC3339)}
	item["ttl"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(now().Add(progressTTL).Unix(), 10)}
	_, err := d.API.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(d.Table),
		Item:                                item,
		ConditionExpression:                 aws.String("attribute_not_exists(pk) OR last_key < :k"),
		ExpressionAttributeValues:           map[string]types.AttributeValue{":k": &types.AttributeValueMemberS{Value: m.LastKey}},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		at := ""
		if v, ok := ccf.Item["last_key"].(*types.AttributeValueMemberS); ok {
			at = v.Value
		}
		return fmt.Errorf("%w (at %q, this one at %q): let one of them finish", ErrBehind, at, m.LastKey)
	}
	if err != nil {
		return fmt.Errorf("put %s: %w", d.Table, err)
	}
	return nil
}

// Reset forgets the run's mark.
func (d *DynamoProgress) Reset(ctx context.Context, run string) error {
	if _, err := d.API.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(d.Table), Key: d.key(run)}); err != nil {
		return fmt.Errorf("delete from %s: %w", d.Table, err)
	}
	return nil
}
