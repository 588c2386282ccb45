package audit_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rotaudit/rotaudit/internal/audit"
	"github.com/rotaudit/rotaudit/internal/audit/state"
	"github.com/rotaudit/rotaudit/internal/testenv"
	"github.com/rotaudit/rotaudit/internal/testkit/awsfixture"
)

// memberAccount is the second account of the organization test. The emulator keeps
// accounts apart by the credentials' account: AssumeRole into a role of this account
// returns credentials whose calls land in it.
const memberAccount = "222233334444"

// TestOrganizationOnEmulator runs the organization deployment with two accounts: the
// security account (the credentials' own) runs the auditor and its central bus; the member
// account has a secret of the same name, and a rule on its bus forwards the generated
// patterns to the central bus, as modules/org-member deploys it. The handler, with its
// state in DynamoDB, must see the same Identity Center user reading the secret in both
// accounts (RA-21, both accounts in the finding), and a role of the security account that
// assumes a role of the member's and reads there through it, with no source identity to
// tie the two sessions (RA-21 again, the chain followed from the AssumeRole, which the
// generated access pattern must deliver); keep the two accounts' baselines of the
// same-named secret apart, and not let the security account's allow-list silence the
// member's role of the same name. The emulator's AssumeRole writes no CloudTrail record:
// the test puts the record the caller's account would log, naming the key it issued.
func TestOrganizationOnEmulator(t *testing.T) {
	env := testenv.Stack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := env.AWS(t)
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	own := aws.ToString(id.Account)
	if own == memberAccount {
		t.Fatalf("the emulator's own account is %s, the member's: pick another member id", own)
	}
	memberCfg := cfg.Copy()
	memberCfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), "arn:aws:iam::"+memberAccount+":role/rotaudit-org-test"))
	mid, err := sts.NewFromConfig(memberCfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(mid.Account) != memberAccount {
		t.Fatalf("credentials of the member account: account %v, %v; want %s", aws.ToString(mid.Account), err, memberAccount)
	}

	// The same secret name in both accounts.
	name := strings.ReplaceAll(testenv.Unique("rotaudit-org/app"), "_", "-")
	arns := map[string]string{}
	for acct, c := range map[string]aws.Config{own: cfg, memberAccount: memberCfg} {
		sm := secretsmanager.NewFromConfig(c)
		out, err := testenv.CreateSecret(ctx, sm, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(`{"username":"rates_app","password":"x"}`)})
		if err != nil {
			t.Fatalf("create secret in %s: %v", acct, err)
		}
		t.Cleanup(func() {
			sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: out.ARN, ForceDeleteWithoutRecovery: aws.Bool(true)})
		})
		if got := arnAccount(aws.ToString(out.ARN)); got != acct {
			t.Fatalf("secret made with %s's credentials is in account %s", acct, got)
		}
		arns[acct] = aws.ToString(out.ARN)
	}

	// Central: the auditor's queue behind the generated patterns on the security account's
	// bus, the state table and the alert topic.
	ddb, eb, sq, sn := dynamodb.NewFromConfig(cfg), eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg), sns.NewFromConfig(cfg)
	table := awsfixture.StateTable(t, ctx, ddb, "audit_state")
	auditQueue, auditQueueARN := awsfixture.Queue(t, ctx, sq, "org_audit")
	alertQueue, alertQueueARN := awsfixture.Queue(t, ctx, sq, "org_alerts")
	topic, err := sn.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(testenv.Unique("org_alerts"))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sn.DeleteTopic(context.Background(), &sns.DeleteTopicInput{TopicArn: topic.TopicArn}) })
	if _, err := sn.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(alertQueueARN)}); err != nil {
		t.Fatal(err)
	}
	centralBus, _ := awsfixture.PatternBus(t, ctx, eb, env.Root, "org_central", auditQueueARN)
	central, err := eb.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(centralBus)})
	if err != nil {
		t.Fatal(err)
	}
	// The emulator stores a bus policy without evaluating it; the offline IAM check of
	// modules/org-central is what proves AWS would accept the member's PutEvents.
	if _, err := eb.PutPermission(ctx, &eventbridge.PutPermissionInput{EventBusName: aws.String(centralBus), Action: aws.String("events:PutEvents"), Principal: aws.String(memberAccount), StatementId: aws.String("member")}); err != nil {
		t.Fatal(err)
	}

	// Member: the generated patterns on a bus of its own (standing in for its default bus,
	// which other runs share) forwarding to the central bus through a role, as
	// modules/org-member deploys them.
	meb := eventbridge.NewFromConfig(memberCfg)
	memberBus := forwardingBus(t, ctx, meb, env.Root, aws.ToString(central.Arn))

	// The records, as each account's CloudTrail would hand them to EventBridge.
	run := testenv.Unique("org")
	now := time.Now().UTC().Truncate(time.Second)
	read := func(idSuffix, acct string, who map[string]any, secret string, at time.Time) map[string]any {
		r := record(run+"-"+idSuffix, "secretsmanager.amazonaws.com", "GetSecretValue", who, map[string]any{"secretId": secret})
		r["recipientAccountId"], r["eventTime"] = acct, at.Format(time.RFC3339)
		return r
	}
	apiRole := "rotaudit-org-api-" + strings.ToLower(strings.TrimPrefix(run, "org_"))
	opsRole := "rotaudit-org-ops-" + strings.ToLower(strings.TrimPrefix(run, "org_"))
	memberOps := "arn:aws:iam::" + memberAccount + ":role/" + opsRole
	issued := "ASIAQEXAMPLE" + strings.ToUpper(strings.TrimPrefix(run, "org_")) // this run's own key
	chained := roleSession(memberAccount, opsRole)
	chained["accessKeyId"] = issued
	assume := record(run+"-ops-assume", "sts.amazonaws.com", "AssumeRole", roleSession(own, opsRole),
		map[string]any{"roleArn": memberOps, "roleSessionName": "ops"})
	assume["recipientAccountId"], assume["eventTime"] = own, now.Add(-8*time.Minute).Format(time.RFC3339)
	assume["responseElements"] = map[string]any{
		"credentials":     map[string]any{"accessKeyId": issued, "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLE", "expiration": now.Add(52 * time.Minute).Format("Jan 2, 2006, 3:04:05 PM")},
		"assumedRoleUser": map[string]any{"assumedRoleId": "AROAQEXAMPLEOPS:ops", "arn": "arn:aws:sts::" + memberAccount + ":assumed-role/" + opsRole + "/ops"},
	}
	assume["resources"] = []any{map[string]any{"accountId": memberAccount, "type": "AWS::IAM::Role", "ARN": memberOps}}
	type put struct {
		bus string
		eb  *eventbridge.Client
		rec map[string]any
	}
	puts := []put{
		// The API role of the security account reads its secret as allowed: the secret's
		// baseline there starts learning three hours ago and knows the role afterwards.
		{centralBus, eb, read("api-own-1", own, roleSession(own, apiRole), name, now.Add(-3*time.Hour))},
		{centralBus, eb, read("api-own-2", own, roleSession(own, apiRole), name, now.Add(-time.Hour))},
		// The member's role of the same name reads the member's secret of the same name:
		// the security account's allow-list entry does not cover it (RA-01), and the
		// member's secret starts a baseline of its own, still learning (no RA-02).
		{memberBus, meb, read("api-member", memberAccount, roleSession(memberAccount, apiRole), name, now.Add(-2*time.Minute))},
		// One Identity Center user reads the secret in both accounts.
		{centralBus, eb, read("alice-own", own, ssoSession(own, "alice@example.com"), arns[own], now.Add(-10*time.Minute))},
		{memberBus, meb, read("alice-member", memberAccount, ssoSession(memberAccount, "alice@example.com"), arns[memberAccount], now.Add(-5*time.Minute))},
		// A role of the security account reads there, assumes a role of the member's (the
		// caller's account logs the AssumeRole) and reads the member's secret through it.
		{centralBus, eb, read("ops-own", own, roleSession(own, opsRole), arns[own], now.Add(-9*time.Minute))},
		{centralBus, eb, assume},
		{memberBus, meb, read("ops-member", memberAccount, chained, arns[memberAccount], now.Add(-7*time.Minute))},
		// An account nobody configured: its records are skipped.
		{centralBus, eb, read("stranger", "999988887777", ssoSession("999988887777", "alice@example.com"), name, now.Add(-4*time.Minute))},
	}
	for _, p := range puts {
		d, _ := json.Marshal(p.rec)
		out, err := p.eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{EventBusName: aws.String(p.bus), Source: aws.String("rotaudit.test"), DetailType: aws.String("AWS API Call via CloudTrail"), Detail: aws.String(string(d))}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("put event %s on %s: %v", p.rec["eventID"], p.bus, err)
		}
	}
	delivered := receive(t, ctx, sq, auditQueue, len(puts), eventID)
	for _, p := range puts {
		if !slices.Contains(eventIDs(delivered), p.rec["eventID"].(string)) {
			t.Errorf("event %s never reached the central queue", p.rec["eventID"])
		}
	}

	doc := `{"account_id": "` + own + `", "member_accounts": ["` + memberAccount + `"],
	  "watched_secrets": [{"name_prefix": "rotaudit-org/"}],
	  "readers": ["arn:aws:iam::` + own + `:role/` + apiRole + `"],
	  "learning_period": "1h"}`
	acfg, err := audit.ParseConfig([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	// One invocation per event, in event time as each account's trail recorded them, each
	// on a fresh handler (a cold start), so only DynamoDB carries state.
	slices.SortFunc(delivered, func(a, b string) int { return strings.Compare(eventTime(a), eventTime(b)) })
	var unwatched int
	for _, body := range delivered {
		log := slog.New(slog.NewJSONHandler(testWriter{t}, nil))
		h := &audit.Handler{Engine: audit.NewEngine(acfg, state.NewDynamo(ddb, table)), Sink: &audit.SNSSink{API: sn, Topic: aws.ToString(topic.TopicArn), Log: log}, Log: log}
		sum, err := h.Handle(ctx, json.RawMessage(body))
		if err != nil {
			t.Fatalf("invocation for %s: %v", eventID(body), err)
		}
		unwatched += sum.Unwatched
	}
	if unwatched != 1 {
		t.Errorf("%d records skipped as of an unwatched account, want 1 (account 999988887777)", unwatched)
	}

	// Nine findings (five RA-01, two RA-02, two RA-21), then whatever else arrives: none
	// is wanted, and the checks below count them all.
	findings := decodeAll(t, receive(t, ctx, sq, alertQueue, 9, snsMessage))
	findings = append(findings, decodeAll(t, receive(t, ctx, sq, alertQueue, 0, snsMessage))...)
	got := map[string][]audit.Finding{}
	for _, f := range findings {
		t.Logf("%s %s: %s (%s)", f.FindingInfo.Analytic.UID, f.Severity, f.FindingInfo.Title, f.FindingInfo.RelatedEvents[0].UID)
		got[f.FindingInfo.Analytic.UID] = append(got[f.FindingInfo.Analytic.UID], f)
	}

	// The cross-account view: one finding for alice and one for the chain, each naming
	// both accounts; the chain's names the role it started from and the role it went through.
	var xacct []string
	for _, x := range got["RA-21"] {
		xacct = append(xacct, strings.TrimPrefix(x.FindingInfo.RelatedEvents[0].UID, run+"-"))
		var accounts []string
		for _, r := range x.Resources {
			if r.Type == "AWS::Account" {
				accounts = append(accounts, r.UID)
			}
		}
		slices.Sort(accounts)
		if want := sortedPair(own, memberAccount); !slices.Equal(accounts, want) {
			t.Errorf("RA-21 names accounts %v, want %v", accounts, want)
		}
		if x.Cloud.Account == nil || x.Cloud.Account.UID != memberAccount {
			t.Errorf("RA-21 is in account %+v, want the second read's, %s", x.Cloud.Account, memberAccount)
		}
		if chain := "principal arn:aws:iam::" + own + ":role/" + opsRole + " through role chain " + memberOps; strings.HasPrefix(x.FindingInfo.RelatedEvents[0].UID, run+"-ops") &&
			!strings.Contains(x.FindingInfo.Desc, chain) {
			t.Errorf("RA-21 of the chain says %q, want it to contain %q", x.FindingInfo.Desc, chain)
		}
	}
	slices.Sort(xacct)
	if want := []string{"alice-member", "ops-member"}; !slices.Equal(xacct, want) {
		t.Errorf("RA-21 findings rest on %v, want %v", xacct, want)
	}
	// RA-01: alice in each account, and the member's role that only the security
	// account's allow-list names; never the security account's own API role.
	var ra01 []string
	for _, f := range got["RA-01"] {
		ra01 = append(ra01, strings.TrimPrefix(f.FindingInfo.RelatedEvents[0].UID, run+"-"))
	}
	slices.Sort(ra01)
	if want := []string{"alice-member", "alice-own", "api-member", "ops-member", "ops-own"}; !slices.Equal(ra01, want) {
		t.Errorf("RA-01 findings rest on %v, want %v", ra01, want)
	}
	// Separate baselines: the security account's secret finished learning hours ago, so
	// alice is a new principal there (RA-02); the member's secret of the same name was
	// first read minutes ago and is still learning, so neither alice nor the member's role
	// is reported there. A shared baseline would report them too.
	var ra02 []string
	for _, f := range got["RA-02"] {
		ra02 = append(ra02, strings.TrimPrefix(f.FindingInfo.RelatedEvents[0].UID, run+"-"))
	}
	slices.Sort(ra02)
	if want := []string{"alice-own", "ops-own"}; !slices.Equal(ra02, want) {
		t.Errorf("RA-02 findings rest on %v, want %v", ra02, want)
	}
	keys := stateKeys(t, ctx, ddb, table)
	for _, k := range []string{"baseline|secret|" + name, "baseline|secret|" + memberAccount + "/" + name, "chain|" + issued} {
		if !slices.Contains(keys, k) {
			t.Errorf("no state entry %s (entries: %v)", k, keys)
		}
	}
}

// forwardingBus makes the member's bus with the generated patterns forwarding to target,
// the central bus, through a role of the member account (as modules/org-member does).
func forwardingBus(t *testing.T, ctx context.Context, eb *eventbridge.Client, root, target string) string {
	t.Helper()
	bus := testenv.Unique("org_member")
	if _, err := testenv.CreateOnce(ctx, bus,
		func(ctx context.Context) (string, error) {
			_, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)})
			return bus, err
		},
		func(ctx context.Context) (string, error) {
			_, err := eb.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(bus)})
			return bus, err
		}); err != nil {
		t.Fatalf("create member bus: %v", err)
	}
	t.Cleanup(func() {
		eb.DeleteEventBus(context.Background(), &eventbridge.DeleteEventBusInput{Name: aws.String(bus)})
	})
	for _, file := range awsfixture.PatternFiles {
		doc, err := os.ReadFile(filepath.Join(root, "modules", "audit-alerts", "patterns", file))
		if err != nil {
			t.Fatal(err)
		}
		rule := strings.TrimSuffix(file, ".json")
		if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(rule), EventBusName: aws.String(bus), EventPattern: aws.String(string(doc)), State: ebtypes.RuleStateEnabled}); err != nil {
			t.Fatalf("member rule %s: %v", rule, err)
		}
		t.Cleanup(func() {
			eb.RemoveTargets(context.Background(), &eventbridge.RemoveTargetsInput{Rule: aws.String(rule), EventBusName: aws.String(bus), Ids: []string{"central"}})
			eb.DeleteRule(context.Background(), &eventbridge.DeleteRuleInput{Name: aws.String(rule), EventBusName: aws.String(bus)})
		})
		role := "arn:aws:iam::" + memberAccount + ":role/rotaudit-org-forward"
		if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule), EventBusName: aws.String(bus), Targets: []ebtypes.Target{{Id: aws.String("central"), Arn: aws.String(target), RoleArn: aws.String(role)}}}); err != nil {
			t.Fatalf("member target of %s: %v", rule, err)
		}
	}
	return bus
}

