package cloudtrail

import (
	"bytes"
	"os"
	"testing"
)

// BenchmarkStream decodes the file named by $CLOUDTRAIL_BENCH_FILE (a generated corpus file;
// scripts/bench-audit.sh makes them). Without it the benchmark is skipped.
func BenchmarkStream(b *testing.B) {
	path := os.Getenv("CLOUDTRAIL_BENCH_FILE")
	if path == "" {
		b.Skip("set CLOUDTRAIL_BENCH_FILE to a CloudTrail log file (scripts/bench-audit.sh does)")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		c, err := Stream(bytes.NewReader(data), func(*Record) error { return nil }, nil)
		if err != nil {
			b.Fatal(err)
		}
		n += c
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
