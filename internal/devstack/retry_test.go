package devstack

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/pgrole"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// lostCreateSM makes the secret on CreateSecret and then answers as a retried call does on
// LocalStack: ResourceExistsException (the first attempt's answer was lost).
type lostCreateSM struct {
	value string
}

func (f *lostCreateSM) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	if f.value == "" {
		return nil, &smtypes.ResourceNotFoundException{Message: aws.String("no such secret")}
	}
	return &secretsmanager.GetSecretValueOutput{ARN: aws.String("arn:aws:secretsmanager:us-east-1:1:secret:" + aws.ToString(in.SecretId) + "-AbCdEf"), SecretString: aws.String(f.value)}, nil
}

func (f *lostCreateSM) CreateSecret(_ context.Context, in *secretsmanager.CreateSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error) {
	f.value = aws.ToString(in.SecretString)
	return nil, &smtypes.ResourceExistsException{Message: aws.String("already exists")}
}

func (f *lostCreateSM) PutSecretValue(context.Context, *secretsmanager.PutSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	panic("not expected")
}

// TestCreateSecretRetryFindsItsOwnSecret: a CreateSecret whose answer was lost and whose
// retry is refused as "already exists" is its own success when the secret holds the value
// it sent.
func TestCreateSecretRetryFindsItsOwnSecret(t *testing.T) {
	env := testenv.Stack(t)
	super := env.Super(t, "")
	role := testenv.Unique("devstack_retry")
	env.DropRolesAtCleanup(t, role)
	testenv.Exec(t, super, "CREATE ROLE "+pgrole.Ident(role)+" LOGIN")
	sm := &lostCreateSM{}
	want := dbsecret.Secret{Engine: "postgres", Host: "127.0.0.1", Port: env.PGPort, Username: role, DBName: "postgres"}
	arn, changed, err := ensureSecret(context.Background(), sm, super, "rotaudit/test/"+role, want, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil || !changed || arn == "" {
		t.Fatalf("ensureSecret after a lost CreateSecret answer: arn %q, changed %v, err %v", arn, changed, err)
	}
	got, err := dbsecret.Parse([]byte(sm.value))
	if err != nil || got.Username != role {
		t.Fatalf("stored %q (%v)", sm.value, err)
	}
}
