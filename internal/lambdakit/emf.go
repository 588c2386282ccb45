package lambdakit

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// EMF writes CloudWatch Embedded Metric Format lines to W (the function's stdout):
// CloudWatch Logs turns each line into metrics, with no PutMetricData call, no client and
// no permission beyond writing logs.
type EMF struct {
	W         io.Writer
	Namespace string
}

// Metric is one value of a line.
type Metric struct {
	Name string
	// Unit is a CloudWatch unit: Milliseconds, Count, Bytes, ...
	Unit  string
	Value float64
}

// Put writes one line with metrics under one dimension, name=value. A nil W writes nothing.
func (e EMF) Put(name, value string, metrics ...Metric) error {
	if e.W == nil {
		return nil
	}
	defs := make([]map[string]string, len(metrics))
	line := map[string]any{name: value}
	for i, m := range metrics {
		defs[i] = map[string]string{"Name": m.Name, "Unit": m.Unit}
		line[m.Name] = m.Value
	}
	line["_aws"] = map[string]any{
		"Timestamp": time.Now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  e.Namespace,
			"Dimensions": [][]string{{name}},
			"Metrics":    defs,
		}},
	}
	b, err := json.Marshal(line)
	if err != nil {
		return fmt.Errorf("embedded metric line: %w", err)
	}
	_, err = e.W.Write(append(b, '\n'))
	return err
}
