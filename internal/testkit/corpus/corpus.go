// Package corpus generates synthetic CloudTrail traffic for tests and benchmarks: the
// benign life of a rotaudit deployment (the API reading its secret every few minutes, the
// rotator rotating it, Terraform deploying), unrelated noise from other services, and a few
// attacks. Output is deterministic for a given seed.
package corpus

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
)

// The deployment the generated traffic belongs to; Config describes it to the auditor.
const (
	Account   = "111122223333"
	Region    = "eu-west-1"
	AppSecret = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:rotaudit/prod/app-Ab12Cd"
	AdmSecret = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:rotaudit/prod/admin-Ef34Gh"
	Key       = "arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-1111-2222-3333-444455556666"
	APIRole   = "arn:aws:iam::111122223333:role/rotaudit-prod-api-task"
	RotRole   = "arn:aws:iam::111122223333:role/rotaudit-prod-rotator"
	DeplRole  = "arn:aws:iam::111122223333:role/rotaudit-deploy"
	Family    = "rotaudit-prod-api"
	Cluster   = "rotaudit-prod"
)

// NATNetworks are the trusted_networks of the generated deployment: its NAT gateways.
const NATNetworks = `["198.51.100.10/32", "198.51.100.11/32", "203.0.113.40/32"]`

// Config is the audit configuration matching the generated deployment. The learning
// period (two days) covers the first rotation, as a real one should cover a rotation cycle.
func Config() string {
	return fmt.Sprintf(`{
  "watched_secrets": [{"arn": %q}, {"arn": %q}, {"name_prefix": "rotaudit/prod/"}],
  "kms_keys": [%q],
  "readers": [%q],
  "rotators": [%q],
  "deployers": [%q],
  "ecs": {"families": [%q], "clusters": [%q]},
  "learning_period": "48h",
  "dedup_window": "1h"
}`, AppSecret, AdmSecret, Key, APIRole, RotRole, DeplRole, Family, Cluster)
}

// Emit receives generated records in time order.
type Emit func(*cloudtrail.Record) error

// Gen builds records; its methods append to the stream in time order.
type Gen struct {
	rng  *rand.Rand
	seq  int
	emit Emit
}

// New returns a generator seeded with seed.
func New(seed uint64, emit Emit) *Gen {
	return &Gen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), emit: emit}
}

func role(arn, session string) cloudtrail.UserIdentity {
	name := arn[len("arn:aws:iam::111122223333:role/"):]
	return cloudtrail.UserIdentity{
		Type: "AssumedRole", PrincipalID: "AROAEXAMPLEROLEID:" + session,
		ARN: "arn:aws:sts::" + Account + ":assumed-role/" + name + "/" + session, AccountID: Account,
		AccessKeyID: "ASIAEXAMPLEKEY",
		SessionContext: cloudtrail.SessionContext{SessionIssuer: cloudtrail.SessionIssuer{
			Type: "Role", ARN: arn, AccountID: Account, UserName: name,
		}},
	}
}

func (g *Gen) rec(t time.Time, who cloudtrail.UserIdentity, source, name, ip, ua string, params any) *cloudtrail.Record {
	g.seq++
	r := &cloudtrail.Record{
		EventVersion: "1.09", UserIdentity: who, EventTime: t.UTC().Format(time.RFC3339),
		EventSource: source, EventName: name, AWSRegion: Region, SourceIPAddress: ip, UserAgent: ua,
		RequestID: fmt.Sprintf("req-%08x", g.seq), EventID: fmt.Sprintf("%08x-0000-4000-8000-%012x", g.rng.Uint32(), g.seq),
		EventType: "AwsApiCall", RecipientAccountID: Account,
	}
	if params != nil {
		b, _ := json.Marshal(params)
		r.RequestParameters = b
	}
	r.Time = t
	return r
}

func (g *Gen) put(r *cloudtrail.Record) error { return g.emit(r) }

// NAT gateway addresses of the VPC (the API and rotator reach AWS through them).
var natIPs = []string{"198.51.100.10", "198.51.100.11", "203.0.113.40"}

const sdkUA = "aws-sdk-go-v2/1.41.0 ua/2.1 os/linux lang/go#1.26 md/GOOS#linux md/GOARCH#arm64"

