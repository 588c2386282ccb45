package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/pgrole"
	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/rotation/driver"
	"github.com/rotaudit/rotaudit/internal/rotation/rotationtest"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// The three databases envs/local deploys in this test (issue 21): "rates" and "ratesb" on
// the stack's cluster under one master, "pg2" on the stack's second cluster under a master of
// its own. The keys are envs/local's: "rates" is its db_name/app_username database, the others
// its extra_databases.
const (
	dbRates  = "rates"
	dbRatesB = "ratesb"
	dbPG2    = "pg2"
)

// dbOutput is one database of envs/local's databases output.
type dbOutput struct {
	AppSecretARN string `json:"app_secret_arn"`
	// AppSecretARNs is every app user's secret by its id: app (the first user's, AppSecretARN)
	// and app-<username> for each further user.
	AppSecretARNs      map[string]string `json:"app_secret_arns"`
	AdminSecretARN     string            `json:"admin_secret_arn"`
	RotationStrategies map[string]string `json:"rotation_strategies"`
	SecretRotatorNames map[string]string `json:"secret_rotator_names"`
	Bootstrap          struct {
		Name        string            `json:"name"`
		Environment map[string]string `json:"environment"`
	} `json:"bootstrap"`
}

// secondCluster is the stack's second PostgreSQL cluster (scripts/stack.sh, PG2_PORT).
type secondCluster struct {
	Port     int
	SuperDSN string
}

// stackSecondCluster finds the second cluster from the stack's environment and checks that
// it answers.
func stackSecondCluster(t *testing.T) secondCluster {
	t.Helper()
	socket, port := os.Getenv("ROTAUDIT_PG2_SOCKET_DIR"), os.Getenv("ROTAUDIT_PG2_PORT")
	p, err := strconv.Atoi(port)
	if socket == "" || err != nil {
		t.Fatalf("the stack's second PostgreSQL cluster is unknown (ROTAUDIT_PG2_SOCKET_DIR=%q, ROTAUDIT_PG2_PORT=%q): run make up, then eval \"$(scripts/stack.sh env)\"", socket, port)
	}
	c := secondCluster{Port: p, SuperDSN: fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable", socket, p)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.SuperDSN)
	if err != nil {
		t.Fatalf("the stack's second PostgreSQL cluster on port %d does not answer (%v): run make up", p, err)
	}
	conn.Close(context.Background())
	return c
}

// createMaster makes an RDS-like master on the server at superDSN (LOGIN CREATEROLE
// CREATEDB, no superuser) and its secret (dbname postgres, no TLS), create-if-absent.
func createMaster(t *testing.T, sm *secretsmanager.Client, superDSN string, port int, role, password, secretName string) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, superDSN)
	if err != nil {
		t.Fatalf("connect as superuser to create %s: %v", role, err)
	}
	defer c.Close(ctx)
	testenv.Exec(t, c, "CREATE ROLE "+pgrole.Ident(role)+" LOGIN CREATEROLE CREATEDB PASSWORD "+testenv.Literal(password))
	body, _ := json.Marshal(map[string]any{"engine": "postgres", "host": "127.0.0.1", "port": port,
		"username": role, "password": password, "dbname": "postgres", "ssl": false})
	if _, err := testenv.CreateSecret(ctx, sm, &secretsmanager.CreateSecretInput{Name: aws.String(secretName), SecretString: aws.String(string(body))}); err != nil {
		t.Fatalf("master secret %s: %v", secretName, err)
	}
}

// extraDatabasesVar is envs/local's extra_databases for the test's two other databases;
// ratesb has a second app user, reportB, rotated single-user (its first user alternates).
func extraDatabasesVar(dbB, appB, reportB, masterSecret, db2, app2, master2Secret string) string {
	return fmt.Sprintf(`{%s={db_name=%q,app_username=%q,admin_secret_name=%q,rotate_master=false,more_app_users=[{username=%q,strategy="single-user"}]},%s={cluster="second",db_name=%q,app_username=%q,admin_secret_name=%q}}`,
		dbRatesB, dbB, appB, masterSecret, reportB, dbPG2, db2, app2, master2Secret)
}

