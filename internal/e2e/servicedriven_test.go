package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
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
	steps := stepsLogged(t, env, fn.Name, after, 4)
	if !slices.Equal(steps, rotation.Steps()) {
		t.Errorf("the function's log shows steps %v for token %s, want %v", steps, after, rotation.Steps())
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
// returns the rotation steps logged for token in order; it waits (bounded) for want of them.
func stepsLogged(t *testing.T, env *testenv.Env, function, token string, want int) []string {
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
				if !strings.Contains(msg, token) || !strings.Contains(msg, `"outcome":"done"`) {
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
