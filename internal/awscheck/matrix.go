package awscheck

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Ops are the matrix's columns per secret, each the requests AWS evaluates for it.
var Ops = []string{"read", "write", "rotate", "delete", "decrypt"}

// Matrix says, per secret, which principals may do what.
type Matrix struct {
	Env     string
	Secrets []string    // names
	Rows    []MatrixRow // principals holding at least one permission
	Others  int         // principals holding none
	// Deliveries are EventBridge's calls, with the evaluator's decision.
	Deliveries []Delivery
	allowed    map[string][]string // principal ARN -> "op secret"
}

// MatrixRow is one principal's permissions, per secret.
type MatrixRow struct {
	Principal string
	Cells     []string // per secret: the ops allowed, "" when none
}

// outsider is a principal of the account that no policy of the deployment names, with
// full permissions of its own: what the resource and key policies alone hold back.
const outsiderName = "any other principal of the account, even with secretsmanager:*, kms:*, lambda:* on *"

// stableName drops the suffix Terraform's name_prefix adds (a 26-digit timestamp).
var generatedSuffix = regexp.MustCompile(`-?[0-9]{20,}$`)

func stableName(n string) string { return generatedSuffix.ReplaceAllString(n, "") }

func (e *Env) opRequests(principal string, identity []map[string]any, s *Secret, op string) []Request {
	base := func(action, res string, pol map[string]any) Request {
		return Request{
			Principal: principal, Action: action, Resource: res, AccountID: e.Account,
			IdentityPolicies: identity, ResourcePolicy: pol, Context: e.principalContext(principal),
		}
	}
	cmk := s.KeyARN != "" && e.Keys[s.KeyARN] != nil
	via := func(action string) []Request {
		if !cmk {
			return nil
		}
		r := base(action, s.KeyARN, e.Keys[s.KeyARN])
		r.Context["kms:ViaService"] = "secretsmanager." + e.Region + ".amazonaws.com"
		r.Context["kms:CallerAccount"] = e.Account
		return []Request{r}
	}
	switch op {
	case "read":
		return append([]Request{base("secretsmanager:GetSecretValue", s.ARN, s.Policy)}, via("kms:Decrypt")...)
	case "write":
		return append([]Request{base("secretsmanager:PutSecretValue", s.ARN, s.Policy)}, via("kms:GenerateDataKey")...)
	case "rotate":
		// RotateSecret also needs lambda:InvokeFunction on the rotation function, which
		// IAM's action data does not say.
		// https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples.html
		out := []Request{base("secretsmanager:RotateSecret", s.ARN, s.Policy)}
		if f := e.function(s.RotationLambdaARN); f != nil {
			out = append(out, base("lambda:InvokeFunction", f.ARN, f.Policy))
		}
		return out
	case "delete":
		return []Request{base("secretsmanager:DeleteSecret", s.ARN, s.Policy)}
	case "decrypt":
		if !cmk {
			return nil
		}
		r := base("kms:Decrypt", s.KeyARN, e.Keys[s.KeyARN])
		r.Context["kms:CallerAccount"] = e.Account
		return []Request{r}
	}
	return nil
}

// principalContext: the request context AWS sets for a principal. People (IAM users) sign
// in with MFA, which the groups' policies ask for (some within the last hour).
func (e *Env) principalContext(arn string) map[string]any {
	c := map[string]any{"aws:PrincipalArn": arn, "aws:PrincipalAccount": e.Account}
	if strings.Contains(arn, ":user/") {
		c["aws:MultiFactorAuthPresent"] = "true"
		c["aws:MultiFactorAuthAge"] = "300"
	}
	return c
}

