package rotationtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rotaudit/rotaudit/internal/testenv"
)

// RIE returns the runtime interface emulator, installing it with
// scripts/install-rie.sh when it is missing; an installation failure fails the test.
func RIE(t testing.TB) string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(root, "scripts", "install-rie.sh")).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("scripts/install-rie.sh: %v\n%s", err, msg)
	}
	bin := strings.TrimSpace(string(out))
	if st, err := os.Stat(bin); err != nil || st.Mode()&0o111 == 0 {
		t.Fatalf("install-rie.sh reported %q, which is not an executable", bin)
	}
	return bin
}

// BuildBootstrap builds the rotation function for the machine, as Lambda's provided.al2023
// runtime runs it (lambda.norpc).
func BuildBootstrap(t testing.TB) string {
	t.Helper()
	return BuildFunction(t, "rotator")
}

// BuildFunction builds functions/<name> for the machine with the flags of
// scripts/package.sh (lambda.norpc, no cgo, -trimpath, no symbol table), as Lambda's
// provided.al2023 runtime runs it, into a temporary folder. (A cgo build maps libc and
// the dynamic loader too: 1.3 MiB more resident, which the benchmark would count.)
func BuildFunction(t testing.TB, name string) string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags", "-s -w", "-o", bin, "./functions/"+name)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build functions/%s: %v\n%s", name, err, out)
	}
	return bin
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Emulator is a running aws-lambda-rie with the bootstrap.
type Emulator struct {
	cmd *exec.Cmd
	// URL is the Invoke endpoint of the function.
	URL string
	// Out collects the emulator's and the function's output.
	Out *testenv.Buffer
	// Started is when the emulator process was started.
	Started time.Time
}

// StartRIE runs the emulator on free ports with the test's environment (the stack's
// AWS settings) plus extra, and waits until it accepts connections. A port found free can be
// taken by a test of another package before the emulator binds it: when the emulator exits
// saying so, it starts again on other ports.
func StartRIE(t testing.TB, rie, bootstrap string, extra ...string) *Emulator {
	t.Helper()
	return StartRIECommand(t, rie, "", []string{bootstrap}, extra...)
}

// StartRIECommand is StartRIE for a runtime started by a command line, argv, in the
// folder dir ("" for the test's): an interpreter with its runtime interface client, as
// in `aws-lambda-rie python3 -m awslambdaric lambda_function.lambda_handler`.
func StartRIECommand(t testing.TB, rie, dir string, argv []string, extra ...string) *Emulator {
	t.Helper()
	for attempt := 1; ; attempt++ {
		e, err := startRIE(t, rie, dir, argv, extra)
		if err == nil {
			return e
		}
		if !strings.Contains(e.Out.String(), "address already in use") || attempt == 3 {
			t.Fatalf("aws-lambda-rie: %v:\n%s", err, e.Out.String())
		}
		t.Logf("aws-lambda-rie, attempt %d: a port was taken meanwhile; again on other ports", attempt)
	}
}

func startRIE(t testing.TB, rie, dir string, argv, extra []string) (*Emulator, error) {
	port, apiPort := freePort(t), freePort(t)
	e := &Emulator{Out: &testenv.Buffer{}, URL: fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", port)}
	e.cmd = exec.Command(rie,
		"--runtime-interface-emulator-address", "127.0.0.1:"+strconv.Itoa(port),
		"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(apiPort),
		"--log-level", "error")
	e.cmd.Args = append(e.cmd.Args, argv...)
	e.cmd.Dir = dir
	e.cmd.Env = append(os.Environ(), extra...)
	e.cmd.Stdout, e.cmd.Stderr = e.Out, e.Out
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	e.Started = time.Now()
	if err := e.cmd.Start(); err != nil {
		return e, fmt.Errorf("start: %w", err)
	}
	t.Cleanup(e.Stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 100*time.Millisecond)
		if err == nil {
			c.Close()
			return e, nil
		}
		if exited(e.cmd.Process.Pid) {
			e.cmd.Wait()
			return e, fmt.Errorf("exited (%v) before listening on %d", e.cmd.ProcessState, port)
		}
		if time.Now().After(deadline) {
			return e, fmt.Errorf("did not listen on %d within 10s", port)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// exited reports whether process pid, a child of this one, has ended (a zombie until
// waited for).
func exited(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] == "Z"
}

// Stop ends the bootstrap and the emulator; cleanup calls it too.
func (e *Emulator) Stop() {
	if e.cmd.Process == nil || e.cmd.ProcessState != nil {
		return
	}
	// The emulator puts the bootstrap in a process group of its own: end it first, and
	// give the emulator a moment to reap it so no zombie is left behind.
	kids := childPIDs(e.cmd.Process.Pid)
	for _, pid := range kids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	for i := 0; i < 50 && len(childPIDs(e.cmd.Process.Pid)) > 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
	e.cmd.Wait()
}

// childPIDs lists the processes whose parent is ppid.
func childPIDs(ppid int) []int {
	var out []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		f := strings.Fields(s[i+1:])
		// After the command name: state, ppid.
		if len(f) >= 2 && f[1] == strconv.Itoa(ppid) {
			if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
				out = append(out, pid)
			}
		}
	}
	return out
}

// BootstrapPeakRSS reads VmHWM (peak resident set) of the emulator's bootstrap child.
func (e *Emulator) BootstrapPeakRSS() (kib int, err error) { return e.PeakRSS("bootstrap") }

// PeakRSS reads VmHWM (peak resident set) of the emulator's child whose process name
// starts with name ("python3" matches python3.11).
func (e *Emulator) PeakRSS(name string) (kib int, err error) {
	for _, pid := range childPIDs(e.cmd.Process.Pid) {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil || !strings.Contains(string(st), "Name:\t"+name) {
			continue
		}
		for _, line := range strings.Split(string(st), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				fmt.Sscanf(strings.TrimSpace(v), "%d", &kib)
				return kib, nil
			}
		}
	}
	return 0, fmt.Errorf("no %s child of the emulator (pid %d)", name, e.cmd.Process.Pid)
}
