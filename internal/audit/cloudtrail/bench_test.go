package cloudtrail

import (
	"bytes"
	"testing"

	"github.com/rotaudit/rotaudit/internal/testenv"
)

// BenchmarkStream decodes the file named by $CLOUDTRAIL_BENCH_FILE (a generated corpus file;
// scripts/bench-audit.sh makes them). Without it the benchmark is skipped.
func BenchmarkStream(b *testing.B) {
	_, data := testenv.BenchFile(b)
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
