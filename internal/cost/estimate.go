package cost

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Kind says how a line of a Report was charged.
type Kind string

// The kinds of lines.
const (
	KindFixed     Kind = "fixed"
	KindUsage     Kind = "usage"
	KindFree      Kind = "free"
	KindNotPriced Kind = "not priced"
)

// Item is one charge of a resource: what, how computed, how much a month.
type Item struct {
	What string
	USD  float64
}

// Line is one resource of the plan with its monthly cost.
type Line struct {
	Address string
	Type    string
	Kind    Kind
	Items   []Item
	Reason  string // free: why nothing is charged; not priced: why it could not be
}

// USD is the monthly total of the line.
func (l Line) USD() float64 {
	var s float64
	for _, it := range l.Items {
		s += it.USD
	}
	return s
}

// Report is the estimate of one plan.
type Report struct {
	Environment string
	PlanRegion  string
	PriceRegion string
	Assumptions Assumptions
	Lines       []Line
}

// Total returns the monthly total of the lines of a kind ("" for all priced lines).
func (r *Report) Total(kind Kind) float64 {
	var s float64
	for _, l := range r.Lines {
		if kind == "" || l.Kind == kind {
			s += l.USD()
		}
	}
	return s
}

// NotPriced returns the lines the table could not price.
func (r *Report) NotPriced() []Line {
	var out []Line
	for _, l := range r.Lines {
		if l.Kind == KindNotPriced {
			out = append(out, l)
		}
	}
	return out
}

// errSkip reports that a resource could not be priced, with the reason.
type errSkip struct{ reason string }

func (e errSkip) Error() string { return e.reason }

func skip(format string, args ...any) error { return errSkip{fmt.Sprintf(format, args...)} }

// pricer computes the items of one resource.
type pricer func(e *estimator, r *ResourceChange) ([]Item, error)

// pricers are the code behind every fixed or usage type of the table (a test checks that
// the two agree).
var pricers = map[string]pricer{
	"aws_nat_gateway":            priceNAT,
	"aws_eip":                    priceEIP,
	"aws_vpc_endpoint":           priceEndpoint,
	"aws_lb":                     priceLB,
	"aws_ecs_service":            priceECSService,
	"aws_ecs_cluster":            priceECSCluster,
	"aws_db_instance":            priceRDS,
	"aws_rds_cluster":            priceAuroraCluster,
	"aws_rds_cluster_instance":   priceAuroraInstance,
	"aws_efs_file_system":        priceEFS,
	"aws_kms_key":                priceKMSKey,
	"aws_secretsmanager_secret":  priceSecret,
	"aws_cloudwatch_log_group":   priceLogGroup,
	"aws_cloudtrail":             priceTrail,
	"aws_lambda_function":        priceLambda,
	"aws_dynamodb_table":         priceDynamo,
	"aws_sns_topic":              priceSNSTopic,
	"aws_sns_topic_subscription": priceSNSSubscription,
	"aws_sqs_queue":              priceSQS,
	"aws_ecr_repository":         priceECR,
	"aws_service_discovery_private_dns_namespace": priceNamespace,
	"aws_service_discovery_service":               priceDiscoveryService,
	"aws_cloudwatch_event_target":                 priceEventTarget,
	"aws_cloudwatch_metric_alarm":                 priceAlarm,
}

