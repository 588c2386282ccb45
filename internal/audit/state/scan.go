package state

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ScanAPI is the DynamoDB call ScanPrefix makes.
type ScanAPI interface {
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// Entry is one live single-value entry of the table (Remember, Refresh or Swap).
type Entry struct {
	Key, Value     string
	First, Expires time.Time
}

// ScanPrefix returns the live single-value entries of table whose key begins with one of
// prefixes, in the table's order. A Scan reads the whole table, page by page: it is for an
// operator's report (`rotaudit fleet`), never for the auditor's path, which reads by key.
func ScanPrefix(ctx context.Context, api ScanAPI, table string, now time.Time, prefixes ...string) ([]Entry, error) {
	if len(prefixes) == 0 {
		return nil, nil
	}
	values := map[string]types.AttributeValue{":single": s(singleSK), ":now": n(now.Unix())}
	filter := "sk = :single AND #ttl > :now AND ("
	for i, p := range prefixes {
		k := ":p" + strconv.Itoa(i)
		values[k] = s(p)
		if i > 0 {
			filter += " OR "
		}
		filter += "begins_with(pk, " + k + ")"
	}
	filter += ")"
	var out []Entry
	var start map[string]types.AttributeValue
	for {
		page, err := api.Scan(ctx, &dynamodb.ScanInput{
			TableName:                 aws.String(table),
			FilterExpression:          aws.String(filter),
			ExpressionAttributeNames:  map[string]string{"#ttl": "ttl"},
			ExpressionAttributeValues: values,
			ConsistentRead:            aws.Bool(true),
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return nil, fmt.Errorf("state: scan %s: %w", table, err)
		}
		for _, it := range page.Items {
			pk, _ := it["pk"].(*types.AttributeValueMemberS)
			if pk == nil {
				continue
			}
			e := Entry{Key: pk.Value, First: time.UnixMilli(num(it, "first")), Expires: time.Unix(num(it, "ttl"), 0)}
			if v, ok := it["v"].(*types.AttributeValueMemberS); ok {
				e.Value = v.Value
			}
			out = append(out, e)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		start = page.LastEvaluatedKey
	}
}
