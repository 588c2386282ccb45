package testenv

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

func TestStackAnswers(t *testing.T) {
	e := Stack(t)
	var one int
	if err := e.Super(t, "").QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("postgres: got %d, %v", one, err)
	}
	sm := secretsmanager.NewFromConfig(e.AWS(t))
	if _, err := sm.ListSecrets(context.Background(), &secretsmanager.ListSecretsInput{}); err != nil {
		t.Fatalf("emulator secrets manager: %v", err)
	}
	db := e.CreateDatabase(t, "testenv")
	if err := e.Super(t, db).QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil {
		t.Fatalf("scratch database %s: %v", db, err)
	}
}
