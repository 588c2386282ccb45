package tfcheck

import (
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/rotaudit/rotaudit/internal/audit"
	"github.com/rotaudit/rotaudit/internal/audit/state"
	"github.com/rotaudit/rotaudit/internal/bootstrap"
	"github.com/rotaudit/rotaudit/internal/dbcreds"
	"github.com/rotaudit/rotaudit/internal/rotation"
)

// sdkInterface is a narrow SDK interface a function or task declares, with the IAM
// service prefix of the client that satisfies it. Each method is one API call, and for
// these services the IAM action has the operation's name (s3:GetObject, rds:DescribeDBInstances).
type sdkInterface struct {
	iface   reflect.Type
	service string
}

func ifaceOf[T any](service string) sdkInterface {
	return sdkInterface{iface: reflect.TypeFor[T](), service: service}
}

// principal is code that runs under one role, and the policy document Terraform gives
// that role.
type principal struct {
	name     string
	calls    []sdkInterface
	dir      string // module directory
	document string // data "aws_iam_policy_document" label
}

// principals is the inventory: every role whose code reaches AWS through a narrow
// interface. The interfaces are the code's own declarations, so a call added to one of
// them is a permission this test demands.
var principals = []principal{
	{
		name:     "bootstrap (functions/dbbootstrap)",
		calls:    []sdkInterface{ifaceOf[bootstrap.SecretsAPI]("secretsmanager"), ifaceOf[bootstrap.StageAPI]("secretsmanager")},
		dir:      filepath.Join("modules", "secret-rotation"),
		document: "bootstrap",
	},
	{
		// modules/secret-rotation's rotators and modules/rotaudit's shared ones alike.
		name:     "rotator (functions/rotator)",
		calls:    []sdkInterface{ifaceOf[rotation.SecretsManager]("secretsmanager"), ifaceOf[rotation.RDS]("rds")},
		dir:      filepath.Join("modules", "_internal", "rotator"),
		document: "this",
	},
	{
		name:     "auditor (functions/auditor)",
		calls:    []sdkInterface{ifaceOf[audit.S3API]("s3"), ifaceOf[audit.SNSAPI]("sns"), ifaceOf[state.DynamoAPI]("dynamodb")},
		dir:      filepath.Join("modules", "audit-alerts"),
		document: "auditor",
	},
	{
		name:     "rates API task (service/)",
		calls:    []sdkInterface{ifaceOf[dbcreds.SecretsAPI]("secretsmanager")},
		dir:      filepath.Join("modules", "api-service"),
		document: "task",
	},
}

