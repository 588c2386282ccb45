package cost

import (
	"bytes"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

func table(t *testing.T) *Table {
	t.Helper()
	tb, err := DefaultTable()
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func near(a, b float64) bool { return math.Abs(a-b) < 0.005 }

// The table and the code agree: every fixed or usage type has a pricer, every pricer a
// table entry that is not free.
func TestPricersMatchTable(t *testing.T) {
	tb := table(t)
	for _, e := range tb.Types {
		_, has := pricers[e.Type]
		if e.Pricing == PricingFree && has {
			t.Errorf("%s is free in prices.json but has a pricer", e.Type)
		}
		if e.Pricing != PricingFree && !has {
			t.Errorf("%s is %s in prices.json but the estimator has no pricer", e.Type, e.Pricing)
		}
	}
	for _, typ := range PricedTypes() {
		if _, ok := tb.Type(typ); !ok {
			t.Errorf("pricer for %s, which prices.json does not list", typ)
		}
	}
}

// resourceTypes returns every resource type declared under dir's .tf files.
func resourceTypes(t *testing.T, dirs ...string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == ".terraform" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".tf") {
				return nil
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
			if diags.HasErrors() {
				return diags
			}
			for _, b := range f.Body.(*hclsyntax.Body).Blocks {
				if b.Type == "resource" && len(b.Labels) == 2 {
					out[b.Labels[0]] = append(out[b.Labels[0]], path)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// A module that adds a resource type the price table does not know fails here, so the
// estimate can never quietly leave it out.
func TestEveryModuleTypeIsInTheTable(t *testing.T) {
	tb := table(t)
	types := resourceTypes(t, "../../modules", "../../envs")
	if len(types) < 30 {
		t.Fatalf("found only %d resource types under modules/ and envs/: is the walk broken?", len(types))
	}
	for typ, files := range types {
		if _, ok := tb.Type(typ); !ok {
			t.Errorf("resource type %s (in %s) is not in internal/cost/prices.json: price it or list it as free with a why", typ, files[0])
		}
	}
}

func TestParseTableRejects(t *testing.T) {
	good := `{"about":"x","region":"us-east-1","prices":[{"key":"k","usd":1,"unit":"u","page":"https://aws.amazon.com/x/","as_of":"2025-06"}],"types":[%s]}`
	cases := map[string]string{
		"free without why":     `{"type":"a","pricing":"free"}`,
		"unknown price key":    `{"type":"a","pricing":"fixed","prices":["nope"]}`,
		"unknown pricing":      `{"type":"a","pricing":"cheap","prices":["k"]}`,
		"fixed without prices": `{"type":"a","pricing":"fixed"}`,
		"type listed twice":    `{"type":"a","pricing":"free","why":"w"},{"type":"a","pricing":"free","why":"w"}`,
		"unknown field (typo)": `{"type":"a","pricing":"free","why":"w","prise":1}`,
	}
	for name, types := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseTable([]byte(strings.Replace(good, "%s", types, 1))); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := ParseTable([]byte(strings.Replace(good, "%s", `{"type":"a","pricing":"fixed","prices":["k"]}`, 1))); err != nil {
		t.Fatalf("rejected a good table: %v", err)
	}
	for _, p := range table(t).List {
		if !p.Recheck {
			t.Errorf("%s: prices here are recalled, not fetched: recheck must stay true until someone compares it with %s", p.Key, p.Page)
		}
	}
}

// plan builds a one-module plan from resources given as type, name and after values.
func plan(t *testing.T, vars map[string]any, res ...ResourceChange) *Plan {
	t.Helper()
	p := &Plan{FormatVersion: "1.2", Variables: map[string]planVariable{}}
	for k, v := range vars {
		p.Variables[k] = planVariable{Value: v}
	}
	for _, r := range res {
		if r.Address == "" {
			r.Address = "module.m." + r.Type + "." + r.Name
			r.ModuleAddress = "module.m"
		}
		r.Mode = "managed"
		r.Change.Actions = []string{"create"}
		p.Changes = append(p.Changes, r)
	}
	return p
}

func res(typ, name string, after map[string]any) ResourceChange {
	var r ResourceChange
	r.Type, r.Name = typ, name
	r.Change.After = after
	r.Change.AfterUnknown = map[string]any{}
	return r
}

func TestEstimateLines(t *testing.T) {
	a := DefaultAssumptions()
	cases := []struct {
		name string
		p    *Plan
		addr string
		kind Kind
		usd  float64
	}{
		{"nat gateway", plan(t, nil, res("aws_nat_gateway", "this", map[string]any{})),
			"module.m.aws_nat_gateway.this", KindFixed, 730*0.045 + 10*0.045},
		{"rds multi-az doubles instance and storage", plan(t, nil, res("aws_db_instance", "this", map[string]any{
			"engine": "postgres", "instance_class": "db.m7g.large", "allocated_storage": 100.0, "storage_type": "gp3", "multi_az": true})),
			"module.m.aws_db_instance.this", KindFixed, 2*730*0.168 + 2*100*0.115},
		{"rds class not in the table", plan(t, nil, res("aws_db_instance", "this", map[string]any{
			"engine": "postgres", "instance_class": "db.x2g.16xlarge", "allocated_storage": 100.0, "storage_type": "gp3"})),
			"module.m.aws_db_instance.this", KindNotPriced, 0},
		// Aurora Standard: 2 GB and 10 million I/O by default; each instance by the hour, with
		// enhanced monitoring every 60 s as log ingestion.
		{"aurora cluster storage and i/o", plan(t, nil, res("aws_rds_cluster", "this", map[string]any{"engine": "aurora-postgresql"})),
			"module.m.aws_rds_cluster.this", KindUsage, 2*0.10 + 10e6*0.0000002},
		{"aurora instance by the hour", plan(t, nil, res("aws_rds_cluster_instance", "this", map[string]any{
			"engine": "aurora-postgresql", "instance_class": "db.r7g.large", "monitoring_interval": 60.0})),
			"module.m.aws_rds_cluster_instance.this", KindFixed, 730*0.276 + 730*60*1500/1e9*0.5},
		{"aurora class not in the table", plan(t, nil, res("aws_rds_cluster_instance", "this", map[string]any{
			"engine": "aurora-postgresql", "instance_class": "db.t4g.micro"})),
			"module.m.aws_rds_cluster_instance.this", KindNotPriced, 0},
		{"fargate arm with public ip", plan(t, nil,
			res("aws_ecs_task_definition", "this", map[string]any{"cpu": "512", "memory": "1024",
				"runtime_platform": []any{map[string]any{"cpu_architecture": "ARM64"}}}),
			res("aws_ecs_service", "this", map[string]any{"launch_type": "FARGATE", "desired_count": 2.0,
				"network_configuration": []any{map[string]any{"assign_public_ip": true}}})),
			"module.m.aws_ecs_service.this", KindFixed, 730 * (2*0.5*0.03238 + 2*1*0.00356 + 2*0.005)},
		{"interface endpoint in two zones", plan(t, nil,
			res("aws_subnet", "private", nil), res("aws_subnet", "private", nil),
			res("aws_vpc_endpoint", "x", map[string]any{"vpc_endpoint_type": "Interface"})),
			"module.m.aws_vpc_endpoint.x", KindFixed, 2*730*0.01 + 5*0.01},
		{"interface endpoint zones limited by the root", plan(t, map[string]any{"interface_endpoint_zones": 1.0},
			res("aws_subnet", "private", nil), res("aws_subnet", "private", nil),
			res("aws_vpc_endpoint", "x", map[string]any{"vpc_endpoint_type": "Interface"})),
			"module.m.aws_vpc_endpoint.x", KindFixed, 730*0.01 + 5*0.01},
		{"gateway endpoint is free", plan(t, nil, res("aws_vpc_endpoint", "s3", map[string]any{"vpc_endpoint_type": "Gateway"})),
			"module.m.aws_vpc_endpoint.s3", KindFixed, 0},
		{"internet-facing alb pays addresses", plan(t, nil, res("aws_lb", "this", map[string]any{
			"load_balancer_type": "application", "internal": false, "subnets": []any{"a", "b", "c"}})),
			"module.m.aws_lb.this", KindFixed, 730*0.0225 + 730*0.008*2.0/25 + 3*730*0.005},
		{"unknown type is not priced", plan(t, nil, res("aws_neptune_cluster", "x", map[string]any{})),
			"module.m.aws_neptune_cluster.x", KindNotPriced, 0},
		{"iam is free", plan(t, nil, res("aws_iam_role", "x", map[string]any{})),
			"module.m.aws_iam_role.x", KindFree, 0},
		{"log group never expiring counts a year", plan(t, nil, res("aws_cloudwatch_log_group", "x", map[string]any{"name": "/ecs/x", "retention_in_days": 0.0})),
			"module.m.aws_cloudwatch_log_group.x", KindUsage, 0.02*DaysPerMonth*0.5 + 0.02*365*0.03},
		// The API's log follows its request rate: 2 req/s, 1.1% of requests logged at 170 B,
		// a 600 B metrics line a minute; a day kept.
		{"API log group follows the request rate", plan(t, nil, res("aws_cloudwatch_log_group", "api", map[string]any{"name": "/ecs/x/rates-api", "retention_in_days": 1.0})),
			"module.m.aws_cloudwatch_log_group.api", KindUsage, (2*86400*0.011*170 + 1440*600) / 1e9 * (DaysPerMonth*0.5 + 0.03)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Estimate(table(t), c.p, a)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range r.Lines {
				if l.Address != c.addr {
					continue
				}
				if l.Kind != c.kind || !near(l.USD(), c.usd) {
					t.Fatalf("%s: got %s $%.4f (%v %s), want %s $%.4f", c.addr, l.Kind, l.USD(), l.Items, l.Reason, c.kind, c.usd)
				}
				if l.Kind == KindNotPriced && l.Reason == "" {
					t.Fatal("not priced without a reason")
				}
				return
			}
			t.Fatalf("no line for %s", c.addr)
		})
	}
}

func TestDeletedResourcesAreNotCharged(t *testing.T) {
	p := plan(t, nil, res("aws_nat_gateway", "old", map[string]any{}))
	p.Changes[0].Change.Actions = []string{"delete"}
	r, err := Estimate(table(t), p, DefaultAssumptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Lines) != 0 {
		t.Fatalf("deleted NAT gateway charged: %+v", r.Lines)
	}
}

func TestReadPlanRejects(t *testing.T) {
	cases := map[string]string{
		"not json":            "terraform plan output",
		"a state file":        `{"format_version":"1.0","values":{}}`,
		"no format version":   `{"resource_changes":[]}`,
		"future major format": `{"format_version":"2.0","resource_changes":[]}`,
		"change without type": `{"format_version":"1.2","resource_changes":[{"address":"a"}]}`,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := ReadPlan(strings.NewReader(in)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func FuzzReadPlan(f *testing.F) {
	f.Add([]byte(`{"format_version":"1.2","resource_changes":[{"address":"a.b","type":"aws_lb","change":{"actions":["create"],"after":{"subnets":[1]}}}]}`))
	f.Add([]byte(`{"format_version":"1.2","resource_changes":[]}`))
	tb, err := DefaultTable()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ReadPlan(bytes.NewReader(b))
		if err != nil {
			return
		}
		r, err := Estimate(tb, p, DefaultAssumptions())
		if err != nil {
			return
		}
		for _, l := range r.Lines {
			if u := l.USD(); u < 0 || math.IsNaN(u) || math.IsInf(u, 0) {
				t.Fatalf("%s: $%v", l.Address, u)
			}
		}
		_ = r.Markdown()
	})
}

func TestAssumptions(t *testing.T) {
	if _, err := ForEnvironment([]byte(`{"dev":{"requests_per_secnd":1}}`), "dev"); err == nil {
		t.Error("a misspelt assumption was accepted")
	}
	if _, err := ForEnvironment([]byte(`{"dev":{"audit_fraction":1.5}}`), "dev"); err == nil {
		t.Error("audit_fraction 1.5 was accepted")
	}
	if _, err := ForEnvironment([]byte(`{"dev":{}}`), "qa"); err == nil {
		t.Error("a missing set was accepted")
	}
	a, err := ForEnvironment([]byte(`{"default":{"requests_per_second":3},"dev":{"log_gb_per_day":1}}`), "dev")
	if err != nil {
		t.Fatal(err)
	}
	if a.RequestsPerSecond != 3 || a.LogGBPerDay != 1 || a.RotationsPerMonth != DefaultAssumptions().RotationsPerMonth {
		t.Errorf("layering default < set: got %+v", a)
	}
	for _, env := range Environments {
		if _, err := ForEnvironment(AssumptionsData(), env); err != nil {
			t.Errorf("assumptions.json: %v", err)
		}
	}
}

func TestAuditVolumeScales(t *testing.T) {
	a := DefaultAssumptions()
	a.TrailActiveRegions = 0 // isolate the per-event part
	rows, err := AuditVolume(table(t), a, DefaultAuditParams(), []float64{1e6, 1e7})
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].EventBridge != 0 {
		t.Errorf("EventBridge charged %v for AWS service events", rows[0].EventBridge)
	}
	audited := 1e6 * a.AuditFraction
	lambda := audited*0.0000002 + audited*0.02*256.0/1024*0.0000133334
	if !near(rows[0].Lambda, lambda) {
		t.Errorf("Lambda at 1M: got %v, want %v", rows[0].Lambda, lambda)
	}
	if !near(rows[0].DynamoDB, audited*(a.DynamoWritesPerEvent*0.000000625+a.DynamoReadsPerEvent*0.000000125)) {
		t.Errorf("DynamoDB at 1M: got %v", rows[0].DynamoDB)
	}
	if rows[0].XRay != 0 {
		t.Errorf("X-Ray charged %v with the auditor's tracing off (modules/audit-alerts lambda_tracing)", rows[0].XRay)
	}
	// Everything but X-Ray (its first trace each second is not proportional) grows tenfold.
	for _, f := range []func(AuditRow) float64{
		func(r AuditRow) float64 { return r.Lambda },
		func(r AuditRow) float64 { return r.DynamoDB },
		func(r AuditRow) float64 { return r.SNS },
		func(r AuditRow) float64 { return r.Logs },
	} {
		if !near(f(rows[1]), 10*f(rows[0])) {
			t.Errorf("not linear: %v at 1M, %v at 10M", f(rows[0]), f(rows[1]))
		}
	}
	if _, err := AuditVolume(table(t), a, AuditParams{MemoryMB: 64, Arch: "arm64"}, []float64{1}); err == nil {
		t.Error("64 MB accepted")
	}
	var png bytes.Buffer
	if err := PlotAuditVolume(&png, rows, a.AuditFraction); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png.Bytes(), []byte("\x89PNG")) {
		t.Error("plot is not a PNG")
	}
}

// loadPlans reads the committed plans of dev, stage and prod (scripts/cost-plan.sh writes
// them; `scripts/cost-plan.sh --check` proves they are current).
func loadPlans(t *testing.T) map[string]*Plan {
	t.Helper()
	plans := map[string]*Plan{}
	names := append([]string{}, Environments...)
	for _, v := range DevVariants[1:] {
		names = append(names, v.Name)
	}
	for _, env := range names {
		f, err := os.Open(filepath.Join("testdata", "plan-"+env+".json"))
		if err != nil {
			t.Fatalf("%v: run scripts/cost-plan.sh %s", err, env)
		}
		p, err := ReadPlan(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		plans[env] = p
	}
	return plans
}

// The README's tables are what the command prints for the committed plans.
func TestReadmeIsCurrent(t *testing.T) {
	doc, err := os.ReadFile("../../envs/README.md")
	if err != nil {
		t.Fatal(err)
	}
	want, err := Readme(doc, table(t), loadPlans(t), AssumptionsData())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append(append([]string{}, Environments...), "dev-options", "assumptions", "audit") {
		got, _ := Section(doc, s)
		exp, _ := Section(want, s)
		if got != exp {
			t.Errorf("envs/README.md section %q differs from `rotaudit cost` (run make cost-readme):\n--- README\n%s\n--- command\n%s", s, got, exp)
		}
	}
}

// Every resource of every environment is priced or known to be free, and dev keeps to
// its budget.
func TestEnvironments(t *testing.T) {
	tb := table(t)
	for name, p := range loadPlans(t) {
		env := strings.SplitN(name, "-", 2)[0]
		a, err := ForEnvironment(AssumptionsData(), env)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Estimate(tb, p, a)
		if err != nil {
			t.Fatal(err)
		}
		if p.Var("environment") != env {
			t.Errorf("plan-%s.json is the plan of %q", name, p.Var("environment"))
		}
		for _, l := range r.NotPriced() {
			t.Errorf("%s: %s not priced: %s", name, l.Address, l.Reason)
		}
		if name == "dev" && r.FixedBeforeDatabase() > 40 {
			t.Errorf("dev's fixed cost before the database is $%.2f a month, over the $40 budget", r.FixedBeforeDatabase())
		}
	}
}

func TestReplaceSection(t *testing.T) {
	doc := []byte("a\n" + Marker("x", "begin") + "\nold\n" + Marker("x", "end") + "\nb\n")
	out, err := ReplaceSection(doc, "x", "new")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := Section(out, "x"); got != "new\n" {
		t.Fatalf("section: %q", got)
	}
	if !bytes.HasSuffix(out, []byte(Marker("x", "end")+"\nb\n")) {
		t.Fatalf("text after the section lost: %q", out)
	}
	if _, err := ReplaceSection([]byte("no markers"), "x", "new"); err == nil {
		t.Fatal("missing markers accepted")
	}
}
