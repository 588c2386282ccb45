package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// body is the size of a 31-day /rates answer.
var body = []byte(`{"rates":[` + strings.Repeat(`{"day":"2021-01-31","count":3,"price":1154.33},`, 30) + `{"day":"2021-01-01","count":3,"price":1154.33}]}` + "\n")

// cannedServer answers every request on a keep-alive connection with the same canned
// response, as cheaply as possible, so that the client's cost dominates what is measured.
func cannedServer(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	resp := fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					for { // read up to the blank line that ends the request's headers
						line, err := r.ReadSlice('\n')
						if err != nil {
							return
						}
						if len(line) <= 2 {
							break
						}
					}
					if _, err := c.Write(resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestRawClient(t *testing.T) {
	addr := cannedServer(t)
	rc := newRawClient(addr, addr, 1, 5*time.Second)
	for i := range 3 { // the same connection, kept alive
		status, got, err := rc.get(context.Background(), 0, "/rates?x=1")
		if err != nil || status != 200 || !bytes.Equal(got, body) {
			t.Fatalf("request %d: %d %v %.40q", i, status, err, got)
		}
	}
}

// BenchmarkHTTPClient puts the load generator's hand-written client beside net/http's on
// the same keep-alive GET; cpu-ns/op is the whole process's CPU per request (client and
// the canned server), what the load generator takes from a shared machine:
//
//	go test -run '^$' -bench HTTPClient -benchmem ./internal/testkit/ratesbench
func BenchmarkHTTPClient(b *testing.B) {
	addr := cannedServer(b)
	const path = "/rates?date_from=2021-01-01&date_to=2021-01-31&orig_code=CNGGZ&dest_code=EETLL"
	run := func(b *testing.B, get func() (int, error)) {
		b.ReportAllocs()
		c0 := cpuTime()
		for b.Loop() {
			if status, err := get(); err != nil || status != 200 {
				b.Fatal(status, err)
			}
		}
		b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
	}
	b.Run("hand-written", func(b *testing.B) {
		rc := newRawClient(addr, addr, 1, 5*time.Second)
		run(b, func() (int, error) {
			status, _, err := rc.get(context.Background(), 0, path)
			return status, err
		})
	})
	b.Run("net-http", func(b *testing.B) {
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
		defer client.CloseIdleConnections()
		url := "http://" + addr + path
		run(b, func() (int, error) {
			resp, err := client.Get(url)
			if err != nil {
				return 0, err
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode, err
		})
	})
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestRawClientConnectionClose: a server that answers "Connection: close" and hangs up
// after each answer (gunicorn's sync workers) costs a dial per request, never an error.
func TestRawClientConnectionClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			r := bufio.NewReader(c)
			for {
				line, err := r.ReadSlice('\n')
				if err != nil || len(line) <= 2 {
					break
				}
			}
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
			c.Close()
		}
	}()
	rc := newRawClient(ln.Addr().String(), "x", 1, 5*time.Second)
	for i := range 3 {
		status, got, err := rc.get(context.Background(), 0, "/rates")
		if err != nil || status != 200 || !bytes.Equal(got, body) {
			t.Fatalf("request %d: %d %v (%d bytes)", i+1, status, err, len(got))
		}
	}
	if len(accepted) != 3 {
		t.Fatalf("%d connections for 3 requests, want one each", len(accepted))
	}
}
