package rotation_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/rotation/driver"
	"github.com/rotaudit/rotaudit/internal/rotation/rotationtest"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// TestStagelessReadAfterRotation: after each rotation, a reader that asks for the secret
// without a stage (the AWS CLI, most SDK caches, RDS Proxy) gets the new AWSCURRENT, as on
// AWS: finishSecret must move the label so that this holds.
func TestStagelessReadAfterRotation(t *testing.T) {
	f := rotationtest.New(t, rotationtest.Options{})
	ctx := context.Background()
	r := newRotator(f, rotation.SingleUser, nil)
	for i := 1; i <= 3; i++ {
		token := f.StartRotation(t)
		if err := driver.Run(ctx, r, f.SecretARN, token, nil); err != nil {
			t.Fatalf("rotation %d: %v", i, err)
		}
		cur := f.Get(t, "", "AWSCURRENT")
		if !rotationtest.LogsIn(cur) {
			t.Fatalf("rotation %d: AWSCURRENT does not log in", i)
		}
		got, s := stagelessRead(t, f)
		if got != token {
			t.Fatalf("rotation %d: GetSecretValue without a stage returned version %s, want the new AWSCURRENT %s", i, got, token)
		}
		if s.Password != cur.Password {
			t.Fatalf("rotation %d: GetSecretValue without a stage returned another password than AWSCURRENT", i)
		}
	}
}

// TestStagelessReadDuringRotation: until finishSecret, a reader without a stage still gets
// the old AWSCURRENT, whose password logs in, not the pending one (before setSecret the
// pending password does not exist in the database yet). AWS behaves so; moto returns the
// newest version from RotateSecret on.
func TestStagelessReadDuringRotation(t *testing.T) {
	f := rotationtest.New(t, rotationtest.Options{})
	ctx := context.Background()
	r := newRotator(f, rotation.SingleUser, nil)
	before := f.CurrentVersion(t)
	token := f.StartRotation(t)
	if err := r.Handle(ctx, rotation.Event{Step: rotation.StepCreate, SecretID: f.SecretARN, ClientRequestToken: token}); err != nil {
		t.Fatalf("createSecret: %v", err)
	}
	testenv.Stack(t).SkipOn(t, testenv.Moto, "GetSecretValue without a stage returns the version RotateSecret created, AWSPENDING, instead of AWSCURRENT")
	got, s := stagelessRead(t, f)
	if got != before {
		t.Fatalf("after createSecret, GetSecretValue without a stage returned version %s, want the old AWSCURRENT %s", got, before)
	}
	if !rotationtest.LogsIn(s) {
		t.Fatal("after createSecret, the value read without a stage does not log in")
	}
}

// TestSecondRotationWhilePendingIsRefused: while a rotation is pending, Secrets Manager
// refuses to start another one, so two rotations never race on one secret; the steps rely on
// it only for speed (a stale token is refused by them too, ErrNotPending). moto accepts the
// second RotateSecret and moves AWSPENDING, so there only the steps' own refusal is asserted.
func TestSecondRotationWhilePendingIsRefused(t *testing.T) {
	f := rotationtest.New(t, rotationtest.Options{})
	ctx := context.Background()
	first := f.StartRotation(t)
	env := testenv.Stack(t)
	if env.Emulator == testenv.Moto {
		second := f.StartRotation(t)
		err := newRotator(f, rotation.SingleUser, nil).Handle(ctx, rotation.Event{Step: rotation.StepCreate, SecretID: f.SecretARN, ClientRequestToken: first})
		if !errors.Is(err, rotation.ErrNotPending) {
			t.Fatalf("createSecret with the superseded token %s (AWSPENDING is on %s): err = %v, want ErrNotPending", first, second, err)
		}
	}
	env.SkipOn(t, testenv.Moto, "a second RotateSecret while one is pending is accepted and moves AWSPENDING (../shared/EMULATOR.md)")
	_, err := f.SM.RotateSecret(ctx, &secretsmanager.RotateSecretInput{
		SecretId:          aws.String(f.SecretARN),
		RotationLambdaARN: aws.String(f.LambdaARN),
		RotationRules:     &smtypes.RotationRulesType{AutomaticallyAfterDays: aws.Int64(30)},
	})
	var invalid *smtypes.InvalidRequestException
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "in progress") {
		t.Fatalf("second RotateSecret while %s is pending: err = %v, want InvalidRequestException (rotation in progress)", first, err)
	}
	if st := f.Stages(t); len(st[first]) != 1 || st[first][0] != "AWSPENDING" {
		t.Fatalf("the refused RotateSecret changed the labels: %v", st)
	}
}

// stagelessRead reads the fixture's secret without a stage, as a client that trusts the
// default does, and returns the version id and the parsed value.
func stagelessRead(t *testing.T, f *rotationtest.Fixture) (string, dbsecret.Secret) {
	t.Helper()
	out, err := f.SM.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(f.SecretARN)})
	if err != nil {
		t.Fatal(err)
	}
	s, err := dbsecret.Parse([]byte(aws.ToString(out.SecretString)))
	if err != nil {
		t.Fatalf("value read without a stage: %v", err)
	}
	return aws.ToString(out.VersionId), s
}
