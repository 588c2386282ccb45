package main

import (
	"context"
	"time"

	"github.com/rotaudit/rotaudit/internal/lambdakit"
)

// metricsNamespace is the CloudWatch namespace of the rotator's metrics.
const metricsNamespace = "rotaudit/rotation"

// stepMetrics writes each rotation step as one embedded-metric line: StepDuration (ms)
// and StepFailures (0 or 1), by Step.
type stepMetrics struct{ emf lambdakit.EMF }

// Step implements rotation.Meter. A line that cannot be written is dropped: metrics never
// fail a rotation.
func (m stepMetrics) Step(_ context.Context, step string, d time.Duration, failed bool) {
	fail := 0.0
	if failed {
		fail = 1
	}
	m.emf.Put("Step", step,
		lambdakit.Metric{Name: "StepDuration", Unit: "Milliseconds", Value: float64(d.Microseconds()) / 1000},
		lambdakit.Metric{Name: "StepFailures", Unit: "Count", Value: fail})
}
