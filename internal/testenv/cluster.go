package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Cluster is a private PostgreSQL cluster that one test starts and removes, for what the
// shared stack's cluster must not be changed for (pg_hba.conf methods other than
// scram-sha-256). It is made by scripts/lib.sh's pg_cluster_init, like the stack's.
type Cluster struct {
	// Port is the TCP port it listens on at 127.0.0.1.
	Port int
	// SuperDSN connects as the superuser over the cluster's unix socket (trusted).
	SuperDSN string
	// root, bin and dir are the repository, the server binaries and the cluster's folder.
	root, bin, dir string
}

// PrivateCluster starts a cluster whose pg_hba.conf begins with hba (lines such as
// "host all app 127.0.0.1/32 md5"; everything else keeps scram-sha-256 over TCP), and
// stops and deletes it when the test ends. It skips with -short; without PostgreSQL's
// server binaries (PG_BINDIR, /usr/lib/postgresql/*/bin, or initdb on PATH) it fails.
func PrivateCluster(t testing.TB, hba ...string) *Cluster {
	t.Helper()
	Integration(t)
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := serverBinaries()
	if err != nil {
		t.Fatal(err)
	}
	// Under /var/tmp, not t.TempDir: as root the cluster runs as the postgres OS user,
	// which must be able to reach its folder.
	dir, err := os.MkdirTemp("/var/tmp", "rotaudit-test-pg-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	script := `set -euo pipefail
source "$1/scripts/lib.sh"
bin=$2 dir=$3 port=$4 hba=$5
pg_cluster_init "$bin" "$dir" "$port" 20 "a test's private cluster" >/dev/null
{ printf '%s\n' "$hba"; cat "$dir/data/pg_hba.conf"; } >"$dir/pg_hba.new"
as_pg tee "$dir/data/pg_hba.conf" <"$dir/pg_hba.new" >/dev/null
as_pg touch "$dir/postgres.log" 2>/dev/null || true
as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -o "-p $port" -w -t 60 start >/dev/null ||
  { tail -20 "$dir/postgres.log" >&2; exit 1; }
`
	stop := func() {
		exec.Command("bash", "-c", `source "$1/scripts/lib.sh"; as_pg "$2/pg_ctl" -D "$3/data" -m immediate -w stop`, "stop",
			root, bin, dir).Run()
		os.RemoveAll(dir)
	}
	cmd := exec.Command("bash", "-c", script, "cluster", root, bin, dir, fmt.Sprint(port), strings.Join(hba, "\n"))
	if out, err := cmd.CombinedOutput(); err != nil {
		stop()
		t.Fatalf("private PostgreSQL cluster: %v\n%s", err, out)
	}
	t.Cleanup(stop)
	return &Cluster{
		Port:     port,
		SuperDSN: fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable", filepath.Join(dir, "run"), port),
		root:     root, bin: bin, dir: dir,
	}
}

// Stop shuts the server down with mode ("fast" ends sessions and checkpoints, as a
// restart for maintenance does; "immediate" is a crash) and waits until it has stopped.
func (c *Cluster) Stop(t testing.TB, mode string) {
	t.Helper()
	c.pgCtl(t, "-m", mode, "-w", "-t", "60", "stop")
}

// Start starts the stopped server and waits until it accepts connections.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	c.pgCtl(t, "-l", filepath.Join(c.dir, "postgres.log"), "-o", fmt.Sprintf("-p %d", c.Port), "-w", "-t", "60", "start")
}

func (c *Cluster) pgCtl(t testing.TB, args ...string) {
	t.Helper()
	script := `source "$1/scripts/lib.sh"; bin=$2 dir=$3; shift 3; as_pg "$bin/pg_ctl" -D "$dir/data" "$@"`
	cmd := exec.Command("bash", append([]string{"-c", script, "pg_ctl", c.root, c.bin, c.dir}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// serverBinaries finds initdb, pg_ctl and postgres as scripts/stack.sh does.
func serverBinaries() (string, error) {
	if d := os.Getenv("PG_BINDIR"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return majorOf(b) - majorOf(a) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("no PostgreSQL server binaries: install them (apt-get install postgresql) or set PG_BINDIR")
}

// majorOf reads N from /usr/lib/postgresql/N/bin.
func majorOf(dir string) int {
	var n int
	fmt.Sscan(filepath.Base(filepath.Dir(dir)), &n)
	return n
}

// freePort asks the kernel for a port nothing listens on.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
