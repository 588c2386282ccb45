package deploycheck

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

const outputsJSON = `{
  "app_secret_arn": {"sensitive": false, "type": "string", "value": "arn:aws:secretsmanager:us-east-1:1:secret:app-AbCdEf"},
  "admin_secret_arn": {"value": "arn:aws:secretsmanager:us-east-1:1:secret:admin-AbCdEf"},
  "rotators": {"value": {"single-user": {"name": "rot-single", "arn": "arn:aws:lambda:us-east-1:1:function:rot-single"},
                         "alternating-users": {"name": "rot-alt", "arn": "arn:aws:lambda:us-east-1:1:function:rot-alt"}}},
  "audit_lambda_name": {"value": "auditor"},
  "alert_topic_arn": {"value": "arn:aws:sns:us-east-1:1:alerts"},
  "audit_dlq_url": {"value": "https://sqs/1/dlq"},
  "event_rule_names": {"value": {"management": "rule-m", "iam": "rule-i"}}
}`

// world is a healthy deployment that each case then breaks in one place.
type world struct {
	secrets  map[string]*secretsmanager.DescribeSecretOutput
	versions map[string][]smtypes.SecretVersionsListEntry
	fnState  ltypes.State
	rule     ebtypes.RuleState
	subs     []snstypes.Subscription
	dlq      string
}

func (w *world) DescribeSecret(_ context.Context, in *secretsmanager.DescribeSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	if d, ok := w.secrets[aws.ToString(in.SecretId)]; ok {
		return d, nil
	}
	return nil, errors.New("ResourceNotFoundException: no such secret")
}

func (w *world) ListSecretVersionIds(_ context.Context, in *secretsmanager.ListSecretVersionIdsInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretVersionIdsOutput, error) {
	return &secretsmanager.ListSecretVersionIdsOutput{Versions: w.versions[aws.ToString(in.SecretId)]}, nil
}

func (w *world) GetFunction(_ context.Context, in *lambda.GetFunctionInput, _ ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error) {
	name := aws.ToString(in.FunctionName)
	return &lambda.GetFunctionOutput{Configuration: &ltypes.FunctionConfiguration{
		FunctionArn: aws.String("arn:aws:lambda:us-east-1:1:function:" + name), State: w.fnState, LastUpdateStatus: ltypes.LastUpdateStatusSuccessful,
	}}, nil
}

func (w *world) DescribeRule(_ context.Context, in *eventbridge.DescribeRuleInput, _ ...func(*eventbridge.Options)) (*eventbridge.DescribeRuleOutput, error) {
	return &eventbridge.DescribeRuleOutput{Name: in.Name, State: w.rule}, nil
}

func (w *world) ListSubscriptionsByTopic(context.Context, *sns.ListSubscriptionsByTopicInput, ...func(*sns.Options)) (*sns.ListSubscriptionsByTopicOutput, error) {
	return &sns.ListSubscriptionsByTopicOutput{Subscriptions: w.subs}, nil
}

func (w *world) GetQueueAttributes(context.Context, *sqs.GetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	return &sqs.GetQueueAttributesOutput{Attributes: map[string]string{"ApproximateNumberOfMessages": w.dlq}}, nil
}

var now = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func healthy() *world {
	w := &world{secrets: map[string]*secretsmanager.DescribeSecretOutput{}, versions: map[string][]smtypes.SecretVersionsListEntry{},
		fnState: ltypes.StateActive, rule: ebtypes.RuleStateEnabled, dlq: "0",
		subs: []snstypes.Subscription{{SubscriptionArn: aws.String("arn:aws:sns:us-east-1:1:alerts:abc")}}}
	for arn, fn := range map[string]string{"arn:aws:secretsmanager:us-east-1:1:secret:app-AbCdEf": "rot-alt", "arn:aws:secretsmanager:us-east-1:1:secret:admin-AbCdEf": "rot-single"} {
		w.secrets[arn] = &secretsmanager.DescribeSecretOutput{ARN: aws.String(arn), RotationEnabled: aws.Bool(true),
			RotationLambdaARN: aws.String("arn:aws:lambda:us-east-1:1:function:" + fn),
			LastRotatedDate:   aws.Time(now.Add(-24 * time.Hour)), NextRotationDate: aws.Time(now.Add(29 * 24 * time.Hour))}
		w.versions[arn] = []smtypes.SecretVersionsListEntry{{VersionId: aws.String("v1"), VersionStages: []string{"AWSCURRENT"}, CreatedDate: aws.Time(now.Add(-24 * time.Hour))}}
	}
	return w
}

