package tfcheck

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/rotaudit/rotaudit/internal/audit"
	"github.com/rotaudit/rotaudit/internal/bootstrap"
	"github.com/rotaudit/rotaudit/internal/rotation"
)

var update = flag.Bool("update", false, "rewrite the generated section of each module README")

// modules are the reusable modules; their names are fixed by the cross-team contract.
var modules = []string{
	"network", "ecr", "api-service", "database", "secret-rotation",
	"audit-trail", "audit-alerts", "db-access-iam", "rotaudit",
	"org-member", "org-central",
}

// wildcardAllowed lists every IAM statement allowed to use the resource "*", with the
// reason. Each must also carry a "# checked: ..." comment in the HCL.
var wildcardAllowed = map[string]string{
	// KMS key policies: "*" in a key policy means the key the policy is attached to.
	"modules/_internal/kms-key admin AccountAdministers":    "key policy",
	"modules/audit-alerts key EventBridgeWritesDeadLetters": "key policy",
	"modules/audit-trail key CloudTrailEncrypts":            "key policy",
	"modules/audit-trail key CloudTrailDescribes":           "key policy",
	"modules/audit-trail key AccountReadsLogs":              "key policy",
	"modules/database key CloudWatchLogs":                   "key policy",
	"modules/secret-rotation key UseThroughSecretsManager":  "key policy",
	"modules/secret-rotation key OnlyThroughSecretsManager": "key policy",
	// Actions with no resource-level permissions.
	"modules/_internal/ecs-task-roles execution EcrLogin":       "ecr:GetAuthorizationToken",
	"modules/secret-rotation bootstrap GeneratePasswords":       "secretsmanager:GetRandomPassword",
	"modules/audit-alerts auditor LearnTrails":                  "cloudtrail:DescribeTrails",
	"modules/_internal/lambda-function this DescribeInterfaces": "ec2:Describe* of a VPC Lambda",
	"modules/_internal/lambda-function this WriteTraces":        "xray:PutTraceSegments",
	"modules/db-access-iam auditors ListAndLookUp":              "secretsmanager:ListSecrets, cloudtrail:LookupEvents",
	// A secret's resource policy: "*" is the secret the policy is attached to.
	"modules/secret-rotation secret OnlyNamedPrincipalsReadTheValue": "secret resource policy",
}

// repo moves the test to the repository root, so paths in messages are repo-relative.
func repo(t *testing.T) {
	t.Helper()
	t.Chdir(filepath.Join("..", ".."))
}

func loadAll(t *testing.T) []*Module {
	t.Helper()
	dirs, err := Roots(".")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < len(modules)+4 {
		t.Fatalf("found only %d Terraform directories: %v", len(dirs), dirs)
	}
	var out []*Module
	for _, d := range dirs {
		m, err := Load(d)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func report(t *testing.T, problems []string) {
	t.Helper()
	if len(problems) > 0 {
		t.Errorf("%d problem(s):\n%s", len(problems), strings.Join(problems, "\n"))
	}
}

func TestModuleLayout(t *testing.T) {
	repo(t)
	for _, name := range modules {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("modules", name)
			for _, f := range []string{"main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("%s: %v", dir, err)
				}
			}
			examples, _ := filepath.Glob(filepath.Join(dir, "examples", "*", "main.tf"))
			if len(examples) == 0 {
				t.Errorf("%s has no examples/<name>/main.tf", dir)
			}
			for _, e := range examples {
				m, err := Load(filepath.Dir(e))
				if err != nil {
					t.Fatal(err)
				}
				if !slices.ContainsFunc(m.Calls, func(c Call) bool { return c.Source == "../.." }) {
					t.Errorf("%s does not call its module with source \"../..\"", e)
				}
			}
			versions, err := os.ReadFile(filepath.Join(dir, "versions.tf"))
			if err != nil {
				t.Fatal(err)
			}
			// >= 1.5.0 keeps OpenTofu and 1.5 users; modules with write-only arguments or
			// ephemeral values need 1.11 and must say so.
			main, err := os.ReadFile(filepath.Join(dir, "main.tf"))
			if err != nil {
				t.Fatal(err)
			}
			want := `required_version = ">= 1.5.0"`
			if bytes.Contains(main, []byte("_wo ")) || bytes.Contains(main, []byte("_wo_version")) || bytes.Contains(main, []byte("ephemeral")) {
				want = `required_version = ">= 1.11.0"`
			}
			if !bytes.Contains(versions, []byte(want)) {
				t.Errorf("%s/versions.tf must say %s", dir, want)
			}
		})
	}
}

