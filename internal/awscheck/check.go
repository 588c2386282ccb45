package awscheck

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Finding is one thing AWS would refuse, or one rule of the access model broken.
type Finding struct {
	Env, Message string
}

func (f Finding) String() string { return f.Env + ": " + f.Message }

// Check evaluates every call of an environment: permission (identity policy, resource
// policy, key policy, their conditions; a call marked Refused must be refused) and network
// path; then the access model's rules (wildcards, the API's reach). The matrix is returned
// for the docs.
func Check(ctx context.Context, ev Evaluator, e *Env) ([]Finding, *Matrix, error) {
	calls := e.Calls()
	var reqs []Request
	for _, c := range calls {
		reqs = append(reqs, c.request(e))
	}
	dec, err := ev.Evaluate(ctx, reqs)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", e.Name, err)
	}
	var findings []Finding
	add := func(format string, args ...any) {
		findings = append(findings, Finding{Env: e.Name, Message: fmt.Sprintf(format, args...)})
	}
	// Why a denied call is denied: its identity policy alone, its resource policy alone. Across
	// accounts both must allow: the identity policy is judged beside a resource policy that
	// admits the principal.
	var why []Request
	var denied []Call
	for i, c := range calls {
		if c.Refused != "" {
			if dec[i] == Allowed {
				add("%s: ALLOWED, and AWS must refuse it (%s)", c, c.Refused)
			}
			continue
		}
		if dec[i] == Allowed {
			continue
		}
		denied = append(denied, c)
		r := c.request(e)
		r.ResourcePolicy = nil
		if r.AccountID != arnAccount(c.Principal) && arnAccount(c.Principal) != "" {
			r.ResourcePolicy = admit(c.Principal)
		}
		why = append(why, r)
		r = c.request(e)
		r.IdentityPolicies = []map[string]any{allowAll}
		why = append(why, r)
	}
	whyDec, err := ev.Evaluate(ctx, why)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", e.Name, err)
	}
	for i, c := range denied {
		var reasons []string
		if c.Identity != nil && whyDec[2*i] != Allowed {
			reasons = append(reasons, "its role's policies do not allow it")
		}
		if c.ResourcePolicy != nil && whyDec[2*i+1] != Allowed {
			reasons = append(reasons, "the resource's policy "+map[bool]string{true: "denies", false: "does not allow"}[whyDec[2*i+1] == "ExplicitlyDenied"]+" it")
		}
		if len(reasons) == 0 {
			reasons = append(reasons, "the identity and resource policies together do not allow it")
		}
		add("%s: DENIED (%s)", c, strings.Join(reasons, "; "))
	}
	findings = append(findings, e.networkFindings(ctx, ev, calls)...)

	m, mf, err := e.matrix(ctx, ev)
	if err != nil {
		return nil, nil, err
	}
	for i, c := range calls {
		if c.event {
			m.Deliveries = append(m.Deliveries, Delivery{Call: c, Allowed: dec[i] == Allowed})
		}
	}
	findings = append(findings, mf...)
	findings = append(findings, APIRules(e.Name, e.Resources)...)
	sort.SliceStable(findings, func(i, j int) bool { return findings[i].Message < findings[j].Message })
	return findings, m, nil
}

var allowAll = map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Action": "*", "Resource": "*"}}}

// admit is a resource policy that lets principal do anything.
func admit(principal string) map[string]any {
	return map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"AWS": principal}, "Action": "*", "Resource": "*"}}}
}

func (c Call) request(e *Env) Request {
	ctx := map[string]any{}
	for k, v := range c.Context {
		ctx[k] = v
	}
	return Request{
		Principal: c.Principal, Action: c.Action, Resource: c.Resource, AccountID: resourceAccount(c.Resource, e.Account),
		IdentityPolicies: c.Identity, ResourcePolicy: c.ResourcePolicy, Context: ctx,
	}
}

// resourceAccount: the account in an ARN; S3 and "*" carry none.
func resourceAccount(arn, def string) string {
	if p := strings.Split(arn, ":"); len(p) > 4 && p[4] != "" {
		return p[4]
	}
	return def
}

// endpointService maps an IAM prefix to the VPC endpoint service that serves it.
var endpointService = map[string]string{
	"secretsmanager": "secretsmanager", "rds": "rds", "sns": "sns", "dynamodb": "dynamodb", "s3": "s3", "kms": "kms",
}

// networkFindings: each call a caller in a VPC needs reaches its service (and the
// endpoint's policy, if any, allows it); the callers that log in to PostgreSQL reach it;
// the API's task reaches what ECS needs to start it (ECR, S3 for the layers, Logs).
func (e *Env) networkFindings(ctx context.Context, ev Evaluator, calls []Call) []Finding {
	var out []Finding
	add := func(format string, args ...any) {
		out = append(out, Finding{Env: e.Name, Message: fmt.Sprintf(format, args...)})
	}
	var reqs []Request
	var reqCalls []Call
	for _, c := range calls {
		if c.inst == nil || c.Via != "" || !c.Needed || len(c.inst.Subnets) == 0 {
			continue
		}
		svc := endpointService[strings.SplitN(c.Action, ":", 2)[0]]
		how, policy, err := e.Net.Reach(svc, c.inst.Subnets, c.inst.SGs, c.inst.PublicIP)
		if err != nil {
			add("%s: NO NETWORK PATH (%v)", c, err)
			continue
		}
		if policy != nil {
			r := c.request(e)
			r.IdentityPolicies = []map[string]any{}
			r.ResourcePolicy = policy
			reqs = append(reqs, r)
			reqCalls = append(reqCalls, Call{Caller: c.Caller, Action: c.Action, Resource: c.Resource + " through " + how})
		}
	}
	if len(reqs) > 0 {
		dec, err := ev.Evaluate(ctx, reqs)
		if err != nil {
			add("endpoint policies: %v", err)
		}
		for i, c := range reqCalls {
			if err == nil && dec[i] != Allowed {
				add("%s: DENIED by the endpoint's policy", c)
			}
		}
	}
	for _, in := range e.Instances() {
		if len(in.Subnets) == 0 {
			continue
		}
		if in.Kind != Auditor && len(e.DBSGs) > 0 && !e.Net.allows(5432, in.SGs, in.Subnets, e.DBSGs, e.DBSubnets) {
			add("%s %s: NO NETWORK PATH to PostgreSQL on 5432 (security groups %v to the database's %v)", in.Kind, in.Name, in.SGs, e.DBSGs)
		}
	}
	// Every ECS task that a service runs (the API, the ECS database) starts only when ECS can
	// pull its image (ECR API, ECR Docker, S3 for the layers) and ship its logs from the
	// task's subnets.
	// https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html
	for _, t := range e.Tasks {
		if len(t.Subnets) == 0 {
			continue
		}
		for _, svc := range []string{"ecr.api", "ecr.dkr", "s3", "logs"} {
			if _, _, err := e.Net.Reach(svc, t.Subnets, t.SGs, t.PublicIP); err != nil {
				add("task %s: cannot start, pulling its image and writing its logs: NO NETWORK PATH (%v)", t.Family, err)
			}
		}
	}
	return out
}
