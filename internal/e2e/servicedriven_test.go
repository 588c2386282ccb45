package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/rotation/rotationtest"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// TestSecretsManagerDrivesRotation lets Secrets Manager run a rotation: RotateSecret with the
// real rotator deployed as a Lambda function, and nothing of rotaudit's driving the steps.
// It asserts what AWS guarantees once the rotation ends: AWSCURRENT on the new version alone,
// AWSPREVIOUS on the old one, no AWSPENDING, the new password logs in and the old one no
// longer does, and the function was invoked for each of the four steps.
//
// moto runs no function without Docker; on LocalStack the rotaudit-host executor
// (localstack/rotaudit_lambda_executor) runs the bootstrap.
func TestSecretsManagerDrivesRotation(t *testing.T) {
	env := testenv.Stack(t)
	env.SkipOn(t, testenv.Moto, "moto server invokes no Lambda function without Docker (make localstack-test runs this)")
	f := rotationtest.New(t, rotationtest.Options{})
	fn := rotationtest.DeployFunction(t, env, "rotaudit-sd-rotator", rotationtest.BuildFunction(t, "rotator"),
		map[string]string{rotation.EnvRotationStrategy: string(rotation.SingleUser)}, time.Minute)

	before := f.CurrentVersion(t)
	rotateAndWait(t, f.SM, f.SecretARN, fn.ARN, before)

	after := f.CurrentVersion(t)
	f.CheckFinished(t, after, before)
	cur := f.Get(t, "", "AWSCURRENT")
	if cur.Password == f.UserPassword || !rotationtest.LogsIn(cur) {
		t.Fatalf("after the rotation Secrets Manager ran: password changed %v, logs in %v", cur.Password != f.UserPassword, rotationtest.LogsIn(cur))
	}
	if c, err := f.Connect(f.User, f.UserPassword); err == nil {
		c.Close(context.Background())
		t.Error("the old password still logs in after a single-user rotation")
	}
	d, err := f.SM.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(f.SecretARN)})
	if err != nil || !aws.ToBool(d.RotationEnabled) || aws.ToString(d.RotationLambdaARN) != fn.ARN || d.LastRotatedDate == nil {
		t.Errorf("describe after rotation: enabled %v, function %s (want %s), last rotated %v (%v)",
			aws.ToBool(d.RotationEnabled), aws.ToString(d.RotationLambdaARN), fn.ARN, d.LastRotatedDate, err)
	}
	steps := stepsLogged(t, env, fn.Name, after, "done", 4)
	if !slices.Equal(steps, rotation.Steps()) {
		t.Errorf("the function's log shows steps %v for token %s, want %v", steps, after, rotation.Steps())
	}
}

