// Package incident acts out a credential incident on the AWS emulator for `make demo`: an
// unknown principal reads the database secret, someone weakens the trail's event selectors,
// a rotation fails, and (with a local PostgreSQL) the intruder tries the password that a
// rotation retired, which the database's own log reveals. The CloudTrail-shaped events go through the EventBridge patterns that
// Terraform deploys (into a queue, since emulators cannot target Lambda), through the
// auditor's handler with its state in DynamoDB, and out on the alert topic, where a
// subscriber queue shows them as they arrive.
package incident

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rotaudit/rotaudit/internal/devstack"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/audit"
	"github.com/rotaudit/rotaudit/internal/audit/pglog"
	"github.com/rotaudit/rotaudit/internal/audit/state"
)

// SecretName is the local database secret the intruder reads.
const SecretName = "rotaudit/local/app"

// Options says where the patterns are and where to write.
type Options struct {
	// PatternDir holds management-events.json and iam-events.json.
	PatternDir string
	// Out receives the readable story; Log the auditor's JSON logs (io.Discard to hide).
	Out io.Writer
	Log io.Writer
	// Keep leaves the demo's queues, topic, bus and table in place for inspection.
	Keep bool
	// Postgres, when set, adds the database part: a login with a rotated-out password.
	Postgres *Postgres
}

// Postgres is the local stack's PostgreSQL, where the intruder logs in.
type Postgres struct {
	// SuperDSN creates and drops the demo's role (the superuser over the unix socket).
	SuperDSN string
	// Port is the TCP port on 127.0.0.1 the intruder connects to.
	Port int
	// ServerLog is the server's log file; its lines reach the auditor as a CloudWatch Logs
	// subscription would deliver RDS's exported log.
	ServerLog string
}

// resources are what Run creates, deleted at the end unless Keep.
type resources struct {
	cleanup []func()
}

func (r *resources) later(f func()) { r.cleanup = append(r.cleanup, f) }

func (r *resources) close() {
	for i := len(r.cleanup) - 1; i >= 0; i-- {
		r.cleanup[i]()
	}
}

