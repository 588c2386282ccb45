package awscheck

import (
	"context"
	"strings"
	"testing"
)

// mutation breaks one thing in an applied environment, in memory: the documents read back
// from the apply are changed, not the Terraform (a re-apply per mutation would cost minutes
// on a busy machine). want lists what the failure message must name: the caller, the call
// and the resource.
type mutation struct {
	name, env string
	apply     func(t *testing.T, e *Env)
	want      func(e *Env) []string
}

func instanceOf(t *testing.T, e *Env, kind string) *Instance {
	t.Helper()
	for _, in := range e.Instances() {
		if in.Kind == kind {
			return in
		}
	}
	t.Fatalf("%s: no %s", e.Name, kind)
	return nil
}

// dropAction removes action from every Allow statement of the role's policies.
func dropAction(e *Env, role, action string) {
	p := e.Principals[role]
	var out []map[string]any
	for _, doc := range p.Policies {
		doc = deepCopy(doc)
		for _, st := range statements(doc) {
			switch a := st["Action"].(type) {
			case string:
				if a == action {
					st["Action"] = []any{}
				}
			case []any:
				var keep []any
				for _, x := range a {
					if x != action {
						keep = append(keep, x)
					}
				}
				st["Action"] = keep
			}
		}
		// Statements left with no action are dropped, as IAM would refuse them.
		var sts []any
		for _, st := range statements(doc) {
			if l, ok := st["Action"].([]any); ok && len(l) == 0 {
				continue
			}
			sts = append(sts, st)
		}
		doc["Statement"] = sts
		out = append(out, doc)
	}
	p.Policies = out
}

func statements(doc map[string]any) []map[string]any {
	var out []map[string]any
	switch s := doc["Statement"].(type) {
	case []any:
		for _, x := range s {
			if m, ok := x.(map[string]any); ok {
				out = append(out, m)
			}
		}
	case map[string]any:
		out = append(out, s)
	}
	return out
}

func deepCopy(doc map[string]any) map[string]any {
	var cp func(v any) any
	cp = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			m := make(map[string]any, len(x))
			for k, y := range x {
				m[k] = cp(y)
			}
			return m
		case []any:
			l := make([]any, len(x))
			for i, y := range x {
				l[i] = cp(y)
			}
			return l
		}
		return v
	}
	return cp(doc).(map[string]any)
}

var mutations = []mutation{
	{
		name: "bootstrap policy without UpdateSecretVersionStage", env: "dev",
		apply: func(t *testing.T, e *Env) {
			dropAction(e, instanceOf(t, e, Bootstrap).RoleARN, "secretsmanager:UpdateSecretVersionStage")
		},
		want: func(e *Env) []string {
			in := e.mustInstance(Bootstrap)
			return []string{in.Name, "secretsmanager:UpdateSecretVersionStage", in.Env["APP_SECRET_ARNS"]}
		},
	},
	{
		name: "rotator policy without UpdateSecretVersionStage", env: "stage",
		apply: func(t *testing.T, e *Env) {
			dropAction(e, instanceOf(t, e, Rotator).RoleARN, "secretsmanager:UpdateSecretVersionStage")
		},
		want: func(e *Env) []string {
			return []string{e.mustInstance(Rotator).Name, "secretsmanager:UpdateSecretVersionStage"}
		},
	},
	{
		name: "dev network without the Secrets Manager endpoint", env: "dev",
		apply: func(t *testing.T, e *Env) {
			var keep []endpoint
			for _, ep := range e.Net.endpoints {
				if ep.Service != "secretsmanager" {
					keep = append(keep, ep)
				}
			}
			if len(keep) == len(e.Net.endpoints) {
				t.Fatal("dev has no Secrets Manager endpoint to remove")
			}
			e.Net.endpoints = keep
		},
		want: func(e *Env) []string {
			in := e.mustInstance(Rotator)
			return []string{in.Name, "secretsmanager:GetSecretValue", in.Rotates[0], "NO NETWORK PATH"}
		},
	},
	{
		name: "API task role with secretsmanager:*", env: "prod",
		apply: func(t *testing.T, e *Env) {
			p := e.Principals[instanceOf(t, e, API).RoleARN]
			p.Policies = append(p.Policies, map[string]any{"Version": "2012-10-17", "Statement": []any{
				map[string]any{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}}})
		},
		want: func(e *Env) []string {
			in := e.mustInstance(API)
			return []string{in.Name, "secretsmanager:DeleteSecret", "awscheck-unrelated"}
		},
	},
}

