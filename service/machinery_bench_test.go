package main

import (
	"encoding/json"
	"testing"
)

// The benchmark below puts the API's hand-written encoder beside the standard library
// (the figure is in appendRatesJSON's doc):
//
//	go test -run '^$' -bench RatesJSON -benchmem ./service

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