func TestVariablesAndOutputsDocumented(t *testing.T) {
	repo(t)
	for _, m := range loadAll(t) {
		t.Run(m.Dir, func(t *testing.T) {
			report(t, append(CheckVariables(m), CheckOutputs(m)...))
		})
	}
}

func TestModuleCallsMatchModules(t *testing.T) {
	repo(t)
	for _, m := range loadAll(t) {
		t.Run(m.Dir, func(t *testing.T) {
			report(t, CheckCalls(m))
		})
	}
}

func TestIAMWildcardResourcesAllowListed(t *testing.T) {
	repo(t)
	var stmts []Statement
	var inline []string
	for _, m := range loadAll(t) {
		stmts = append(stmts, Statements(m)...)
		for _, b := range InlinePolicies(m) {
			inline = append(inline, m.Dir+": "+b+" builds an IAM policy with jsonencode; use aws_iam_policy_document")
		}
	}
	if len(stmts) < 40 {
		t.Fatalf("found only %d policy statements: the parser is missing some", len(stmts))
	}
	report(t, append(CheckWildcards(stmts, wildcardAllowed), inline...))
}

// TestEnvironmentsDifferOnlyInValues: dev, stage and prod share every .tf file byte for
// byte; only terraform.tfvars and backend.hcl may differ.
func TestEnvironmentsDifferOnlyInValues(t *testing.T) {
	repo(t)
	list := func(dir string) []string {
		files, err := filepath.Glob(filepath.Join("envs", dir, "*.tf"))
		if err != nil {
			t.Fatal(err)
		}
		for i := range files {
			files[i] = filepath.Base(files[i])
		}
		return files
	}
	// The AWS roots share one definition in envs/common through symbolic links, so the
	// environments cannot drift apart; only terraform.tfvars and backend.hcl are their own.
	want := list("common")
	if !slices.Contains(want, "main.tf") {
		t.Fatalf("envs/common has no main.tf (files: %v)", want)
	}
	for _, env := range []string{"dev", "stage", "prod"} {
		t.Run(env, func(t *testing.T) {
			if got := list(env); !slices.Equal(got, want) {
				t.Fatalf("envs/%s has .tf files %v, envs/common has %v", env, got, want)
			}
			for _, f := range want {
				path := filepath.Join("envs", env, f)
				target, err := os.Readlink(path)
				if err != nil {
					t.Errorf("%s is not a link to ../common/%s (put differences in terraform.tfvars): %v", path, f, err)
					continue
				}
				if target != filepath.Join("..", "common", f) {
					t.Errorf("%s links to %s, want ../common/%s", path, target, f)
				}
				a, errA := os.ReadFile(path)
				b, errB := os.ReadFile(filepath.Join("envs", "common", f))
				if errA != nil || errB != nil || !bytes.Equal(a, b) {
					t.Errorf("%s does not resolve to envs/common/%s: %v %v", path, f, errA, errB)
				}
			}
			for _, f := range []string{"terraform.tfvars", "backend.hcl"} {
				if fi, err := os.Lstat(filepath.Join("envs", env, f)); err != nil {
					t.Error(err)
				} else if !fi.Mode().IsRegular() {
					t.Errorf("envs/%s/%s must be a file of its own", env, f)
				}
			}
		})
	}
}

// tfvars evaluates the literal values of an environment's terraform.tfvars.
func tfvars(t *testing.T, env string) map[string]cty.Value {
	t.Helper()
	f, diags := hclparse.NewParser().ParseHCLFile(filepath.Join("envs", env, "terraform.tfvars"))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	attrs, diags := f.Body.JustAttributes()
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	out := map[string]cty.Value{}
	for name, a := range attrs {
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() {
			t.Fatalf("envs/%s/terraform.tfvars: %s is not a literal: %v", env, name, diags)
		}
		out[name] = v
	}
	return out
}

func TestTfvarsSetDeclaredVariables(t *testing.T) {
	repo(t)
	// Set from the environment (TF_VAR_...), never committed.
	fromEnv := map[string]bool{"admin_initial_password": true}
	for _, env := range []string{"dev", "stage", "prod", "local"} {
		t.Run(env, func(t *testing.T) {
			m, err := Load(filepath.Join("envs", env))
			if err != nil {
				t.Fatal(err)
			}
			vals := tfvars(t, env)
			for name := range vals {
				if _, ok := m.Variable(name); !ok {
					t.Errorf("envs/%s/terraform.tfvars sets %q, which the root does not declare", env, name)
				}
			}
			for _, v := range m.Variables {
				if _, set := vals[v.Name]; v.Required() && !set && !fromEnv[v.Name] {
					t.Errorf("envs/%s/terraform.tfvars leaves out required variable %q", env, v.Name)
				}
			}
		})
	}
}

