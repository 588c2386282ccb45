package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/rotation/driver"
	"github.com/rotaudit/rotaudit/internal/rotation/rotationtest"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// The side-by-side half of the benchmark: AWS's PostgreSQL rotation functions
// (aws-samples/aws-secrets-manager-rotation-lambdas, a checkout named by
// AWS_ROTATION_LAMBDAS; none of their code is in this repository) against the same
// PostgreSQL and the same emulator, on fixtures of the same shape as ours (rotationtest:
// "ssl": false, since the local server has no TLS, and "masterarn", which AWS's
// multi-user function needs).
//
// What AWS's functions do per step (read from their lambda_function.py), every step
// opening with DescribeSecret on a fresh boto3 client:
//
//	createSecret: GetSecretValue AWSCURRENT, GetSecretValue AWSPENDING (not found),
//	  GetRandomPassword, PutSecretValue. No database login.
//	setSecret, single-user: GetSecretValue AWSPREVIOUS (not found on the first rotation),
//	  AWSCURRENT, AWSPENDING; login with pending (refused); login with current; SELECT
//	  quote_ident; ALTER USER ... WITH PASSWORD (the password in clear: the server makes
//	  the SCRAM verifier); COMMIT. Two logins.
//	setSecret, multi-user: GetSecretValue AWSCURRENT, AWSPENDING; login with pending
//	  (refused); login with current (the confused-deputy check); GetSecretValue of the
//	  masterarn secret; login as master; two SELECT quote_ident, SELECT from pg_roles,
//	  CREATE ROLE ... LOGIN PASSWORD + GRANT current TO clone the first time, else ALTER
//	  USER ... WITH PASSWORD; COMMIT. Three logins.
//	testSecret: GetSecretValue AWSPENDING; login with pending; SELECT NOW(). One login.
//	finishSecret: DescribeSecret again, UpdateSecretVersionStage (AWSCURRENT only).
//
// So a rotation is 3 logins (single-user) or 4 (multi-user), and 11 or 12 Secrets
// Manager calls with the handler's DescribeSecret on each step.

// awsBench is AWS's side of the benchmark, or nil when AWS_ROTATION_LAMBDAS is unset.
type awsBench struct {
	// dir holds SecretsManagerRDSPostgreSQLRotation{Single,Multi}User.
	dir string
	// python has boto3 and pgdb (pygresql); ric reports whether it has awslambdaric.
	python string
	ric    bool
	// driver is scripts/aws_rotation_driver.py.
	driver string
	// extra is what the functions get beside this process's environment; env is both.
	extra, env []string
}

// awsFolder is AWS's function for a strategy of ours.
func awsFolder(s rotation.Strategy) string {
	if s == rotation.AlternatingUsers {
		return "SecretsManagerRDSPostgreSQLRotationMultiUser"
	}
	return "SecretsManagerRDSPostgreSQLRotationSingleUser"
}

// loadAWSBench reads AWS_ROTATION_LAMBDAS and AWS_ROTATION_PYTHON (default python3) and
// checks that AWS's code imports; unset, it returns nil and the benchmark says how to set it.
func loadAWSBench(t *testing.T, env *testenv.Env) *awsBench {
	dir := os.Getenv("AWS_ROTATION_LAMBDAS")
	if dir == "" {
		return nil
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b := &awsBench{dir: dir, python: os.Getenv("AWS_ROTATION_PYTHON"), driver: filepath.Join(root, "scripts", "aws_rotation_driver.py")}
	if b.python == "" {
		b.python = "python3"
	}
	// AWS's functions read SECRETS_MANAGER_ENDPOINT unconditionally (a KeyError when
	// unset); it points boto3 at the emulator whatever its version knows of
	// AWS_ENDPOINT_URL.
	b.extra = []string{"SECRETS_MANAGER_ENDPOINT=" + env.Endpoint, "PYTHONUNBUFFERED=1"}
	b.env = append(os.Environ(), b.extra...)
	for _, s := range []rotation.Strategy{rotation.SingleUser, rotation.AlternatingUsers} {
		f := filepath.Join(dir, awsFolder(s), "lambda_function.py")
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("AWS_ROTATION_LAMBDAS=%s: %v (want a checkout of aws-samples/aws-secrets-manager-rotation-lambdas)", dir, err)
		}
		cmd := exec.Command(b.python, "-c", "import lambda_function")
		cmd.Dir, cmd.Env = filepath.Dir(f), b.env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s cannot import %s: %v\n%s(install boto3 and pygresql for it, or set AWS_ROTATION_PYTHON)", b.python, f, err, out)
		}
	}
	b.ric = exec.Command(b.python, "-c", "import awslambdaric").Run() == nil
	return b
}