// TestSecretsManagerRotationFailure lets Secrets Manager run a rotation that fails in
// setSecret (the master secret holds a wrong password) and asserts AWS's contract for a
// failed rotation: AWSCURRENT stays on the old version, whose password still logs in; the new
// version keeps AWSPENDING; the function stopped at setSecret. Then it recovers as an operator
// does on AWS: fix the master secret, take AWSPENDING off the stuck version, rotate again.
func TestSecretsManagerRotationFailure(t *testing.T) {
	env := testenv.Stack(t)
	env.SkipOn(t, testenv.Moto, "moto server invokes no Lambda function without Docker (make localstack-test runs this)")
	ctx := context.Background()
	f := rotationtest.New(t, rotationtest.Options{})
	fn := rotationtest.DeployFunction(t, env, "rotaudit-sd-rotator", rotationtest.BuildFunction(t, "rotator"),
		map[string]string{rotation.EnvRotationStrategy: string(rotation.AlternatingUsers), rotation.EnvMasterSecretARNs: f.MasterARN}, time.Minute)

	master, err := f.SM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(f.MasterARN), VersionStage: aws.String("AWSCURRENT")})
	if err != nil {
		t.Fatal(err)
	}
	good := aws.ToString(master.SecretString)
	var m map[string]any
	if err := json.Unmarshal([]byte(good), &m); err != nil {
		t.Fatal(err)
	}
	m["password"] = "not-the-master-password"
	bad, _ := json.Marshal(m)
	putCurrent(t, f.SM, f.MasterARN, string(bad))

	before := f.CurrentVersion(t)
	out, err := f.SM.RotateSecret(ctx, &secretsmanager.RotateSecretInput{
		SecretId: aws.String(f.SecretARN), RotationLambdaARN: aws.String(fn.ARN),
		RotationRules: &smtypes.RotationRulesType{AutomaticallyAfterDays: aws.Int64(30)},
	})
	if err != nil {
		t.Fatalf("rotate secret: the call itself succeeds on AWS (the steps run after it): %v", err)
	}
	token := aws.ToString(out.VersionId)
	if failed := stepsLogged(t, env, fn.Name, token, "error", 1); !slices.Equal(failed, []string{rotation.StepSet}) {
		t.Fatalf("the function's log shows failed steps %v for token %s, want [setSecret]", failed, token)
	}
	if done := stepsLogged(t, env, fn.Name, token, "done", 1); !slices.Equal(done, []string{rotation.StepCreate}) {
		t.Errorf("the function's log shows finished steps %v for token %s, want [createSecret] alone", done, token)
	}
	st := f.Stages(t)
	if !slices.Contains(st[before], "AWSCURRENT") || !slices.Contains(st[token], "AWSPENDING") || slices.Contains(st[token], "AWSCURRENT") {
		t.Fatalf("after a failed setSecret: stages %v, want AWSCURRENT still on %s and AWSPENDING on %s", st, before, token)
	}
	if cur := f.Get(t, "", "AWSCURRENT"); cur.Password != f.UserPassword || !rotationtest.LogsIn(cur) {
		t.Fatalf("after a failed setSecret the current secret changed or no longer logs in")
	}
	t.Run("LastRotatedDate stays unset", func(t *testing.T) {
		env.SkipOn(t, testenv.LocalStack, "LocalStack 4.14.0 sets LastRotatedDate when RotateSecret returns, failed or not")
		d, err := f.SM.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(f.SecretARN)})
		if err != nil || d.LastRotatedDate != nil {
			t.Errorf("a secret never rotated successfully has LastRotatedDate %v (%v)", d.LastRotatedDate, err)
		}
	})

	// Recovery: the master's password fixed, the stuck AWSPENDING removed, rotate again.
	putCurrent(t, f.SM, f.MasterARN, good)
	if _, err := f.SM.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
		SecretId: aws.String(f.SecretARN), VersionStage: aws.String("AWSPENDING"), RemoveFromVersionId: aws.String(token),
	}); err != nil {
		t.Fatalf("remove AWSPENDING from the failed version: %v", err)
	}
	after := rotateAndWait(t, f.SM, f.SecretARN, fn.ARN, before)
	f.CheckFinished(t, after, before)
	if cur := f.Get(t, "", "AWSCURRENT"); cur.Username != f.User+rotation.CloneSuffix || !rotationtest.LogsIn(cur) {
		t.Fatalf("after recovery AWSCURRENT is user %q (want %q), logs in %v", cur.Username, f.User+rotation.CloneSuffix, rotationtest.LogsIn(cur))
	}
}

// putCurrent stores value as the secret's new AWSCURRENT version.
func putCurrent(t *testing.T, sm *secretsmanager.Client, secretARN, value string) {
	t.Helper()
	if _, err := sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(secretARN), SecretString: aws.String(value)}); err != nil {
		t.Fatalf("put secret value: %v", err)
	}
}