// matrix evaluates who may do what to each secret, and the rules on it.
func (e *Env) matrix(ctx context.Context, ev Evaluator) (*Matrix, []Finding, error) {
	type who struct {
		arn, name string
		identity  []map[string]any
		standIn   bool
	}
	var principals []who
	for _, arn := range sortedKeys(e.Principals) {
		p := e.Principals[arn]
		principals = append(principals, who{arn, stableName(p.Name), p.Policies, p.StandIn})
	}
	outsider := who{fmt.Sprintf("arn:aws:iam::%s:role/awscheck-outsider", e.Account), outsiderName,
		[]map[string]any{allowAll}, false}
	principals = append(principals, outsider)
	secrets := sortedSecrets(e)

	type slot struct{ p, s, op, n int }
	var reqs []Request
	var slots []slot
	for pi, p := range principals {
		for si, s := range secrets {
			for oi, op := range Ops {
				rs := e.opRequests(p.arn, p.identity, s, op)
				if len(rs) == 0 {
					continue
				}
				slots = append(slots, slot{pi, si, oi, len(rs)})
				reqs = append(reqs, rs...)
			}
		}
	}
	// The wildcard rule: nobody holds secretsmanager:*, kms:* (or *) on every resource. An
	// unrelated secret and key (the key's policy the default, which delegates to IAM) show it.
	unrelatedSecret := fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:awscheck-unrelated-AbCdEf", e.Region, e.Account)
	unrelatedKey := fmt.Sprintf("arn:aws:kms:%s:%s:key/00000000-0000-0000-0000-00000000a5c0", e.Region, e.Account)
	defaultKeyPolicy := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::" + e.Account + ":root"}, "Action": "kms:*", "Resource": "*"}}}
	wild := []struct{ action, res string }{
		{"secretsmanager:DeleteSecret", unrelatedSecret}, {"secretsmanager:GetSecretValue", unrelatedSecret},
		{"kms:Decrypt", unrelatedKey}, {"kms:ScheduleKeyDeletion", unrelatedKey},
	}
	wildStart := len(reqs)
	for _, p := range principals[:len(principals)-1] {
		for _, w := range wild {
			r := Request{Principal: p.arn, Action: w.action, Resource: w.res, AccountID: e.Account, IdentityPolicies: p.identity,
				Context: e.principalContext(p.arn)}
			if strings.HasPrefix(w.action, "kms:") {
				r.ResourcePolicy = defaultKeyPolicy
			}
			reqs = append(reqs, r)
		}
	}
	// Locked out: a principal its own policies let read a secret whose policy denies it
	// (the exceptions name roles only, or miss a user). The stand-in member of a group with
	// no members is left out: Terraform owns the membership, so it is meant to be denied.
	type lock struct{ p, s int }
	var locks []lock
	lockStart := len(reqs)
	for pi, p := range principals[:len(principals)-1] {
		if p.standIn {
			continue
		}
		for si, s := range secrets {
			if s.Policy == nil {
				continue
			}
			locks = append(locks, lock{pi, si})
			r := e.opRequests(p.arn, p.identity, s, "read")[0]
			r.ResourcePolicy = nil
			reqs = append(reqs, r)
		}
	}
	dec, err := ev.Evaluate(ctx, reqs)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: matrix: %w", e.Name, err)
	}
	readDecision := map[[2]int]Decision{}
	{
		k := 0
		for _, sl := range slots {
			if Ops[sl.op] == "read" {
				readDecision[[2]int{sl.p, sl.s}] = dec[k]
			}
			k += sl.n
		}
	}
	var findings []Finding
	for i, l := range locks {
		if dec[lockStart+i] == Allowed && readDecision[[2]int{l.p, l.s}] == "ExplicitlyDenied" {
			findings = append(findings, Finding{Env: e.Name, Message: fmt.Sprintf(
				"%s: its policies grant secretsmanager:GetSecretValue on %s, but the secret's policy denies it: it is missing from the policy's exceptions",
				principals[l.p].name, secrets[l.s].Name)})
		}
	}
	add := func(format string, args ...any) {
		findings = append(findings, Finding{Env: e.Name, Message: fmt.Sprintf(format, args...)})
	}
	// A principal that runs code is named by its function or task too.
	label := map[string]string{}
	for _, in := range e.Instances() {
		label[in.RoleARN] = in.Kind + " " + in.Name + " (role " + stableName(e.principalName(in.RoleARN)) + ")"
	}
	for i, p := range principals[:len(principals)-1] {
		name := p.name
		if l, ok := label[p.arn]; ok {
			name = l
		}
		for j, w := range wild {
			if dec[wildStart+i*len(wild)+j] == Allowed {
				add("%s may call %s on %s, a resource of no one's: it holds a wildcard (secretsmanager:*, kms:* or * on *)", name, w.action, w.res)
			}
		}
	}

	allowed := map[[3]int]bool{}
	k := 0
	for _, sl := range slots {
		ok := true
		for n := 0; n < sl.n; n++ {
			ok = ok && dec[k+n] == Allowed
		}
		// Half a permission: the API call is allowed, the call it needs is not (RotateSecret
		// without lambda:InvokeFunction on the rotator; GetSecretValue without kms:Decrypt).
		// Such a principal was meant to have the permission, and AWS will refuse it.
		if p := principals[sl.p]; p.arn != outsider.arn && dec[k] == Allowed && !ok {
			for n := 1; n < sl.n; n++ {
				if dec[k+n] != Allowed {
					add("%s may call %s on %s but not %s on %s, which it needs: AWS refuses the %s", p.name, reqs[k].Action, secrets[sl.s].Name, reqs[k+n].Action, reqs[k+n].Resource, Ops[sl.op])
				}
			}
		}
		k += sl.n
		allowed[[3]int{sl.p, sl.s, sl.op}] = ok
	}
	m := &Matrix{Env: e.Name, allowed: map[string][]string{}}
	for _, s := range secrets {
		m.Secrets = append(m.Secrets, s.Name)
	}
	apiRoles := map[string]string{}
	for _, in := range e.Instances() {
		if in.Kind == API {
			apiRoles[in.RoleARN] = e.secretARN(in.Env["DB_SECRET_ID"])
		}
	}
	for pi, p := range principals {
		row := MatrixRow{Principal: p.name}
		any := false
		for si, s := range secrets {
			var ops []string
			for oi, op := range Ops {
				if allowed[[3]int{pi, si, oi}] {
					ops = append(ops, op)
					m.allowed[p.arn] = append(m.allowed[p.arn], op+" "+s.Name)
					// The API task reads its secret and does nothing else.
					if app, isAPI := apiRoles[p.arn]; isAPI && !(op == "read" && s.ARN == app) {
						add("%s may %s %s: the API task reads the app secret only", label[p.arn], op, s.Name)
					}
					// The policies alone keep a principal they do not name from reading.
					if p.arn == outsider.arn && s.Policy != nil && (op == "read" || op == "decrypt") {
						add("%s may %s %s: the secret's and key's policies must deny it", p.name, op, s.Name)
					}
				}
			}
			row.Cells = append(row.Cells, strings.Join(ops, ", "))
			any = any || len(ops) > 0
		}
		if any || p.arn == outsider.arn {
			m.Rows = append(m.Rows, row)
		} else {
			m.Others++
		}
	}
	for arn, app := range apiRoles {
		if !contains(m.allowed[arn], "read "+e.Secrets[app].Name) {
			add("%s cannot read %s", label[arn], e.Secrets[app].Name)
		}
	}
	sort.SliceStable(m.Rows, func(i, j int) bool {
		if (m.Rows[i].Principal == outsiderName) != (m.Rows[j].Principal == outsiderName) {
			return m.Rows[j].Principal == outsiderName
		}
		return m.Rows[i].Principal < m.Rows[j].Principal
	})
	return m, findings, nil
}

