package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/rotaudit/rotaudit/internal/dbcreds"
	"github.com/rotaudit/rotaudit/internal/loadgen"
)

// peer is another implementation of the rates API measured beside ours: the original
// Flask service of the task (scripts/bench-api.sh starts it under gunicorn from the folder
// FLASK_RATES_DIR names; its code is never part of this repository).
type peer struct {
	name string
	cmd  string // shell command that starts it; run with the database's PG* variables
	url  string // its base URL once started
}

// start runs p.cmd in a process group of its own with PGHOST, PGPORT, PGDATABASE, PGUSER
// and PGPASSWORD from the secret's current value (libpq reads them), and waits until
// path answers 200. The returned function stops the whole group.
func (p peer) start(ctx context.Context, creds *dbcreds.Creds, path string) (func(), error) {
	s := creds.Secret
	cmd := exec.CommandContext(ctx, "sh", "-c", p.cmd)
	cmd.Env = append(os.Environ(), "PGHOST="+s.Host, "PGPORT="+strconv.Itoa(s.Port), "PGDATABASE="+s.DBName,
		"PGUSER="+s.Username, "PGPASSWORD="+s.Password, "PGSSLMODE=disable")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stop := func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			return nil, fmt.Errorf("%s exited before answering:\n%s", p.name, logs.String())
		default:
		}
		if resp, err := client.Get(p.url + path); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return stop, nil
			}
			stop()
			return nil, fmt.Errorf("%s answered GET %s with %d: %.200s", p.name, path, resp.StatusCode, body)
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("%s did not answer on %s within 30 s:\n%s", p.name, p.url, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// comparePeer measures ours and the peer in alternating rounds on the same paths and
// concurrency, and prints both with ours / theirs.
func comparePeer(ctx context.Context, out io.Writer, p peer, creds *dbcreds.Creds, paths []string, conc, rounds int, slice, warm time.Duration,
	startOurs func() *loadgen.Load, startHTTPAt func(addr string, paths []string, check func(string, []byte) error) func() *loadgen.Load) error {
	stop, err := p.start(ctx, creds, paths[0])
	if err != nil {
		return err
	}
	defer stop()
	// The original answers {"rates": [...]} pretty-printed, a day per element.
	check := func(_ string, body []byte) error {
		if !bytes.Contains(body, []byte(`"rates"`)) || bytes.Count(body, []byte(`"day"`)) != 31 {
			return fmt.Errorf("unexpected body: %.80s", body)
		}
		return nil
	}
	startPeer := startHTTPAt(hostPort(p.url), paths, check)
	l := startPeer()
	sleep(ctx, warm)
	l.Stop()
	var ours, theirs []loadgen.Result
	for range rounds {
		ours = append(ours, measure(ctx, startOurs, slice))
		theirs = append(theirs, measure(ctx, startPeer, slice))
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	o, t := loadgen.Merge(ours...), loadgen.Merge(theirs...)
	fmt.Fprintf(out, "\nbeside the original service (%s), %d alternating rounds at concurrency %d:\n", p.name, rounds, conc)
	fmt.Fprintf(out, "%-22s %12s %10s %10s %8s\n", "", "req/s", "p50", "p99", "errors")
	fmt.Fprintf(out, "%-22s %12.0f %10s %10s %8d\n", "ours GET /rates", o.Throughput(), msStr(o.P50), msStr(o.P99), o.Failures)
	fmt.Fprintf(out, "%-22s %12.0f %10s %10s %8d\n", p.name+" GET /rates", t.Throughput(), msStr(t.P50), msStr(t.P99), t.Failures)
	if t.Requests > 0 && o.P50 > 0 && o.P99 > 0 {
		fmt.Fprintf(out, "ours / %s: throughput %.2fx, p50 %.2fx as fast, p99 %.2fx as fast\n", p.name,
			o.Throughput()/t.Throughput(), float64(t.P50)/float64(o.P50), float64(t.P99)/float64(o.P99))
		fmt.Fprintf(out, "summary-peer %s: ours_rps=%.0f peer_rps=%.0f ratio=%.2f ours_p50=%s peer_p50=%s ours_p99=%s peer_p99=%s\n",
			p.name, o.Throughput(), t.Throughput(), o.Throughput()/t.Throughput(), msStr(o.P50), msStr(t.P50), msStr(o.P99), msStr(t.P99))
	}
	for _, s := range append(o.Samples, t.Samples...) {
		fmt.Fprintln(out, "  error:", s)
	}
	if n := o.Failures + t.Failures; n > 0 {
		return fmt.Errorf("%d errors beside the original service", n)
	}
	return nil
}

func hostPort(url string) string {
	for _, p := range []string{"http://", "https://"} {
		if len(url) > len(p) && url[:len(p)] == p {
			url = url[len(p):]
		}
	}
	for len(url) > 0 && url[len(url)-1] == '/' {
		url = url[:len(url)-1]
	}
	return url
}
