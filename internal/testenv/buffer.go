package testenv

import (
	"bytes"
	"strings"
	"sync"
	"time"
)

// Buffer collects output written by one goroutine (a child process, a logger) while a test
// reads it from another. The zero value is ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// WaitFor reports whether s appears in what is written within timeout. Output of a child
// process can arrive after the answer it caused (a Lambda's init error reaches stderr as
// the process exits, while the emulator already answers).
func (s *Buffer) WaitFor(sub string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if strings.Contains(s.String(), sub) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
