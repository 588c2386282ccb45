package rotation_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/rotation/rotationtest"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// describeGate holds every DescribeSecret answer until a login as user has begun, or
// until the bound passes: a step that logs in only after DescribeSecret then shows as a
// wait of the whole bound (held is true).
type describeGate struct {
	rotation.SecretsManager
	mu     sync.Mutex
	user   string
	dialed chan struct{}
	held   bool
}

const gateBound = 10 * time.Second

func (g *describeGate) arm(user string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.user, g.dialed, g.held = user, make(chan struct{}), false
}

func (g *describeGate) dial(ctx context.Context, cfg *pgx.ConnConfig) (rotation.DB, error) {
	g.mu.Lock()
	if g.dialed != nil && cfg.User == g.user {
		close(g.dialed)
		g.dialed = nil
	}
	g.mu.Unlock()
	return rotation.PgxDialer(ctx, cfg)
}

func (g *describeGate) DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, o ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	out, err := g.SecretsManager.DescribeSecret(ctx, in, o...)
	g.mu.Lock()
	ch := g.dialed
	g.mu.Unlock()
	if ch != nil {
		select {
		case <-ch:
		case <-time.After(gateBound):
			g.mu.Lock()
			g.held = true
			g.mu.Unlock()
		}
	}
	return out, err
}

func (g *describeGate) disarm() (held bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	held, g.dialed = g.held, nil
	return held
}

// TestWarmStepLogsInBesideDescribeSecret: on a warm instance, testSecret and setSecret
// (both strategies: alternating users' is the guard's AWSCURRENT proof) start their first
// login while their DescribeSecret is still out (early.go), with the value the memo
// predicts; the rotation is the same as without.
// The gate answers DescribeSecret only once that login has begun, so a step that waits
// for DescribeSecret before logging in is caught by the gate's bound, whatever the load.
func TestWarmStepLogsInBesideDescribeSecret(t *testing.T) {
	testenv.Integration(t) // every subtest needs the stack
	for _, strategy := range strategies {
		t.Run(string(strategy), func(t *testing.T) {
			f := rotationtest.New(t, rotationtest.Options{})
			gate := &describeGate{SecretsManager: f.SM}
			r := newRotator(f, strategy, nil)
			r.SM, r.Dial = gate, gate.dial
			ctx := context.Background()
			for i := 0; i < 2; i++ { // the first rotation fills the memo
				old := f.CurrentVersion(t)
				token := f.StartRotation(t)
				current := f.Get(t, "", "AWSCURRENT")
				for _, step := range rotation.Steps() {
					early := i > 0 && (step == rotation.StepTest || step == rotation.StepSet)
					if early {
						user := current.Username
						if step == rotation.StepTest {
							user = f.Get(t, token, "AWSPENDING").Username
						}
						gate.arm(user)
					}
					if err := r.Handle(ctx, rotation.Event{Step: step, SecretID: f.SecretARN, ClientRequestToken: token}); err != nil {
						t.Fatalf("rotation %d, %s: %v", i+1, step, err)
					}
					if held := gate.disarm(); early && held {
						t.Errorf("rotation %d, %s: no login began before DescribeSecret answered (the gate held it %s)", i+1, step, gateBound)
					}
				}
				f.CheckFinished(t, token, old)
				if cur := f.Get(t, "", "AWSCURRENT"); !rotationtest.LogsIn(cur) {
					t.Fatalf("rotation %d: AWSCURRENT does not log in", i+1)
				}
			}
		})
	}
}

// TestEarlyLoginClosedWhenTheStepRefuses: a warm testSecret whose token stopped being
// AWSPENDING (the rotation was cancelled after setSecret) is refused as before, and the
// session its early login opened is closed, not left on the server.
func TestEarlyLoginClosedWhenTheStepRefuses(t *testing.T) {
	testenv.Integration(t)
	f := rotationtest.New(t, rotationtest.Options{})
	r := newRotator(f, rotation.SingleUser, nil)
	ctx := context.Background()
	token := f.StartRotation(t)
	for _, step := range []string{rotation.StepCreate, rotation.StepSet} {
		if err := r.Handle(ctx, rotation.Event{Step: step, SecretID: f.SecretARN, ClientRequestToken: token}); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	pending := f.Get(t, token, "AWSPENDING")
	if _, err := f.SM.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
		SecretId: aws.String(f.SecretARN), VersionStage: aws.String("AWSPENDING"), RemoveFromVersionId: aws.String(token),
	}); err != nil {
		t.Fatal(err)
	}
	err := r.Handle(ctx, rotation.Event{Step: rotation.StepTest, SecretID: f.SecretARN, ClientRequestToken: token})
	if !errors.Is(err, rotation.ErrNotPending) {
		t.Fatalf("testSecret after the rotation was cancelled: %v, want ErrNotPending", err)
	}
	// The server ends a backend shortly after its client closes: wait with a bound.
	super := f.Env.Super(t, "")
	deadline := time.Now().Add(gateBound)
	for {
		var n int
		if err := super.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE usename = $1", pending.Username).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d session(s) of %s still open %s after testSecret was refused", n, pending.Username, gateBound)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
