package audit

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/rotaudit/rotaudit/internal/audit/state"
	"github.com/rotaudit/rotaudit/internal/testenv"
	"github.com/rotaudit/rotaudit/internal/testkit/corpus"
)

// BenchmarkReplay runs the rules over the file named by $CLOUDTRAIL_BENCH_FILE (a corpus
// file from scripts/bench-audit.sh); skipped without it.
func BenchmarkReplay(b *testing.B) {
	path, data := testenv.BenchFile(b)
	cfg, err := ParseConfig([]byte(corpus.Config()))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	var sum Summary
	for i := 0; i < b.N; i++ {
		h := &Handler{Engine: NewEngine(cfg, state.NewMemory()), Sink: NewJSONLinesSink(io.Discard), Log: slog.New(slog.DiscardHandler)}
		if err := h.StreamFile(context.Background(), path, bytes.NewReader(data), &sum); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(sum.Records)/b.Elapsed().Seconds(), "records/s")
}
