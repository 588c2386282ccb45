package state

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

// DynamoAPI is the part of the DynamoDB client the store uses.
type DynamoAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// Dynamo keeps state in the table of the contract: hash key pk (S), range key sk (S),
// TTL attribute ttl (N, epoch seconds). Single values use sk "#"; set members use their
// own name as sk.
type Dynamo struct {
	api   DynamoAPI
	table string
}

// NewDynamo returns a store on table.
func NewDynamo(api DynamoAPI, table string) *Dynamo { return &Dynamo{api: api, table: table} }

const singleSK = "#"

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func num(item map[string]types.AttributeValue, k string) int64 {
	if v, ok := item[k].(*types.AttributeValueMemberN); ok {
		i, _ := strconv.ParseInt(v.Value, 10, 64)
		return i
	}
	return 0
}

// Remember stores key until expires unless a live entry exists (a conditional put that
// also overwrites an expired item); it reports whether the key was new and, when it was
// not, when it was first stored.
func (d *Dynamo) Remember(ctx context.Context, key string, now, expires time.Time) (bool, time.Time, error) {
	_, err := d.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(d.table),
		Item: map[string]types.AttributeValue{
			"pk": s(key), "sk": s(singleSK), "first": n(now.UnixMilli()), "ttl": n(expires.Unix()),
		},
		ConditionExpression:                 aws.String("attribute_not_exists(pk) OR #ttl <= :now"),
		ExpressionAttributeNames:            map[string]string{"#ttl": "ttl"},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":now": n(now.Unix())},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return true, now, nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return false, time.Time{}, fmt.Errorf("state: remember %s: %w", key, err)
	}
	if len(ccf.Item) > 0 { // the live item came back with the refusal: no second call
		return false, time.UnixMilli(num(ccf.Item, "first")), nil
	}
	out, err := d.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(d.table),
		Key:            map[string]types.AttributeValue{"pk": s(key), "sk": s(singleSK)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, time.Time{}, fmt.Errorf("state: remember %s: read existing: %w", key, err)
	}
	return false, time.UnixMilli(num(out.Item, "first")), nil
}

// Refresh is Remember that also moves a live entry's expiry to expires: one conditional
// update when the entry is live (the common case: a known reader), a put when it is not.
func (d *Dynamo) Refresh(ctx context.Context, key string, now, expires time.Time) (bool, time.Time, error) {
	out, err := d.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.table),
		Key:                       map[string]types.AttributeValue{"pk": s(key), "sk": s(singleSK)},
		UpdateExpression:          aws.String("SET #ttl = :exp"),
		ConditionExpression:       aws.String("attribute_exists(pk) AND #ttl > :now"),
		ExpressionAttributeNames:  map[string]string{"#ttl": "ttl"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": n(now.Unix()), ":exp": n(expires.Unix())},
		ReturnValues:              types.ReturnValueAllOld,
	})
	if err == nil {
		return false, time.UnixMilli(num(out.Attributes, "first")), nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return false, time.Time{}, fmt.Errorf("state: refresh %s: %w", key, err)
	}
	// Absent or expired: (re)start it. Two invocations racing here both report it new,
	// which for a baseline means at most one duplicate first-seen finding, deduplicated.
	_, err = d.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(d.table),
		Item: map[string]types.AttributeValue{
			"pk": s(key), "sk": s(singleSK), "first": n(now.UnixMilli()), "ttl": n(expires.Unix()),
		},
	})
	if err != nil {
		return false, time.Time{}, fmt.Errorf("state: refresh %s: put: %w", key, err)
	}
	return true, now, nil
}

// Count adds member to set key and returns how many members were seen at or after since.
func (d *Dynamo) Count(ctx context.Context, key, member string, now, since, expires time.Time) (int, error) {
	_, err := d.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(d.table),
		Item: map[string]types.AttributeValue{
			"pk": s(key), "sk": s("m#" + member), "seen": n(now.UnixMilli()), "ttl": n(expires.Unix()),
		},
	})
	if err != nil {
		return 0, fmt.Errorf("state: count %s: put: %w", key, err)
	}
	total := 0
	var start map[string]types.AttributeValue
	for {
		out, err := d.api.Query(ctx, &dynamodb.QueryInput{
			TableName:              aws.String(d.table),
			KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :m)"),
			// The time seen decides membership; an expired item that DynamoDB has not yet
			// deleted is older than since anyway.
			FilterExpression: aws.String("seen >= :since"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": s(key), ":m": s("m#"), ":since": n(since.UnixMilli()),
			},
			Select:            types.SelectCount,
			ConsistentRead:    aws.Bool(true),
			ExclusiveStartKey: start,
		})
		if err != nil {
			return 0, fmt.Errorf("state: count %s: query: %w", key, err)
		}
		total += int(out.Count)
		if len(out.LastEvaluatedKey) == 0 {
			return total, nil
		}
		start = out.LastEvaluatedKey
	}
}

// Swap stores value under key until expires and returns the previous live value.
func (d *Dynamo) Swap(ctx context.Context, key, value string, now, expires time.Time) (string, bool, error) {
	out, err := d.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(d.table),
		Item: map[string]types.AttributeValue{
			"pk": s(key), "sk": s(singleSK), "v": s(value), "first": n(now.UnixMilli()), "ttl": n(expires.Unix()),
		},
		ReturnValues: types.ReturnValueAllOld,
	})
	if err != nil {
		return "", false, fmt.Errorf("state: swap %s: %w", key, err)
	}
	old := out.Attributes
	if len(old) == 0 || num(old, "ttl") <= now.Unix() {
		return "", false, nil
	}
	v, ok := old["v"].(*types.AttributeValueMemberS)
	if !ok {
		return "", false, nil
	}
	return v.Value, true, nil
}

// Get returns the live value stored under key by Swap.
func (d *Dynamo) Get(ctx context.Context, key string, now time.Time) (string, bool, error) {
	out, err := d.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(d.table),
		Key:            map[string]types.AttributeValue{"pk": s(key), "sk": s(singleSK)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", false, fmt.Errorf("state: get %s: %w", key, err)
	}
	v, ok := out.Item["v"].(*types.AttributeValueMemberS)
	if !ok || num(out.Item, "ttl") <= now.Unix() {
		return "", false, nil
	}
	return v.Value, true, nil
}

// Forget deletes key.
func (d *Dynamo) Forget(ctx context.Context, key string) error {
	_, err := d.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(d.table),
		Key:       map[string]types.AttributeValue{"pk": s(key), "sk": s(singleSK)},
	})
	if err != nil {
		return fmt.Errorf("state: forget %s: %w", key, err)
	}
	return nil
}