// Run acts out the incident against the AWS endpoint cfg points at.
func Run(ctx context.Context, cfg aws.Config, opt Options) error {
	out := opt.Out
	ddb, eb, sq, sn := dynamodb.NewFromConfig(cfg), eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg), sns.NewFromConfig(cfg)
	var res resources
	if !opt.Keep {
		defer res.close()
	}
	bg := context.Background()
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1e9)

	acct := "123456789012"
	if id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil && aws.ToString(id.Account) != "" {
		acct = aws.ToString(id.Account)
	}
	secretARN := SecretName
	if d, err := secretsmanager.NewFromConfig(cfg).DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(SecretName)}); err == nil {
		secretARN = aws.ToString(d.ARN)
	} else {
		fmt.Fprintf(out, "   (secret %s not found on the emulator: the events name it anyway; `make up` creates it)\n", SecretName)
	}

	step(out, "setting up the audit pipeline on the emulator")
	// The SDK sends a create again when its answer is lost on a busy machine. The names carry
	// this run's suffix, so "already exists" from the table or the bus is that first attempt's
	// work; the other creates here are idempotent.
	var tableExists *ddbtypes.ResourceInUseException
	var busExists *ebtypes.ResourceAlreadyExistsException
	table := "rotaudit-demo-audit-state-" + suffix
	if _, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}, {AttributeName: aws.String("sk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}, {AttributeName: aws.String("sk"), KeyType: ddbtypes.KeyTypeRange}},
	}); err != nil && !errors.As(err, &tableExists) {
		return fmt.Errorf("create state table: %w", err)
	}
	res.later(func() { ddb.DeleteTable(bg, &dynamodb.DeleteTableInput{TableName: aws.String(table)}) })
	if _, err := ddb.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(table), TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String("ttl"), Enabled: aws.Bool(true)}}); err != nil {
		return fmt.Errorf("enable ttl: %w", err)
	}
	ruleQ, ruleQARN, err := queue(ctx, sq, "rotaudit-demo-eventbridge-"+suffix, &res)
	if err != nil {
		return err
	}
	alertQ, alertQARN, err := queue(ctx, sq, "rotaudit-demo-alerts-"+suffix, &res)
	if err != nil {
		return err
	}
	topic, err := sn.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("rotaudit-demo-alerts-" + suffix)})
	if err != nil {
		return fmt.Errorf("create topic: %w", err)
	}
	res.later(func() { sn.DeleteTopic(bg, &sns.DeleteTopicInput{TopicArn: topic.TopicArn}) })
	if _, err := sn.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(alertQARN)}); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	bus := "rotaudit-demo-" + suffix
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil && !errors.As(err, &busExists) {
		return fmt.Errorf("create event bus: %w", err)
	}
	res.later(func() { eb.DeleteEventBus(bg, &eventbridge.DeleteEventBusInput{Name: aws.String(bus)}) })
	for _, p := range []string{"management-events", "iam-events"} {
		pattern, err := os.ReadFile(filepath.Join(opt.PatternDir, p+".json"))
		if err != nil {
			return fmt.Errorf("pattern: %w", err)
		}
		if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(p), EventBusName: aws.String(bus), EventPattern: aws.String(string(pattern)), State: ebtypes.RuleStateEnabled}); err != nil {
			return fmt.Errorf("put rule %s: %w", p, err)
		}
		if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(p), EventBusName: aws.String(bus), Targets: []ebtypes.Target{{Id: aws.String("auditor-queue"), Arn: aws.String(ruleQARN)}}}); err != nil {
			return fmt.Errorf("put targets %s: %w", p, err)
		}
		res.later(func() {
			eb.RemoveTargets(bg, &eventbridge.RemoveTargetsInput{Rule: aws.String(p), EventBusName: aws.String(bus), Ids: []string{"auditor-queue"}})
			eb.DeleteRule(bg, &eventbridge.DeleteRuleInput{Name: aws.String(p), EventBusName: aws.String(bus)})
		})
	}
	fmt.Fprintf(out, "   state table %s, alert topic %s, event bus %s\n", table, aws.ToString(topic.TopicArn), bus)

	demoRole := "rotaudit_demo_app_" + suffix
	confDoc := fmt.Sprintf(`{"watched_secrets":[{"name_prefix":"rotaudit/local/"}],
 "readers":["arn:aws:iam::%[1]s:role/rotaudit-local-api-task"],
 "rotators":["arn:aws:iam::%[1]s:role/rotaudit-local-rotator"],
 "db_logins":{"users":[%[2]q],"admin_users":["rotaudit_admin"],"ignore_users":["postgres"]},
 "learning_period":"1h"}`, acct, demoRole)
	conf, err := audit.ParseConfig([]byte(confDoc))
	if err != nil {
		return err
	}
	logw := opt.Log
	if logw == nil {
		logw = io.Discard
	}
	log := slog.New(slog.NewJSONHandler(logw, nil))
	handler := &audit.Handler{
		Engine: audit.NewEngine(conf, state.NewDynamo(ddb, table)),
		Sink:   &audit.SNSSink{API: sn, Topic: aws.ToString(topic.TopicArn), Log: log},
		Log:    log,
	}

	now := time.Now().UTC()
	intruder := map[string]any{"type": "AssumedRole", "principalId": "AROADEMOINTRUDER:laptop", "arn": "arn:aws:sts::" + acct + ":assumed-role/contractor-ci/laptop",
		"accountId": acct, "sessionContext": map[string]any{"sessionIssuer": map[string]any{"type": "Role", "arn": "arn:aws:iam::" + acct + ":role/contractor-ci", "accountId": acct, "userName": "contractor-ci"}}}
	api := map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::" + acct + ":assumed-role/rotaudit-local-api-task/ecs-task-1",
		"accountId": acct, "sessionContext": map[string]any{"sessionIssuer": map[string]any{"type": "Role", "arn": "arn:aws:iam::" + acct + ":role/rotaudit-local-api-task"}}}
	rec := func(n int, who map[string]any, source, name string, params any) map[string]any {
		return map[string]any{"eventVersion": "1.09", "userIdentity": who, "eventTime": now.Add(time.Duration(n) * time.Second).Format(time.RFC3339),
			"eventSource": source, "eventName": name, "awsRegion": cfg.Region, "sourceIPAddress": "185.220.101.7", "userAgent": "aws-cli/2.17.0 Python/3.12",
			"requestParameters": params, "responseElements": nil, "eventID": fmt.Sprintf("demo-%s-%02d", suffix, n), "eventType": "AwsApiCall", "recipientAccountId": acct}
	}
	apiRead := rec(0, api, "secretsmanager.amazonaws.com", "GetSecretValue", map[string]any{"secretId": secretARN})
	apiRead["sourceIPAddress"] = "10.0.1.23"
	apiRead["userAgent"] = "aws-sdk-go-v2/1.41.0 os/linux lang/go#1.26"
	failed := rec(3, map[string]any{"accountId": acct, "invokedBy": "secretsmanager.amazonaws.com"}, "secretsmanager.amazonaws.com", "RotationFailed", nil)
	failed["eventType"] = "AwsServiceEvent"
	failed["sourceIPAddress"], failed["userAgent"] = "secretsmanager.amazonaws.com", "secretsmanager.amazonaws.com"
	failed["errorMessage"] = "Error when executing lambda rotaudit-local-rotator during setSecret step"
	failed["additionalEventData"] = map[string]any{"SecretId": secretARN}
	rotated := rec(5, map[string]any{"accountId": acct, "invokedBy": "secretsmanager.amazonaws.com"}, "secretsmanager.amazonaws.com", "RotationSucceeded", nil)
	rotated["eventType"] = "AwsServiceEvent"
	rotated["eventTime"] = now.Add(-time.Minute).Format(time.RFC3339)
	rotated["sourceIPAddress"], rotated["userAgent"] = "secretsmanager.amazonaws.com", "secretsmanager.amazonaws.com"
	rotated["additionalEventData"] = map[string]any{"SecretId": secretARN}
	story := []struct {
		say, detailType string
		detail          map[string]any
	}{
		{"a minute ago the secret was rotated (kept as rotation history, must stay quiet)", "AWS Service Event via CloudTrail", rotated},
		{"the API's task role reads its secret (routine, must stay quiet)", "AWS API Call via CloudTrail", apiRead},
		{"an unknown principal (role contractor-ci) reads " + SecretName, "AWS API Call via CloudTrail", rec(1, intruder, "secretsmanager.amazonaws.com", "GetSecretValue", map[string]any{"secretId": SecretName})},
		{"the same principal reads it again (added to the open finding: count 2)", "AWS API Call via CloudTrail", rec(2, intruder, "secretsmanager.amazonaws.com", "GetSecretValue", map[string]any{"secretId": SecretName})},
		{"it weakens the trail's event selectors to WriteOnly (hides GetSecretValue)", "AWS API Call via CloudTrail", rec(4, intruder, "cloudtrail.amazonaws.com", "PutEventSelectors",
			map[string]any{"trailName": "rotaudit-local", "eventSelectors": []any{map[string]any{"readWriteType": "WriteOnly", "includeManagementEvents": true, "dataResources": []any{}}}})},
		{"the next rotation fails (Secrets Manager service event)", "AWS Service Event via CloudTrail", failed},
	}
	step(out, "acting out the incident: CloudTrail events into EventBridge (PutEvents)")
	var entries []ebtypes.PutEventsRequestEntry
	for _, s := range story {
		d, _ := json.Marshal(s.detail)
		fmt.Fprintf(out, "   %s  %s\n", s.detail["eventID"], s.say)
		entries = append(entries, ebtypes.PutEventsRequestEntry{EventBusName: aws.String(bus), Source: aws.String("rotaudit.demo"), DetailType: aws.String(s.detailType), Detail: aws.String(string(d))})
	}
	pe, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
	if err != nil {
		return fmt.Errorf("put events: %w", err)
	}
	if pe.FailedEntryCount > 0 {
		return fmt.Errorf("put events: %d entries failed", pe.FailedEntryCount)
	}

	step(out, "auditor: reading the rule's queue and running each event through the handler")
	matched, err := drain(ctx, sq, ruleQ, len(story), drainLimit, func(body string) error {
		_, err := handler.Handle(ctx, json.RawMessage(body))
		return err
	})
	if err != nil {
		return fmt.Errorf("auditor: %w", err)
	}
	fmt.Fprintf(out, "   %d of %d events matched the deployed patterns and were audited\n", matched, len(story))

	wantNew := 3
	if opt.Postgres != nil {
		if err := databaseLogin(ctx, out, opt.Postgres, demoRole, handler); err != nil {
			return fmt.Errorf("database part: %w", err)
		}
		wantNew++
	} else {
		fmt.Fprintln(out, "   (no local PostgreSQL log: the database login part is skipped)")
	}

	step(out, "alerts as they arrive on the SNS subscriber queue")
	var fresh, updates int
	show := func(body string) error {
		if printAlert(out, body) {
			updates++
		} else {
			fresh++
		}
		return nil
	}
	if _, err := drain(ctx, sq, alertQ, wantNew+1, drainLimit, show); err != nil {
		return err
	}
	// Anything more (the routine read, a second alert for the repeated read) would be
	// noise: look once more.
	drain(ctx, sq, alertQ, 10, 2*time.Second, show)
	if fresh != wantNew || updates != 1 {
		return fmt.Errorf("expected %d alerts (secret read, weakened selectors, failed rotation, and with PostgreSQL the retired password) and 1 update (the repeated read), got %d and %d", wantNew, fresh, updates)
	}
	fmt.Fprintf(out, "\n   %d alerts and 1 update: the routine read and the rotation stayed quiet and the repeated read was added to the open finding\n", wantNew)
	if opt.Keep {
		fmt.Fprintf(out, "   kept: table %s, queues %s and %s, topic %s, bus %s\n", table, ruleQ, alertQ, aws.ToString(topic.TopicArn), bus)
	}
	return nil
}

