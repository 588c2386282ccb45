package rotation_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/rotation/driver"
	"github.com/rotaudit/rotaudit/internal/rotation/rotationtest"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// refusingDB answers the test query with "permission denied", as a revoked grant would,
// on sessions logged in with one password; everything else goes to the real database.
type refusingDB struct{ rotation.DB }

func (d refusingDB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if sql == "SELECT 1" {
		return nil, &pgconn.PgError{Code: "42501", Message: "permission denied for table rates (test)"}
	}
	return d.DB.Query(ctx, sql, args...)
}

// refuseFor returns a dialer of the real database whose sessions with password refuse
// the test query.
func refuseFor(password string) rotation.Dialer {
	return func(ctx context.Context, cfg *pgx.ConnConfig) (rotation.DB, error) {
		db, err := rotation.PgxDialer(ctx, cfg)
		if err == nil && cfg.Password == password {
			return refusingDB{db}, nil
		}
		return db, err
	}
}

// TestSingleUserWayBack: single-user setSecret changes the password only after the test
// query passed as the user, then tests the pending credentials itself; when that fails
// for a reason a retry will not change, it puts back the password it had logged in with,
// from its own session, and fails. The application's AWSCURRENT keeps logging in, and a
// retry once the cause is fixed finishes the rotation.
func TestSingleUserWayBack(t *testing.T) {
	f := rotationtest.New(t, rotationtest.Options{UserPrefix: "wayback_app"})
	ctx := context.Background()
	r := newRotator(f, rotation.SingleUser, nil)
	old := f.CurrentVersion(t)
	token := f.StartRotation(t)
	if err := r.Handle(ctx, rotation.Event{Step: rotation.StepCreate, SecretID: f.SecretARN, ClientRequestToken: token}); err != nil {
		t.Fatal(err)
	}
	current, pending := f.Get(t, "", "AWSCURRENT"), f.Get(t, token, "AWSPENDING")
	r.Dial = refuseFor(pending.Password)
	err := r.Handle(ctx, rotation.Event{Step: rotation.StepSet, SecretID: f.SecretARN, ClientRequestToken: token})
	if !errors.Is(err, rotation.ErrProbe) || !strings.Contains(err.Error(), "previous password was put back") {
		t.Fatalf("setSecret: err = %v, want ErrProbe with the password put back", err)
	}
	if !rotationtest.LogsIn(current) || rotationtest.LogsIn(pending) {
		t.Fatal("after the way back the AWSCURRENT password must log in, and the pending one not")
	}
	if f.CurrentVersion(t) != old {
		t.Fatal("AWSCURRENT moved after a failed setSecret")
	}
	// Refused as the user before any change: nothing changes at all.
	r.Dial = refuseFor(current.Password)
	err = r.Handle(ctx, rotation.Event{Step: rotation.StepSet, SecretID: f.SecretARN, ClientRequestToken: token})
	if !errors.Is(err, rotation.ErrProbe) || !strings.Contains(err.Error(), "nothing changed") {
		t.Fatalf("setSecret with the query refused before the change: err = %v", err)
	}
	if !rotationtest.LogsIn(current) || rotationtest.LogsIn(pending) {
		t.Fatal("a refusal before the change changed the password")
	}
	r.Dial = rotation.PgxDialer
	if err := driver.Run(ctx, r, f.SecretARN, token, nil); err != nil {
		t.Fatalf("retry after fixing the cause: %v", err)
	}
	f.CheckFinished(t, token, old)
	if !rotationtest.LogsIn(f.Get(t, "", "AWSCURRENT")) {
		t.Fatal("the finished rotation's password does not log in")
	}
}

// TestWayBackIgnoresALaterSecret is the attack the way back once allowed: after setSecret,
// someone who may write the secret (but knows no password) puts a value of their choosing
// in AWSCURRENT and the test query then fails for good. testSecret must not make that
// value the user's password: it fails and writes nothing.
func TestWayBackIgnoresALaterSecret(t *testing.T) {
	f := rotationtest.New(t, rotationtest.Options{UserPrefix: "wayback_attack"})
	ctx := context.Background()
	r := newRotator(f, rotation.SingleUser, nil)
	token := f.StartRotation(t)
	for _, step := range []string{rotation.StepCreate, rotation.StepSet} {
		if err := r.Handle(ctx, rotation.Event{Step: step, SecretID: f.SecretARN, ClientRequestToken: token}); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	pending := f.Get(t, token, "AWSPENDING")
	chosen := f.Get(t, "", "AWSCURRENT")
	chosen.Password = "chosen-" + testenv.Unique("pw")
	body, _ := chosen.Marshal()
	if _, err := f.SM.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(f.SecretARN), SecretString: aws.String(string(body)), VersionStages: []string{"AWSCURRENT"},
	}); err != nil {
		t.Fatal(err)
	}
	// AWS keeps AWSPENDING on the token when another version becomes current; moto 5.2.1
	// drops it. Put it back as AWS would have left it.
	if !slices.Contains(f.Stages(t)[token], "AWSPENDING") {
		if _, err := f.SM.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
			SecretId: aws.String(f.SecretARN), VersionStage: aws.String("AWSPENDING"), MoveToVersionId: aws.String(token),
		}); err != nil {
			t.Fatal(err)
		}
	}
	r.Dial = refuseFor(pending.Password)
	err := r.Handle(ctx, rotation.Event{Step: rotation.StepTest, SecretID: f.SecretARN, ClientRequestToken: token})
	if !errors.Is(err, rotation.ErrProbe) {
		t.Fatalf("testSecret: err = %v, want ErrProbe", err)
	}
	if rotationtest.LogsIn(chosen) {
		t.Fatal("the password the writer chose became the user's password")
	}
	if !rotationtest.LogsIn(pending) {
		t.Fatal("testSecret changed the password")
	}
}
