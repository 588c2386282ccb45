package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/jackc/pgx/v5"

	auditpkg "github.com/rotaudit/rotaudit/internal/audit"
	"github.com/rotaudit/rotaudit/internal/awsclient"
	"github.com/rotaudit/rotaudit/internal/deploycheck"
	"github.com/rotaudit/rotaudit/internal/loadharness"
	"github.com/rotaudit/rotaudit/internal/pgrole"
	"github.com/rotaudit/rotaudit/internal/rotation/rotationtest"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// emulatorGaps are the points where the emulators differ from AWS on this test's path,
// with AWS's behaviour and what the test does about each; on names the emulator a row
// applies to ("" for both). The modules are written for AWS.
var emulatorGaps = []struct{ on, point, aws, test string }{
	{"moto", "Lambda Invoke (moto without Docker)",
		"Secrets Manager invokes the rotator for each step; Terraform's aws_lambda_invocation runs the bootstrap",
		"the built bootstrap runs behind aws-lambda-rie with the environment Terraform set; RotateSecret only opens the pending version and the test drives the four steps"},
	{"moto", "EventBridge Lambda targets (moto: PutEvents answers HTTP 500)",
		"the rules' matches invoke the auditor",
		"an SQS target is added to each deployed rule (on moto the Lambda target is taken off first); the queued events are handed to the auditor behind aws-lambda-rie"},
	{"localstack", "Lambda runtime (LocalStack host mode: the rotaudit-host executor)",
		"the arm64 bootstrap runs in Lambda's sandbox",
		"the zips are built for this machine's CPU (PACKAGE_GOARCH) and run as host processes behind aws-lambda-rie; the functions still declare arm64, which LocalStack does not check"},
	{"localstack", "RotateSecret (LocalStack)",
		"returns at once; Secrets Manager then invokes the four steps with SecretId = the secret's ARN and a RotationToken",
		"the steps run inside the RotateSecret call with SecretId = the secret's name and no RotationToken; the test waits for AWSCURRENT to move either way"},
	{"localstack", "EventBridge Lambda targets (LocalStack)",
		"the rules' matches invoke the auditor",
		"as AWS: the deployed Lambda targets invoke the auditor; an SQS copy target only counts the matches"},
	{"", "PutEvents with an aws.* source",
		"refused (only AWS services emit them; CloudTrail delivers them to the default bus)",
		"the emulators accept them, which lets the test push CloudTrail-shaped events through the deployed rules"},
	{"moto", "RotateSecret without RotationLambdaARN (moto)",
		"keeps the function Terraform configured",
		"the test passes the configured function ARN explicitly"},
	{"localstack", "ECR (LocalStack free edition: none)",
		"the API's repository is created",
		"envs/local's create_ecr is false on LocalStack"},
	{"", "CloudTrail, ECS (moto partial, LocalStack free edition none)",
		"the trail, the API service and the ECS database option are deployed",
		"envs/local turns them off; the API runs as a local process on the secret Terraform made"},
	{"", "IAM and resource policies (no emulator enforces them)",
		"the secrets' deny policy stops every reader but the API, the rotators, the bootstrap and break-glass roles",
		"the policy is applied and read back; its effect is covered by the plan tests, not by the emulator"},
}

// phase times one step of the test and prints it.
type phases struct {
	t        *testing.T
	start    time.Time
	rows     []string
	emulator string
}

func (p *phases) run(name string, fn func()) {
	p.t.Helper()
	start := time.Now()
	fn()
	d := time.Since(start)
	p.rows = append(p.rows, fmt.Sprintf("  %-34s %8.1f s", name, d.Seconds()))
	fmt.Printf("e2e: %s done in %.1f s\n", name, d.Seconds())
}

func (p *phases) print() {
	fmt.Printf("e2e phases (total %.1f s):\n%s\n", time.Since(p.start).Seconds(), strings.Join(p.rows, "\n"))
	fmt.Println("emulator gaps met (AWS's behaviour -> what this test does):")
	for _, g := range emulatorGaps {
		if g.on != "" && g.on != p.emulator {
			continue
		}
		fmt.Printf("  - %s: AWS: %s; test: %s\n", g.point, g.aws, g.test)
	}
}