func step(w io.Writer, s string) { fmt.Fprintf(w, "==> %s\n", s) }

func queue(ctx context.Context, sq *sqs.Client, name string, res *resources) (string, string, error) {
	// A receive whose answer is lost on the way (seen under load: the connection closed
	// mid-body) leaves its messages in flight until their visibility timeout: 10 s instead
	// of SQS's 30 brings them back while drain still waits. Each message here is handled
	// in well under that.
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name),
		Attributes: map[string]string{string(sqstypes.QueueAttributeNameVisibilityTimeout): "10"}})
	if err != nil {
		return "", "", fmt.Errorf("create queue %s: %w", name, err)
	}
	res.later(func() { sq.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: q.QueueUrl}) })
	a, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return "", "", fmt.Errorf("queue %s arn: %w", name, err)
	}
	return aws.ToString(q.QueueUrl), a.Attributes[string(sqstypes.QueueAttributeNameQueueArn)], nil
}

// drainLimit bounds a wait for messages that should come: drain returns as soon as they
// have, so only a run that is missing one waits it out, long enough for a message lost
// in flight to come back (the queues' 10 s visibility timeout) on a loaded machine.
const drainLimit = 45 * time.Second

// drain hands each message to fn as it arrives, until want arrived or the time is up.
func drain(ctx context.Context, sq *sqs.Client, url string, want int, limit time.Duration, fn func(string) error) (int, error) {
	n := 0
	deadline := time.Now().Add(limit)
	for n < want && time.Now().Before(deadline) {
		out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			return n, fmt.Errorf("receive from %s: %w", url, err)
		}
		for _, m := range out.Messages {
			n++
			if err := fn(aws.ToString(m.Body)); err != nil {
				return n, err
			}
			sq.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
		}
	}
	if n == 0 {
		return 0, errors.New("nothing arrived on " + url)
	}
	return n, nil
}