// APIRead is the API task reading its secret, and the KMS Decrypt Secrets Manager makes
// on its behalf.
func (g *Gen) APIRead(t time.Time, task int) error {
	who := role(APIRole, fmt.Sprintf("ecs-task-%04x", task))
	ip := natIPs[task%len(natIPs)]
	if err := g.put(g.rec(t, who, "secretsmanager.amazonaws.com", "GetSecretValue", ip, sdkUA,
		map[string]string{"secretId": AppSecret, "versionStage": "AWSCURRENT"})); err != nil {
		return err
	}
	who.InvokedBy = "secretsmanager.amazonaws.com"
	return g.put(g.rec(t, who, "kms.amazonaws.com", "Decrypt", "secretsmanager.amazonaws.com", "secretsmanager.amazonaws.com",
		map[string]any{"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": map[string]string{"SecretARN": AppSecret, "SecretVersionId": fmt.Sprintf("v-%d", task)}}))
}

// Rotation is one alternating-users rotation as Secrets Manager drives it: the service
// events around it and the rotator's calls for the four steps.
func (g *Gen) Rotation(t time.Time, n int) error {
	svc := cloudtrail.UserIdentity{AccountID: Account, InvokedBy: "secretsmanager.amazonaws.com"}
	rot := role(RotRole, "rotaudit-prod-rotator")
	ip := natIPs[n%len(natIPs)]
	token := fmt.Sprintf("tok-%d", n)
	started := g.rec(t, svc, "secretsmanager.amazonaws.com", "RotationStarted", "secretsmanager.amazonaws.com", "secretsmanager.amazonaws.com", nil)
	started.EventType = "AwsServiceEvent"
	started.AdditionalEventData = json.RawMessage(`{"SecretId":"` + AppSecret + `"}`)
	steps := []*cloudtrail.Record{
		started,
		g.rec(t.Add(1*time.Second), rot, "secretsmanager.amazonaws.com", "DescribeSecret", ip, sdkUA, map[string]string{"secretId": AppSecret}),
		g.rec(t.Add(2*time.Second), rot, "secretsmanager.amazonaws.com", "GetSecretValue", ip, sdkUA, map[string]string{"secretId": AppSecret, "versionStage": "AWSCURRENT"}),
		g.rec(t.Add(2*time.Second), rot, "secretsmanager.amazonaws.com", "GetRandomPassword", ip, sdkUA, map[string]any{"passwordLength": 32}),
		g.rec(t.Add(3*time.Second), rot, "secretsmanager.amazonaws.com", "PutSecretValue", ip, sdkUA, map[string]any{"secretId": AppSecret, "clientRequestToken": token, "versionStages": []string{"AWSPENDING"}}),
		g.rec(t.Add(4*time.Second), rot, "secretsmanager.amazonaws.com", "GetSecretValue", ip, sdkUA, map[string]string{"secretId": AppSecret, "versionStage": "AWSPENDING", "versionId": token}),
		g.rec(t.Add(4*time.Second), rot, "secretsmanager.amazonaws.com", "GetSecretValue", ip, sdkUA, map[string]string{"secretId": AdmSecret, "versionStage": "AWSCURRENT"}),
		g.rec(t.Add(6*time.Second), rot, "secretsmanager.amazonaws.com", "GetSecretValue", ip, sdkUA, map[string]string{"secretId": AppSecret, "versionStage": "AWSPENDING", "versionId": token}),
		g.rec(t.Add(7*time.Second), rot, "secretsmanager.amazonaws.com", "UpdateSecretVersionStage", ip, sdkUA, map[string]string{"secretId": AppSecret, "versionStage": "AWSCURRENT", "moveToVersionId": token, "removeFromVersionId": "old"}),
	}
	rot.InvokedBy = "secretsmanager.amazonaws.com"
	steps = append(steps, g.rec(t.Add(3*time.Second), rot, "kms.amazonaws.com", "GenerateDataKey", "secretsmanager.amazonaws.com", "secretsmanager.amazonaws.com",
		map[string]any{"keyId": Key, "encryptionContext": map[string]string{"SecretARN": AppSecret}}))
	steps = append(steps, g.rec(t.Add(4*time.Second), rot, "kms.amazonaws.com", "Decrypt", "secretsmanager.amazonaws.com", "secretsmanager.amazonaws.com",
		map[string]any{"encryptionContext": map[string]string{"SecretARN": AppSecret}}))
	done := g.rec(t.Add(8*time.Second), svc, "secretsmanager.amazonaws.com", "RotationSucceeded", "secretsmanager.amazonaws.com", "secretsmanager.amazonaws.com", nil)
	done.EventType = "AwsServiceEvent"
	done.AdditionalEventData = started.AdditionalEventData
	steps = append(steps, done)
	for _, s := range steps {
		if err := g.put(s); err != nil {
			return err
		}
	}
	return nil
}