// rotateAndWait calls RotateSecret with the function and waits, bounded, until AWSCURRENT
// leaves version before. On AWS RotateSecret returns at once and the steps run after it; on
// LocalStack they run inside the call: waiting covers both.
func rotateAndWait(t *testing.T, sm *secretsmanager.Client, secretARN, functionARN, before string) string {
	t.Helper()
	start := time.Now()
	out, err := sm.RotateSecret(context.Background(), &secretsmanager.RotateSecretInput{
		SecretId:          aws.String(secretARN),
		RotationLambdaARN: aws.String(functionARN),
		RotationRules:     &smtypes.RotationRulesType{AutomaticallyAfterDays: aws.Int64(30)},
	})
	if err != nil {
		t.Fatalf("rotate secret: %v", err)
	}
	token := aws.ToString(out.VersionId)
	fmt.Printf("e2e: RotateSecret answered in %.1f s\n", time.Since(start).Seconds())
	deadline := time.Now().Add(2 * time.Minute)
	for {
		d, err := sm.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(secretARN)})
		if err != nil {
			t.Fatalf("describe secret: %v", err)
		}
		if slices.Contains(d.VersionIdsToStages[token], "AWSCURRENT") {
			fmt.Printf("e2e: rotation by Secrets Manager done %.1f s after RotateSecret\n", time.Since(start).Seconds())
			return token
		}
		if time.Now().After(deadline) {
			t.Fatalf("2 minutes after RotateSecret, version %s is %v (stages %v): Secrets Manager did not finish the rotation", token, d.VersionIdsToStages[token], d.VersionIdsToStages)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stepsLogged reads the function's CloudWatch log group, where Lambda writes its output, and
// returns the rotation steps logged for token with outcome, in order; it waits (bounded) for
// want of them.
func stepsLogged(t *testing.T, env *testenv.Env, function, token, outcome string, want int) []string {
	t.Helper()
	cw := cloudwatchlogs.NewFromConfig(env.AWS(t))
	group := "/aws/lambda/" + function
	var steps []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		steps = steps[:0]
		p := cloudwatchlogs.NewFilterLogEventsPaginator(cw, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group)})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				break // the group appears with the first log batch
			}
			for _, e := range page.Events {
				msg := aws.ToString(e.Message)
				if !strings.Contains(msg, token) || !strings.Contains(msg, `"outcome":"`+outcome+`"`) {
					continue
				}
				for _, s := range rotation.Steps() {
					if strings.Contains(msg, `"step":"`+s+`"`) {
						steps = append(steps, s)
					}
				}
			}
		}
		if len(steps) >= want || time.Now().After(deadline) {
			return steps
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// currentVersion returns the id of the secret's version labelled AWSCURRENT.
func currentVersion(t *testing.T, sm *secretsmanager.Client, secretARN string) string {
	t.Helper()
	d, err := sm.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(secretARN)})
	if err != nil {
		t.Fatalf("describe secret: %v", err)
	}
	for v, labels := range d.VersionIdsToStages {
		if slices.Contains(labels, "AWSCURRENT") {
			return v
		}
	}
	t.Fatalf("secret %s: no version is AWSCURRENT (%v)", secretARN, d.VersionIdsToStages)
	return ""
}

// lambdaInvoke calls a deployed function through the Lambda API, synchronously, and returns
// its answer; a function error fails the test with the log tail Lambda returned.
func lambdaInvoke(t *testing.T, cfg aws.Config, function, payload string) []byte {
	t.Helper()
	lc := lambda.NewFromConfig(cfg)
	out, err := lc.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(function), Payload: []byte(payload), LogType: ltypes.LogTypeTail})
	if err != nil {
		t.Fatalf("invoke %s: %v", function, err)
	}
	if out.FunctionError != nil {
		tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		t.Fatalf("invoke %s: %s error: %s\n%s", function, aws.ToString(out.FunctionError), out.Payload, tail)
	}
	return out.Payload
}

// TestForeignBootstrapIsRefused deploys a zip whose bootstrap is built for another CPU:
// LocalStack's host-process executor cannot run it and must say so at CreateFunction, as the
// function's state reason, not fail later at the first invocation.
func TestForeignBootstrapIsRefused(t *testing.T) {
	env := testenv.Stack(t)
	env.SkipOn(t, testenv.Moto, "moto server runs no Lambda function")
	if mode, _ := os.ReadFile(filepath.Join(env.Root, ".stack-localstack", "mode")); strings.TrimSpace(string(mode)) == "docker" {
		t.Skip("the Docker stack runs LocalStack's docker executor, which emulates other CPUs")
	}
	// An ELF64 header up to e_machine: AArch64 on an x86_64 host, x86_64 on any other.
	machine, want := byte(183), "built for arm64"
	if runtime.GOARCH == "arm64" {
		machine, want = 62, "built for x86_64"
	}
	elf := append([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1}, make([]byte, 9)...)
	elf = append(elf, 2, 0, machine, 0)
	bin := filepath.Join(t.TempDir(), "bootstrap")
	if err := os.WriteFile(bin, elf, 0o755); err != nil {
		t.Fatal(err)
	}
	reason := rotationtest.DeployFailing(t, env, "rotaudit-foreign", bin)
	if !strings.Contains(reason, want) || !strings.Contains(reason, "PACKAGE_GOARCH") {
		t.Fatalf("state reason %q: want it to say the bootstrap is %s and how to build for this host", reason, want)
	}
}