// PricedTypes returns the resource types the estimator has code for, sorted.
func PricedTypes() []string {
	out := make([]string, 0, len(pricers))
	for t := range pricers {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

type estimator struct {
	table *Table
	a     Assumptions
	plan  *Plan
	all   []ResourceChange
}

// Estimate prices every managed resource of the plan that exists after the apply.
func Estimate(t *Table, p *Plan, a Assumptions) (*Report, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	e := &estimator{table: t, a: a, plan: p, all: p.Managed()}
	r := &Report{
		Environment: p.Var("environment"),
		PlanRegion:  p.Var("region"),
		PriceRegion: t.Region,
		Assumptions: a,
	}
	for i := range e.all {
		res := &e.all[i]
		line := Line{Address: res.Address, Type: res.Type}
		entry, known := t.Type(res.Type)
		switch {
		case !known:
			line.Kind = KindNotPriced
			line.Reason = "type not in the price table"
		case entry.Pricing == PricingFree:
			line.Kind = KindFree
			line.Reason = entry.Why
		default:
			line.Kind = Kind(entry.Pricing)
			p, ok := pricers[res.Type]
			if !ok {
				return nil, fmt.Errorf("estimate: %s: the table prices type %s but the estimator has no code for it", res.Address, res.Type)
			}
			items, err := p(e, res)
			var s errSkip
			switch {
			case errors.As(err, &s):
				line.Kind = KindNotPriced
				line.Reason = s.reason
			case err != nil:
				return nil, fmt.Errorf("estimate: %s: %w", res.Address, err)
			default:
				line.Items = items
			}
		}
		r.Lines = append(r.Lines, line)
	}
	return r, nil
}

func (e *estimator) usd(key string) float64 {
	v, err := e.table.USD(key)
	if err != nil {
		// Every key a pricer uses is listed for its type in prices.json, which ParseTable
		// checks, and TestPricersMatchTable proves; reaching this is a bug.
		panic(err)
	}
	return v
}

// hourly is a charge for every hour of the month.
func (e *estimator) hourly(what, key string, n float64) Item {
	return Item{What: fmt.Sprintf("%s: %s x 730 h x $%s", what, fnum(n), fprice(e.usd(key))), USD: n * HoursPerMonth * e.usd(key)}
}

// per is a charge for a quantity in the month.
func (e *estimator) per(what, key string, qty float64, unit string) Item {
	return Item{What: fmt.Sprintf("%s: %s %s x $%s", what, fnum(qty), unit, fprice(e.usd(key))), USD: qty * e.usd(key)}
}

// sameModule returns the resources of a type in the same module instance as r.
func (e *estimator) sameModule(r *ResourceChange, typ string) []*ResourceChange {
	var out []*ResourceChange
	for i := range e.all {
		o := &e.all[i]
		if o.Type == typ && o.ModuleAddress == r.ModuleAddress {
			out = append(out, o)
		}
	}
	return out
}

func (e *estimator) count(typ string, keep func(*ResourceChange) bool) int {
	n := 0
	for i := range e.all {
		if e.all[i].Type == typ && (keep == nil || keep(&e.all[i])) {
			n++
		}
	}
	return n
}

// auditedEventsPerMonth is how many CloudTrail events reach the auditor through the rules.
func (a Assumptions) auditedEventsPerMonth() float64 {
	return a.CloudTrailEventsPerDay * DaysPerMonth * a.AuditFraction
}

// trailFilesPerMonth is the number of log files a multi-region trail delivers.
func (a Assumptions) trailFilesPerMonth() float64 {
	return a.TrailActiveRegions * 12 * HoursPerMonth
}

func priceNAT(e *estimator, r *ResourceChange) ([]Item, error) {
	n := float64(e.count("aws_nat_gateway", nil))
	return []Item{
		e.hourly("NAT gateway", "nat_gateway_hour", 1),
		e.per("data processed (share of nat_gb_per_month)", "nat_gateway_gb", e.a.NATGBPerMonth/n, "GB"),
	}, nil
}

func priceEIP(e *estimator, r *ResourceChange) ([]Item, error) {
	return []Item{e.hourly("public IPv4 address", "public_ipv4_hour", 1)}, nil
}

func isInterface(r *ResourceChange) bool {
	t, _ := r.str("vpc_endpoint_type")
	return t == "Interface"
}

func priceEndpoint(e *estimator, r *ResourceChange) ([]Item, error) {
	typ, ok := r.str("vpc_endpoint_type")
	switch {
	case !ok:
		return nil, skip("vpc_endpoint_type unknown at plan time")
	case typ == "Gateway":
		return []Item{{What: "gateway endpoint: free", USD: 0}}, nil
	case typ != "Interface":
		return nil, skip("endpoint type %s not in the table", typ)
	}
	azs, how, ok := e.endpointZones(r)
	if !ok {
		return nil, skip("number of subnets (zones) unknown at plan time")
	}
	n := float64(e.count("aws_vpc_endpoint", isInterface))
	return []Item{
		e.hourly("interface endpoint zones ("+how+")", "vpc_interface_endpoint_az_hour", float64(azs)),
		e.per("data processed (share of endpoint_gb_per_month)", "vpc_interface_endpoint_gb", e.a.EndpointGBPerMonth/n, "GB"),
	}, nil
}

// endpointZones is the number of zones (subnets) of an interface endpoint. Subnet ids are
// unknown until apply and a set of unknowns has no length in the plan, so it falls back on
// what the roots say: the private subnets of the endpoint's module, or fewer when the
// root's interface_endpoint_zones variable asks for fewer (modules/network puts the
// endpoints in the first that many).
func (e *estimator) endpointZones(r *ResourceChange) (int, string, bool) {
	if n, ok := r.length("subnet_ids"); ok && n > 0 {
		return n, "one per subnet", true
	}
	n := 0
	for _, s := range e.sameModule(r, "aws_subnet") {
		if s.Name == "private" {
			n++
		}
	}
	if n == 0 {
		return 0, "", false
	}
	how := "the module's private subnets"
	if z, ok := e.plan.VarNum("interface_endpoint_zones"); ok && z > 0 && int(z) < n {
		n, how = int(z), "interface_endpoint_zones"
	}
	return n, how, true
}

func priceLB(e *estimator, r *ResourceChange) ([]Item, error) {
	if t, _ := r.str("load_balancer_type"); t != "application" {
		return nil, skip("load balancer type %q not in the table (application only)", t)
	}
	// One LCU serves 25 new connections a second; counting every request as a new
	// connection is the upper bound for a small API.
	lcu := e.a.RequestsPerSecond / 25
	items := []Item{
		e.hourly("load balancer", "alb_hour", 1),
		e.hourly(fmt.Sprintf("LCUs (requests_per_second %s / 25 new connections)", fnum(e.a.RequestsPerSecond)), "alb_lcu_hour", lcu),
	}
	if internal, ok := r.boolean("internal"); ok && !internal {
		// Subnet ids are unknown until apply; a load balancer spans the root's zones.
		azs, ok := r.length("subnets")
		if !ok {
			zones, _ := e.plan.Variables["availability_zones"].Value.([]any)
			if azs, ok = len(zones), len(zones) > 0; !ok {
				return nil, skip("number of subnets of the internet-facing load balancer unknown")
			}
		}
		items = append(items, e.hourly("public IPv4 addresses (one per zone)", "public_ipv4_hour", float64(azs)))
	}
	return items, nil
}

func priceECSService(e *estimator, r *ResourceChange) ([]Item, error) {
	if lt, _ := r.str("launch_type"); lt != "FARGATE" {
		return nil, skip("launch type %q: only FARGATE is in the table", lt)
	}
	tds := e.sameModule(r, "aws_ecs_task_definition")
	if len(tds) != 1 {
		return nil, skip("%d task definitions beside the service: cannot tell which it runs", len(tds))
	}
	td := tds[0]
	cpu, ok1 := td.num("cpu")
	mem, ok2 := td.num("memory")
	tasks, ok3 := r.num("desired_count")
	if !ok1 || !ok2 || !ok3 {
		return nil, skip("cpu, memory or desired_count unknown at plan time")
	}
	arch := "x86_64"
	for _, rp := range td.blocks("runtime_platform") {
		if a, _ := rp["cpu_architecture"].(string); strings.EqualFold(a, "ARM64") {
			arch = "arm64"
		}
	}
	vcpu, gb := cpu/1024, mem/1024
	items := []Item{
		e.hourly(fmt.Sprintf("Fargate %s vCPU (%s tasks x %s)", arch, fnum(tasks), fnum(vcpu)), "fargate_"+arch+"_vcpu_hour", tasks*vcpu),
		e.hourly(fmt.Sprintf("Fargate %s memory GB (%s tasks x %s)", arch, fnum(tasks), fnum(gb)), "fargate_"+arch+"_gb_hour", tasks*gb),
	}
	for _, nc := range r.blocks("network_configuration") {
		if pub, _ := nc["assign_public_ip"].(bool); pub {
			items = append(items, e.hourly("public IPv4 address per task", "public_ipv4_hour", tasks))
		}
	}
	return items, nil
}

func priceECSCluster(e *estimator, r *ResourceChange) ([]Item, error) {
	for _, s := range r.blocks("setting") {
		if s["name"] == "containerInsights" && s["value"] != "disabled" {
			return []Item{e.per("Container Insights metrics (container_insights_metrics)", "cloudwatch_metric_month", e.a.InsightsMetrics, "metric-months")}, nil
		}
	}
	return []Item{{What: "cluster without Container Insights: free"}}, nil
}

func priceRDS(e *estimator, r *ResourceChange) ([]Item, error) {
	if eng, _ := r.str("engine"); eng != "postgres" {
		return nil, skip("engine %q: only postgres is in the table", eng)
	}
	class, ok := r.str("instance_class")
	if !ok {
		return nil, skip("instance_class unknown at plan time")
	}
	hourKey := "rds_postgres_hour:" + class
	if _, err := e.table.USD(hourKey); err != nil {
		return nil, skip("instance class %s not in the price table", class)
	}
	storage, ok := r.num("allocated_storage")
	if !ok {
		return nil, skip("allocated_storage unknown at plan time")
	}
	stype, ok := r.str("storage_type")
	if !ok {
		return nil, skip("storage_type unknown at plan time")
	}
	storeKey := "rds_storage_gb_month:" + stype
	if _, err := e.table.USD(storeKey); err != nil {
		return nil, skip("storage type %s not in the price table", stype)
	}
	factor, what := 1.0, "single-AZ"
	if multi, _ := r.boolean("multi_az"); multi {
		factor, what = e.usd("rds_multi_az_factor"), "Multi-AZ"
	}
	items := []Item{
		e.hourly(fmt.Sprintf("%s %s (x%s)", class, what, fnum(factor)), hourKey, factor),
		e.per(fmt.Sprintf("%s storage %s (x%s)", stype, what, fnum(factor)), storeKey, storage*factor, "GB-months"),
	}
	if iv, ok := r.num("monitoring_interval"); ok && iv > 0 {
		// Enhanced monitoring writes about 1.5 KB to CloudWatch Logs per sample.
		gb := HoursPerMonth * 3600 / iv * 1500 / 1e9
		items = append(items, e.per(fmt.Sprintf("enhanced monitoring every %ss (1.5 KB a sample)", fnum(iv)), "logs_ingest_gb", gb, "GB"))
	}
	return items, nil
}

// priceAuroraCluster prices Aurora Standard storage and I/O, which follow the data and
// the load rather than a configured size.
func priceAuroraCluster(e *estimator, r *ResourceChange) ([]Item, error) {
	if eng, _ := r.str("engine"); eng != "aurora-postgresql" {
		return nil, skip("engine %q: only aurora-postgresql is in the table", eng)
	}
	return []Item{
		e.per("Aurora Standard storage (aurora_gb)", "aurora_storage_gb_month", e.a.AuroraGB, "GB-months"),
		e.per("Aurora Standard I/O (aurora_io_millions_per_month)", "aurora_io_request", e.a.AuroraIOMillionsPerMonth*1e6, "requests"),
	}, nil
}

// priceAuroraInstance prices one writer or reader of a cluster, as priceRDS prices an
// instance (its storage is the cluster's).
func priceAuroraInstance(e *estimator, r *ResourceChange) ([]Item, error) {
	if eng, _ := r.str("engine"); eng != "aurora-postgresql" {
		return nil, skip("engine %q: only aurora-postgresql is in the table", eng)
	}
	class, ok := r.str("instance_class")
	if !ok {
		return nil, skip("instance_class unknown at plan time")
	}
	hourKey := "aurora_postgres_hour:" + class
	if _, err := e.table.USD(hourKey); err != nil {
		return nil, skip("instance class %s not in the price table", class)
	}
	items := []Item{e.hourly(class, hourKey, 1)}
	if iv, ok := r.num("monitoring_interval"); ok && iv > 0 {
		// Enhanced monitoring writes about 1.5 KB to CloudWatch Logs per sample.
		gb := HoursPerMonth * 3600 / iv * 1500 / 1e9
		items = append(items, e.per(fmt.Sprintf("enhanced monitoring every %ss (1.5 KB a sample)", fnum(iv)), "logs_ingest_gb", gb, "GB"))
	}
	return items, nil
}

func priceEFS(e *estimator, r *ResourceChange) ([]Item, error) {
	return []Item{e.per("EFS Standard (efs_gb)", "efs_standard_gb_month", e.a.EFSGB, "GB-months")}, nil
}

func priceKMSKey(e *estimator, r *ResourceChange) ([]Item, error) {
	return []Item{e.per("customer managed key", "kms_key_month", 1, "key-month")}, nil
}

func priceSecret(e *estimator, r *ResourceChange) ([]Item, error) {
	n := float64(e.count("aws_secretsmanager_secret", nil))
	return []Item{
		e.per("secret", "secretsmanager_secret_month", 1, "secret-month"),
		e.per("API calls (share of secret_api_calls_per_month)", "secretsmanager_api_call", e.a.SecretAPICallsPerMonth/n, "calls"),
	}, nil
}

func priceLogGroup(e *estimator, r *ResourceChange) ([]Item, error) {
	name, _ := r.str("name")
	perDay, what := e.a.LogGBPerDay, "log_gb_per_day "+fnum(e.a.LogGBPerDay)
	switch {
	case strings.HasPrefix(name, "/vpc/") || strings.Contains(name, "flow-log"):
		perDay, what = e.a.FlowLogGBPerDay, "flow_log_gb_per_day "+fnum(e.a.FlowLogGBPerDay)
	case strings.HasSuffix(name, "/rates-api"):
		// The API logs a sample of its requests, every error and slow one, and one metrics
		// line per interval: its volume follows the request rate, not a flat figure.
		requests := e.a.RequestsPerSecond * 86400
		lines := requests * (e.a.APIAccessLogSample + e.a.APIErrorShare)
		metrics := 0.0
		if e.a.APIMetricsIntervalSec > 0 {
			metrics = 86400 / e.a.APIMetricsIntervalSec
		}
		perDay = (lines*e.a.APILogLineBytes + metrics*e.a.APIMetricsLineBytes) / 1e9
		what = fmt.Sprintf("%s GB a day: %s req/s, %s%% sampled + %s%% errors x %s B, a metrics line every %ss",
			fnum(perDay), fnum(e.a.RequestsPerSecond), fnum(100*e.a.APIAccessLogSample), fnum(100*e.a.APIErrorShare), fnum(e.a.APILogLineBytes), fnum(e.a.APIMetricsIntervalSec))
	}
	days, ok := r.num("retention_in_days")
	kept := fmt.Sprintf("%s days kept", fnum(days))
	if !ok || days == 0 {
		// Never expiring: count a year's worth, the horizon of this estimate.
		days, kept = 365, "never expires: a year counted"
	}
	return []Item{
		e.per(fmt.Sprintf("ingestion (%s)", what), "logs_ingest_gb", perDay*DaysPerMonth, "GB"),
		e.per(fmt.Sprintf("storage (%s, uncompressed size as an upper bound)", kept), "logs_storage_gb_month", perDay*days, "GB-months"),
	}, nil
}

func priceTrail(e *estimator, r *ResourceChange) ([]Item, error) {
	events := e.a.CloudTrailEventsPerDay * DaysPerMonth
	var items []Item
	if e.a.TrailIsFirstCopy {
		items = append(items, Item{What: "management events: first copy in the account, free (trail_is_first_copy)"})
	} else {
		items = append(items, e.per("management events, a second copy (cloudtrail_events_per_day)", "cloudtrail_management_event_copy", events, "events"))
	}
	if trailHasDataEvents(r) {
		items = append(items, e.per("data events (data_events_per_day)", "cloudtrail_data_event", e.a.DataEventsPerDay*DaysPerMonth, "events"))
		events += e.a.DataEventsPerDay * DaysPerMonth
	}
	gbMonth := events * e.a.TrailEventBytes / 1e9
	files := e.a.trailFilesPerMonth()
	items = append(items,
		e.per(fmt.Sprintf("log files in S3 (%s B an event, %s months kept)", fnum(e.a.TrailEventBytes), fnum(e.a.TrailRetainedMonths)), "s3_standard_gb_month", gbMonth*e.a.TrailRetainedMonths, "GB-months"),
		e.per(fmt.Sprintf("log file PUTs (%s regions, one file in 5 min)", fnum(e.a.TrailActiveRegions)), "s3_put_request", files, "PUTs"),
		e.per("KMS data keys for the files", "kms_request", files, "requests"),
	)
	return items, nil
}

func trailHasDataEvents(r *ResourceChange) bool {
	for _, s := range r.blocks("event_selector") {
		if dr, _ := s["data_resource"].([]any); len(dr) > 0 {
			return true
		}
	}
	for _, s := range r.blocks("advanced_event_selector") {
		fs, _ := s["field_selector"].([]any)
		for _, f := range fs {
			m, _ := f.(map[string]any)
			if m["field"] == "eventCategory" {
				if eq, _ := m["equals"].([]any); len(eq) > 0 && eq[0] == "Data" {
					return true
				}
			}
		}
	}
	return false
}

// lambdaCompute prices invocations of a function of memMB and architecture arch.
func (e *estimator) lambdaCompute(calls, seconds, memMB float64, arch string) []Item {
	gbs := calls * seconds * memMB / 1024
	return []Item{
		e.per("requests", "lambda_request", calls, "calls"),
		e.per(fmt.Sprintf("compute (%s MB x %ss a call)", fnum(memMB), fnum(seconds)), "lambda_"+arch+"_gb_second", gbs, "GB-s"),
	}
}

// xrayTraces is what X-Ray's default sampling rule records: the first request each second
// and 5% of the others. calls are spread evenly over the month.
func xrayTraces(calls float64) float64 {
	seconds := HoursPerMonth * 3600
	if calls <= seconds {
		return calls
	}
	return seconds + 0.05*(calls-seconds)
}

func priceLambda(e *estimator, r *ResourceChange) ([]Item, error) {
	name, _ := r.str("function_name")
	mem, ok := r.num("memory_size")
	if !ok {
		return nil, skip("memory_size unknown at plan time")
	}
	arch := "x86_64"
	if l, _ := r.Change.After["architectures"].([]any); len(l) == 1 && l[0] == "arm64" {
		arch = "arm64"
	}
	var items []Item
	var calls float64
	switch {
	case strings.HasSuffix(name, "-auditor"):
		calls = e.a.auditedEventsPerMonth() + e.a.trailFilesPerMonth()
		items = e.lambdaCompute(calls, e.a.AuditMillisPerEvent/1000, mem, arch)
		items[0].What = "requests (audited events + trail log files)"
	case strings.Contains(name, "-rotator"):
		// One function per rotation strategy may exist; the rotations are shared out.
		n := float64(e.count("aws_lambda_function", func(o *ResourceChange) bool {
			fn, _ := o.str("function_name")
			return strings.Contains(fn, "-rotator")
		}))
		calls = e.a.RotationsPerMonth * 4 / n
		items = e.lambdaCompute(calls, e.a.RotationStepSeconds, mem, arch)
		items[0].What = fmt.Sprintf("requests (rotations_per_month x 4 steps, shared by %s rotators)", fnum(n))
	case strings.HasSuffix(name, "-bootstrap"):
		// Invoked by Terraform when the database is created: one call a deployment.
		calls = 1
		items = e.lambdaCompute(calls, 5, mem, arch)
		items[0].What = "requests (one a deployment, 5 s)"
	default:
		return nil, skip("no invocation assumption for function %q", name)
	}
	for _, tc := range r.blocks("tracing_config") {
		if tc["mode"] == "Active" {
			items = append(items, e.per("X-Ray traces (1 a second + 5%)", "xray_trace", xrayTraces(calls), "traces"))
		}
	}
	return items, nil
}

func priceDynamo(e *estimator, r *ResourceChange) ([]Item, error) {
	if m, _ := r.str("billing_mode"); m != "PAY_PER_REQUEST" {
		return nil, skip("billing mode %q: only on-demand is in the table", m)
	}
	ev := e.a.auditedEventsPerMonth()
	items := []Item{
		e.per("writes (dynamodb_writes_per_event x audited events)", "dynamodb_write_request", ev*e.a.DynamoWritesPerEvent, "WRUs"),
		e.per("reads (dynamodb_reads_per_event x audited events)", "dynamodb_read_request", ev*e.a.DynamoReadsPerEvent, "RRUs"),
		e.per("storage (dynamodb_gb)", "dynamodb_storage_gb_month", e.a.DynamoGB, "GB-months"),
	}
	for _, p := range r.blocks("point_in_time_recovery") {
		if on, _ := p["enabled"].(bool); on {
			items = append(items, e.per("point-in-time recovery", "dynamodb_pitr_gb_month", e.a.DynamoGB, "GB-months"))
		}
	}
	return items, nil
}

func (a Assumptions) alertsPerMonth() float64 {
	return a.auditedEventsPerMonth() * a.AlertsPerMillionEvents / 1e6
}

func priceSNSTopic(e *estimator, r *ResourceChange) ([]Item, error) {
	return []Item{e.per("alert publishes (alerts_per_million_events)", "sns_publish", e.a.alertsPerMonth(), "publishes")}, nil
}

func priceSNSSubscription(e *estimator, r *ResourceChange) ([]Item, error) {
	p, _ := r.str("protocol")
	if p == "email" || p == "email-json" {
		return []Item{e.per("email deliveries", "sns_email_delivery", e.a.alertsPerMonth(), "emails")}, nil
	}
	return []Item{{What: p + " delivery: no SNS charge (billed, if at all, by the receiving service)"}}, nil
}

func priceSQS(e *estimator, r *ResourceChange) ([]Item, error) {
	return []Item{e.per("dead letters: requests only when deliveries fail, none assumed", "sqs_request", 0, "requests")}, nil
}

func priceECR(e *estimator, r *ResourceChange) ([]Item, error) {
	return []Item{e.per("image storage (ecr_gb_per_repository)", "ecr_storage_gb_month", e.a.ECRGBPerRepository, "GB-months")}, nil
}

func priceNamespace(e *estimator, r *ResourceChange) ([]Item, error) {
	return []Item{e.per("private hosted zone", "route53_hosted_zone_month", 1, "zone-month")}, nil
}

func priceDiscoveryService(e *estimator, r *ResourceChange) ([]Item, error) {
	return []Item{e.per("one registered task", "cloudmap_instance_month", 1, "instance-month")}, nil
}

func priceEventTarget(e *estimator, r *ResourceChange) ([]Item, error) {
	arn, _ := r.str("arn")
	if strings.Contains(arn, ":event-bus/") {
		return []Item{e.per("events forwarded to another region (cross_region_events_per_day)", "eventbridge_cross_region_event", e.a.CrossRegionEventsDay*DaysPerMonth, "events")}, nil
	}
	return []Item{{What: "AWS service events to a target: free"}}, nil
}

func priceAlarm(e *estimator, r *ResourceChange) ([]Item, error) {
	return []Item{e.per("alarm", "cloudwatch_alarm_month", 1, "alarm-month")}, nil
}

// fnum prints a quantity compactly: integers without decimals, others with up to 3
// significant decimals.
func fnum(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return addThousands(fmt.Sprintf("%.0f", f))
	}
	if math.Abs(f) >= 100 {
		return addThousands(fmt.Sprintf("%.0f", f))
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", f), "0"), ".")
}

func fprice(f float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.10f", f), "0"), ".")
}

func addThousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