// operator finds the stand-in operator user (scripts/aws-check.sh makes it a member of the
// db-operators group).
func operator(t *testing.T, e *Env) *Principal {
	t.Helper()
	for _, p := range e.Principals {
		if strings.HasPrefix(p.Name, "awscheck-operator (in ") {
			return p
		}
	}
	t.Fatalf("%s: no awscheck-operator user in a group (does the root have db_operator_user_arns?)", e.Name)
	return nil
}

// Two more, for issue 17's items 4 and 5: what the check says when an operator may call
// RotateSecret but not invoke the rotator, and when the secret's deny names roles only.
var peopleMutations = []mutation{
	{
		name: "operators without lambda:InvokeFunction", env: "dev",
		apply: func(t *testing.T, e *Env) {
			dropAction(e, operator(t, e).ARN, "lambda:InvokeFunction")
		},
		want: func(e *Env) []string {
			return []string{"awscheck-operator", "secretsmanager:RotateSecret", "rotaudit/dev/app", "lambda:InvokeFunction", "rotator"}
		},
	},
	{
		name: "secret deny policy excepting roles only", env: "stage",
		apply: func(t *testing.T, e *Env) {
			operator(t, e)
			for _, sec := range e.Secrets {
				if sec.Policy == nil {
					continue
				}
				sec.Policy = deepCopy(sec.Policy)
				for _, st := range statements(sec.Policy) {
					cond, _ := st["Condition"].(map[string]any)
					for _, kv := range cond {
						m, _ := kv.(map[string]any)
						for k, v := range m {
							var keep []any
							for _, x := range asList(v) {
								if s, _ := x.(string); !strings.Contains(s, ":user/") {
									keep = append(keep, x)
								}
							}
							m[k] = keep
						}
					}
				}
			}
		},
		want: func(e *Env) []string {
			return []string{"awscheck-operator", "secretsmanager:GetSecretValue", "rotaudit/stage/app", "denies"}
		},
	},
}

func asList(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case string:
		return []any{x}
	}
	return nil
}

func (e *Env) mustInstance(kind string) *Instance {
	for _, in := range e.Instances() {
		if in.Kind == kind {
			return in
		}
	}
	return &Instance{Name: "no " + kind}
}

// TestAWSCheckBites: each mutation makes the check fail with a message that names the
// function, the call and the resource. Each runs on a fresh copy of the environment.
func TestAWSCheckBites(t *testing.T) {
	_, ev := loadEnvs(t)
	ctx := context.Background()
	for _, m := range append(append(mutations, peopleMutations...), orgMutations...) {
		t.Run(m.name, func(t *testing.T) {
			envs, _ := loadEnvs(t) // fresh: mutations change the Env in place
			e := envs[m.env]
			m.apply(t, e)
			after, _, err := Check(ctx, ev, e)
			if err != nil {
				t.Fatal(err)
			}
			want := m.want(e)
			var hits []string
			// A finding that was there before the mutation counts too: the check catches the
			// mutation either way (on a tree that already lacks the permission, it fails already).
			for _, f := range after {
				all := true
				for _, w := range want {
					all = all && strings.Contains(f.String(), w)
				}
				if all {
					hits = append(hits, f.String())
				}
			}
			if len(hits) == 0 {
				t.Fatalf("the check did not catch %q: no finding names all of %q; findings:\n%s", m.name, want, listFindings(after))
			}
			for _, h := range hits {
				t.Logf("caught: %s", h)
			}
		})
	}
}

func listFindings(l []Finding) string {
	var b strings.Builder
	for _, f := range l {
		b.WriteString("  " + f.String() + "\n")
	}
	return b.String()
}
