package main

import (
	"github.com/rotaudit/rotaudit/internal/testenv"
	"strings"
	"testing"
	"time"
)

func TestFlushingWriter(t *testing.T) {
	var out testenv.Buffer
	w := newFlushingWriter(&out, 20*time.Millisecond)
	w.Write([]byte("one\n"))
	if out.String() != "" {
		t.Fatal("written through at once: nothing buffered")
	}
	deadline := time.Now().Add(2 * time.Second)
	for out.String() != "one\n" {
		if time.Now().After(deadline) {
			t.Fatal("the periodic flush never wrote the line")
		}
		time.Sleep(5 * time.Millisecond)
	}
	w.Write([]byte("two\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "one\ntwo\n" {
		t.Fatalf("after Close: %q", got)
	}
	big := strings.Repeat("x", 70<<10)
	var out2 testenv.Buffer
	w2 := newFlushingWriter(&out2, time.Hour)
	w2.Write([]byte(big))
	if len(out2.String()) == 0 {
		t.Fatal("a write larger than the buffer was held back")
	}
	w2.Close()
}
