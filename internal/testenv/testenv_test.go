package testenv

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
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

// TestEmulatorIsWhatTheStackSays checks ROTAUDIT_AWS_EMULATOR against the endpoint itself:
// tests skip assertions by it, so a wrong value would skip or fail the wrong ones.
func TestEmulatorIsWhatTheStackSays(t *testing.T) {
	e := Stack(t)
	probe := map[Emulator]string{Moto: "/moto-api/", LocalStack: "/_localstack/health"}
	for em, path := range probe {
		resp, err := http.Get(e.Endpoint + path)
		if err != nil {
			t.Fatalf("%s: %v", e.Endpoint+path, err)
		}
		resp.Body.Close()
		if answers := resp.StatusCode == http.StatusOK; answers != (em == e.Emulator) {
			t.Errorf("the stack says %s runs; GET %s answered %s", e.Emulator, path, resp.Status)
		}
	}
}

// TestCreateSecretRetryIsIdempotent backs the claim in retrysafe.go that a test's
// CreateSecret needs no CreateOnce: the SDK sends one ClientRequestToken with every retry,
// and the emulator answers a repeat of the same token and value with the secret it made.
func TestCreateSecretRetryIsIdempotent(t *testing.T) {
	e := Stack(t)
	sm := secretsmanager.NewFromConfig(e.AWS(t))
	ctx := context.Background()
	name := Unique("rotaudit-test/retry")
	in := &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(`{"v":1}`),
		ClientRequestToken: aws.String("00000000-0000-4000-8000-" + name[len(name)-10:] + "00")}
	first, err := sm.CreateSecret(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: first.ARN, ForceDeleteWithoutRecovery: aws.Bool(true)})
	})
	e.SkipOn(t, LocalStack, "LocalStack 4.14.0 answers a repeated CreateSecret with the same token and value ResourceExistsException (localstack/README.md); a test's CreateSecret there needs CreateOnce")
	again, err := sm.CreateSecret(ctx, in)
	if err != nil || aws.ToString(again.ARN) != aws.ToString(first.ARN) {
		t.Fatalf("the same CreateSecret again: %v, %v; want the first answer (ARN %s)", again, err, aws.ToString(first.ARN))
	}
}

func TestReservePort(t *testing.T) {
	port, listen := ReservePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatalf("%s accepted a connection before listen", addr)
	}
	if l, err := net.Listen("tcp", addr); err == nil {
		l.Close()
		t.Fatalf("another listener took the reserved %s", addr)
	}
	l, err := listen()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("after listen: %v", err)
	}
	c.Close()
}
