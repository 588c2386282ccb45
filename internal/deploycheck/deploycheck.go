// Package deploycheck checks, without changing anything, that a deployed rotaudit
// environment is healthy: every managed secret exists with rotation on, through one of
// the environment's rotators, rotated on schedule and with no rotation left half-way; the
// functions are active; the audit's EventBridge rules are enabled; its dead-letter queue
// is empty; and the alert topic has a subscriber. It reads what it checks from
// `terraform output -json` of the environment (ParseOutputs), so it needs no
// configuration of its own, and makes only Describe/Get/List calls.
package deploycheck

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/rotaudit/rotaudit/internal/fleet"
)

// Deployment is what an environment's Terraform outputs say it made.
type Deployment struct {
	// Secrets are the managed secrets' ARNs.
	Secrets []string
	// Rotators are the rotation functions' names; Functions every function to check.
	Rotators, Functions []string
	// Rules are the audit's EventBridge rules, by name.
	Rules []string
	// TopicARN is the alert topic; DLQURL the audit's dead-letter queue ("" when not
	// given).
	TopicARN, DLQURL string
}

// ParseOutputs reads `terraform output -json` of an environment (envs/*): the secrets
// (app_secret_arn, admin_secret_arn), rotators, audit_lambda_name, alert_topic_arn, and
// when present event_rule_names and audit_dlq_url. A missing required output is an error
// naming it.
func ParseOutputs(data []byte) (Deployment, error) {
	var outs map[string]struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(data, &outs); err != nil {
		return Deployment{}, fmt.Errorf("terraform outputs: %w: give the output of `terraform output -json`", err)
	}
	var d Deployment
	str := func(name string, required bool) (string, error) {
		o, ok := outs[name]
		if !ok || string(o.Value) == "null" {
			if required {
				return "", fmt.Errorf("terraform outputs: %q is missing: is this the output of an envs/* root?", name)
			}
			return "", nil
		}
		var s string
		if err := json.Unmarshal(o.Value, &s); err != nil || s == "" {
			return "", fmt.Errorf("terraform outputs: %q is not a non-empty string", name)
		}
		return s, nil
	}
	for _, n := range []string{"app_secret_arn", "admin_secret_arn"} {
		s, err := str(n, true)
		if err != nil {
			return Deployment{}, err
		}
		d.Secrets = append(d.Secrets, s)
	}
	var rotators map[string]struct {
		Name string `json:"name"`
	}
	if o, ok := outs["rotators"]; !ok || json.Unmarshal(o.Value, &rotators) != nil || len(rotators) == 0 {
		return Deployment{}, fmt.Errorf("terraform outputs: %q is missing or not a map of functions with a name", "rotators")
	}
	for _, r := range rotators {
		if r.Name == "" {
			return Deployment{}, fmt.Errorf("terraform outputs: a rotator in %q has no name", "rotators")
		}
		d.Rotators = append(d.Rotators, r.Name)
	}
	sort.Strings(d.Rotators)
	auditor, err := str("audit_lambda_name", true)
	if err != nil {
		return Deployment{}, err
	}
	d.Functions = append(slices.Clone(d.Rotators), auditor)
	if d.TopicARN, err = str("alert_topic_arn", true); err != nil {
		return Deployment{}, err
	}
	if d.DLQURL, err = str("audit_dlq_url", false); err != nil {
		return Deployment{}, err
	}
	if o, ok := outs["event_rule_names"]; ok {
		var rules map[string]string
		if err := json.Unmarshal(o.Value, &rules); err != nil {
			return Deployment{}, fmt.Errorf("terraform outputs: %q is not a map of rule names", "event_rule_names")
		}
		for _, r := range rules {
			d.Rules = append(d.Rules, r)
		}
		sort.Strings(d.Rules)
	}
	return d, nil
}

