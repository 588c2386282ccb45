package main

import (
	"strings"
	"testing"
	"time"

	"github.com/rotaudit/rotaudit/internal/testenv"
)

func TestFlushingWriter(t *testing.T) {
	var out testenv.Buffer
	tick := make(chan time.Time) // unbuffered: a send returns once the loop has taken it
	stopped := false
	w := startFlushing(&out, tick, func() { stopped = true })
	w.Write([]byte("one\n"))
	if got := out.String(); got != "" {
		t.Fatalf("written through at once (%q): nothing buffered", got)
	}
	tick <- time.Time{}
	// The loop takes the second tick only after the first one's Flush returned.
	tick <- time.Time{}
	if got := out.String(); got != "one\n" {
		t.Fatalf("after a tick: %q, want the buffered line", got)
	}
	w.Write([]byte("two\n"))
	if got := out.String(); got != "one\n" {
		t.Fatalf("written between ticks: %q", got)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "one\ntwo\n" {
		t.Fatalf("after Close: %q", got)
	}
	if !stopped {
		t.Error("Close did not stop the ticker")
	}

	// A write larger than the buffer goes through at once, whole.
	big := strings.Repeat("x", 70<<10)
	var out2 testenv.Buffer
	w2 := startFlushing(&out2, nil, func() {}) // nil: never ticks
	w2.Write([]byte(big))
	if got := out2.String(); got != big {
		t.Fatalf("a write larger than the buffer: %d bytes out, want %d", len(got), len(big))
	}
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestNewFlushingWriterTicks checks the real ticker is wired: a line comes out without
// Close. It waits as long as it must, so it cannot race the interval.
func TestNewFlushingWriterTicks(t *testing.T) {
	var out testenv.Buffer
	w := newFlushingWriter(&out, time.Millisecond)
	defer w.Close()
	w.Write([]byte("one\n"))
	deadline := time.Now().Add(10 * time.Second)
	for out.String() != "one\n" {
		if time.Now().After(deadline) {
			t.Fatal("the periodic flush never wrote the line")
		}
		time.Sleep(time.Millisecond)
	}
}
