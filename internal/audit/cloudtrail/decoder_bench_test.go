package cloudtrail

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkDecodeRecord decodes every record of the fixtures in testdata/ (and, when
// present, of the real samples in ../shared/datasets/cloudtrail): the hand-written decoder
// beside encoding/json into the same Record.
//
//	go test -run '^$' -bench DecodeRecord -benchmem ./internal/audit/cloudtrail
func BenchmarkDecodeRecord(b *testing.B) {
	files, _ := filepath.Glob("testdata/*.json")
	real, _ := filepath.Glob("../../../../shared/datasets/cloudtrail/*/*.json")
	var recs []json.RawMessage
	size := 0
	for _, f := range append(files, real...) {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		var env struct{ Records []json.RawMessage }
		if json.Unmarshal(data, &env) != nil || env.Records == nil {
			continue // not a trail log file
		}
		for _, r := range env.Records {
			var rec Record
			if json.Unmarshal(r, &rec) == nil {
				recs = append(recs, r)
				size += len(r)
			}
		}
	}
	if len(recs) == 0 {
		b.Fatal("no records in the fixtures")
	}
	b.Logf("%d records, %d bytes", len(recs), size)
	b.Run("hand-written", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		in := newInterner()
		for b.Loop() {
			for _, r := range recs {
				var rec Record
				if err := decodeRecord(r, &rec, in); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		for b.Loop() {
			for _, r := range recs {
				var rec Record
				if err := json.Unmarshal(r, &rec); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
