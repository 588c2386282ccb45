package awscheck

import (
	"reflect"
	"strings"

	"github.com/rotaudit/rotaudit/internal/audit"
	"github.com/rotaudit/rotaudit/internal/audit/state"
	"github.com/rotaudit/rotaudit/internal/bootstrap"
	"github.com/rotaudit/rotaudit/internal/dbcreds"
	"github.com/rotaudit/rotaudit/internal/rotation"
)

// Target names what a call acts on; Calls resolves it per caller and environment.
type Target string

// The targets of the inventory.
const (
	RotatedSecrets Target = "the secrets it rotates"                 // rotation_lambda_arn names the function
	MasterSecrets  Target = "its master secrets"                     // MASTER_SECRET_ARNS, MASTER_SECRET_ARN
	AppSecrets     Target = "the app secrets"                        // APP_SECRET_ARNS, DB_SECRET_ID
	NoResource     Target = "no resource (*)"                        // the API acts on no resource: IAM accepts only "*"
	DBInstances    Target = "the database instances"                 // aws_db_instance
	DBClusters     Target = "the database clusters"                  // none in this deployment: a cluster by the instance's name
	StateTable     Target = "its state table"                        // STATE_TABLE
	AlertTopic     Target = "its alert topic"                        // ALERT_TOPIC_ARN
	TrailObjects   Target = "the trail's log files (when announced)" // S3 backfill only
)

// Caller kinds: one Lambda function or ECS task kind of the code.
const (
	Rotator   = "rotator"   // functions/rotator
	Bootstrap = "bootstrap" // functions/dbbootstrap
	Auditor   = "auditor"   // functions/auditor
	API       = "api"       // service/ (ECS task)
)

// Use is one narrow SDK interface a caller declares, with the resources each of its
// methods acts on. The IAM action is "<service>:<Method>": the SDK's operation names are
// the API's, which are IAM's actions for these services.
type Use struct {
	Caller    string
	Interface reflect.Type
	Service   string              // IAM service prefix
	On        map[string][]Target // method -> what it acts on
	// Needed is false when the wiring never makes these calls on the usual path (the
	// rotator's RDS lookups: only for RDS-managed masters and replicas). Their permission is
	// still checked; their network path is not required.
	Needed bool
}

// Holders lists, per caller, the structs whose fields hold its SDK clients: a test walks
// them and fails when a client field's interface is missing from Inventory.
var Holders = map[string][]reflect.Type{
	Rotator:   {reflect.TypeFor[rotation.Rotator]()},
	Bootstrap: {reflect.TypeFor[bootstrap.Bootstrapper]()},
	Auditor:   {reflect.TypeFor[audit.Handler](), reflect.TypeFor[audit.SNSSink](), reflect.TypeFor[state.Dynamo]()},
	API:       {reflect.TypeFor[dbcreds.Cache]()},
}

// Inventory is every AWS call the code can make, by caller. TestInventoryMatchesCode keeps
// it equal to the interfaces' method sets and to the client fields of Holders.
var Inventory = []Use{
	{Caller: Rotator, Interface: reflect.TypeFor[rotation.SecretsManager](), Service: "secretsmanager", Needed: true, On: map[string][]Target{
		"DescribeSecret":           {RotatedSecrets, MasterSecrets},
		"GetSecretValue":           {RotatedSecrets, MasterSecrets},
		"PutSecretValue":           {RotatedSecrets},
		"UpdateSecretVersionStage": {RotatedSecrets},
	}},
	{Caller: Rotator, Interface: reflect.TypeFor[rotation.RDS](), Service: "rds", On: map[string][]Target{
		"DescribeDBInstances": {DBInstances},
		"DescribeDBClusters":  {DBClusters},
	}},
	{Caller: Bootstrap, Interface: reflect.TypeFor[bootstrap.SecretsAPI](), Service: "secretsmanager", Needed: true, On: map[string][]Target{
		"GetSecretValue":           {MasterSecrets, AppSecrets},
		"DescribeSecret":           {MasterSecrets, AppSecrets},
		"PutSecretValue":           {AppSecrets},
		"UpdateSecretVersionStage": {AppSecrets},
		"GetRandomPassword":        {NoResource},
	}},
	{Caller: Auditor, Interface: reflect.TypeFor[audit.S3API](), Service: "s3", On: map[string][]Target{
		"GetObject": {TrailObjects},
	}},
	{Caller: Auditor, Interface: reflect.TypeFor[audit.TrailsAPI](), Service: "cloudtrail", Needed: true, On: map[string][]Target{
		"DescribeTrails": {NoResource},
	}},
	{Caller: Auditor, Interface: reflect.TypeFor[audit.SNSAPI](), Service: "sns", Needed: true, On: map[string][]Target{
		"Publish": {AlertTopic},
	}},
	{Caller: Auditor, Interface: reflect.TypeFor[state.DynamoAPI](), Service: "dynamodb", Needed: true, On: map[string][]Target{
		"PutItem":    {StateTable},
		"GetItem":    {StateTable},
		"Query":      {StateTable},
		"UpdateItem": {StateTable},
		"DeleteItem": {StateTable},
	}},
	{Caller: API, Interface: reflect.TypeFor[dbcreds.SecretsAPI](), Service: "secretsmanager", Needed: true, On: map[string][]Target{
		"GetSecretValue": {AppSecrets},
	}},
}

// viaServiceKMS lists the KMS calls a service makes with its caller's permissions when
// the resource is encrypted with a customer managed key: IAM's action data does not show
// them, so they are calls of their own, on the resource's key, with kms:ViaService.
// Secrets Manager: https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html
// SNS: https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
// DynamoDB: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.usagenotes.html
var viaServiceKMS = map[string][]string{
	"secretsmanager:GetSecretValue":           {"kms:Decrypt"},
	"secretsmanager:PutSecretValue":           {"kms:GenerateDataKey"},
	"secretsmanager:UpdateSecretVersionStage": {},
	"sns:Publish":         {"kms:GenerateDataKey", "kms:Decrypt"},
	"dynamodb:GetItem":    {"kms:Decrypt"},
	"dynamodb:Query":      {"kms:Decrypt"},
	"dynamodb:PutItem":    {"kms:Decrypt"},
	"dynamodb:UpdateItem": {"kms:Decrypt"},
	"dynamodb:DeleteItem": {"kms:Decrypt"},
}

// Action is the IAM action of a method of a Use.
func (u Use) Action(method string) string { return u.Service + ":" + method }

// sdkService returns the IAM prefix of an aws-sdk-go-v2 client method's package
// (.../service/<name>), or "" when m is not an SDK client method: its last parameter is
// ...func(*<service>.Options).
func sdkService(m reflect.Method) string {
	t := m.Type
	if !t.IsVariadic() || t.NumIn() == 0 {
		return ""
	}
	last := t.In(t.NumIn() - 1).Elem() // func(*X.Options)
	if last.Kind() != reflect.Func || last.NumIn() != 1 || last.In(0).Kind() != reflect.Pointer {
		return ""
	}
	opt := last.In(0).Elem()
	const prefix = "github.com/aws/aws-sdk-go-v2/service/"
	if opt.Name() != "Options" || !strings.HasPrefix(opt.PkgPath(), prefix) {
		return ""
	}
	return strings.TrimPrefix(opt.PkgPath(), prefix)
}