// TestEnvironmentShapes: dev is cheap and deletable, prod is strict.
func TestEnvironmentShapes(t *testing.T) {
	repo(t)
	tests := []struct {
		env  string
		name string
		want cty.Value
	}{
		{"dev", "db_multi_az", cty.False},
		{"dev", "db_deletion_protection", cty.False},
		{"dev", "trail_force_destroy", cty.True},
		{"dev", "enable_kms_endpoint", cty.False},
		{"prod", "db_multi_az", cty.True},
		{"prod", "db_deletion_protection", cty.True},
		{"prod", "lb_deletion_protection", cty.True},
		{"prod", "trail_object_lock_days", cty.NumberIntVal(365)},
		{"prod", "app_rotation_strategy", cty.StringVal("alternating-users")},
		{"stage", "app_rotation_strategy", cty.StringVal("alternating-users")},
		{"dev", "app_rotation_strategy", cty.StringVal("alternating-users")},
		{"dev", "audit_table_deletion_protection", cty.False},
		{"stage", "audit_table_deletion_protection", cty.True},
		{"prod", "audit_table_deletion_protection", cty.True},
		{"stage", "db_deletion_protection", cty.True},
		{"prod", "environment", cty.StringVal("prod")},
		{"stage", "environment", cty.StringVal("stage")},
		{"dev", "environment", cty.StringVal("dev")},
	}
	vals := map[string]map[string]cty.Value{}
	for _, tt := range tests {
		t.Run(tt.env+"/"+tt.name, func(t *testing.T) {
			if vals[tt.env] == nil {
				vals[tt.env] = tfvars(t, tt.env)
			}
			got, ok := vals[tt.env][tt.name]
			if !ok {
				t.Fatalf("envs/%s/terraform.tfvars does not set %s", tt.env, tt.name)
			}
			if !got.RawEquals(tt.want) {
				t.Errorf("envs/%s: %s = %#v, want %#v", tt.env, tt.name, got, tt.want)
			}
		})
	}
}

// moduleCall loads dir and returns it with its one module call NAME.
func moduleCall(t *testing.T, dir, name string) (*Module, BlockIn) {
	t.Helper()
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	calls := m.Blocks("module", name)
	if len(calls) != 1 {
		t.Fatalf("%s: want one module %q, found %d", dir, name, len(calls))
	}
	return m, calls[0]
}

// moduleEnvironment returns dir's module call NAME and its environment argument.
func moduleEnvironment(t *testing.T, dir, name string) (BlockIn, *hclsyntax.Attribute) {
	t.Helper()
	_, c := moduleCall(t, dir, name)
	a, ok := c.Block.Body.Attributes["environment"]
	if !ok {
		t.Fatalf("%s: module %q passes no environment", dir, name)
	}
	return c, a
}

// lambdaEnvKeys returns the keys of the environment that module NAME in dir (a call of
// modules/_internal/lambda-function) gives its function.
func lambdaEnvKeys(t *testing.T, dir, name string) []string {
	t.Helper()
	_, a := moduleEnvironment(t, dir, name)
	keys, ok := ObjectKeys(a.Expr)
	if !ok {
		t.Fatalf("%s: module %q: environment must be an object with literal keys so it can be checked", dir, name)
	}
	sort.Strings(keys)
	return keys
}

func TestLambdaEnvironmentMatchesGo(t *testing.T) {
	repo(t)
	tests := []struct {
		dir  string
		fn   string
		want []string
	}{
		// The rotators of modules/secret-rotation and modules/rotaudit (TestRotatorModuleWritesItsStrategy
		// checks both call this module).
		{filepath.Join("modules", "_internal", "rotator"), "function", rotation.EnvVars()},
		{filepath.Join("modules", "audit-alerts"), "auditor", audit.EnvVars()},
		{filepath.Join("modules", "secret-rotation"), "bootstrap", bootstrap.EnvVars()},
	}
	for _, tt := range tests {
		t.Run(tt.dir+"/"+tt.fn, func(t *testing.T) {
			want := slices.Clone(tt.want)
			sort.Strings(want)
			if got := lambdaEnvKeys(t, tt.dir, tt.fn); !slices.Equal(got, want) {
				t.Errorf("%s: module %s sets environment %v; the Go code reads %v", tt.dir, tt.fn, got, want)
			}
		})
	}
}

