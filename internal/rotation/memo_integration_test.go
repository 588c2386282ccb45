package rotation_test

import (
	"context"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotaudit/rotaudit/internal/bootstrap"
	"github.com/rotaudit/rotaudit/internal/pgrole"
	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/rotation/rotationtest"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// readCounter counts the GetSecretValue calls for one secret.
type readCounter struct {
	rotation.SecretsManager
	arn string
	mu  sync.Mutex
	n   int
}

func (c *readCounter) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, o ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	if aws.ToString(in.SecretId) == c.arn {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
	}
	return c.SecretsManager.GetSecretValue(ctx, in, o...)
}

func (c *readCounter) take() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = 0
	return n
}

// TestWarmInstanceReadsEachVersionOnce: the steps of a rotation on one instance read each
// version of the secret once (memo.go): 3 reads for the first rotation (AWSCURRENT, the
// empty AWSPENDING createSecret looks for, AWSPENDING's value), 2 for each later one
// (AWSCURRENT is the version the last rotation made current); 5 without the memo. A new
// AWSCURRENT put outside rotation, with the user's password changed to match, is read and
// used by the next rotation, never the remembered value.
func TestWarmInstanceReadsEachVersionOnce(t *testing.T) {
	testenv.Integration(t) // every subtest needs the stack
	for _, strategy := range strategies {
		t.Run(string(strategy), func(t *testing.T) {
			f := rotationtest.New(t, rotationtest.Options{})
			counter := &readCounter{SecretsManager: f.SM, arn: f.SecretARN}
			r := newRotator(f, strategy, nil)
			r.SM = counter
			ctx := context.Background()
			rotate := func() {
				t.Helper()
				old := f.CurrentVersion(t)
				token := f.StartRotation(t)
				for _, step := range rotation.Steps() {
					if err := r.Handle(ctx, rotation.Event{Step: step, SecretID: f.SecretARN, ClientRequestToken: token}); err != nil {
						t.Fatalf("%s: %v", step, err)
					}
				}
				f.CheckFinished(t, token, old)
				if cur := f.Get(t, "", "AWSCURRENT"); !rotationtest.LogsIn(cur) {
					t.Fatal("AWSCURRENT does not log in")
				}
			}
			for i, want := range []int{3, 2, 2} {
				rotate()
				if n := counter.take(); n != want {
					t.Fatalf("rotation %d read the secret %d times, want %d", i+1, n, want)
				}
			}

			// An operator sets a new password by hand, in the database and as AWSCURRENT.
			cur := f.Get(t, "", "AWSCURRENT")
			cur.Password = testenv.Unique("pw")
			testenv.Exec(t, f.Env.Super(t, ""), "ALTER ROLE "+pgrole.Ident(cur.Username)+" PASSWORD "+testenv.Literal(cur.Password))
			body, err := cur.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if err := bootstrap.PutCurrent(ctx, f.SM, f.SecretARN, string(body)); err != nil {
				t.Fatal(err)
			}
			rotate()
			if n := counter.take(); n != 3 {
				t.Fatalf("the rotation after a new AWSCURRENT read the secret %d times, want 3 (the new version read once)", n)
			}
			if next := f.Get(t, "", "AWSPREVIOUS"); next.Password != cur.Password {
				t.Fatal("the rotation did not start from the operator's AWSCURRENT")
			}
		})
	}
}
