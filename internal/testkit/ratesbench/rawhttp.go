package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// rawClient is a minimal HTTP/1.1 keep-alive client, one connection per worker, for GET
// requests whose answers carry Content-Length (all of the API's do). It exists so that the
// load generator takes as little of the shared CPU as the floor's pgx loop does: net/http's
// client costs several times more per request than the request itself, and on a machine
// where client, API and database share the cores that cost would be charged to the API.
//
// It earns its place: 2.1x less CPU per request than net/http's client on the same
// keep-alive GET of a 31-day answer (13.0 vs 26.7 us of process CPU with a canned server;
// medians of 3 in one run on a loaded 2-core machine, 2026-12-01):
//
//	go test -run '^$' -bench HTTPClient -benchmem -count 3 ./internal/testkit/ratesbench
//
// A maintained load generator used as a library (vegeta) sends through net/http's
// Transport, so it pays at least net/http's cost per request.
type rawClient struct {
	addr    string // host:port
	host    string // Host header
	timeout time.Duration
	conns   []*rawConn // indexed by worker
}

type rawConn struct {
	c   net.Conn
	r   *bufio.Reader
	buf []byte
	// closing: the last answer said "Connection: close" (gunicorn's sync workers say it to
	// every request); the next request dials again.
	closing bool
}

func newRawClient(addr, host string, workers int, timeout time.Duration) *rawClient {
	return &rawClient{addr: addr, host: host, timeout: timeout, conns: make([]*rawConn, workers)}
}

// get requests path on the worker's connection (dialled on first use, redialled after an
// error) and returns the status and body.
func (rc *rawClient) get(ctx context.Context, worker int, path string) (int, []byte, error) {
	c := rc.conns[worker]
	if c == nil {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", rc.addr)
		if err != nil {
			return 0, nil, err
		}
		c = &rawConn{c: conn, r: bufio.NewReaderSize(conn, 16<<10)}
		rc.conns[worker] = c
	}
	status, body, err := c.roundTrip(rc.host, path, rc.timeout)
	if err != nil || c.closing {
		c.c.Close()
		rc.conns[worker] = nil
	}
	return status, body, err
}

func (c *rawConn) roundTrip(host, path string, timeout time.Duration) (int, []byte, error) {
	c.c.SetDeadline(time.Now().Add(timeout))
	c.buf = append(c.buf[:0], "GET "...)
	c.buf = append(c.buf, path...)
	c.buf = append(c.buf, " HTTP/1.1\r\nHost: "...)
	c.buf = append(c.buf, host...)
	c.buf = append(c.buf, "\r\nUser-Agent: ratesbench\r\n\r\n"...)
	if _, err := c.c.Write(c.buf); err != nil {
		return 0, nil, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, nil, fmt.Errorf("malformed status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, fmt.Errorf("malformed status line %q", line)
	}
	length := -1
	for {
		h, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		if len(h) <= 2 {
			break
		}
		if len(h) > 11 && bytes.EqualFold(h[:11], []byte("Connection:")) && bytes.Contains(bytes.ToLower(h[11:]), []byte("close")) {
			c.closing = true
		}
		if len(h) > 16 && bytes.EqualFold(h[:15], []byte("Content-Length:")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(h[15:]))); err != nil {
				return 0, nil, fmt.Errorf("malformed Content-Length %q", h)
			}
		}
	}
	if length < 0 {
		return 0, nil, errors.New("answer without Content-Length")
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(c.r, body); err != nil {
		return 0, nil, err
	}
	return status, body, nil
}
