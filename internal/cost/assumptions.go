package cost

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
)

// DaysPerMonth matches HoursPerMonth.
const DaysPerMonth = HoursPerMonth / 24

// Assumptions are the usage figures that turn usage prices into a monthly cost. Every
// figure is stated beside the tables it produced (Describe); none is hidden in a pricer.
type Assumptions struct {
	RequestsPerSecond        float64 `json:"requests_per_second"`          // average API requests per second (load balancer LCUs)
	CloudTrailEventsPerDay   float64 `json:"cloudtrail_events_per_day"`    // management events of the account, all regions
	DataEventsPerDay         float64 `json:"data_events_per_day"`          // data events, when the trail selects any
	TrailIsFirstCopy         bool    `json:"trail_is_first_copy"`          // the trail is the account's first copy of management events (free)
	TrailEventBytes          float64 `json:"trail_event_bytes"`            // stored bytes per event in the gzipped log files
	TrailRetainedMonths      float64 `json:"trail_retained_months"`        // months of log files in the bucket (steady state)
	TrailActiveRegions       float64 `json:"trail_active_regions"`         // regions with activity: each delivers a file about every 5 minutes
	LogGBPerDay              float64 `json:"log_gb_per_day"`               // ingested per application log group (Lambdas, database; the API's is computed)
	APIAccessLogSample       float64 `json:"api_access_log_sample"`        // share of the API's requests with an access log line (ACCESS_LOG_SAMPLE)
	APIErrorShare            float64 `json:"api_error_share"`              // share of the API's requests that fail or are slow: always logged
	APILogLineBytes          float64 `json:"api_log_line_bytes"`           // bytes of one access log line
	APIMetricsLineBytes      float64 `json:"api_metrics_line_bytes"`       // bytes of one embedded-metric line (one per task and interval)
	APIMetricsIntervalSec    float64 `json:"api_metrics_interval_seconds"` // METRICS_INTERVAL
	FlowLogGBPerDay          float64 `json:"flow_log_gb_per_day"`          // ingested per VPC flow log group
	RotationsPerMonth        float64 `json:"rotations_per_month"`          // rotations of all secrets together
	RotationStepSeconds      float64 `json:"rotation_step_seconds"`        // duration of one of the four rotation steps
	SecretAPICallsPerMonth   float64 `json:"secret_api_calls_per_month"`   // GetSecretValue and friends, all secrets together
	AuditFraction            float64 `json:"audit_fraction"`               // share of CloudTrail events the deployed patterns let through
	AuditMillisPerEvent      float64 `json:"audit_ms_per_event"`           // auditor Lambda billed duration per invocation
	DynamoWritesPerEvent     float64 `json:"dynamodb_writes_per_event"`    // state table writes per audited event
	DynamoReadsPerEvent      float64 `json:"dynamodb_reads_per_event"`     // state table reads per audited event
	AlertsPerMillionEvents   float64 `json:"alerts_per_million_events"`    // SNS publishes per million audited events
	LambdaLogBytesPerCall    float64 `json:"lambda_log_bytes_per_call"`    // auditor log bytes per invocation (in its log group)
	CrossRegionEventsDay     float64 `json:"cross_region_events_per_day"`  // IAM events forwarded from us-east-1
	NATGBPerMonth            float64 `json:"nat_gb_per_month"`             // traffic through NAT gateways, all together
	EndpointGBPerMonth       float64 `json:"endpoint_gb_per_month"`        // traffic through interface endpoints, all together
	InsightsMetrics          float64 `json:"container_insights_metrics"`   // metrics Container Insights keeps per cluster
	ECRGBPerRepository       float64 `json:"ecr_gb_per_repository"`        // image storage per repository (lifecycle policy keeps it small)
	EFSGB                    float64 `json:"efs_gb"`                       // database files on EFS (ecs database option)
	AuroraGB                 float64 `json:"aurora_gb"`                    // data in an Aurora cluster (aurora database option)
	AuroraIOMillionsPerMonth float64 `json:"aurora_io_millions_per_month"` // Aurora Standard I/O requests per cluster, in millions
	DynamoGB                 float64 `json:"dynamodb_gb"`                  // state table size
}