// outputs are the envs/local outputs the test drives.
type outputs struct {
	AppSecretARN       string            `json:"app_secret_arn"`
	AdminSecretARN     string            `json:"admin_secret_arn"`
	RotationStrategies map[string]string `json:"rotation_strategies"`
	SecretRotatorNames map[string]string `json:"secret_rotator_names"`
	Rotators           map[string]struct {
		Name        string            `json:"name"`
		ARN         string            `json:"arn"`
		Environment map[string]string `json:"environment"`
	} `json:"rotators"`
	Bootstrap struct {
		Name        string            `json:"name"`
		Environment map[string]string `json:"environment"`
	} `json:"bootstrap"`
	AuditorEnvironment map[string]string `json:"auditor_environment"`
	EventRuleNames     map[string]string `json:"event_rule_names"`
	AlertTopicARN      string            `json:"alert_topic_arn"`
	AlertQueueURL      string            `json:"alert_queue_url"`
	TrailBucketName    string            `json:"trail_bucket_name"`
	DBLogGroupNames    []string          `json:"db_log_group_names"`
	StateTableName     string            `json:"state_table_name"`
	// Databases holds every database by key (rates, ratesb, pg2: multidb_test.go).
	Databases map[string]dbOutput `json:"databases"`
}

func TestDeployment(t *testing.T) {
	if os.Getenv("ROTAUDIT_E2E") != "1" {
		t.Skip("deployment test: run by `make e2e` (terraform apply of envs/local to a fresh emulator; needs terraform and the hashicorp/aws provider)")
	}
	endpoint := os.Getenv("ROTAUDIT_E2E_ENDPOINT")
	tfBin := os.Getenv("TF")
	if endpoint == "" || tfBin == "" || os.Getenv("TF_CLI_CONFIG_FILE") == "" {
		t.Fatal("ROTAUDIT_E2E_ENDPOINT, TF and TF_CLI_CONFIG_FILE must be set: run it through scripts/e2e.sh (make e2e)")
	}
	env := testenv.Stack(t) // the stack's PostgreSQL; AWS is the fresh emulator at endpoint
	ctx := context.Background()
	emulator := emulatorKind(endpoint)
	p := &phases{t: t, start: time.Now(), emulator: emulator}
	defer p.print()
	// On LocalStack the services run the functions (the rotaudit-host executor, or Docker):
	// Secrets Manager invokes the rotator, EventBridge the auditor, and the test only calls
	// the APIs an operator would. On moto the test plays those services itself.
	servicesDrive := emulator == "localstack"
	awsEnv := []string{"AWS_ENDPOINT_URL=" + endpoint, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true"}
	if ddb := os.Getenv("ROTAUDIT_E2E_DYNAMODB_ENDPOINT"); ddb != "" {
		awsEnv = append(awsEnv, "AWS_ENDPOINT_URL_DYNAMODB="+ddb)
	}
	for _, kv := range awsEnv {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	cfg, err := awsclient.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sm := secretsmanager.NewFromConfig(cfg)

	var rie, rotatorBin, bootstrapBin, auditorBin string
	p.run("build functions and emulator", func() {
		rie = rotationtest.RIE(t)
		rotatorBin = rotationtest.BuildFunction(t, "rotator")
		bootstrapBin = rotationtest.BuildFunction(t, "dbbootstrap")
		auditorBin = rotationtest.BuildFunction(t, "auditor")
	})

	// The database servers as RDS hands them over: on each cluster a master that may create
	// roles and databases but is no superuser, and its secret. The bootstraps make the rest.
	// Three databases (multidb_test.go): rates and ratesb on the stack's cluster under one
	// master, pg2 on its second cluster under another.
	id := strings.TrimPrefix(testenv.Unique("e2e"), "e2e_")
	master, masterPW := "e2e_master_"+id, testenv.Unique("pw")
	dbName, appUser := "rates_e2e_"+id, "e2e_app_"+id
	adminSecretName := "rotaudit/tflocal/master-" + id
	dbNameB, appUserB := dbName+"_b", "e2e_app_b_"+id
	master2, master2PW := "e2e_master2_"+id, testenv.Unique("pw")
	appUser2 := "e2e_app2_" + id
	admin2SecretName := "rotaudit/tflocal/master2-" + id
	// ratesb has two app users (issue 21): its second, reportB, has a secret of its own.
	reportB := "e2e_report_b_" + id
	appUsers := map[string][]string{dbRates: {appUser}, dbRatesB: {appUserB, reportB}, dbPG2: {appUser2}}
	pg2 := stackSecondCluster(t)
	p.run("database servers and masters", func() {
		t.Cleanup(func() {
			dropE2E(env.SuperDSN, dbName, []string{appUser, appUser + "_clone", appUserB, appUserB + "_clone", reportB, master})
		})
		t.Cleanup(func() { dropE2E(env.SuperDSN, dbNameB, nil) }) // before the master that owns it
		t.Cleanup(func() { dropE2E(pg2.SuperDSN, dbName, []string{appUser2, appUser2 + "_clone", master2}) })
		createMaster(t, sm, env.SuperDSN, env.PGPort, master, masterPW, adminSecretName)
		createMaster(t, sm, pg2.SuperDSN, pg2.Port, master2, master2PW, admin2SecretName)
	})

	tf := newTerraform(t, tfBin, filepath.Join(env.Root, "envs", "local"))
	tf.vars = map[string]string{
		"endpoint": endpoint, "db_host": "127.0.0.1", "db_port": fmt.Sprint(env.PGPort),
		"admin_secret_name": adminSecretName, "db_name": dbName, "app_username": appUser,
		"extra_databases": extraDatabasesVar(dbNameB, appUserB, reportB, adminSecretName, dbName, appUser2, admin2SecretName),
		"second_db_port":  fmt.Sprint(pg2.Port),
	}
	if ddb := os.Getenv("ROTAUDIT_E2E_DYNAMODB_ENDPOINT"); ddb != "" {
		tf.vars["dynamodb_endpoint"] = ddb
	}
	if emulator == "localstack" {
		tf.vars["create_ecr"] = "false" // ECR is not in LocalStack's free edition
	}
	if servicesDrive {
		// The trail bucket's notification invokes the auditor too, so a log file put there
		// reaches it the way CloudTrail's deliveries would.
		tf.vars["s3_backfill"] = "true"
		// And PostgreSQL's connection log reaches it through a CloudWatch Logs subscription.
		tf.vars["db_log_group_name"] = "/rotaudit/e2e/" + id + "/postgresql"
		// The second cluster is another server with its own log (pg2's database).
		tf.vars["second_db_log_group_name"] = "/rotaudit/e2e/" + id + "/postgresql-second"
	}
	if d := os.Getenv("ROTAUDIT_E2E_DIST_DIR"); d != "" {
		tf.vars["dist_dir"] = d // zips built for this machine (scripts/localstack-test.sh)
	}
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			tf.run(t, false, "destroy", "-auto-approve")
		}
		for _, name := range []string{adminSecretName, admin2SecretName} {
			sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: aws.String(name), ForceDeleteWithoutRecovery: aws.Bool(true)})
		}
	})
	var out outputs
	var rawOutputs []byte
	withECR := emulator != "localstack"
	before := leftovers(t, cfg, withECR, nil) // what the emulator held before (a shared LocalStack)
	p.run("terraform init and apply", func() {
		tf.run(t, true, "init", "-input=false", "-lockfile=readonly")
		tf.run(t, true, "apply", "-auto-approve", "-input=false")
		raw := tf.run(t, true, "output", "-json")
		rawOutputs = raw
		var wrapped map[string]struct {
			Value json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(raw, &wrapped); err != nil {
			t.Fatalf("terraform output: %v", err)
		}
		flat := map[string]json.RawMessage{}
		for k, v := range wrapped {
			flat[k] = v.Value
		}
		b, _ := json.Marshal(flat)
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("terraform outputs: %v", err)
		}
		if out.AppSecretARN == "" || out.Bootstrap.Name == "" || len(out.Rotators) == 0 || out.AlertQueueURL == "" {
			t.Fatalf("envs/local outputs lack what a deployment needs: %s", b)
		}
		for key := range appUsers {
			if db, ok := out.Databases[key]; !ok || db.AppSecretARN == "" || db.Bootstrap.Name == "" {
				t.Fatalf("envs/local outputs: database %s is missing or has no app secret or bootstrap: %s", key, b)
			}
		}
		if len(out.Databases) != len(appUsers) || out.Databases[dbRates].AppSecretARN != out.AppSecretARN {
			t.Fatalf("envs/local outputs: want the databases %v (rates the root's own), got %s", appUsers, b)
		}
		// The auditor's login baseline knows every app user, the second user of ratesb too.
		var audit struct {
			DBLogins struct {
				Users []string `json:"users"`
			} `json:"db_logins"`
		}
		auditorConfig(t, out, &audit)
		for _, users := range appUsers {
			for _, u := range users {
				if !slices.Contains(audit.DBLogins.Users, u) {
					t.Fatalf("the auditor's db_logins.users %v lacks the app user %s", audit.DBLogins.Users, u)
				}
			}
		}
	})

	p.run("bootstrap every database", func() {
		keys := slices.Sorted(maps.Keys(out.Databases))
		for _, key := range keys {
			db := out.Databases[key]
			var call func(payload string) []byte
			logs := func() string { return "" }
			if servicesDrive {
				call = func(payload string) []byte { return lambdaInvoke(t, cfg, db.Bootstrap.Name, payload) }
			} else {
				e := rotationtest.StartRIE(t, rie, bootstrapBin, append(envList(db.Bootstrap.Environment), awsEnv...)...)
				call = func(payload string) []byte { return invoke(t, e.URL, payload) }
				logs = e.Out.String
			}
			bootstrapOne(t, sm, key, db, appUsers[key], call, logs)
		}
	})

	// One rates API per database, each on its own deployed app secret, each under load.
	apis := map[string]*loadharness.API{}
	loads := map[string]*loadharness.Load{}
	p.run("one API per database under load", func() {
		for key, db := range out.Databases {
			apis[key] = loadharness.StartAPI(t, env, db.AppSecretARN, awsEnv...)
			loads[key] = loadharness.Start(loadharness.Options{URL: apis[key].URL, Concurrency: 2, Paths: []string{
				"/rates?date_from=2021-01-01&date_to=2021-01-31&orig_code=CNSGH&dest_code=NLRTM",
				"/readyz",
			}})
		}
		for _, l := range loads {
			l.WaitRequests(t, 100, 90*time.Second)
		}
	})

	p.run("rotate all secrets at once", func() {
		secrets := rotatedSecrets(t, sm, out)
		// Four app secrets (ratesb has two users) and two masters (ratesb shares rates'
		// master, which rotates once).
		if len(secrets) != 6 {
			t.Fatalf("want 6 rotated secrets (4 app, 2 masters), got %d: %v", len(secrets), secrets)
		}
		// Each secret's own emulated rotator: aws-lambda-rie runs one invocation at a time.
		var rotators []*rotationtest.Emulator
		var urls []string
		if !servicesDrive {
			for _, s := range secrets {
				e := rotationtest.StartRIE(t, rie, rotatorBin, append(envList(out.Rotators[s.strategy].Environment), awsEnv...)...)
				rotators, urls = append(rotators, e), append(urls, e.URL)
			}
		}
		// Twice, so that every alternating secret returns to its first user.
		for round := 1; round <= 2; round++ {
			type state struct{ version, user, password string }
			before := make([]state, len(secrets))
			for i, s := range secrets {
				cur := testenv.CurrentSecret(t, sm, s.arn)
				before[i] = state{currentVersion(t, sm, s.arn), cur.Username, cur.Password}
			}
			if servicesDrive {
				// LocalStack runs the four steps inside RotateSecret: one after another.
				for i, s := range secrets {
					rotateAndWait(t, sm, s.arn, s.rotator.arn, before[i].version)
				}
			} else {
				errs, retries := rotateConcurrently(t, sm, secrets, urls, 4*time.Minute)
				fmt.Printf("e2e: round %d: %d rotation steps were retried (a master in mid-rotation)\n", round, retries)
				for i, e := range errs {
					if e != "" {
						t.Errorf("round %d: rotation of %s (%s) failed: %s\n%s", round, secrets[i].label, secrets[i].strategy, e, tailLines(rotators[i].Out.String(), 30))
					}
				}
				if t.Failed() {
					t.FailNow()
				}
			}
			for i, s := range secrets {
				checkRotated(t, sm, s, before[i].version, before[i].user, before[i].password)
			}
			fmt.Printf("e2e: round %d: %d secrets rotated concurrently\n", round, len(secrets))
		}
		for key, l := range loads {
			res := l.Stop()
			fmt.Printf("e2e: load on the %s API through the rotations: %s\n", key, res)
			// The slowest requests and the API's warnings, when a loaded machine drives the
			// latency towards a deadline.
			slow := slowRequests(apis[key].Log(), time.Second)
			if slow != "" {
				fmt.Printf("e2e: the %s API's requests over 1 s and its warnings:\n%s\n", key, tailLines(slow, 10))
			}
			if res.Failures != 0 || res.Requests < 100 {
				t.Errorf("load on the %s API through the rotations: %d requests, %d failed: %v\nthe API's requests over 1 s and its warnings:\n%s",
					key, res.Requests, res.Failures, res.Samples, tailLines(slow, 40))
			}
		}
	})

	p.run("audit events through the deployed rules", func() {
		auditThroughRules(t, cfg, emulator, servicesDrive, out, rie, auditorBin, awsEnv)
	})

	p.run("rotaudit check of the deployment", func() {
		checkDeployment(t, cfg, rawOutputs)
	})
	p.run("rotaudit fleet of the deployment", func() {
		fleetOfDeployment(t, cfg, out, out.StateTableName)
	})
	p.run("terraform destroy", func() {
		for _, a := range apis {
			a.Stop()
		}
		tf.run(t, true, "destroy", "-auto-approve", "-input=false")
		destroyed = true
		// NotFound here is a retried delete whose first attempt did the work.
		for _, name := range []string{adminSecretName, admin2SecretName} {
			if _, err := sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(name), ForceDeleteWithoutRecovery: aws.Bool(true)}); testenv.IgnoreNotFound(err) != nil {
				t.Errorf("delete the test's master secret %s: %v", name, err)
			}
		}
		if left := leftovers(t, cfg, withECR, before); len(left) > 0 {
			t.Fatalf("terraform destroy left %d resources behind:\n  %s", len(left), strings.Join(left, "\n  "))
		}
	})
}

