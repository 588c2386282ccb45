// Package testenv connects integration tests to the local stack that scripts/stack.sh runs:
// a real PostgreSQL and a real AWS emulator (moto server or LocalStack).
//
// A test calls Stack(t) first. With -short it skips, saying so; otherwise it starts the stack
// when it is not running (scripts/stack.sh up is idempotent), and fails when that is
// impossible, so `make test` can never pass by skipping its integration tests.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/awsclient"
	"github.com/rotaudit/rotaudit/internal/dbsecret"
)

// Env describes the running local stack.
type Env struct {
	// Root is the repository's top folder.
	Root string
	// PGPort is the TCP port PostgreSQL listens on at 127.0.0.1 (scripts/lib.sh sets it).
	PGPort int
	// SuperDSN connects as the cluster's superuser (over the unix socket on the native
	// stack). Tests use it to create roles and scratch databases, never the product code.
	SuperDSN string
	// Endpoint is the AWS emulator's URL, also exported as AWS_ENDPOINT_URL.
	Endpoint string
	// ServerLog is PostgreSQL's log file on the native stack; empty in docker mode, where
	// the log stays inside the container.
	ServerLog string
	// Emulator is the AWS emulator that answers at Endpoint.
	Emulator Emulator
}

// Emulator names an AWS emulator the stack can run. Tests assert AWS's behaviour; where an
// emulator cannot serve an assertion, they skip just that assertion with Env.SkipOn.
type Emulator string

// The emulators scripts/stack.sh runs: moto server (the default stack) and LocalStack
// (`scripts/stack.sh --emulator localstack`, and the Docker stack).
const (
	Moto       Emulator = "moto"
	LocalStack Emulator = "localstack"
)

// SkipOn skips the test when the stack runs emulator em, giving why it cannot serve what the
// test asserts. Call it right before that assertion, so everything before it still runs.
func (e *Env) SkipOn(t testing.TB, em Emulator, why string) {
	t.Helper()
	if e.Emulator == em {
		t.Skipf("not asserted on %s: %s", em, why)
	}
}

// startOnce makes concurrent tests of one package start the stack once.
var startOnce sync.Once

var startErr error

// Integration skips t in -short mode, as Stack does. A test whose subtests each call Stack
// calls it first: Go reports a parent whose subtests all skipped as PASS, and it should
// say SKIP.
func Integration(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs PostgreSQL and the AWS emulator; run without -short (make test starts them)")
	}
}

// Stack returns the running local stack, starting it when needed. See the package doc.
func Stack(t testing.TB) *Env {
	t.Helper()
	Integration(t)
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	startOnce.Do(func() { startErr = ensureStack(root) })
	if startErr != nil {
		t.Fatalf("local stack: %v", startErr)
	}
	// ensureStack exported the stack's environment, so the port is always set here.
	port := os.Getenv("ROTAUDIT_PG_PORT")
	pgPort, err := strconv.Atoi(port)
	if err != nil || pgPort < 1 || pgPort > 65535 {
		t.Fatalf("ROTAUDIT_PG_PORT=%q is not a port number (scripts/stack.sh env sets it)", port)
	}
	stateDir := getenv("ROTAUDIT_STATE_DIR", filepath.Join(root, ".stack"))
	e := &Env{Root: root, PGPort: pgPort, Endpoint: os.Getenv("AWS_ENDPOINT_URL")}
	switch em := Emulator(os.Getenv("ROTAUDIT_AWS_EMULATOR")); em {
	case Moto, LocalStack:
		e.Emulator = em
	default:
		t.Fatalf("ROTAUDIT_AWS_EMULATOR=%q: want %q or %q (scripts/stack.sh env sets it)", em, Moto, LocalStack)
	}
	if mode, _ := os.ReadFile(filepath.Join(stateDir, "mode")); strings.TrimSpace(string(mode)) == "docker" {
		pw, err := os.ReadFile(filepath.Join(stateDir, "pg-superuser-password"))
		if err != nil {
			t.Fatalf("docker stack: superuser password: %v", err)
		}
		e.SuperDSN = fmt.Sprintf("host=127.0.0.1 port=%s user=postgres password=%s dbname=postgres sslmode=disable", port, strings.TrimSpace(string(pw)))
	} else {
		sock := getenv("ROTAUDIT_PG_SOCKET_DIR", filepath.Join(stateDir, "pg", "run"))
		e.ServerLog = getenv("ROTAUDIT_PG_LOG", filepath.Join(stateDir, "pg", "postgres.log"))
		e.SuperDSN = fmt.Sprintf("host=%s port=%s user=postgres dbname=postgres sslmode=disable", sock, port)
	}
	return e
}

