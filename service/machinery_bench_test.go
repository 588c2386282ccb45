package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"syscall"
	"testing"
	"time"
)

// The benchmarks below put each hand-written piece of the API beside the standard library
// in one run (see the doc of appendRatesJSON and flushingWriter for the figures):
//
//	go test -run '^$' -bench 'RatesJSON|LogLine' -benchmem ./service

// BenchmarkRatesJSON encodes one /rates answer of 31 days, as the benchmark's workload asks.
func BenchmarkRatesJSON(b *testing.B) {
	from := day("2021-01-01")
	aggs := make([]dayAgg, 31)
	for i := range aggs {
		aggs[i] = dayAgg{Count: i % 5, Avg: 1000 + float64(i)/3}
	}
	b.Run("hand-written", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = appendRatesJSON(make([]byte, 0, 64*len(aggs)+16), from, aggs)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out, err := json.Marshal(map[string][]rate{"rates": buildRates(from, aggs)})
			if err != nil {
				b.Fatal(err)
			}
			_ = append(out, '\n')
		}
	})
}

// BenchmarkLogLine writes the API's request log line through slog's JSON handler into a
// pipe that another goroutine drains, as the container's stdout is: straight to the
// file, and through flushingWriter.
func BenchmarkLogLine(b *testing.B) {
	line := func(b *testing.B, w io.Writer) {
		log := slog.New(slog.NewJSONHandler(w, nil))
		b.ReportAllocs()
		c0 := cpuTime()
		for b.Loop() {
			log.LogAttrs(b.Context(), slog.LevelInfo, "request",
				slog.String("request_id", "6f1c2d3e4a5b6c7d"), slog.String("method", "GET"), slog.String("path", "/rates"),
				slog.Int("status", 200), slog.Float64("duration_ms", 0.412))
		}
		// CPU time of the whole process (writer, kernel and the draining reader) per line:
		// what the API pays on a busy machine, where wall time mostly measures the others.
		b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
	}
	pipe := func(b *testing.B) *os.File {
		r, w, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		go func() { io.Copy(io.Discard, r); close(done) }()
		b.Cleanup(func() { w.Close(); <-done; r.Close() })
		return w
	}
	b.Run("stdlib-direct", func(b *testing.B) { line(b, pipe(b)) })
	b.Run("flushingWriter", func(b *testing.B) {
		fw := newFlushingWriter(pipe(b), 200*time.Millisecond)
		defer fw.Close()
		line(b, fw)
	})
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
