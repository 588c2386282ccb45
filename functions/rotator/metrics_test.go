package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rotaudit/rotaudit/internal/lambdakit"
)

func TestStepMetrics(t *testing.T) {
	tests := []struct {
		name   string
		failed bool
		want   []string
	}{
		{"done", false, []string{`"Step":"setSecret"`, `"StepDuration":1.5`, `"StepFailures":0`, `"Namespace":"rotaudit/rotation"`}},
		{"failed", true, []string{`"StepFailures":1`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			stepMetrics{lambdakit.EMF{W: &buf, Namespace: metricsNamespace}}.Step(context.Background(), "setSecret", 1500*time.Microsecond, tt.failed)
			for _, w := range tt.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("line lacks %s: %s", w, buf.String())
				}
			}
		})
	}
}