// ensureStack exports the stack's environment (only variables not already set) and runs
// scripts/stack.sh up unless both services already answer.
func ensureStack(root string) error {
	out, err := exec.Command(filepath.Join(root, "scripts", "stack.sh"), "env").Output()
	if err != nil {
		return fmt.Errorf("scripts/stack.sh env: %w", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if ok && os.Getenv(k) == "" {
			os.Setenv(k, v)
		}
	}
	if exec.Command(filepath.Join(root, "scripts", "stack.sh"), "status").Run() == nil {
		return nil
	}
	cmd := exec.Command(filepath.Join(root, "scripts", "stack.sh"), "up")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("scripts/stack.sh up failed (%w); its output is above", err)
	}
	return nil
}

// RepoRoot finds the folder holding go.mod, walking up from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// AWS loads the standard SDK configuration, which AWS_ENDPOINT_URL points at the emulator.
func (e *Env) AWS(t testing.TB) aws.Config {
	t.Helper()
	cfg, err := awsclient.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Super opens a superuser connection to database db ("" for postgres), closed at cleanup.
func (e *Env) Super(t testing.TB, db string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, e.superDSN(db))
	if err != nil {
		t.Fatalf("connect as superuser: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// superDSN is the superuser's connection string for database db ("" for postgres).
func (e *Env) superDSN(db string) string {
	if db == "" {
		return e.SuperDSN
	}
	return strings.Replace(e.SuperDSN, "dbname=postgres", "dbname="+db, 1)
}

// CreateDatabase makes an empty scratch database with a unique name, dropped at cleanup.
func (e *Env) CreateDatabase(t testing.TB, prefix string) string {
	t.Helper()
	name := Unique(prefix)
	conn := e.Super(t, "")
	if _, err := conn.Exec(context.Background(), "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	e.execAtCleanup(t, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return name
}

// DropRolesAtCleanup drops the roles, those that exist, when the test ends.
func (e *Env) DropRolesAtCleanup(t testing.TB, roles ...string) {
	stmts := make([]string, len(roles))
	for i, r := range roles {
		stmts[i] = "DROP ROLE IF EXISTS " + pgx.Identifier{r}.Sanitize()
	}
	e.execAtCleanup(t, stmts...)
}

// execAtCleanup runs the statements as the superuser when the test ends, ignoring their
// errors: what they remove may be gone already.
func (e *Env) execAtCleanup(t testing.TB, stmts ...string) {
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), e.SuperDSN)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		for _, s := range stmts {
			c.Exec(context.Background(), s)
		}
	})
}

// Exec runs the statements on c in order, failing the test at the first error; the
// message leaves out what follows " PASSWORD", so a failed CREATE ROLE does not print the
// password.
func Exec(t testing.TB, c *pgx.Conn, stmts ...string) {
	t.Helper()
	for _, sql := range stmts {
		if _, err := c.Exec(context.Background(), sql); err != nil {
			shown, _, _ := strings.Cut(sql, " PASSWORD")
			t.Fatalf("%s: %v", shown, err)
		}
	}
}

// Literal quotes s as an SQL string literal, for statements that take no parameters
// (CREATE ROLE ... PASSWORD).
func Literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Unique returns prefix plus a random suffix: names in the shared emulator and cluster
// must not collide between tests and runs.
func Unique(prefix string) string {
	b := make([]byte, 5)
	rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// CurrentSecret reads and parses the AWSCURRENT value of a database secret, failing the test
// when it is missing or malformed. The stage is asked for explicitly: moto returns another
// version without it after a stage move.
func CurrentSecret(t testing.TB, sm *secretsmanager.Client, id string) dbsecret.Secret {
	t.Helper()
	out, err := sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(id), VersionStage: aws.String("AWSCURRENT")})
	if err != nil {
		t.Fatalf("AWSCURRENT of %s: %v", id, err)
	}
	s, err := dbsecret.Parse([]byte(aws.ToString(out.SecretString)))
	if err != nil {
		t.Fatalf("AWSCURRENT of %s: %v", id, err)
	}
	return s
}

// Connect logs in with s without TLS (the local stack's servers have none), within ten
// seconds.
func Connect(s dbsecret.Secret) (*pgx.Conn, error) {
	cfg, err := s.ConnConfig(dbsecret.ConnOptions{SSLMode: "disable"})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return pgx.ConnectConfig(ctx, cfg)
}

// Login is Connect, failing the test when s does not log in; the session is closed at
// cleanup.
func Login(t testing.TB, s dbsecret.Secret) *pgx.Conn {
	t.Helper()
	c, err := Connect(s)
	if err != nil {
		t.Fatalf("login as %s: %v", s.Username, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// BenchFile reads the CloudTrail log file named by $CLOUDTRAIL_BENCH_FILE (a generated
// corpus file; scripts/bench-audit.sh makes them), skipping the benchmark without it.
func BenchFile(b testing.TB) (path string, data []byte) {
	b.Helper()
	path = os.Getenv("CLOUDTRAIL_BENCH_FILE")
	if path == "" {
		b.Skip("set CLOUDTRAIL_BENCH_FILE to a CloudTrail log file (scripts/bench-audit.sh does)")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return path, data
}