// actions lists the IAM actions the interfaces' methods need, sorted and distinct.
func actions(calls []sdkInterface) []string {
	var out []string
	for _, c := range calls {
		for i := range c.iface.NumMethod() {
			out = append(out, c.service+":"+c.iface.Method(i).Name)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// missingGrants reports every action the code needs that no Allow statement grants.
func missingGrants(p principal, need []string, grants []Grant) []string {
	var out []string
	for _, a := range need {
		if !slices.ContainsFunc(grants, func(g Grant) bool { return strings.EqualFold(g.Action, a) }) {
			out = append(out, fmt.Sprintf("%s calls %s, but no Allow statement of %s data.aws_iam_policy_document.%s grants it: AWS will refuse the call", p.name, a, p.dir, p.document))
		}
	}
	return out
}

// TestRolesAllowTheCallsTheCodeMakes: each role's policy document in Terraform grants
// every API call of the narrow SDK interfaces its code declares. The emulators enforce no
// IAM, so without this a missing action (the bootstrap's UpdateSecretVersionStage, issue
// 17) shows up only on the first real apply.
func TestRolesAllowTheCallsTheCodeMakes(t *testing.T) {
	repo(t)
	for _, p := range principals {
		t.Run(p.name, func(t *testing.T) {
			m, err := Load(p.dir)
			if err != nil {
				t.Fatal(err)
			}
			grants := Allowed(m, p.document)
			if len(grants) == 0 {
				t.Fatalf("%s has no data.aws_iam_policy_document.%s with literal actions", p.dir, p.document)
			}
			need := actions(p.calls)
			if len(need) == 0 {
				t.Fatalf("%s: the interfaces declare no methods", p.name)
			}
			report(t, missingGrants(p, need, grants))

			// Proof that the check bites: taking away any one needed action from the
			// document is reported, naming that action.
			for _, a := range need {
				without := slices.DeleteFunc(slices.Clone(grants), func(g Grant) bool { return strings.EqualFold(g.Action, a) })
				got := missingGrants(p, need, without)
				if len(got) != 1 || !strings.Contains(got[0], a) {
					t.Errorf("removing %s from %s: want one problem naming it, got %q", a, p.document, got)
				}
			}
		})
	}
}

// TestRotateSecretCallersMayInvokeTheRotator: RotateSecret invokes the secret's rotation
// function with the caller's permissions, so a policy that grants RotateSecret without
// lambda:InvokeFunction (the db-operators group of issue 17) gives a call AWS refuses.
// And every root that calls db-access-iam must hand it the rotators to scope that to.
func TestRotateSecretCallersMayInvokeTheRotator(t *testing.T) {
	repo(t)
	var problems []string
	checked := 0
	for _, m := range loadAll(t) {
		for _, doc := range m.Blocks("data", "aws_iam_policy_document") {
			name := doc.Block.Labels[1]
			grants := Allowed(m, name)
			has := func(a string) bool {
				return slices.ContainsFunc(grants, func(g Grant) bool { return strings.EqualFold(g.Action, a) })
			}
			if !has("secretsmanager:RotateSecret") {
				continue
			}
			checked++
			if !has("lambda:InvokeFunction") {
				problems = append(problems, fmt.Sprintf("%s data.aws_iam_policy_document.%s grants secretsmanager:RotateSecret but not lambda:InvokeFunction on the rotator: RotateSecret is refused", m.Dir, name))
			}
		}
		for _, c := range m.Calls {
			if strings.HasSuffix(c.Source, "modules/db-access-iam") && !slices.Contains(c.Args, "rotator_function_arns") {
				problems = append(problems, fmt.Sprintf("%s: module %q (db-access-iam) gets no rotator_function_arns, so its operators cannot call RotateSecret", m.Dir, c.Name))
			}
		}
	}
	if checked < 3 {
		t.Fatalf("found only %d policy documents granting RotateSecret; db-access-iam alone has three", checked)
	}
	report(t, problems)
}

// TestRotationWaitsForTheFirstPassword: configuring rotation makes Secrets Manager run the
// function's testSecret step at once, even with rotate_immediately = false. A secret whose
// Terraform-written value has no password gets one only from the bootstrap, so its
// rotation must be ordered after the bootstrap's invocation, or it starts with
// RotationFailed (issue 17).
func TestRotationWaitsForTheFirstPassword(t *testing.T) {
	repo(t)
	dir := filepath.Join("modules", "secret-rotation")
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	locals := localExprs(m)
	noPassword := map[string]bool{}
	for _, b := range m.Blocks("resource", "aws_secretsmanager_secret_version") {
		a, ok := b.Block.Body.Attributes["secret_string"]
		if !ok {
			continue
		}
		if v := readSecretValue(b.File.Src, a.Expr, locals); len(v.keys) > 0 && !slices.Contains(v.keys, "password") {
			for _, id := range refs(b.File.Src, b.Block.Body.Attributes["secret_id"], locals) {
				noPassword[id] = true
			}
		}
	}
	if len(noPassword) == 0 {
		t.Fatalf("%s writes no secret value without a password; the app secret's first value has none", dir)
	}
	checked := 0
	for _, b := range m.Blocks("resource", "aws_secretsmanager_secret_rotation") {
		ids := refs(b.File.Src, b.Block.Body.Attributes["secret_id"], locals)
		if !slices.ContainsFunc(ids, func(id string) bool { return noPassword[id] }) {
			continue
		}
		checked++
		deps := source(b.File.Src, b.Block.Body.Attributes["depends_on"])
		if !strings.Contains(deps, "aws_lambda_invocation.bootstrap") {
			t.Errorf("%s: %s rotates %v, whose first value has no password, without depends_on aws_lambda_invocation.bootstrap: its day-one testSecret fails (RotationFailed)", dir, b.Name(), ids)
		}
	}
	if checked == 0 {
		t.Fatalf("%s: no rotation of the secrets without a password %v", dir, noPassword)
	}
}

// TestServiceTrustPoliciesNameTheAccount: a role an AWS service assumes must say for whose
// resources (aws:SourceAccount or aws:SourceArn), or any account's use of that service
// could act through it (confused deputy). Issue 17 found the flow-log and RDS-monitoring
// roles without it.
func TestServiceTrustPoliciesNameTheAccount(t *testing.T) {
	repo(t)
	var problems []string
	checked := 0
	for _, m := range loadAll(t) {
		for _, doc := range m.Blocks("data", "aws_iam_policy_document") {
			for _, b := range doc.Block.Body.Blocks {
				body := statementBody(b)
				if body == nil || !strings.Contains(source(doc.File.Src, body.Attributes["actions"]), "sts:AssumeRole") {
					continue
				}
				service := false
				for _, p := range body.Blocks {
					if p.Type == "principals" && stringAttr(p.Body, "type") == "Service" {
						service = true
					}
				}
				if !service {
					continue
				}
				checked++
				scoped := false
				for _, c := range body.Blocks {
					if v := stringAttr(c.Body, "variable"); c.Type == "condition" && (v == "aws:SourceAccount" || v == "aws:SourceArn") {
						scoped = true
					}
				}
				if !scoped {
					problems = append(problems, fmt.Sprintf("%s:%d: data.aws_iam_policy_document.%s lets a service assume the role without an aws:SourceAccount or aws:SourceArn condition (confused deputy)",
						doc.File.Path, b.DefRange().Start.Line, doc.Block.Labels[1]))
				}
			}
		}
	}
	if checked < 5 {
		t.Fatalf("found only %d service trust statements; the Lambda, ECS, flow-log, RDS-monitoring and EventBridge roles have one each", checked)
	}
	report(t, problems)
}