// awsWarm is one of AWS's functions imported once in a long-lived process
// (scripts/aws_rotation_driver.py), as a warm Lambda keeps it, with its own fixture.
type awsWarm struct {
	f   *rotationtest.Fixture
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
	// peakKiB is the process's VmHWM after the last step.
	peakKiB int
	// steps holds each step's wall time, per rotation.
	steps map[string][]time.Duration
}

// startWarm starts the driver for the strategy's function and waits for its import.
func (b *awsBench) startWarm(t *testing.T, f *rotationtest.Fixture, s rotation.Strategy) *awsWarm {
	w := &awsWarm{f: f, steps: map[string][]time.Duration{}}
	w.cmd = exec.Command(b.python, b.driver, filepath.Join(b.dir, awsFolder(s)))
	w.cmd.Env, w.cmd.Stderr = b.env, io.Discard
	var err error
	if w.in, err = w.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := w.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	w.out = bufio.NewScanner(stdout)
	if err := w.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", b.driver, err)
	}
	t.Cleanup(func() { w.in.Close(); w.cmd.Process.Kill(); w.cmd.Wait() })
	if _, err := w.answer(); err != nil {
		t.Fatalf("AWS's %s: %v", awsFolder(s), err)
	}
	return w
}

// answer reads the driver's next line.
func (w *awsWarm) answer() (ready bool, err error) {
	if !w.out.Scan() {
		return false, fmt.Errorf("driver exited: %v", w.out.Err())
	}
	var a struct {
		Ready   bool   `json:"ready"`
		OK      bool   `json:"ok"`
		Error   string `json:"error"`
		PeakKiB int    `json:"vmhwm_kib"`
	}
	if err := json.Unmarshal(w.out.Bytes(), &a); err != nil {
		return false, fmt.Errorf("driver said %q: %v", w.out.Text(), err)
	}
	if a.Error != "" {
		return false, fmt.Errorf("lambda_handler: %s", a.Error)
	}
	w.peakKiB = a.PeakKiB
	return a.Ready, nil
}

// rotate runs the four steps of one rotation started by RotateSecret; only the steps are
// timed.
func (w *awsWarm) rotate(t *testing.T) (time.Duration, error) {
	token := w.f.StartRotation(t)
	start := time.Now()
	for _, step := range rotation.Steps() {
		s := time.Now()
		ev, _ := json.Marshal(rotation.Event{Step: step, SecretID: w.f.SecretARN, ClientRequestToken: token})
		if _, err := w.in.Write(append(ev, '\n')); err != nil {
			return 0, err
		}
		if _, err := w.answer(); err != nil {
			return 0, fmt.Errorf("%s: %w", step, err)
		}
		w.steps[step] = append(w.steps[step], time.Since(s))
	}
	d := time.Since(start)
	clearPending(t, w.f, token)
	return d, nil
}

// clearPending takes AWSPENDING off token after one of AWS's rotations: their
// finishSecret moves AWSCURRENT only and leaves AWSPENDING to Secrets Manager, which
// the emulator does not clear. Not timed.
func clearPending(t *testing.T, f *rotationtest.Fixture, token string) {
	t.Helper()
	if slices.Contains(f.Stages(t)[token], "AWSPENDING") {
		_, err := f.SM.UpdateSecretVersionStage(context.Background(), &sm.UpdateSecretVersionStageInput{
			SecretId: aws.String(f.SecretARN), VersionStage: aws.String("AWSPENDING"), RemoveFromVersionId: aws.String(token)})
		if err != nil {
			t.Fatalf("clear AWSPENDING: %v", err)
		}
	}
}

// coldKind says how AWS's cold start is measured.
func (b *awsBench) coldKind() string {
	if b.ric {
		return "python3 -m awslambdaric under aws-lambda-rie"
	}
	return "fresh python3 process (no awslambdaric: not under the emulator)"
}