func TestReadmesMatchCode(t *testing.T) {
	repo(t)
	for _, name := range modules {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("modules", name)
			m, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "README.md")
			readme, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want, err := SpliceDocs(string(readme), Markdown(m))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if want == string(readme) {
				return
			}
			if *update {
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			t.Errorf("%s is out of date with the module's variables and outputs; run: go test ./internal/tfcheck -run TestReadmesMatchCode -update", path)
		})
	}
}

// TestAuditRulesUseSharedPatterns: the EventBridge rules read the same pattern documents
// as the audit code's tests, and the management rule sees read-only calls.
func TestAuditRulesUseSharedPatterns(t *testing.T) {
	repo(t)
	dir := filepath.Join("modules", "audit-alerts")
	for _, p := range []string{"management-events.json", "iam-events.json", "access-events.json"} {
		b, err := os.ReadFile(filepath.Join(dir, "patterns", p))
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Errorf("%s is not a JSON object: %v", p, err)
		}
	}
	main, err := os.ReadFile(filepath.Join(dir, "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`file("${path.module}/patterns/management-events.json")`,
		`file("${path.module}/patterns/iam-events.json")`,
		`file("${path.module}/patterns/access-events.json")`,
		`provider = aws.us_east_1`,
	} {
		if !bytes.Contains(main, []byte(want)) {
			t.Errorf("%s/main.tf lacks %s", dir, want)
		}
	}
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := m.Variable("management_rule_state")
	if v.Default != `"ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"` {
		t.Errorf("management_rule_state defaults to %s; read-only calls such as GetSecretValue need ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", v.Default)
	}
}

// TestLocalEnvironmentUsesEmulator: envs/local points every provider endpoint at the
// emulator the way tflocal does and leaves out CloudTrail and ECS.
func TestLocalEnvironmentUsesEmulator(t *testing.T) {
	repo(t)
	m, err := Load(filepath.Join("envs", "local"))
	if err != nil {
		t.Fatal(err)
	}
	v, ok := m.Variable("endpoint")
	if !ok || v.Default != `"http://localhost:4566"` {
		t.Errorf("envs/local: variable endpoint must default to \"http://localhost:4566\", got %q", v.Default)
	}
	providers := m.Blocks("provider", "aws")
	if len(providers) < 2 {
		t.Fatalf("envs/local: want the default and the us_east_1 aws providers, found %d", len(providers))
	}
	for _, p := range providers {
		body := p.Block.Body
		for name, want := range map[string]string{
			"access_key": `"test"`, "secret_key": `"test"`, "s3_use_path_style": "true",
			"skip_credentials_validation": "true", "skip_metadata_api_check": "true",
			"skip_requesting_account_id": "true",
		} {
			if got := source(p.File.Src, body.Attributes[name]); got != want {
				t.Errorf("envs/local provider %s: %s = %q, want %s", source(p.File.Src, body.Attributes["alias"]), name, got, want)
			}
		}
		var endpoints *hclsyntax.Block
		for _, b := range body.Blocks {
			if b.Type == "endpoints" {
				endpoints = b
			}
		}
		if endpoints == nil || len(endpoints.Body.Attributes) == 0 {
			t.Errorf("envs/local provider has no endpoints block")
			continue
		}
		for name, a := range endpoints.Body.Attributes {
			want := "var.endpoint"
			if name == "dynamodb" {
				// LocalStack in host mode has no DynamoDB: moto serves it beside it.
				want = "coalesce(var.dynamodb_endpoint, var.endpoint)"
			}
			if got := source(p.File.Src, a); got != want {
				t.Errorf("envs/local endpoint %s = %s, want %s", name, got, want)
			}
		}
	}
	// The deployment is modules/rotaudit, as for dev, stage and prod; only its switches
	// differ, and these must be off (the emulators have no ECS and no CloudTrail).
	for _, c := range m.Calls {
		if c.Source != "../../modules/rotaudit" {
			t.Errorf("envs/local calls %s: it must call only modules/rotaudit, the deployment AWS gets", c.Source)
		}
	}
	calls := m.Blocks("module", "rotaudit")
	if len(calls) != 1 {
		t.Fatalf("envs/local: want one module \"rotaudit\", found %d", len(calls))
	}
	for name, want := range map[string]string{"api_enabled": "false", "create_trail": "false", "databases": "local.databases"} {
		if got := source(calls[0].File.Src, calls[0].Block.Body.Attributes[name]); got != want {
			t.Errorf("envs/local: module rotaudit: %s = %q, want %s (the emulators lack it)", name, got, want)
		}
	}
	// Every database is the stack's PostgreSQL: no RDS or ECS database on the emulator.
	modes := 0
	for _, f := range m.Files {
		for _, mode := range regexp.MustCompile(`(?m)^\s*mode\s*=\s*(.+)$`).FindAllStringSubmatch(string(f.Src), -1) {
			modes++
			if strings.TrimSpace(mode[1]) != `"external"` {
				t.Errorf("envs/local: a database has mode = %s, want \"external\" (the emulators have no RDS or ECS)", mode[1])
			}
		}
	}
	if modes == 0 {
		t.Error("envs/local: no database with mode = \"external\" found")
	}
}