func roleSession(acct, role string) map[string]any {
	return map[string]any{"type": "AssumedRole", "principalId": "AROAQEXAMPLEAPI:task", "arn": "arn:aws:sts::" + acct + ":assumed-role/" + role + "/task",
		"accountId": acct, "accessKeyId": "ASIAQEXAMPLEAPI",
		"sessionContext": map[string]any{"sessionIssuer": map[string]any{"type": "Role", "arn": "arn:aws:iam::" + acct + ":role/" + role, "accountId": acct, "userName": role}}}
}

func ssoSession(acct, user string) map[string]any {
	role := "AWSReservedSSO_AdministratorAccess_8f3e2a1b4c5d6e7f"
	return map[string]any{"type": "AssumedRole", "principalId": "AROAQEXAMPLESSO:" + user, "arn": "arn:aws:sts::" + acct + ":assumed-role/" + role + "/" + user,
		"accountId": acct, "accessKeyId": "ASIAQEXAMPLESSO",
		"sessionContext": map[string]any{"sessionIssuer": map[string]any{"type": "Role", "arn": "arn:aws:iam::" + acct + ":role/aws-reserved/sso.amazonaws.com/" + role, "accountId": acct, "userName": role}}}
}

func arnAccount(arn string) string {
	if f := strings.SplitN(arn, ":", 6); len(f) == 6 {
		return f[4]
	}
	return ""
}