// printAlert shows one alert and reports whether it updates an earlier finding.
func printAlert(w io.Writer, body string) bool {
	var n struct {
		Subject           string
		Message           string
		MessageAttributes map[string]struct{ Value string }
	}
	if json.Unmarshal([]byte(body), &n) != nil {
		fmt.Fprintf(w, "   (unreadable alert) %s\n", body)
		return false
	}
	var f audit.Finding
	if json.Unmarshal([]byte(n.Message), &f) != nil {
		fmt.Fprintf(w, "   %s\n", n.Subject)
		return false
	}
	var ids []string
	for _, e := range f.FindingInfo.RelatedEvents {
		ids = append(ids, e.UID)
	}
	if f.IsUpdate() {
		fmt.Fprintf(w, "\n   %-8s %s  %s: now %d events\n", "UPDATE", f.FindingInfo.Analytic.UID, f.FindingInfo.Title, f.Count)
		fmt.Fprintf(w, "            events: %s (finding %s)\n", strings.Join(ids, ", "), f.FindingInfo.UID)
		return true
	}
	fmt.Fprintf(w, "\n   %-8s %s  %s\n", strings.ToUpper(f.Severity), f.FindingInfo.Analytic.UID, f.FindingInfo.Title)
	fmt.Fprintf(w, "            %s\n", wrap(f.FindingInfo.Desc, 90, "            "))
	fmt.Fprintf(w, "            rule: %s\n", f.FindingInfo.Analytic.Name)
	fmt.Fprintf(w, "            events: %s   SNS attributes: severity=%s rule_id=%s\n", strings.Join(ids, ", "), n.MessageAttributes["severity"].Value, n.MessageAttributes["rule_id"].Value)
	return false
}

