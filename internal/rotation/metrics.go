package rotation

import (
	"context"
	"encoding/json"
	"time"
)

// MetricsNamespace is the CloudWatch namespace of the embedded-metric lines.
const MetricsNamespace = "rotaudit/rotation"

// emit writes one CloudWatch Embedded Metric Format line: StepDuration (ms) and
// StepFailures (0 or 1), by Step. CloudWatch Logs turns such lines into metrics.
func (r *Rotator) emit(_ context.Context, step string, d time.Duration, failed bool) {
	if r.Metrics == nil {
		return
	}
	fail := 0
	if failed {
		fail = 1
	}
	line := map[string]any{
		"_aws": map[string]any{
			"Timestamp": time.Now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  MetricsNamespace,
				"Dimensions": [][]string{{"Step"}},
				"Metrics": []any{
					map[string]string{"Name": "StepDuration", "Unit": "Milliseconds"},
					map[string]string{"Name": "StepFailures", "Unit": "Count"},
				},
			}},
		},
		"Step":         step,
		"StepDuration": float64(d.Microseconds()) / 1000,
		"StepFailures": fail,
	}
	b, err := json.Marshal(line)
	if err != nil {
		return
	}
	r.Metrics.Write(append(b, '\n'))
}