// TestChecks: a healthy deployment passes; each way one part can be broken fails the
// check that concerns it, and says what to do.
func TestChecks(t *testing.T) {
	d, err := ParseOutputs([]byte(outputsJSON))
	if err != nil {
		t.Fatal(err)
	}
	app := "arn:aws:secretsmanager:us-east-1:1:secret:app-AbCdEf"
	for _, tt := range []struct {
		name     string
		breakIt  func(*world)
		failing  string // the check that fails, "" for none
		mentions string
	}{
		{"healthy", func(*world) {}, "", ""},
		{"rotation off", func(w *world) { w.secrets[app].RotationEnabled = aws.Bool(false) }, "secret " + app, "rotation is off"},
		{"another function rotates it", func(w *world) {
			w.secrets[app].RotationLambdaARN = aws.String("arn:aws:lambda:us-east-1:1:function:someone-elses")
		}, "secret " + app, "not one of this environment's rotators"},
		{"overdue", func(w *world) { w.secrets[app].NextRotationDate = aws.Time(now.Add(-72 * time.Hour)) }, "secret " + app, "overdue"},
		{"stale AWSPENDING", func(w *world) {
			w.versions[app] = append(w.versions[app], smtypes.SecretVersionsListEntry{VersionId: aws.String("v2"),
				VersionStages: []string{"AWSPENDING"}, CreatedDate: aws.Time(now.Add(-3 * time.Hour))})
		}, "secret " + app, "rotation failed"},
		{"secret gone", func(w *world) { delete(w.secrets, app) }, "secret " + app, "ResourceNotFound"},
		{"function failed", func(w *world) { w.fnState = ltypes.StateFailed }, "function rot-alt", "state Failed"},
		{"rule disabled", func(w *world) { w.rule = ebtypes.RuleStateDisabled }, "rule rule-i", "enable-rule"},
		{"nobody subscribed", func(w *world) {
			w.subs = []snstypes.Subscription{{SubscriptionArn: aws.String("PendingConfirmation")}}
		}, "alert topic", "no confirmed subscriber"},
		{"dead letters", func(w *world) { w.dlq = "3" }, "audit dead-letter queue", "3 event(s)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := healthy()
			tt.breakIt(w)
			checks := Run(context.Background(), Clients{SM: w, Lambda: w, Events: w, SNS: w, SQS: w}, d, Options{Now: now})
			var failed []Check
			for _, c := range checks {
				if c.Status == Fail {
					failed = append(failed, c)
				}
			}
			if tt.failing == "" {
				if len(failed) > 0 || len(checks) != 3+2+2+1+1 {
					t.Fatalf("healthy deployment: %d checks, failing %+v", len(checks), failed)
				}
				return
			}
			if len(failed) == 0 || failed[0].Name != tt.failing || !strings.Contains(failed[0].Detail, tt.mentions) || !Failed(checks) {
				t.Fatalf("failing %+v, want %s mentioning %q", failed, tt.failing, tt.mentions)
			}
		})
	}
}

// TestParseOutputsSaysWhatIsMissing: outputs that are not an environment's are refused
// with the name of what is missing.
func TestParseOutputsSaysWhatIsMissing(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`not json`, "terraform output -json"},
		{`{}`, `"app_secret_arn" is missing`},
		{`{"app_secret_arn":{"value":"a"},"admin_secret_arn":{"value":"b"}}`, `"rotators"`},
		{`{"app_secret_arn":{"value":"a"},"admin_secret_arn":{"value":"b"},"rotators":{"value":{"x":{"name":"r"}}}}`, `"audit_lambda_name"`},
		{`{"app_secret_arn":{"value":""}}`, "not a non-empty string"},
	} {
		if _, err := ParseOutputs([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseOutputs(%s) = %v, want an error mentioning %s", tt.in, err, tt.want)
		}
	}
}

// FuzzParseOutputs: any input gives a deployment or an error, never a panic, and a
// deployment always names its secrets, a rotator and the topic.
func FuzzParseOutputs(f *testing.F) {
	f.Add([]byte(outputsJSON))
	f.Add([]byte(`{"rotators":{"value":null}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseOutputs(data)
		if err == nil && (len(d.Secrets) != 2 || len(d.Rotators) == 0 || d.TopicARN == "") {
			t.Fatalf("accepted an incomplete deployment: %+v", d)
		}
	})
}