// Delivery is one call of EventBridge's and whether AWS allows it.
type Delivery struct {
	Call
	Allowed bool
}

// Markdown renders the matrix as a table, and EventBridge's calls as another.
func (m *Matrix) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**\n\n", m.Env)
	if len(m.Secrets) > 0 {
		m.secretTable(&b)
	}
	if len(m.Deliveries) > 0 {
		if len(m.Secrets) > 0 {
			b.WriteString("\n")
		}
		b.WriteString("| EventBridge delivery | call | on | AWS |\n|---|---|---|---|\n")
		for _, d := range m.Deliveries {
			verdict := map[bool]string{true: "allows", false: "refuses"}[d.Allowed]
			if d.Refused != "" {
				verdict += " (must refuse: " + d.Refused + ")"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", d.Caller, d.Action, shortARN(d.Resource), verdict)
		}
	}
	return b.String()
}

// shortARN: an ARN's account and resource, without the partition, service and region the
// call already says.
func shortARN(arn string) string {
	p := strings.SplitN(arn, ":", 6)
	if len(p) < 6 {
		return "`" + arn + "`"
	}
	return "`" + p[5] + "` (" + p[4] + ")"
}

func (m *Matrix) secretTable(b *strings.Builder) {
	b.WriteString("| principal |")
	for _, s := range m.Secrets {
		fmt.Fprintf(b, " `%s` |", s)
	}
	b.WriteString("\n|---|")
	for range m.Secrets {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range m.Rows {
		fmt.Fprintf(b, "| %s |", r.Principal)
		for _, c := range r.Cells {
			if c == "" {
				c = "—"
			}
			fmt.Fprintf(b, " %s |", c)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "\nEvery other principal of the deployment (%d roles and users) may do none of these.\n", m.Others)
}