// emulatorKind tells moto from LocalStack by their health endpoints.
func emulatorKind(endpoint string) string {
	c := &http.Client{Timeout: 3 * time.Second}
	if r, err := c.Get(strings.TrimRight(endpoint, "/") + "/moto-api/"); err == nil {
		r.Body.Close()
		if r.StatusCode == 200 {
			return "moto"
		}
	}
	return "localstack"
}

// auditThroughRules sends CloudTrail-shaped events through the rules Terraform deployed to
// the auditor, and reads its findings from the queue subscribed to the alert topic.
func auditThroughRules(t *testing.T, cfg aws.Config, emulator string, servicesDrive bool, out outputs, rie, auditorBin string, awsEnv []string) {
	ctx := context.Background()
	eb, sq := eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(testenv.Unique("e2e_rules"))})
	if err != nil {
		t.Fatal(err)
	}
	defer sq.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: q.QueueUrl})
	qa, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	queueARN := qa.Attributes["QueueArn"]
	for _, rule := range out.EventRuleNames {
		targets, err := eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(rule)})
		if err != nil || len(targets.Targets) == 0 {
			t.Fatalf("deployed rule %s: targets %v (%v)", rule, targets, err)
		}
		if emulator == "moto" {
			var ids []string
			for _, tg := range targets.Targets {
				ids = append(ids, aws.ToString(tg.Id))
			}
			if _, err := eb.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String(rule), Ids: ids}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule), Targets: []ebtypes.Target{{Id: aws.String("e2e-queue"), Arn: aws.String(queueARN)}}}); err != nil {
			t.Fatal(err)
		}
		// The test's own target goes before terraform destroy, which (as on AWS) cannot
		// delete a rule that still has targets it does not know.
		defer eb.RemoveTargets(context.Background(), &eventbridge.RemoveTargetsInput{Rule: aws.String(rule), Ids: []string{"e2e-queue"}})
	}
	var audit struct {
		Readers         []string `json:"readers"`
		TrustedNetworks []string `json:"trusted_networks"`
	}
	if auditorConfig(t, out, &audit); len(audit.Readers) == 0 {
		t.Fatalf("the auditor's AUDIT_CONFIG from Terraform has no readers")
	}
	inside := "10.40.0.10"
	if len(audit.TrustedNetworks) > 0 {
		if _, n, err := net.ParseCIDR(audit.TrustedNetworks[0]); err == nil {
			ip := slices.Clone(n.IP.To16())
			ip[len(ip)-1] |= 7
			inside = ip.String()
		}
	}
	run := strings.TrimPrefix(testenv.Unique("ev"), "ev_")
	account := strings.Split(out.AppSecretARN, ":")[4]
	intruder := map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::" + account + ":assumed-role/contractor-ci/s1", "accountId": account,
		"sessionContext": map[string]any{"sessionIssuer": map[string]any{"type": "Role", "arn": "arn:aws:iam::" + account + ":role/contractor-ci", "accountId": account}}}
	readerRole := audit.Readers[0]
	reader := map[string]any{"type": "AssumedRole", "arn": strings.Replace(strings.Replace(readerRole, ":iam::", ":sts::", 1), ":role/", ":assumed-role/", 1) + "/task", "accountId": account,
		"sessionContext": map[string]any{"sessionIssuer": map[string]any{"type": "Role", "arn": readerRole, "accountId": account}}}
	events := []struct {
		id, detailType, source string
		detail                 map[string]any
	}{
		{run + "-steal", "AWS API Call via CloudTrail", "aws.secretsmanager", ctRecord(run+"-steal", "secretsmanager.amazonaws.com", "GetSecretValue", intruder, "203.0.113.7", account, map[string]any{"secretId": out.AppSecretARN})},
		{run + "-read", "AWS API Call via CloudTrail", "aws.secretsmanager", ctRecord(run+"-read", "secretsmanager.amazonaws.com", "GetSecretValue", reader, inside, account, map[string]any{"secretId": out.AppSecretARN})},
		{run + "-rotfail", "AWS Service Event via CloudTrail", "aws.secretsmanager", func() map[string]any {
			r := ctRecord(run+"-rotfail", "secretsmanager.amazonaws.com", "RotationFailed", map[string]any{"accountId": account, "invokedBy": "secretsmanager.amazonaws.com"}, "secretsmanager.amazonaws.com", account, nil)
			r["eventType"] = "AwsServiceEvent"
			r["additionalEventData"] = map[string]any{"SecretId": out.AppSecretARN}
			return r
		}()},
	}
	var entries []ebtypes.PutEventsRequestEntry
	for _, e := range events {
		d, _ := json.Marshal(e.detail)
		entries = append(entries, ebtypes.PutEventsRequestEntry{Source: aws.String(e.source), DetailType: aws.String(e.detailType), Detail: aws.String(string(d))})
	}
	res, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
	if err != nil || res.FailedEntryCount != 0 {
		t.Fatalf("put events: %v (%d failed)", err, aws.ToInt32(&res.FailedEntryCount))
	}
	wantAlerts := 2
	backdoor, backdoor2 := "backdoor_"+run, "backdoor2_"+run
	if servicesDrive {
		// Another stranger than the EventBridge event's, so that this read opens a finding
		// of its own rather than counting towards that one (whose updates are sent at
		// counts 2, 4, 8: the order in which the two paths arrive would decide).
		s3intruder := map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::" + account + ":assumed-role/contractor-s3/s1", "accountId": account,
			"sessionContext": map[string]any{"sessionIssuer": map[string]any{"type": "Role", "arn": "arn:aws:iam::" + account + ":role/contractor-s3", "accountId": account}}}
		remove := putTrailFile(t, cfg, out.TrailBucketName, account, run+"-s3steal",
			ctRecord(run+"-s3steal", "secretsmanager.amazonaws.com", "GetSecretValue", s3intruder, "203.0.113.9", account, map[string]any{"secretId": out.AppSecretARN}))
		defer remove()
		wantAlerts++
		// A login by a role no secret names, from outside the clients' network, as RDS
		// exports PostgreSQL's log: DB-05 and DB-02 through the subscription.
		putLoginLines(t, cfg, logGroup(t, out.DBLogGroupNames, "/postgresql"), backdoor, "203.0.113.11")
		wantAlerts += 2
		// The same on the second cluster, through its own group: every database's log
		// reaches the auditor, not only the first's.
		putLoginLines(t, cfg, logGroup(t, out.DBLogGroupNames, "/postgresql-second"), backdoor2, "203.0.113.12")
		wantAlerts += 2
	}
	matched := receive(t, sq, aws.ToString(q.QueueUrl), len(events), 30*time.Second)
	if len(matched) != len(events) {
		t.Fatalf("the deployed rules let %d of %d events through", len(matched), len(events))
	}
	if !servicesDrive {
		// The rules' Lambda targets would invoke the auditor; here the test does.
		e := rotationtest.StartRIE(t, rie, auditorBin, append(envList(out.AuditorEnvironment), awsEnv...)...)
		for _, m := range matched {
			if body := invoke(t, e.URL, m.body); bytes.Contains(body, []byte("errorMessage")) {
				t.Fatalf("auditor failed on an event: %s\n%s", body, e.Out.String())
			}
		}
	}
	// Through EventBridge's asynchronous Lambda invocation the findings take longer.
	alerts := receive(t, sq, out.AlertQueueURL, wantAlerts, 90*time.Second)
	got := map[string][]string{}
	var rules []string
	titles := map[string][]string{} // finding titles by rule
	for _, a := range alerts {
		var env struct {
			Message           string                            `json:"Message"`
			MessageAttributes map[string]struct{ Value string } `json:"MessageAttributes"`
		}
		msg := a.body
		rule := ""
		if json.Unmarshal([]byte(a.body), &env) == nil && env.Message != "" {
			msg = env.Message
			rule = env.MessageAttributes["rule_id"].Value
		}
		var f struct {
			FindingInfo struct {
				Title         string `json:"title"`
				RelatedEvents []struct {
					UID string `json:"uid"`
				} `json:"related_events"`
			} `json:"finding_info"`
		}
		if err := json.Unmarshal([]byte(msg), &f); err != nil {
			t.Fatalf("alert is not a finding: %v\n%s", err, msg)
		}
		for _, r := range f.FindingInfo.RelatedEvents {
			got[r.UID] = append(got[r.UID], rule)
		}
		rules = append(rules, rule)
		titles[rule] = append(titles[rule], f.FindingInfo.Title)
	}
	fmt.Printf("e2e: findings by event: %v\n", got)
	if !slices.Contains(got[run+"-steal"], "RA-01") {
		t.Errorf("the read by a principal outside the allow-list gave %v, want RA-01", got[run+"-steal"])
	}
	if !slices.Contains(got[run+"-rotfail"], "RA-06") {
		t.Errorf("the rotation failure gave %v, want RA-06", got[run+"-rotfail"])
	}
	if servicesDrive && !slices.Contains(got[run+"-s3steal"], "RA-01") {
		t.Errorf("the stranger's read in a trail log file (S3 notification) gave %v, want RA-01", got[run+"-s3steal"])
	}
	if r, ok := got[run+"-read"]; ok {
		t.Errorf("the read by %s, a reader Terraform allowed, raised %v", readerRole, r)
	}
	if servicesDrive {
		for _, user := range []string{backdoor, backdoor2} {
			for _, rule := range []string{"DB-05", "DB-02"} {
				if !slices.ContainsFunc(titles[rule], func(title string) bool { return strings.Contains(title, user) }) {
					t.Errorf("the login of %s in PostgreSQL's log (CloudWatch Logs subscription) raised no %s: %s titles %q", user, rule, rule, titles[rule])
				}
			}
		}
	}
}