func sortedPair(a, b string) []string {
	s := []string{a, b}
	slices.Sort(s)
	return s
}

// eventTime is the CloudTrail event time in an EventBridge event a rule delivered.
func eventTime(body string) string {
	var ev struct {
		Detail struct {
			EventTime string `json:"eventTime"`
		} `json:"detail"`
	}
	json.Unmarshal([]byte(body), &ev)
	return ev.Detail.EventTime
}

func decodeAll(t *testing.T, msgs []string) []audit.Finding {
	t.Helper()
	var fs []audit.Finding
	for _, m := range msgs {
		var f audit.Finding
		if err := json.Unmarshal([]byte(snsMessage(m)), &f); err != nil {
			t.Fatalf("not a finding: %s", m)
		}
		fs = append(fs, f)
	}
	return fs
}

// stateKeys lists the partition keys of the state table.
func stateKeys(t *testing.T, ctx context.Context, ddb *dynamodb.Client, table string) []string {
	t.Helper()
	var keys []string
	p := dynamodb.NewScanPaginator(ddb, &dynamodb.ScanInput{TableName: aws.String(table)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			if pk, ok := it["pk"].(*ddbtypes.AttributeValueMemberS); ok {
				keys = append(keys, pk.Value)
			}
		}
	}
	return keys
}
