package lambdakit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/rotaudit/rotaudit/internal/lambdakit"
)

func TestNewLogger(t *testing.T) {
	inLambda := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	tests := []struct {
		name      string
		ctx       context.Context
		derived   bool
		requestID any
	}{
		{"in an invocation", inLambda, false, "req-1"},
		{"derived logger in an invocation", inLambda, true, "req-1"},
		{"outside an invocation", context.Background(), false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := lambdakit.NewLogger(&buf)
			if tt.derived {
				log = log.With("secret_arn", "arn:x")
			}
			log.InfoContext(tt.ctx, "hello", "k", "v")
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("not one JSON line: %v\n%s", err, buf.String())
			}
			if rec["message"] != "hello" || rec["timestamp"] == nil {
				t.Errorf("want Lambda's keys message and timestamp: %s", buf.String())
			}
			if rec["requestId"] != tt.requestID {
				t.Errorf("requestId = %v, want %v: %s", rec["requestId"], tt.requestID, buf.String())
			}
		})
	}
}

func TestEMFPut(t *testing.T) {
	var buf bytes.Buffer
	emf := lambdakit.EMF{W: &buf, Namespace: "ns/x"}
	if err := emf.Put("Step", "setSecret",
		lambdakit.Metric{Name: "StepDuration", Unit: "Milliseconds", Value: 12.5},
		lambdakit.Metric{Name: "StepFailures", Unit: "Count", Value: 1}); err != nil {
		t.Fatal(err)
	}
	var line struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Step         string
		StepDuration float64
		StepFailures float64
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, buf.String())
	}
	if n := bytes.Count(buf.Bytes(), []byte("\n")); n != 1 {
		t.Fatalf("%d lines, want 1", n)
	}
	if line.Step != "setSecret" || line.StepDuration != 12.5 || line.StepFailures != 1 || line.AWS.Timestamp == 0 {
		t.Errorf("values: %s", buf.String())
	}
	if len(line.AWS.CloudWatchMetrics) != 1 {
		t.Fatalf("directives: %s", buf.String())
	}
	d := line.AWS.CloudWatchMetrics[0]
	if d.Namespace != "ns/x" || len(d.Dimensions) != 1 || len(d.Dimensions[0]) != 1 || d.Dimensions[0][0] != "Step" {
		t.Errorf("namespace or dimensions: %s", buf.String())
	}
	if len(d.Metrics) != 2 || d.Metrics[0].Name != "StepDuration" || d.Metrics[0].Unit != "Milliseconds" || d.Metrics[1].Unit != "Count" {
		t.Errorf("metric definitions: %s", buf.String())
	}
	if err := (lambdakit.EMF{Namespace: "ns/x"}).Put("Step", "x"); err != nil {
		t.Errorf("no writer: %v, want nothing written and no error", err)
	}
}
