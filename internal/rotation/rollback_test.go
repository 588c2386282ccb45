package rotation_test

import (
	"context"
	"errors"
	"testing"

	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/rotation/driver"
	"github.com/rotaudit/rotaudit/internal/rotation/rotationtest"
)

// TestSingleUserWayBack: when testSecret's query is refused for good after setSecret
// changed the password, the single-user rotation puts the AWSCURRENT password back, so
// the application (which still reads AWSCURRENT) keeps logging in; once the query is
// fixed the same rotation completes.
func TestSingleUserWayBack(t *testing.T) {
	f := rotationtest.New(t, rotationtest.Options{UserPrefix: "wayback_app"})
	ctx := context.Background()
	r := newRotator(f, rotation.SingleUser, nil)
	old := f.CurrentVersion(t)
	token := f.StartRotation(t)
	for _, step := range []string{rotation.StepCreate, rotation.StepSet} {
		if err := r.Handle(ctx, rotation.Event{Step: step, SecretID: f.SecretARN, ClientRequestToken: token}); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	current, pending := f.Get(t, "", "AWSCURRENT"), f.Get(t, token, "AWSPENDING")
	if rotationtest.LogsIn(current) || !rotationtest.LogsIn(pending) {
		t.Fatal("after setSecret the database should hold the pending password only")
	}
	// The probe now fails as a revoked grant or a bad TEST_QUERY would.
	r.Config.TestQuery = "SELECT * FROM no_such_table"
	err := r.Handle(ctx, rotation.Event{Step: rotation.StepTest, SecretID: f.SecretARN, ClientRequestToken: token})
	if !errors.Is(err, rotation.ErrProbe) {
		t.Fatalf("testSecret: err = %v, want ErrProbe", err)
	}
	if !rotationtest.LogsIn(current) || rotationtest.LogsIn(pending) {
		t.Fatal("after the failed test the AWSCURRENT password must log in again, and the pending one not")
	}
	if f.CurrentVersion(t) != old {
		t.Fatal("AWSCURRENT moved after a failed test")
	}
	r.Config.TestQuery = "SELECT 1"
	if err := driver.Run(ctx, r, f.SecretARN, token, nil); err != nil {
		t.Fatalf("retry after fixing the query: %v", err)
	}
	f.CheckFinished(t, token, old)
	if !rotationtest.LogsIn(f.Get(t, "", "AWSCURRENT")) {
		t.Fatal("the finished rotation's password does not log in")
	}
}
