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
	"github.com/rotaudit/rotaudit/internal/rotation/rotationtest"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// TestReadersWithoutStageSeeNewPassword: after a rotation, a reader that asks for the secret
// without a stage (the AWS CLI, most SDK caches, RDS Proxy) gets the new AWSCURRENT, as on
// AWS. finishSecret must move the label so that this holds; moto keeps an internal default
// that UpdateSecretVersionStage does not update, so there the read is not asserted.
func TestReadersWithoutStageSeeNewPassword(t *testing.T) {
	f := rotationtest.New(t, rotationtest.Options{})
	ctx := context.Background()
	token := f.StartRotation(t)
	if err := rotation.Drive(ctx, newRotator(f, rotation.SingleUser, nil), f.SecretARN, token, nil); err != nil {
		t.Fatal(err)
	}
	cur := f.Get(t, "", "AWSCURRENT")
	if !rotationtest.LogsIn(cur) {
		t.Fatal("AWSCURRENT does not log in after the rotation")
	}
	testenv.Stack(t).SkipOn(t, testenv.Moto, "GetSecretValue without VersionStage returns the version that was current before UpdateSecretVersionStage (../shared/EMULATOR.md)")
	out, err := f.SM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(f.SecretARN)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.VersionId) != token {
		t.Fatalf("GetSecretValue without a stage returned version %s, want the new AWSCURRENT %s", aws.ToString(out.VersionId), token)
	}
	s, err := dbsecret.Parse([]byte(aws.ToString(out.SecretString)))
	if err != nil {
		t.Fatal(err)
	}
	if s.Password != cur.Password {
		t.Fatal("GetSecretValue without a stage returned another password than AWSCURRENT")
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
