package loadharness

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rotaudit/rotaudit/internal/testenv"
)

// API is a running rates API process started by StartAPI.
type API struct {
	// URL is the base URL, http://127.0.0.1:PORT.
	URL string
	// Port is the TCP port it listens on.
	Port int

	cmd     *exec.Cmd
	log     *testenv.Buffer
	exited  chan struct{}
	waitErr error
	stop    sync.Once
	stopErr error
}

// Log returns everything the process wrote so far (JSON log lines).
func (a *API) Log() string { return a.log.String() }

// Stop sends SIGTERM and waits up to 30 s (ECS's default stop timeout) for a clean exit.
// It is what cleanup does; a test that checks shutdown itself may call it earlier.
func (a *API) Stop() error {
	a.stop.Do(func() {
		select {
		case <-a.exited:
			a.stopErr = fmt.Errorf("rates api exited on its own before it was stopped: %v", a.waitErr)
			return
		default:
		}
		if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			a.stopErr = fmt.Errorf("rates api: SIGTERM: %w", err)
			return
		}
		select {
		case <-a.exited:
			if a.waitErr != nil {
				a.stopErr = fmt.Errorf("rates api did not exit cleanly after SIGTERM: %w", a.waitErr)
			}
		case <-time.After(30 * time.Second):
			a.cmd.Process.Kill()
			<-a.exited
			a.stopErr = errors.New("rates api still running 30s after SIGTERM; killed")
		}
	})
	return a.stopErr
}

// apiBuild holds the binary built once per test process.
var apiBuild struct {
	once sync.Once
	path string
	err  error
}

// BuildAPI builds ./service into a temporary folder once per test process and returns the
// binary's path.
func BuildAPI(t testing.TB, env *testenv.Env) string {
	t.Helper()
	apiBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "rotaudit-api-")
		if err != nil {
			apiBuild.err = err
			return
		}
		apiBuild.path = filepath.Join(dir, "rates-api")
		cmd := exec.Command("go", "build", "-o", apiBuild.path, "./service")
		cmd.Dir = env.Root
		if out, err := cmd.CombinedOutput(); err != nil {
			apiBuild.err = fmt.Errorf("go build ./service: %v\n%s", err, out)
		}
	})
	if apiBuild.err != nil {
		t.Fatalf("loadharness: %v", apiBuild.err)
	}
	return apiBuild.path
}

// awsEnv lists the variables passed to the API besides DB_SECRET_ID and extraEnv.
var awsEnv = []string{
	"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EC2_METADATA_DISABLED",
}

// StartAPI runs the rates API on secretID; see the package doc.
func StartAPI(t testing.TB, env *testenv.Env, secretID string, extraEnv ...string) *API {
	t.Helper()
	bin := BuildAPI(t, env)
	vars := []string{"DB_SECRET_ID=" + secretID, "PORT=0", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}
	for _, k := range awsEnv {
		if v, ok := os.LookupEnv(k); ok {
			vars = append(vars, k+"="+v)
		}
	}
	vars = append(vars, extraEnv...)
	a, err := startProcess(bin, vars, 20*time.Second)
	if a != nil {
		t.Cleanup(func() {
			if err := a.Stop(); err != nil {
				t.Errorf("%v\nrates api log:\n%s", err, tail(a.Log(), 40))
			}
		})
	}
	if err != nil {
		log := ""
		if a != nil {
			log = tail(a.Log(), 40)
		}
		t.Fatalf("loadharness: start rates api: %v\nlog:\n%s", err, log)
	}
	return a
}

// startProcess runs bin with exactly vars, waits for its "listening" log line and for
// /readyz to answer 200.
func startProcess(bin string, vars []string, timeout time.Duration) (*API, error) {
	pr, pw := io.Pipe()
	a := &API{log: &testenv.Buffer{}, exited: make(chan struct{})}
	a.cmd = exec.Command(bin)
	a.cmd.Env = vars
	a.cmd.Stdout, a.cmd.Stderr = pw, pw
	if err := a.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		a.waitErr = a.cmd.Wait()
		pw.Close()
		close(a.exited)
	}()
	portc := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		sent := false
		for sc.Scan() {
			line := sc.Bytes()
			a.log.Write(append(line, '\n'))
			if sent {
				continue
			}
			var l struct {
				Msg  string `json:"msg"`
				Port int    `json:"port"`
			}
			if json.Unmarshal(line, &l) == nil && l.Msg == "listening" && l.Port > 0 {
				portc <- l.Port
				sent = true
			}
		}
		io.Copy(io.Discard, pr)
	}()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	select {
	case a.Port = <-portc:
	case <-a.exited:
		return a, fmt.Errorf("rates api exited during startup: %v", a.waitErr)
	case <-deadline.C:
		return a, fmt.Errorf("rates api did not log \"listening\" within %s", timeout)
	}
	a.URL = fmt.Sprintf("http://127.0.0.1:%d", a.Port)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.URL+"/readyz", nil)
		resp, err := client.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return a, nil
			}
		}
		select {
		case <-a.exited:
			return a, fmt.Errorf("rates api exited before it was ready: %v", a.waitErr)
		case <-deadline.C:
			return a, fmt.Errorf("rates api /readyz not 200 within %s", timeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