// TestAWSEnvironmentsRunRotatorInVPC: the rotator reaches PostgreSQL privately: the
// deployment gives the rotator the private subnets and its security group unless a root
// turns lambdas_in_vpc off, which no AWS environment does.
func TestAWSEnvironmentsRunRotatorInVPC(t *testing.T) {
	repo(t)
	m, err := Load(filepath.Join("modules", "rotaudit"))
	if err != nil {
		t.Fatal(err)
	}
	// The shared rotators, and each database's bootstrap (in secret_rotation), run where
	// local.placement puts their database: its own network (an external database's
	// network, given), else the private subnets and the rotator's group.
	for call, index := range map[string]string{"rotator": "local.rotator_db[each.key]", "secret_rotation": "each.key"} {
		calls := m.Blocks("module", call)
		if len(calls) != 1 {
			t.Fatalf("modules/rotaudit: want one module %q, found %d", call, len(calls))
		}
		attrs := calls[0].Block.Body.Attributes
		for _, name := range []string{"subnet_ids", "security_group_ids"} {
			if got, want := source(calls[0].File.Src, attrs[name]), "local.placement["+index+"]."+name; got != want {
				t.Errorf("modules/rotaudit %s: %s = %q, want %s", call, name, got, want)
			}
		}
	}
	placement, ok := localExprs(m)["placement"]
	if !ok {
		t.Fatal("modules/rotaudit: no local placement")
	}
	text := string(placement.expr.Range().SliceBytes(placement.src))
	for _, want := range []string{
		"d.network != null ? d.network :",
		"var.lambdas_in_vpc ? module.network.private_subnet_ids : []",
		`var.lambdas_in_vpc ? [module.network.security_group_ids["rotator"]] : []`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("modules/rotaudit: local.placement lacks %s:\n%s", want, text)
		}
	}
	if v, _ := m.Variable("lambdas_in_vpc"); v.Default != "true" {
		t.Errorf("modules/rotaudit: lambdas_in_vpc defaults to %s, want true", v.Default)
	}
	env, err := Load(filepath.Join("envs", "dev"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range env.Blocks("module", "rotaudit") {
		if _, set := c.Block.Body.Attributes["lambdas_in_vpc"]; set {
			t.Errorf("envs/dev sets lambdas_in_vpc: the AWS environments keep the rotator in the VPC")
		}
	}
}

// TestRootVariablesMatchTheDeployment: envs/common declares again the variables of
// modules/rotaudit it passes through (Terraform has no other way). Each must keep the
// module's type and default, and be passed as itself, so the two declarations cannot drift.
func TestRootVariablesMatchTheDeployment(t *testing.T) {
	repo(t)
	root, err := Load(filepath.Join("envs", "common"))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := Load(filepath.Join("modules", "rotaudit"))
	if err != nil {
		t.Fatal(err)
	}
	calls := root.Blocks("module", "rotaudit")
	if len(calls) != 1 {
		t.Fatalf("envs/common: want one module \"rotaudit\", found %d", len(calls))
	}
	passed := 0
	for _, rv := range root.Variables {
		mv, ok := mod.Variable(rv.Name)
		if !ok {
			continue
		}
		passed++
		if rv.Type != mv.Type || rv.Default != mv.Default {
			t.Errorf("variable %s: envs/common has type %q default %q, modules/rotaudit type %q default %q", rv.Name, rv.Type, rv.Default, mv.Type, mv.Default)
		}
		if got := source(calls[0].File.Src, calls[0].Block.Body.Attributes[rv.Name]); got != "var."+rv.Name {
			t.Errorf("envs/common passes %s = %q to modules/rotaudit, want var.%s", rv.Name, got, rv.Name)
		}
	}
	if passed < 40 {
		t.Fatalf("only %d shared variables found: the parser is missing some", passed)
	}
}