// logGroup returns the one group of groups whose name ends in suffix.
func logGroup(t *testing.T, groups []string, suffix string) string {
	t.Helper()
	var found []string
	for _, g := range groups {
		if strings.HasSuffix(g, suffix) {
			found = append(found, g)
		}
	}
	if len(found) != 1 {
		t.Fatalf("envs/local's db_log_group_names %q: want one group ending in %q (db_log_group_name, second_db_log_group_name)", groups, suffix)
	}
	return found[0]
}

// putLoginLines puts into the deployed log group the two lines PostgreSQL writes for a
// login (log_connections), in the prefix RDS uses (%t:%r:%u@%d:[%p]:), as the RDS export
// would: the subscription filter passes them to the auditor.
func putLoginLines(t *testing.T, cfg aws.Config, group, user, host string) {
	t.Helper()
	ctx := context.Background()
	logs := cloudwatchlogs.NewFromConfig(cfg)
	stream := "e2e-" + strings.TrimPrefix(testenv.Unique("s"), "s_")
	// The name is this test's own: "already exists" is a retried call whose first attempt
	// made it (its answer lost on a busy machine).
	if _, err := logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)}); err != nil && !testenv.AlreadyExists(err) {
		t.Fatalf("create log stream in %s: %v", group, err)
	}
	now := time.Now().UTC()
	ts := now.Format("2006-01-02 15:04:05 UTC")
	lines := []string{
		fmt.Sprintf("%s:%s(40000):[unknown]@[unknown]:[4242]:LOG:  connection received: host=%s port=40000", ts, host, host),
		fmt.Sprintf("%s:%s(40000):%s@rates:[4242]:LOG:  connection authorized: user=%s database=rates", ts, host, user, user),
	}
	var events []cwltypes.InputLogEvent
	for _, l := range lines {
		events = append(events, cwltypes.InputLogEvent{Message: aws.String(l), Timestamp: aws.Int64(now.UnixMilli())})
	}
	if _, err := logs.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), LogEvents: events}); err != nil {
		t.Fatalf("put PostgreSQL's log lines into %s: %v", group, err)
	}
}

