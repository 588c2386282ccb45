package awscheck

import (
	"fmt"
	"sort"
	"strings"

	"github.com/rotaudit/rotaudit/internal/audit"
	"github.com/rotaudit/rotaudit/internal/bootstrap"
	"github.com/rotaudit/rotaudit/internal/rotation"
)

// Instance is one deployed caller: a function or a task of some kind, with the principal
// its code runs as and where it runs.
type Instance struct {
	Kind, Name   string // Kind: Rotator, Bootstrap, Auditor, API
	RoleARN      string
	Env          map[string]string
	Subnets, SGs []string
	PublicIP     bool
	Rotates      []string // secret ARNs (rotators)
}

// Call is one request that AWS evaluates: a principal (or a service principal) asking for
// an action on a resource, with the policies and context AWS would use.
type Call struct {
	Caller   string // "rotator rotaudit-dev-rotator-single-user", or "Secrets Manager (rotation of ...)"
	Kind     string // the caller's kind (Rotator, ...), "" for a service
	Action   string
	Resource string
	Via      string // the call this one is made for (a KMS call Secrets Manager makes), "" when direct
	// What AWS evaluates.
	Principal      string
	Identity       []map[string]any
	ResourcePolicy map[string]any
	Context        map[string]any
	// Network: whether the call has to reach the service from where the caller runs.
	Needed bool
	// Refused says why AWS must refuse the call ("" for a call that must be allowed).
	Refused string
	event   bool // a delivery of EventBridge (eventCalls), listed in the docs
	inst    *Instance
}

func (c Call) String() string {
	s := fmt.Sprintf("%s: %s on %s", c.Caller, c.Action, c.Resource)
	if c.Via != "" {
		s += " (for " + c.Via + ")"
	}
	return s
}

// Instances finds the deployed callers of an environment.
func (e *Env) Instances() []*Instance {
	var out []*Instance
	rotates := map[string][]string{}
	for _, s := range e.Secrets {
		if s.RotationLambdaARN != "" {
			if f := e.function(s.RotationLambdaARN); f != nil {
				rotates[f.Name] = append(rotates[f.Name], s.ARN)
			}
		}
	}
	names := make([]string, 0, len(e.Functions))
	for n := range e.Functions {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := e.Functions[n]
		in := &Instance{Name: f.Name, RoleARN: f.RoleARN, Env: f.Env, Subnets: f.Subnets, SGs: f.SGs}
		switch {
		case len(rotates[n]) > 0:
			in.Kind = Rotator
			in.Rotates = rotates[n]
			sort.Strings(in.Rotates)
		case f.Env[bootstrap.EnvAppSecretARNs] != "":
			in.Kind = Bootstrap
		case f.Env[audit.EnvStateTable] != "":
			in.Kind = Auditor
		default:
			continue
		}
		out = append(out, in)
	}
	for _, t := range e.Tasks {
		if t.Env["DB_SECRET_ID"] == "" {
			continue // the ECS database's task runs PostgreSQL, no code of ours
		}
		out = append(out, &Instance{Kind: API, Name: t.Family, RoleARN: t.TaskRoleARN, Env: t.Env, Subnets: t.Subnets, SGs: t.SGs, PublicIP: t.PublicIP})
	}
	return out
}

func splitARNs(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		out = append(out, f)
	}
	return out
}

