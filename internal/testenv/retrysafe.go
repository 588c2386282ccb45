package testenv

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
)

// A test's set-up call can succeed on the server while its answer is lost on a busy machine
// (the SDK logs "failed to discard remaining HTTP response body ... use of closed network
// connection"); the SDK then sends the call again, and the retry meets what the first
// attempt made. Calls that are idempotent on AWS and the emulators need nothing: Secrets
// Manager's CreateSecret and PutSecretValue (the SDK fills in ClientRequestToken once and
// every retry repeats it), SQS CreateQueue and SNS CreateTopic with the same attributes,
// S3 CreateBucket in us-east-1, EventBridge PutRule and PutTargets. The others go through
// CreateOnce; a delete whose result matters goes through IgnoreNotFound. EventBridge
// PutEvents and SNS Publish cannot be made idempotent: a test that reads what they deliver
// counts each event or message once. Exception: LocalStack 4.14.0 refuses a repeated
// CreateSecret with ResourceExistsException (TestCreateSecretRetryIsIdempotent skips there),
// so on LocalStack a retried CreateSecret can still fail a test.

// AlreadyExists reports whether err is an AWS API's refusal to create a resource that
// exists already (AWS's codes, which moto and LocalStack use too).
func AlreadyExists(err error) bool {
	switch errorCode(err) {
	case "EntityAlreadyExists", // IAM CreateRole, CreatePolicy
		"ResourceConflictException",      // Lambda CreateFunction
		"ResourceExistsException",        // Secrets Manager CreateSecret with another token
		"ResourceAlreadyExistsException", // EventBridge CreateEventBus, CloudWatch Logs
		"ResourceInUseException",         // DynamoDB CreateTable
		"BucketAlreadyOwnedByYou",        // S3 CreateBucket outside us-east-1
		"DBInstanceAlreadyExists",        // RDS CreateDBInstance, CreateDBInstanceReadReplica
		"DBClusterAlreadyExistsFault",    // RDS CreateDBCluster
		// moto 5.2.1 answers a second CreateDBCluster of the same name with this one.
		"DBClusterSnapshotAlreadyExistsFault",
		"QueueAlreadyExists", "QueueNameExists", // SQS CreateQueue with other attributes
		"AlreadyExistsException": // KMS CreateAlias
		return true
	}
	return false
}

// NotFound reports whether err is an AWS API's answer that the resource does not exist. A
// delete whose retry gets it has done its work: the first attempt deleted the resource.
func NotFound(err error) bool {
	switch errorCode(err) {
	case "ResourceNotFoundException", // Secrets Manager, Lambda, DynamoDB, EventBridge
		"NoSuchEntity",                                                            // IAM
		"NoSuchBucket",                                                            // S3
		"NotFoundException",                                                       // KMS
		"DBInstanceNotFound", "DBInstanceNotFoundFault", "DBClusterNotFoundFault", // RDS
		"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", // SQS
		"NotFound": // SNS
		return true
	}
	return false
}

// errorCode is the API error code in err's chain, "" when it holds none.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// uniqueSuffix is what Unique appends (or a name derived from it keeps): ten hex digits.
var uniqueSuffix = regexp.MustCompile(`[0-9a-f]{10}`)

// CreateOnce runs create, a set-up call that the SDK may send more than once, and makes an
// "already exists" answer its own success when the resource can be read back: name comes
// from Unique, so a resource of that name is the one an earlier attempt of this very call
// made. Any other error, or a read-back that fails, is returned. A name that does not carry
// Unique's suffix is refused before anything is created, since a resource of a fixed name
// may be another test's.
func CreateOnce[T any](ctx context.Context, name string, create, readBack func(context.Context) (T, error)) (T, error) {
	var zero T
	if !uniqueSuffix.MatchString(name) {
		return zero, fmt.Errorf("create %q: not a name from testenv.Unique; an existing resource of that name could be another test's", name)
	}
	out, err := create(ctx)
	if err == nil || !AlreadyExists(err) {
		return out, err
	}
	got, rerr := readBack(ctx)
	if rerr != nil {
		return zero, fmt.Errorf("create %s: %w; reading it back: %v", name, err, rerr)
	}
	return got, nil
}

// IgnoreNotFound returns the error of a delete that the SDK may send more than once, nil
// when it is NotFound: the resource has a unique name only this test knows, so an earlier
// attempt of the same delete removed it.
func IgnoreNotFound(err error) error {
	if NotFound(err) {
		return nil
	}
	return err
}

// SecretCreator is the part of a Secrets Manager client CreateSecret uses.
type SecretCreator interface {
	CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
}

// CreateSecret is CreateSecret safe under the SDK's retries (CreateOnce): a retry that
// LocalStack refuses as existing (AWS answers it idempotently) returns the secret the
// first attempt made, read back. in.Name must come from Unique.
func CreateSecret(ctx context.Context, sm SecretCreator, in *secretsmanager.CreateSecretInput) (*secretsmanager.CreateSecretOutput, error) {
	return CreateOnce(ctx, aws.ToString(in.Name),
		func(ctx context.Context) (*secretsmanager.CreateSecretOutput, error) { return sm.CreateSecret(ctx, in) },
		func(ctx context.Context) (*secretsmanager.CreateSecretOutput, error) {
			d, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: in.Name})
			if err != nil {
				return nil, err
			}
			return &secretsmanager.CreateSecretOutput{ARN: d.ARN, Name: d.Name}, nil
		})
}