// putTrailFile writes one CloudTrail log file holding rec into the trail bucket, where
// CloudTrail would deliver it, and returns what deletes it again (before terraform destroy,
// which cannot remove a bucket that holds objects).
func putTrailFile(t *testing.T, cfg aws.Config, bucket, account, id string, rec map[string]any) func() {
	t.Helper()
	if bucket == "" {
		t.Fatal("envs/local has no trail_bucket_name output")
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	now := time.Now().UTC()
	key := fmt.Sprintf("AWSLogs/%s/CloudTrail/us-east-1/%s/%s_CloudTrail_us-east-1_%s_%s.json.gz",
		account, now.Format("2006/01/02"), account, now.Format("20060102T1504Z"), id)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	json.NewEncoder(zw).Encode(map[string]any{"Records": []any{rec}})
	zw.Close()
	if _, err := s3c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(gz.Bytes())}); err != nil {
		t.Fatalf("put trail log file: %v", err)
	}
	return func() {
		if _, err := s3c.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
			t.Errorf("delete the trail log file: %v", err)
		}
	}
}

// message is one SQS message body.
type message struct{ body string }

// receive reads and deletes messages from a queue until n arrived or the time is up.
func receive(t *testing.T, sq *sqs.Client, url string, n int, within time.Duration) []message {
	t.Helper()
	var got []message
	deadline := time.Now().Add(within)
	for len(got) < n && time.Now().Before(deadline) {
		out, err := sq.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatalf("receive from %s: %v", url, err)
		}
		for _, m := range out.Messages {
			got = append(got, message{body: aws.ToString(m.Body)})
			sq.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
		}
	}
	return got
}