func wrap(s string, width int, indent string) string {
	var b strings.Builder
	line := 0
	for i, word := range strings.Fields(s) {
		if i > 0 && line+len(word)+1 > width {
			b.WriteString("\n" + indent)
			line = 0
		} else if i > 0 {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(word)
		line += len(word)
	}
	return b.String()
}

// databaseLogin acts out the database part: a role whose password a rotation just changed,
// and an intruder trying the old one. The server's log lines of that attempt go to the
// auditor wrapped as a CloudWatch Logs subscription delivery, the way RDS's exported log
// reaches the Lambda.
func databaseLogin(ctx context.Context, out io.Writer, pg *Postgres, role string, h *audit.Handler) error {
	step(out, "the database: the intruder tries the password the rotation retired")
	super, err := pgx.Connect(ctx, pg.SuperDSN)
	if err != nil {
		return fmt.Errorf("connect as superuser: %w", err)
	}
	defer super.Close(context.Background())
	oldPW, err := devstack.Password(24)
	if err != nil {
		return err
	}
	newPW, err := devstack.Password(24)
	if err != nil {
		return err
	}
	ident := pgx.Identifier{role}.Sanitize()
	if _, err := super.Exec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", ident, oldPW)); err != nil {
		return fmt.Errorf("create demo role: %w", err)
	}
	defer super.Exec(context.Background(), "DROP ROLE IF EXISTS "+ident)
	if _, err := super.Exec(ctx, fmt.Sprintf("ALTER ROLE %s PASSWORD '%s'", ident, newPW)); err != nil {
		return fmt.Errorf("rotate demo role: %w", err)
	}
	fmt.Fprintf(out, "   role %s: its password was rotated (the old one was copied before)\n", role)
	st, err := os.Stat(pg.ServerLog)
	if err != nil {
		return fmt.Errorf("server log: %w", err)
	}
	dsn := fmt.Sprintf("host=127.0.0.1 port=%d user=%s password=%s dbname=postgres sslmode=disable connect_timeout=5", pg.Port, role, oldPW)
	c, err := pgx.Connect(ctx, dsn)
	if err == nil {
		c.Close(ctx)
		return errors.New("the rotated-out password still logs in")
	}
	fmt.Fprintf(out, "   login as %s with the old password from 127.0.0.1: refused (%s)\n", role, firstLine(err.Error()))

	// The attempt's lines: those of the backend pids that name the role.
	var lines []string
	for deadline := time.Now().Add(5 * time.Second); len(lines) == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if lines, err = attemptLines(pg.ServerLog, st.Size(), role); err != nil {
			return err
		}
	}
	if len(lines) == 0 {
		return fmt.Errorf("the attempt is not in %s (log_connections on?)", pg.ServerLog)
	}
	payload, err := subscription(lines)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "   %d log lines delivered to the auditor as a CloudWatch Logs subscription (gzip+base64)\n", len(lines))
	_, err = h.Handle(ctx, payload)
	return err
}

// attemptLines returns the log lines after offset that belong to connections of role.
func attemptLines(path string, offset int64, role string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("server log: %w", err)
	}
	if int64(len(b)) < offset {
		offset = 0 // rotated or truncated
	}
	all := strings.Split(string(b[offset:]), "\n")
	p := pglog.NewParser()
	pids := map[string]bool{}
	for _, l := range all {
		if login, ok, _ := p.Line(l, time.Time{}); ok && login.User == role {
			pids[login.PID] = true
		}
	}
	var out []string
	for _, l := range all {
		for pid := range pids {
			if strings.Contains(l, "["+pid+"]") {
				out = append(out, l)
				break
			}
		}
	}
	return out, nil
}

// subscription wraps log lines as CloudWatch Logs delivers them to a subscribed Lambda.
func subscription(lines []string) (json.RawMessage, error) {
	now := time.Now().UnixMilli()
	var events []map[string]any
	for i, l := range lines {
		events = append(events, map[string]any{"id": fmt.Sprintf("%d", i), "timestamp": now, "message": l})
	}
	body, err := json.Marshal(map[string]any{"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/aws/rds/instance/rotaudit-local/postgresql",
		"logStream": "rotaudit-local", "subscriptionFilters": []string{"rotaudit-auditor"}, "logEvents": events})
	if err != nil {
		return nil, err
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(body); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"awslogs": map[string]string{"data": base64.StdEncoding.EncodeToString(gz.Bytes())}})
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
