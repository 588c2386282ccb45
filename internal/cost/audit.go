package cost

import (
	"fmt"
	"strings"
)

// AuditParams describe the deployed auditor beyond the Assumptions.
type AuditParams struct {
	MemoryMB float64 // the auditor Lambda's memory (modules/audit-alerts lambda_memory_mb)
	Arch     string  // arm64 or x86_64
	XRay     bool    // active tracing
}

// DefaultAuditParams are those of modules/audit-alerts' defaults.
func DefaultAuditParams() AuditParams { return AuditParams{MemoryMB: 256, Arch: "arm64", XRay: false} }

// AuditRow is the monthly cost of the audit pipeline at one CloudTrail volume.
type AuditRow struct {
	EventsPerMonth  float64
	Audited         float64 // events the patterns let through to the Lambda
	EventBridge     float64
	Lambda          float64 // requests and compute
	XRay            float64
	DynamoDB        float64
	SNS             float64
	Logs            float64 // the auditor's log ingestion
	TrailSecondCopy float64 // what the trail costs when it is not the account's first copy
}

// Total is the pipeline's monthly cost (the second trail copy excluded: it depends on
// the account, not on the pipeline).
func (r AuditRow) Total() float64 {
	return r.EventBridge + r.Lambda + r.XRay + r.DynamoDB + r.SNS + r.Logs
}

// AuditVolume prices the audit pipeline at each monthly CloudTrail volume: EventBridge
// (free for AWS service events, matching included), the auditor Lambda for the fraction
// the patterns let through, its DynamoDB state reads and writes, SNS alerts, its logs and
// X-Ray traces.
func AuditVolume(t *Table, a Assumptions, p AuditParams, eventsPerMonth []float64) ([]AuditRow, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if p.Arch != "arm64" && p.Arch != "x86_64" {
		return nil, fmt.Errorf("audit volume: architecture %q: arm64 or x86_64", p.Arch)
	}
	if p.MemoryMB < 128 || p.MemoryMB > 10240 {
		return nil, fmt.Errorf("audit volume: memory %v MB: Lambda allows 128 to 10240", p.MemoryMB)
	}
	e := &estimator{table: t, a: a}
	var rows []AuditRow
	for _, n := range eventsPerMonth {
		if n < 0 {
			return nil, fmt.Errorf("audit volume: %v events: must be >= 0", n)
		}
		audited := n * a.AuditFraction
		calls := audited + a.trailFilesPerMonth()
		r := AuditRow{EventsPerMonth: n, Audited: audited}
		r.EventBridge = audited * e.usd("eventbridge_aws_service_event")
		for _, it := range e.lambdaCompute(calls, a.AuditMillisPerEvent/1000, p.MemoryMB, p.Arch) {
			r.Lambda += it.USD
		}
		if p.XRay {
			r.XRay = xrayTraces(calls) * e.usd("xray_trace")
		}
		r.DynamoDB = audited * (a.DynamoWritesPerEvent*e.usd("dynamodb_write_request") + a.DynamoReadsPerEvent*e.usd("dynamodb_read_request"))
		r.SNS = audited * a.AlertsPerMillionEvents / 1e6 * e.usd("sns_publish")
		r.Logs = calls * a.LambdaLogBytesPerCall / 1e9 * e.usd("logs_ingest_gb")
		r.TrailSecondCopy = n * e.usd("cloudtrail_management_event_copy")
		rows = append(rows, r)
	}
	return rows, nil
}

// AuditMarkdown renders rows as the README's table.
func AuditMarkdown(rows []AuditRow) string {
	var b strings.Builder
	b.WriteString("| CloudTrail events/month | through the patterns | EventBridge | Lambda | X-Ray | DynamoDB | SNS | Logs | **pipeline total** | trail, if a 2nd copy |\n")
	b.WriteString("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | **%s** | %s |\n",
			fnum(r.EventsPerMonth), fnum(r.Audited), money(r.EventBridge), money(r.Lambda), money(r.XRay),
			money(r.DynamoDB), money(r.SNS), money(r.Logs), money(r.Total()), money(r.TrailSecondCopy))
	}
	return b.String()
}