// bootstrapOne runs one database's deployed bootstrap function twice through call: the first
// run creates appUsers (the first user's, then each further user's) and sets each app
// secret's first password, which must log in; the second changes nothing.
func bootstrapOne(t *testing.T, sm *secretsmanager.Client, key string, db dbOutput, appUsers []string, call func(string) []byte, logs func() string) {
	t.Helper()
	body := call(`{"trigger":"e2e"}`)
	var res struct {
		Changed bool `json:"changed"`
		Apps    []struct {
			Username    string `json:"username"`
			PasswordSet bool   `json:"password_set"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(body, &res); err != nil || !res.Changed || len(res.Apps) != len(appUsers) {
		t.Fatalf("database %s: bootstrap answered %s (%v), want %v created with passwords\n%s", key, body, err, appUsers, logs())
	}
	for i, u := range appUsers {
		if !res.Apps[i].PasswordSet || res.Apps[i].Username != u {
			t.Fatalf("database %s: bootstrap answered %s, want %s created with a password\n%s", key, body, u, logs())
		}
	}
	if len(db.AppSecretARNs) != len(appUsers) {
		t.Fatalf("database %s: %d app secrets deployed (%v), want one per user %v", key, len(db.AppSecretARNs), db.AppSecretARNs, appUsers)
	}
	for id, arn := range db.AppSecretARNs {
		if app := testenv.CurrentSecret(t, sm, arn); !rotationtest.LogsIn(app) {
			t.Fatalf("database %s: after the bootstrap the %s secret's password does not log in", key, id)
		}
	}
	body = call(`{"trigger":"e2e-again"}`)
	if err := json.Unmarshal(body, &res); err != nil || res.Changed {
		t.Fatalf("database %s: second bootstrap run changed something: %s", key, body)
	}
}

// rotatedSecret is one secret the rotation phase rotates.
type rotatedSecret struct {
	label, arn, strategy string
	rotator              struct{ name, arn string }
}

// rotatedSecrets lists every rotated secret of every database ("<database>/<app|admin>"),
// sorted, and checks each points at the shared rotator of its strategy.
func rotatedSecrets(t *testing.T, sm *secretsmanager.Client, out outputs) []rotatedSecret {
	t.Helper()
	var all []rotatedSecret
	for key, db := range out.Databases {
		for which, strategy := range db.RotationStrategies {
			s := rotatedSecret{label: key + "/" + which, arn: db.AppSecretARNs[which], strategy: strategy}
			if which == "admin" {
				s.arn = db.AdminSecretARN
			}
			if s.arn == "" {
				t.Fatalf("%s: rotated (%s) but no deployed secret in the outputs", s.label, strategy)
			}
			rot, ok := out.Rotators[strategy]
			if !ok || rot.Name != db.SecretRotatorNames[which] {
				t.Fatalf("%s: strategy %q, function %q: no deployed rotator matches (%v)", s.label, strategy, db.SecretRotatorNames[which], out.Rotators)
			}
			if rot.Environment[rotation.EnvRotationStrategy] != strategy {
				t.Fatalf("rotator %s runs %s=%q, %s needs %q", rot.Name, rotation.EnvRotationStrategy, rot.Environment[rotation.EnvRotationStrategy], s.label, strategy)
			}
			d, err := sm.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(s.arn)})
			if err != nil || !aws.ToBool(d.RotationEnabled) || aws.ToString(d.RotationLambdaARN) != rot.ARN {
				t.Fatalf("%s: rotation enabled %v with %s, want the shared %s (%v)", s.label, aws.ToBool(d.RotationEnabled), aws.ToString(d.RotationLambdaARN), rot.ARN, err)
			}
			s.rotator.name, s.rotator.arn = rot.Name, rot.ARN
			all = append(all, s)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].label < all[j].label })
	return all
}

// rotateConcurrently rotates every secret at once, each through its own emulated rotator
// (one aws-lambda-rie runs one invocation at a time) with the environment Terraform gave
// the shared function, and returns the error of each secret's rotation ("" when it
// succeeded). Secrets Manager retries a failed step; so does this, until the deadline: a
// secret rotating with alternating users may find its master in mid-rotation (the master's
// new password set, AWSCURRENT not yet moved), which fails its login until the master's
// rotation finishes. retries counts the steps run again.
func rotateConcurrently(t *testing.T, sm *secretsmanager.Client, secrets []rotatedSecret, endpoints []string, deadline time.Duration) (errs []string, retries int) {
	t.Helper()
	errs = make([]string, len(secrets))
	counts := make([]int, len(secrets))
	var wg sync.WaitGroup
	for i, s := range secrets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			started, err := sm.RotateSecret(ctx, &secretsmanager.RotateSecretInput{SecretId: aws.String(s.arn), RotationLambdaARN: aws.String(s.rotator.arn)})
			if err != nil {
				errs[i] = fmt.Sprintf("RotateSecret: %v", err)
				return
			}
			n, err := stepsWithRetries(ctx, endpoints[i], s.arn, aws.ToString(started.VersionId), time.Now().Add(deadline))
			counts[i] = n
			if err != nil {
				errs[i] = err.Error()
			}
		}()
	}
	wg.Wait()
	for _, n := range counts {
		retries += n
	}
	return errs, retries
}

// stepsWithRetries runs the four steps of one rotation through the function at url, each
// retried with a growing pause until it succeeds or the deadline passes; it returns how many
// times a step was run again.
func stepsWithRetries(ctx context.Context, url, secretARN, token string, deadline time.Time) (retries int, err error) {
	inv := driver.Endpoint{URL: url, Client: &http.Client{Timeout: time.Minute}}
	for _, step := range rotation.Steps() {
		for pause := 500 * time.Millisecond; ; pause = min(2*pause, 5*time.Second) {
			err := inv.Handle(ctx, rotation.Event{Step: step, SecretID: secretARN, ClientRequestToken: token})
			if err == nil {
				break
			}
			if time.Now().Add(pause).After(deadline) {
				return retries, fmt.Errorf("%s still fails at the deadline: %w", step, err)
			}
			retries++
			time.Sleep(pause)
		}
	}
	return retries, nil
}

// checkRotated asserts what a finished rotation leaves: a new AWSCURRENT that logs in, the
// former current version now AWSPREVIOUS, and under alternating users the other user.
func checkRotated(t *testing.T, sm *secretsmanager.Client, s rotatedSecret, before string, beforeUser, beforePassword string) {
	t.Helper()
	after := testenv.CurrentSecret(t, sm, s.arn)
	if after.Password == beforePassword || !rotationtest.LogsIn(after) {
		t.Errorf("%s after rotation: password changed %v, logs in %v", s.label, after.Password != beforePassword, rotationtest.LogsIn(after))
	}
	if s.strategy == string(rotation.AlternatingUsers) && after.Username == beforeUser {
		t.Errorf("%s: alternating rotation kept user %s", s.label, after.Username)
	}
	d, err := sm.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(s.arn)})
	if err != nil {
		t.Fatalf("%s: describe: %v", s.label, err)
	}
	stages := d.VersionIdsToStages[before]
	if !strings.Contains(strings.Join(stages, ","), "AWSPREVIOUS") {
		t.Errorf("%s: the former current version %s has stages %v, want AWSPREVIOUS", s.label, before, stages)
	}
}