// ctRecord is a CloudTrail record as EventBridge's detail carries it.
func ctRecord(id, source, name string, who map[string]any, ip, account string, params map[string]any) map[string]any {
	return map[string]any{
		"eventVersion": "1.09", "userIdentity": who, "eventTime": time.Now().UTC().Format(time.RFC3339),
		"eventSource": source, "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": ip,
		"userAgent": "aws-sdk-go-v2/1.30.0", "requestParameters": params, "responseElements": nil,
		"requestID": id + "-req", "eventID": id, "readOnly": true, "eventType": "AwsApiCall",
		"managementEvent": true, "recipientAccountId": account, "eventCategory": "Management",
	}
}

// invoke posts a payload to a Lambda Invoke endpoint and returns the answer.
func invoke(t *testing.T, url, payload string) []byte {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Minute}
	resp, err := c.Post(url, "application/json", strings.NewReader(payload))
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return b.Bytes()
}

func envList(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(m))
	for _, k := range keys {
		out = append(out, k+"="+m[k])
	}
	return out
}

// terraform runs the terraform CLI on a root with its own data folder and state file, so
// the test leaves nothing in the work tree.
type terraform struct {
	bin, dir, data, state string
	vars                  map[string]string
}

func newTerraform(t *testing.T, bin, dir string) *terraform {
	tmp := t.TempDir()
	return &terraform{bin: bin, dir: dir, data: filepath.Join(tmp, "tfdata"), state: filepath.Join(tmp, "terraform.tfstate")}
}

