package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotaudit/rotaudit/internal/testenv"
)

func TestDBUsage(t *testing.T) {
	for _, args := range [][]string{{"db"}, {"db", "drop"}} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, &out, &errOut); !errors.Is(err, errUsage) || !strings.Contains(errOut.String(), "rotaudit db setup") {
			t.Errorf("%v: %v, stderr %q", args, err, errOut.String())
		}
	}
}

func TestDBShowRedacts(t *testing.T) {
	env := testenv.Stack(t)
	sm := secretsmanager.NewFromConfig(env.AWS(t))
	id := testenv.Unique("rotaudit/test/dbshow")
	const pw = "show-me-NOT-pw"
	if _, err := sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(id),
		SecretString: aws.String(`{"engine":"postgres","host":"h","port":5432,"username":"u","password":"` + pw + `","dbname":"d"}`)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: aws.String(id), ForceDeleteWithoutRecovery: aws.Bool(true)})
	})
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"db", "show", id}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "username=u") || !strings.Contains(out.String(), "password=REDACTED") || strings.Contains(out.String(), pw) {
		t.Fatalf("output: %s", out.String())
	}
	if err := run(context.Background(), []string{"db", "show", id + "-missing"}, &out, &errOut); err == nil {
		t.Fatal("showed a secret that does not exist")
	}
}