// DefaultAssumptions are the figures used when nothing else is said: a small, quiet
// deployment. AuditFraction is measured (see the README's audit section).
func DefaultAssumptions() Assumptions {
	return Assumptions{
		RequestsPerSecond:      2,
		CloudTrailEventsPerDay: 50_000,
		DataEventsPerDay:       0,
		TrailIsFirstCopy:       true,
		TrailEventBytes:        250,
		TrailRetainedMonths:    12,
		TrailActiveRegions:     2,
		LogGBPerDay:            0.02,
		// The API's defaults (service/config.go) and line sizes measured in make bench-api's
		// log on 2026-12-07: an access line 168 bytes, an EMF line 592.
		APIAccessLogSample:     0.01,
		APIErrorShare:          0.001,
		APILogLineBytes:        170,
		APIMetricsLineBytes:    600,
		APIMetricsIntervalSec:  60,
		FlowLogGBPerDay:        0.1,
		RotationsPerMonth:      2,
		RotationStepSeconds:    1,
		SecretAPICallsPerMonth: 30_000,
		AuditFraction:          DefaultAuditFraction,
		AuditMillisPerEvent:    20,
		// Measured by internal/audit's TestWritesPerDeliveredEvent (and make bench-audit) on
		// the benign week: requests per event the patterns deliver (writes 0.007, rounded up
		// for the findings' dedup entries a less quiet account makes).
		DynamoWritesPerEvent:   0.01,
		DynamoReadsPerEvent:    1.75,
		AlertsPerMillionEvents: 50,
		LambdaLogBytesPerCall:  400,
		CrossRegionEventsDay:   100,
		NATGBPerMonth:          10,
		EndpointGBPerMonth:     5,
		InsightsMetrics:        25,
		ECRGBPerRepository:     0.5,
		EFSGB:                  2,
		AuroraGB:               2,
		// A quiet rates database: mostly cached reads; writes and their log a few a second.
		AuroraIOMillionsPerMonth: 10,
		DynamoGB:                 0.1,
	}
}

// DefaultAuditFraction is the share of CloudTrail events the deployed patterns let
// through in the synthetic traffic of internal/testkit/corpus, measured by TestAuditFraction
// on the emulator's EventBridge (109 of 400 events; the test fails when it drifts). What
// passes there is mostly the deployment's own GetSecretValue calls and its deployment; of
// the unrelated noise of that corpus only the role sessions' AssumeRole calls pass (RA-21
// follows role chains through them), since the patterns name event names. An account with
// much other traffic has a smaller fraction: measure yours.
const DefaultAuditFraction = 0.27

// Validate says which figure is out of range.
func (a Assumptions) Validate() error {
	v := reflect.ValueOf(a)
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f, ok := v.Field(i).Interface().(float64)
		if !ok {
			continue
		}
		name := strings.Split(t.Field(i).Tag.Get("json"), ",")[0]
		if f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("assumption %s = %v: must be a finite number >= 0", name, f)
		}
	}
	if a.AuditFraction > 1 {
		return fmt.Errorf("assumption audit_fraction = %v: must be between 0 and 1", a.AuditFraction)
	}
	return nil
}

// AssumptionsFile holds named sets of assumptions: "default" and one per environment,
// each a partial object applied over DefaultAssumptions (then over "default").
type AssumptionsFile map[string]json.RawMessage

// ForEnvironment returns the assumptions of env from a file in the AssumptionsFile format
// (nil data gives the defaults). Unknown keys are an error, so a typo cannot pass silently.
func ForEnvironment(data []byte, env string) (Assumptions, error) {
	a := DefaultAssumptions()
	if data == nil {
		return a, nil
	}
	var f AssumptionsFile
	if err := json.Unmarshal(data, &f); err != nil {
		return a, fmt.Errorf("assumptions: %w", err)
	}
	for _, name := range []string{"default", env} {
		raw, ok := f[name]
		if !ok || name == "" {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&a); err != nil {
			return a, fmt.Errorf("assumptions %q: %w", name, err)
		}
	}
	if env != "" {
		if _, ok := f[env]; !ok {
			return a, fmt.Errorf("assumptions: no set named %q (have %s)", env, strings.Join(keys(f), ", "))
		}
	}
	return a, a.Validate()
}

func keys(f AssumptionsFile) []string {
	var out []string
	for k := range f {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Describe lists the assumptions as "name = value" lines, in declaration order.
func (a Assumptions) Describe() []string {
	v := reflect.ValueOf(a)
	t := v.Type()
	var out []string
	for i := 0; i < t.NumField(); i++ {
		name := strings.Split(t.Field(i).Tag.Get("json"), ",")[0]
		out = append(out, fmt.Sprintf("%s = %v", name, v.Field(i).Interface()))
	}
	return out
}

//go:embed assumptions.json
var assumptionsJSON []byte

// AssumptionsData returns the repository's assumption sets (assumptions.json): a
// "default" set and one per environment.
func AssumptionsData() []byte { return assumptionsJSON }