func (x *terraform) run(t *testing.T, must bool, args ...string) []byte {
	t.Helper()
	full := []string{"-chdir=" + x.dir}
	full = append(full, args...)
	switch args[0] {
	case "apply", "destroy", "plan":
		full = append(full, "-state="+x.state)
		for k, v := range x.vars {
			full = append(full, "-var", k+"="+v)
		}
	case "output":
		full = append(full, "-state="+x.state)
	}
	cmd := exec.Command(x.bin, full...)
	cmd.Env = append(os.Environ(), "TF_DATA_DIR="+x.data, "TF_IN_AUTOMATION=1", "TF_INPUT=0", "NO_COLOR=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil && must {
		t.Fatalf("terraform %s: %v\n%s\n%s", args[0], err, tailLines(stdout.String(), 40), stderr.String())
	}
	return stdout.Bytes()
}

// auditorConfig decodes the deployed auditor's AUDIT_CONFIG (gzipped in base64 by
// Terraform) into v.
func auditorConfig(t *testing.T, out outputs, v any) {
	t.Helper()
	doc, err := auditpkg.ConfigDocument(out.AuditorEnvironment["AUDIT_CONFIG"])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(doc, v); err != nil {
		t.Fatalf("the auditor's AUDIT_CONFIG: %v\n%s", err, doc)
	}
}

