// Package dbsecrettest is a stand-in PostgreSQL server for tests of how clients log in: it
// asks for whatever authentication it is told to and records what the client sends back,
// so a test can prove by outcome that no password left the client.
package dbsecrettest

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// AuthServer is a listener on 127.0.0.1 that plays the start of PostgreSQL's protocol. It
// refuses TLS, reads the startup message, sends First, and then reads every message the
// client sends, answering each password message ('p') with AfterPassword, until the
// client hangs up.
type AuthServer struct {
	// Port is where it listens.
	Port int

	first, afterPassword []pgproto3.BackendMessage

	mu       sync.Mutex
	conns    int
	sent     []byte // what clients sent after their startup messages, all connections
	messages []byte // the type byte of each of those messages
}

// StartAuthServer starts a server that closes at the end of the test.
func StartAuthServer(t testing.TB, first, afterPassword []pgproto3.BackendMessage) *AuthServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &AuthServer{Port: ln.Addr().(*net.TCPAddr).Port, first: first, afterPassword: afterPassword}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				s.serve(c)
			}()
		}
	}()
	return s
}

// Conns is how many connections reached the startup message.
func (s *AuthServer) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// PasswordMessages is how many password messages (cleartext, MD5 or SASL answers: all
// use type 'p') clients sent.
func (s *AuthServer) PasswordMessages() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.messages {
		if m == 'p' {
			n++
		}
	}
	return n
}

// Received returns every byte clients sent after their startup messages.
func (s *AuthServer) Received() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.sent...)
}

func (s *AuthServer) serve(c net.Conn) {
	// A bound, so a client that neither answers nor hangs up cannot hold the test.
	c.SetDeadline(time.Now().Add(10 * time.Second))
	be := pgproto3.NewBackend(c, c)
	for startup := false; !startup; {
		m, err := be.ReceiveStartupMessage()
		if err != nil {
			return
		}
		switch m.(type) {
		case *pgproto3.SSLRequest, *pgproto3.GSSEncRequest:
			if _, err := c.Write([]byte("N")); err != nil {
				return
			}
		default:
			startup = true
		}
	}
	s.mu.Lock()
	s.conns++
	s.mu.Unlock()
	if !send(be, s.first) {
		return
	}
	for {
		hdr := make([]byte, 5)
		if _, err := io.ReadFull(c, hdr); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[1:])
		if n < 4 || n > 1<<20 {
			return
		}
		body := make([]byte, n-4)
		_, err := io.ReadFull(c, body)
		s.mu.Lock()
		s.sent = append(append(s.sent, hdr...), body...)
		s.messages = append(s.messages, hdr[0])
		s.mu.Unlock()
		if err != nil || hdr[0] == 'X' {
			return
		}
		if hdr[0] == 'p' && !send(be, s.afterPassword) {
			return
		}
	}
}

func send(be *pgproto3.Backend, msgs []pgproto3.BackendMessage) bool {
	for _, m := range msgs {
		be.Send(m)
	}
	return be.Flush() == nil
}