const tfUA = "APN/1.0 HashiCorp/1.0 Terraform/1.9.8 (+https://www.terraform.io) terraform-provider-aws/5.80.0 aws-sdk-go-v2/1.32.5"

// Deploy is a Terraform apply: it refreshes and updates the secret's settings, registers a
// new API task definition revision with a new image, re-grants the task role, and checks
// the trail and the key. image is the release tag.
func (g *Gen) Deploy(t time.Time, image string) error {
	d := role(DeplRole, "terraform-ci")
	ip := fmt.Sprintf("192.0.2.%d", 1+g.rng.IntN(250)) // CI runners come from anywhere
	step := 0
	next := func(source, name string, params any) *cloudtrail.Record {
		step++
		return g.rec(t.Add(time.Duration(step)*time.Second), d, source, name, ip, tfUA, params)
	}
	taskPolicy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":%q},{"Effect":"Allow","Action":"kms:Decrypt","Resource":%q}]}`, AppSecret, Key)
	keyPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}`
	recs := []*cloudtrail.Record{
		next("secretsmanager.amazonaws.com", "DescribeSecret", map[string]string{"secretId": AppSecret}),
		next("secretsmanager.amazonaws.com", "GetResourcePolicy", map[string]string{"secretId": AppSecret}),
		next("secretsmanager.amazonaws.com", "UpdateSecret", map[string]string{"secretId": AppSecret, "description": "rates API credentials (" + image + ")"}),
		next("secretsmanager.amazonaws.com", "RotateSecret", map[string]any{"secretId": AppSecret, "rotationLambdaARN": "arn:aws:lambda:eu-west-1:111122223333:function:rotaudit-prod-rotator", "rotationRules": map[string]any{"automaticallyAfterDays": 30}, "rotateImmediately": false}),
		next("secretsmanager.amazonaws.com", "PutResourcePolicy", map[string]string{"secretId": AppSecret, "resourcePolicy": fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":{"StringNotEquals":{"aws:PrincipalArn":[%q,%q]}}}]}`, APIRole, RotRole)}),
		next("kms.amazonaws.com", "DescribeKey", map[string]string{"keyId": Key}),
		next("kms.amazonaws.com", "PutKeyPolicy", map[string]string{"keyId": Key, "policyName": "default", "policy": keyPolicy}),
		next("iam.amazonaws.com", "GetRole", map[string]string{"roleName": "rotaudit-prod-api-task"}),
		next("iam.amazonaws.com", "PutRolePolicy", map[string]string{"roleName": "rotaudit-prod-api-task", "policyName": "read-db-secret", "policyDocument": taskPolicy}),
		next("cloudtrail.amazonaws.com", "GetEventSelectors", map[string]string{"trailName": "rotaudit-prod"}),
		next("cloudtrail.amazonaws.com", "UpdateTrail", map[string]any{"name": "rotaudit-prod", "s3BucketName": "rotaudit-prod-trail", "isMultiRegionTrail": true, "enableLogFileValidation": true, "includeGlobalServiceEvents": true}),
		next("cloudtrail.amazonaws.com", "PutEventSelectors", map[string]any{"trailName": "rotaudit-prod", "eventSelectors": []map[string]any{{"readWriteType": "All", "includeManagementEvents": true, "excludeManagementEventSources": []string{}}}}),
		next("ecs.amazonaws.com", "RegisterTaskDefinition", map[string]any{"family": Family, "taskRoleArn": APIRole, "containerDefinitions": []map[string]any{{"name": "api", "image": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/rates:" + image, "secrets": []map[string]string{{"name": "DB_SECRET_ID", "valueFrom": AppSecret}}}}}),
		next("ecs.amazonaws.com", "UpdateService", map[string]any{"cluster": Cluster, "service": "rates-api", "taskDefinition": Family}),
	}
	for _, r := range recs {
		if err := g.put(r); err != nil {
			return err
		}
	}
	return nil
}

// Noise is a call by an unrelated workload to a service the rules do not watch, or a
// read-only call to one they do.
func (g *Gen) Noise(t time.Time) error {
	type call struct {
		src, name string
		params    any
	}
	calls := []call{
		{"s3.amazonaws.com", "GetBucketAcl", map[string]string{"bucketName": "rotaudit-prod-trail"}},
		{"ec2.amazonaws.com", "DescribeInstances", map[string]any{"maxResults": 100}},
		{"sts.amazonaws.com", "AssumeRole", map[string]string{"roleArn": "arn:aws:iam::111122223333:role/batch", "roleSessionName": "batch"}},
		{"logs.amazonaws.com", "CreateLogStream", map[string]string{"logGroupName": "/ecs/rates", "logStreamName": fmt.Sprintf("api/%d", g.rng.IntN(1000))}},
		{"ecr.amazonaws.com", "GetAuthorizationToken", nil},
		{"kms.amazonaws.com", "GenerateDataKey", map[string]any{"keyId": "alias/aws/s3", "encryptionContext": map[string]string{"aws:s3:arn": "arn:aws:s3:::data/x"}}},
		{"secretsmanager.amazonaws.com", "ListSecrets", map[string]any{"maxResults": 20}},
		{"ecs.amazonaws.com", "DescribeServices", map[string]any{"cluster": Cluster, "services": []string{"rates-api"}}},
		{"monitoring.amazonaws.com", "PutMetricData", map[string]any{"namespace": "Rates"}},
		{"dynamodb.amazonaws.com", "DescribeTable", map[string]string{"tableName": "orders"}},
		// The auditor's own CMK-encrypted state table and topic, and routine reads of the
		// services the rules watch: the traffic a service-wide pattern pays for.
		{"kms.amazonaws.com", "Decrypt", map[string]any{"encryptionContext": map[string]string{"aws:dynamodb:tableName": "rotaudit-prod-audit-state"}}},
		{"kms.amazonaws.com", "GenerateDataKey", map[string]any{"keyId": Key, "encryptionContext": map[string]string{"aws:sns:topicArn": "arn:aws:sns:eu-west-1:111122223333:rotaudit-prod-alerts"}}},
		{"rds.amazonaws.com", "DescribeDBInstances", map[string]string{"dBInstanceIdentifier": "rotaudit-prod"}},
		{"ecs.amazonaws.com", "ListTasks", map[string]string{"cluster": Cluster}},
		{"secretsmanager.amazonaws.com", "DescribeSecret", map[string]string{"secretId": "team/service-1"}},
	}
	c := calls[g.rng.IntN(len(calls))]
	who := role("arn:aws:iam::111122223333:role/batch-worker", fmt.Sprintf("i-%06x", g.rng.IntN(1<<20)))
	return g.put(g.rec(t, who, c.src, c.name, fmt.Sprintf("10.1.%d.%d", g.rng.IntN(4), 1+g.rng.IntN(250)), "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux", c.params))
}

// Intrusion acts out the incident: an unknown role reads the app secret and enumerates
// the deployment's other secrets, then weakens the trail's selectors; a rotation fails.
func (g *Gen) Intrusion(t time.Time) error {
	who := role("arn:aws:iam::111122223333:role/ci-runner", "build-4242")
	ip := "185.220.101.7"
	recs := []*cloudtrail.Record{g.rec(t, who, "secretsmanager.amazonaws.com", "GetSecretValue", ip, "aws-cli/2.17.0 Python/3.12", map[string]string{"secretId": "rotaudit/prod/app"})}
	for i := 0; i < 6; i++ {
		recs = append(recs, g.rec(t.Add(time.Duration(10+i)*time.Second), who, "secretsmanager.amazonaws.com", "GetSecretValue", ip, "aws-cli/2.17.0 Python/3.12", map[string]string{"secretId": fmt.Sprintf("rotaudit/prod/service-%d", i)}))
	}
	recs = append(recs, g.rec(t.Add(time.Minute), who, "cloudtrail.amazonaws.com", "PutEventSelectors", ip, "aws-cli/2.17.0 Python/3.12",
		map[string]any{"trailName": "rotaudit-prod", "eventSelectors": []map[string]any{{"readWriteType": "WriteOnly", "includeManagementEvents": true}}}))
	failed := g.rec(t.Add(2*time.Minute), cloudtrail.UserIdentity{AccountID: Account, InvokedBy: "secretsmanager.amazonaws.com"}, "secretsmanager.amazonaws.com", "RotationFailed", "secretsmanager.amazonaws.com", "secretsmanager.amazonaws.com", nil)
	failed.EventType = "AwsServiceEvent"
	failed.ErrorMessage = "Error when executing lambda arn:aws:lambda:eu-west-1:111122223333:function:rotaudit-prod-rotator during setSecret step"
	failed.AdditionalEventData = json.RawMessage(`{"SecretId":"` + AppSecret + `"}`)
	recs = append(recs, failed)
	for _, r := range recs {
		if err := g.put(r); err != nil {
			return err
		}
	}
	return nil
}

// BenignStats counts what Benign generated.
type BenignStats struct {
	Records, APIReads, Rotations, Deploys int
}

// Benign generates days of a healthy deployment from start: the API's tasks read the
// secret every few minutes (tasks replaced at each deploy), four rotations, two Terraform
// deploys (one during learning, one after), and noise.
func (g *Gen) Benign(start time.Time, days int) (BenignStats, error) {
	var st BenignStats
	count := g.emit
	g.emit = func(r *cloudtrail.Record) error { st.Records++; return count(r) }
	defer func() { g.emit = count }()
	end := start.Add(time.Duration(days) * 24 * time.Hour)
	rotations := []time.Time{start.Add(26 * time.Hour), start.Add(50 * time.Hour), start.Add(98 * time.Hour)}
	for d := 30; d*24 < days*24-5; d += 30 { // long runs rotate monthly, as deployed
		rotations = append(rotations, start.Add(time.Duration(d)*24*time.Hour))
	}
	rotations = append(rotations, start.Add(time.Duration(days)*24*time.Hour-5*time.Hour))
	deploys := []time.Time{start.Add(2 * time.Hour), start.Add(time.Duration(days)*24*time.Hour/2 + 7*time.Hour)}
	task := 1
	for t := start; t.Before(end); t = t.Add(3 * time.Minute) {
		for len(deploys) > 0 && !deploys[0].After(t) {
			if err := g.Deploy(deploys[0], fmt.Sprintf("v1.%d.0", st.Deploys)); err != nil {
				return st, err
			}
			st.Deploys++
			deploys = deploys[1:]
			task += 3 // a deploy replaces the tasks
		}
		for len(rotations) > 0 && !rotations[0].After(t) {
			if err := g.Rotation(rotations[0], st.Rotations); err != nil {
				return st, err
			}
			st.Rotations++
			rotations = rotations[1:]
		}
		// Three tasks each read at start-up and then on cache expiry, staggered.
		tk := task + g.rng.IntN(3)
		if err := g.APIRead(t.Add(time.Duration(g.rng.IntN(60))*time.Second), tk); err != nil {
			return st, err
		}
		st.APIReads++
		for range 4 {
			if err := g.Noise(t.Add(time.Duration(g.rng.IntN(170)) * time.Second)); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

// WriteLogFile writes records as one trail log file ({"Records":[...]}), gzip-compressed.
func WriteLogFile(w io.Writer, fill func(Emit) error) error {
	zw := gzip.NewWriter(w)
	if _, err := io.WriteString(zw, `{"Records":[`); err != nil {
		return err
	}
	first := true
	enc := json.NewEncoder(zw)
	err := fill(func(r *cloudtrail.Record) error {
		if !first {
			if _, err := io.WriteString(zw, ","); err != nil {
				return err
			}
		}
		first = false
		return enc.Encode(r)
	})
	if err != nil {
		return err
	}
	if _, err := io.WriteString(zw, "]}\n"); err != nil {
		return err
	}
	return zw.Close()
}

// WriteMixed writes files gzip log files of perFile records each under dir: noise with
// the benign deployment's traffic woven in (about one record in ten) and one intrusion per
// file. It returns the file paths.
func WriteMixed(dir string, seed uint64, files, perFile int, start time.Time) ([]string, error) {
	var paths []string
	t := start
	for i := range files {
		p := filepath.Join(dir, fmt.Sprintf("%s_CloudTrail_%s_%s_%04d.json.gz", Account, Region, t.Format("20060102T1504Z"), i))
		f, err := os.Create(p)
		if err != nil {
			return nil, fmt.Errorf("corpus: %w", err)
		}
		err = WriteLogFile(f, func(emit Emit) error {
			n := 0
			g := New(seed+uint64(i), func(r *cloudtrail.Record) error { n++; return emit(r) })
			for n < perFile {
				t = t.Add(2 * time.Second)
				var err error
				switch k := g.rng.IntN(100); {
				case k < 8:
					err = g.APIRead(t, g.rng.IntN(9))
				case k == 8 && g.rng.IntN(50) == 0:
					err = g.Rotation(t, n)
				case k == 9 && n > perFile/2 && g.rng.IntN(200) == 0:
					err = g.Intrusion(t)
				default:
					err = g.Noise(t)
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("corpus: %s: %w", p, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}