// slowRequests keeps the access-log lines of requests that took at least d, and every
// warning, in the log's order.
func slowRequests(log string, d time.Duration) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		var e struct {
			Level      string  `json:"level"`
			Msg        string  `json:"msg"`
			DurationMS float64 `json:"duration_ms"`
		}
		if json.Unmarshal([]byte(l), &e) != nil {
			continue
		}
		if e.Level == "WARN" || e.Level == "ERROR" || (e.Msg == "request" && e.DurationMS >= float64(d.Milliseconds())) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func tailLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func dropE2E(superDSN, db string, roles []string) {
	c, err := pgx.Connect(context.Background(), superDSN)
	if err != nil {
		return
	}
	defer c.Close(context.Background())
	c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgrole.Ident(db)+" WITH (FORCE)")
	for _, r := range roles {
		c.Exec(context.Background(), "DROP OWNED BY "+pgrole.Ident(r))
		c.Exec(context.Background(), "DROP ROLE IF EXISTS "+pgrole.Ident(r))
	}
}

// checkDeployment runs `rotaudit check`'s checks on the deployment, as an operator would
// after an apply: every check passes (a secret the test rotated with its own driver, not
// through RotateSecret, may say "never rotated", a warning).
func checkDeployment(t *testing.T, cfg aws.Config, raw []byte) {
	t.Helper()
	d, err := deploycheck.ParseOutputs(raw)
	if err != nil {
		t.Fatal(err)
	}
	if d.DLQURL == "" || len(d.Rules) == 0 {
		t.Fatalf("envs/local outputs give check no dead-letter queue or rules: %+v", d)
	}
	c := deploycheck.Clients{SM: secretsmanager.NewFromConfig(cfg), Lambda: lambda.NewFromConfig(cfg),
		Events: eventbridge.NewFromConfig(cfg), SNS: sns.NewFromConfig(cfg), SQS: sqs.NewFromConfig(cfg)}
	checks := deploycheck.Run(context.Background(), c, d, deploycheck.Options{})
	for _, c := range checks {
		fmt.Printf("  check: %-4s %-28s %s\n", c.Status, c.Name, c.Detail)
	}
	if deploycheck.Failed(checks) {
		t.Fatalf("rotaudit check fails on the deployment: %+v", checks)
	}
}