// Clients are the read-only calls the checks make.
type Clients struct {
	SM interface {
		DescribeSecret(context.Context, *secretsmanager.DescribeSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
		ListSecretVersionIds(context.Context, *secretsmanager.ListSecretVersionIdsInput, ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretVersionIdsOutput, error)
	}
	Lambda interface {
		GetFunction(context.Context, *lambda.GetFunctionInput, ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error)
	}
	Events interface {
		DescribeRule(context.Context, *eventbridge.DescribeRuleInput, ...func(*eventbridge.Options)) (*eventbridge.DescribeRuleOutput, error)
	}
	SNS interface {
		ListSubscriptionsByTopic(context.Context, *sns.ListSubscriptionsByTopicInput, ...func(*sns.Options)) (*sns.ListSubscriptionsByTopicOutput, error)
	}
	SQS interface {
		GetQueueAttributes(context.Context, *sqs.GetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	}
}

// Statuses of a Check.
const (
	OK   = "ok"
	Warn = "warn"
	Fail = "FAIL"
)

// Check is one verdict.
type Check struct {
	Name, Status, Detail string
}

// Options tune the checks.
type Options struct {
	// Now is the time the checks judge against (time.Now when zero).
	Now time.Time
	// StalePending is how old an AWSPENDING version may be before the rotation that made
	// it counts as failed (default 1 hour: a rotation takes seconds).
	StalePending time.Duration
}

// Run makes every check and returns the verdicts in a stable order.
func Run(ctx context.Context, c Clients, d Deployment, o Options) []Check {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.StalePending == 0 {
		o.StalePending = time.Hour
	}
	var out []Check
	add := func(name, status, format string, a ...any) {
		out = append(out, Check{Name: name, Status: status, Detail: fmt.Sprintf(format, a...)})
	}
	rotatorARNs := map[string]bool{}
	for _, f := range d.Functions {
		fn, err := c.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(f)})
		if err != nil {
			add("function "+f, Fail, "%v", err)
			continue
		}
		cfg := fn.Configuration
		if slices.Contains(d.Rotators, f) {
			rotatorARNs[aws.ToString(cfg.FunctionArn)] = true
		}
		state, update := string(cfg.State), string(cfg.LastUpdateStatus)
		// An emulator may leave both empty; AWS always sets them.
		if (state != "" && state != "Active") || (update != "" && update != "Successful") {
			add("function "+f, Fail, "state %s, last update %s: %s", state, update, aws.ToString(cfg.StateReason)+aws.ToString(cfg.LastUpdateStatusReason))
			continue
		}
		add("function "+f, OK, "active, %s, %d MB, timeout %d s", cfg.Runtime, aws.ToInt32(cfg.MemorySize), aws.ToInt32(cfg.Timeout))
	}
	for _, s := range d.Secrets {
		out = append(out, checkSecret(ctx, c, s, rotatorARNs, o)...)
	}
	for _, r := range d.Rules {
		rule, err := c.Events.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(r)})
		switch {
		case err != nil:
			add("rule "+r, Fail, "%v", err)
		case rule.State != "ENABLED":
			add("rule "+r, Fail, "state %s: the audit sees none of its events (aws events enable-rule --name %s)", rule.State, r)
		default:
			add("rule "+r, OK, "enabled")
		}
	}
	subs, err := c.SNS.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(d.TopicARN)})
	if err != nil {
		add("alert topic", Fail, "%v", err)
	} else {
		confirmed := 0
		for _, s := range subs.Subscriptions {
			if a := aws.ToString(s.SubscriptionArn); a != "" && a != "PendingConfirmation" {
				confirmed++
			}
		}
		if confirmed == 0 {
			add("alert topic", Fail, "%s has no confirmed subscriber (%d pending): findings reach nobody", d.TopicARN, len(subs.Subscriptions))
		} else {
			add("alert topic", OK, "%d confirmed subscriber(s)", confirmed)
		}
	}
	if d.DLQURL != "" {
		q, err := c.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(d.DLQURL),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages}})
		if err != nil {
			add("audit dead-letter queue", Fail, "%v", err)
		} else if n, _ := strconv.Atoi(q.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)]); n > 0 {
			add("audit dead-letter queue", Fail, "%d event(s) the auditor could not process: read them from %s, fix the cause, redrive", n, d.DLQURL)
		} else {
			add("audit dead-letter queue", OK, "empty")
		}
	}
	return out
}

// checkSecret checks one secret: it exists, rotates through one of the environment's
// rotators, and passes the judgement `rotaudit fleet` makes of every managed secret
// (fleet.Judge: rotation on, not overdue, no rotation left half-way).
func checkSecret(ctx context.Context, c Clients, arn string, rotators map[string]bool, o Options) []Check {
	name := "secret " + arn
	d, err := c.SM.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)})
	if err != nil {
		return []Check{{name, Fail, err.Error()}}
	}
	row := fleet.Judge(ctx, c.SM, d, fleet.Options{Now: o.Now, StalePending: o.StalePending})
	status := map[fleet.Status]string{fleet.OK: OK, fleet.Warn: Warn, fleet.Fail: Fail}[row.Status]
	var problems []string
	if fn := row.RotationFunction; row.RotationEnabled && len(rotators) > 0 && !rotators[fn] {
		status = Fail
		problems = append(problems, fmt.Sprintf("rotates through %s, not one of this environment's rotators", fn))
	}
	detail := "never rotated"
	if row.LastRotated != nil {
		detail = "last rotated " + row.LastRotated.Format(time.RFC3339)
	}
	for _, r := range row.Reasons {
		if r != "never rotated" { // said already
			problems = append(problems, r)
		}
	}
	if len(problems) > 0 {
		detail += "; " + strings.Join(problems, "; ")
	}
	return []Check{{name, status, detail}}
}

// Failed reports whether any check failed.
func Failed(checks []Check) bool {
	return slices.ContainsFunc(checks, func(c Check) bool { return c.Status == Fail })
}