// resolve turns a target into resource ARNs for one instance.
func (e *Env) resolve(in *Instance, t Target) []string {
	switch t {
	case RotatedSecrets:
		return in.Rotates
	case MasterSecrets:
		var out []string
		out = append(out, splitARNs(in.Env[rotation.EnvMasterSecretARNs])...)
		out = append(out, splitARNs(in.Env[bootstrap.EnvMasterSecretARN])...)
		if in.Kind == Rotator && len(out) == 0 {
			return nil // single-user: its own secrets are their own masters
		}
		return out
	case AppSecrets:
		if in.Kind == API {
			return []string{e.secretARN(in.Env["DB_SECRET_ID"])}
		}
		return splitARNs(in.Env[bootstrap.EnvAppSecretARNs])
	case NoResource:
		return []string{"*"}
	case DBInstances:
		return e.DBInstances
	case DBClusters:
		var out []string
		for _, a := range e.DBInstances {
			out = append(out, strings.Replace(a, ":db:", ":cluster:", 1))
		}
		return out
	case StateTable:
		t := in.Env[audit.EnvStateTable]
		for arn := range e.TableKeys {
			if strings.HasSuffix(arn, ":table/"+t) {
				return []string{arn}
			}
		}
		return []string{fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", e.Region, e.Account, t)}
	case AlertTopic:
		return []string{in.Env[audit.EnvAlertTopic]}
	case TrailObjects:
		return nil // S3 backfill is off in every environment: no bucket announces files to the auditor
	}
	return nil
}

func (e *Env) secretARN(id string) string {
	for arn, s := range e.Secrets {
		if arn == id || s.Name == id {
			return arn
		}
	}
	return id
}

// Calls lists every request the environment's callers make, and those AWS services make
// for them (Secrets Manager invoking the rotators; EventBridge delivering each rule's events;
// the KMS calls of Secrets Manager, SNS and DynamoDB on their callers' behalf), and the
// calls AWS must refuse (Refused).
func (e *Env) Calls() []Call {
	var out []Call
	for _, in := range e.Instances() {
		p := e.Principals[in.RoleARN]
		var identity []map[string]any
		if p != nil {
			identity = p.Policies
		}
		caller := in.Kind + " " + in.Name
		for _, u := range Inventory {
			if u.Caller != in.Kind {
				continue
			}
			for _, m := range sortedKeys(u.On) {
				for _, t := range u.On[m] {
					for _, res := range e.resolve(in, t) {
						c := e.call(caller, in, u.Action(m), res, identity)
						c.Needed = u.Needed
						out = append(out, c)
						out = append(out, e.kmsFor(c)...)
					}
				}
			}
		}
	}
	// Secrets Manager invokes each rotator for the secrets it rotates; the function's
	// resource policy must let it, for that secret and this account.
	// https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html
	for _, s := range sortedSecrets(e) {
		if s.RotationLambdaARN == "" {
			continue
		}
		f := e.function(s.RotationLambdaARN)
		if f == nil {
			continue
		}
		out = append(out, Call{
			Caller: "Secrets Manager (rotating " + s.Name + ")", Action: "lambda:InvokeFunction", Resource: f.ARN,
			Principal: "secretsmanager.amazonaws.com", ResourcePolicy: f.Policy,
			Context: map[string]any{"aws:SourceArn": s.ARN, "aws:SourceAccount": e.Account},
		})
	}
	return append(out, e.eventCalls()...)
}

func (e *Env) call(caller string, in *Instance, action, res string, identity []map[string]any) Call {
	c := Call{
		Caller: caller, Kind: in.Kind, Action: action, Resource: res, Principal: in.RoleARN, Identity: identity,
		Context: map[string]any{"aws:PrincipalArn": in.RoleARN, "aws:PrincipalAccount": e.Account},
		inst:    in,
	}
	if s, ok := e.Secrets[res]; ok {
		c.ResourcePolicy = s.Policy
	}
	if f := e.function(res); f != nil {
		c.ResourcePolicy = f.Policy
	}
	return c
}

// kmsFor: the KMS calls a service makes with c's caller's permissions, on the key of c's
// resource (a customer managed key only: an AWS managed or owned key's policy lets the
// account use it through the service).
func (e *Env) kmsFor(c Call) []Call {
	svc := strings.SplitN(c.Action, ":", 2)[0]
	var key string
	switch svc {
	case "secretsmanager":
		if s, ok := e.Secrets[c.Resource]; ok {
			key = s.KeyARN
		}
	case "sns":
		key = e.keyARN(e.TopicKeys[c.Resource])
	case "dynamodb":
		key = e.keyARN(e.TableKeys[c.Resource])
	}
	if key == "" || strings.HasPrefix(key, "alias/aws/") || strings.Contains(key, ":alias/aws/") {
		return nil
	}
	var out []Call
	for _, a := range viaServiceKMS[c.Action] {
		k := e.call(c.Caller, c.inst, a, key, c.Identity)
		k.ResourcePolicy = e.Keys[key]
		k.Via = c.Action
		k.Context["kms:ViaService"] = fmt.Sprintf("%s.%s.amazonaws.com", svc, e.Region)
		k.Context["kms:CallerAccount"] = e.Account
		out = append(out, k)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedSecrets(e *Env) []*Secret {
	var out []*Secret
	for _, k := range sortedKeys(e.Secrets) {
		out = append(out, e.Secrets[k])
	}
	// By name, then ARN: an ARN ends in six random characters, which would order
	// rotaudit/x/app and rotaudit/x/app-<username> differently on each apply.
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ARN < out[j].ARN
	})
	return out
}