// coldRotation starts AWS's function fresh, times exec to createSecret answered (first)
// and the emulator listening to the same (afterListen: the function's own cold start,
// without the emulator's), runs the other three steps and returns the process's peak RSS.
func (b *awsBench) coldRotation(t *testing.T, rie string, f *rotationtest.Fixture, s rotation.Strategy) (first, afterListen time.Duration, peakKiB int) {
	t.Helper()
	ctx := context.Background()
	token := f.StartRotation(t)
	defer clearPending(t, f, token)
	folder := filepath.Join(b.dir, awsFolder(s))
	if b.ric {
		env := append(slices.Clone(b.extra), "LAMBDA_TASK_ROOT="+folder, "AWS_LAMBDA_LOG_FORMAT=JSON")
		e := rotationtest.StartRIECommand(t, rie, folder, []string{b.python, "-m", "awslambdaric", "lambda_function.lambda_handler"}, env...)
		defer e.Stop()
		listening := time.Now()
		inv := driver.Endpoint{URL: e.URL, Client: &http.Client{Timeout: time.Minute}}
		for i, step := range rotation.Steps() {
			if err := inv.Handle(ctx, rotation.Event{Step: step, SecretID: f.SecretARN, ClientRequestToken: token}); err != nil {
				t.Fatalf("AWS's %s, %s: %v\n%s", awsFolder(s), step, err, e.Out.String())
			}
			if i == 0 {
				first, afterListen = time.Since(e.Started), time.Since(listening)
			}
		}
		kib, err := e.PeakRSS("python3")
		if err != nil {
			t.Fatal(err)
		}
		return first, afterListen, kib
	}
	start := time.Now()
	w := b.startWarm(t, f, s)
	defer func() { w.in.Close(); w.cmd.Wait() }()
	for i, step := range rotation.Steps() {
		ev, _ := json.Marshal(rotation.Event{Step: step, SecretID: f.SecretARN, ClientRequestToken: token})
		w.in.Write(append(ev, '\n'))
		if _, err := w.answer(); err != nil {
			t.Fatalf("AWS's %s, %s: %v", awsFolder(s), step, err)
		}
		if i == 0 {
			first = time.Since(start)
		}
	}
	return first, first, w.peakKiB
}

// ourColdRotation is coldRotation for our bootstrap under the emulator, with strategy s.
func ourColdRotation(t *testing.T, rie, bootstrap string, f *rotationtest.Fixture, s rotation.Strategy) (first, afterListen, outsideStep time.Duration, peakKiB int) {
	t.Helper()
	ctx := context.Background()
	token := f.StartRotation(t)
	e := rotationtest.StartRIE(t, rie, bootstrap, "AWS_LAMBDA_LOG_FORMAT=JSON", rotation.EnvRotationStrategy+"="+string(s), rotation.EnvMasterSecretARNs+"="+f.MasterARN)
	defer e.Stop()
	listening := time.Now()
	inv := driver.Endpoint{URL: e.URL, Client: &http.Client{Timeout: time.Minute}}
	for i, step := range rotation.Steps() {
		if err := inv.Handle(ctx, rotation.Event{Step: step, SecretID: f.SecretARN, ClientRequestToken: token}); err != nil {
			t.Fatalf("%s: %v\n%s", step, err, e.Out.String())
		}
		if i == 0 {
			done := time.Now()
			first, afterListen = done.Sub(e.Started), done.Sub(listening)
			outsideStep = afterListen - stepDuration(e.Out.String(), rotation.StepCreate)
		}
	}
	kib, err := e.BootstrapPeakRSS()
	if err != nil {
		t.Fatal(err)
	}
	return first, afterListen, outsideStep, kib
}

// goalLine prints one measure of ours against AWS's with its goal (the ratio at most goal).
func goalLine(what string, ours, theirs float64, unit string, goal float64) {
	ratio := ours / theirs
	verdict := "met"
	if ratio > goal {
		verdict = "MISSED"
	}
	fmt.Printf("  %-50s %9.1f %-3s %9.1f %-3s %6.3fx  <= %.2fx  %s\n", what, ours, unit, theirs, unit, ratio, goal, verdict)
}

// floorLine prints a floor against AWS's, and whether the goal lies below it (then no
// implementation here can meet the goal).
func floorLine(what string, floor, theirs float64, goal float64) {
	ratio := floor / theirs
	note := "the goal is above the floor"
	if ratio > goal {
		note = "the goal is BELOW the floor"
	}
	fmt.Printf("  %-50s %9.1f ms  %9.1f ms  %6.3fx  %s\n", what, floor, theirs, ratio, note)
}

// awsHowTo is what the benchmark prints when AWS_ROTATION_LAMBDAS is unset.
const awsHowTo = `side by side with AWS's functions: skipped. Set AWS_ROTATION_LAMBDAS to a checkout of
  aws-samples/aws-secrets-manager-rotation-lambdas (and AWS_ROTATION_PYTHON to a python3 with
  boto3 and pygresql, plus awslambdaric for a cold start under the emulator); see
  functions/rotator/README.md, "Benchmark".`
