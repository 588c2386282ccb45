package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
)

const (
	srcSecrets = "secretsmanager.amazonaws.com"
	srcKMS     = "kms.amazonaws.com"
	srcTrail   = "cloudtrail.amazonaws.com"
	srcRDS     = "rds.amazonaws.com"
	srcRDSData = "rdsdata.amazonaws.com"
	srcECS     = "ecs.amazonaws.com"
	srcIAM     = "iam.amazonaws.com"
	srcS3      = "s3.amazonaws.com"
	srcSTS     = "sts.amazonaws.com"
)

// Rules returns every rule of CloudTrail records, in id order. Each call returns fresh
// values. Each rule is a rule_*.go file of its own (its metadata and its evaluation), which
// rules_gen.go lists.
func Rules() []*Rule { return rulesOf(false) }

// DBRules returns the rules that read PostgreSQL logins, in id order.
func DBRules() []*Rule { return rulesOf(true) }

// rulesOf returns the rules of the database's log (db) or of CloudTrail, sorted by id:
// both kinds are rule_*.go files, told apart by the evaluation they have.
func rulesOf(db bool) []*Rule {
	var rs []*Rule
	for _, r := range allRules() {
		if (r.dbEval != nil) == db {
			rs = append(rs, r)
		}
	}
	slices.SortFunc(rs, func(a, b *Rule) int { return strings.Compare(a.ID, b.ID) })
	return rs
}

// reads are the calls that return a secret's value.
var reads = []string{"GetSecretValue", "BatchGetSecretValue"}

// on lists calls of one event source a rule looks at; a name ending in * is a prefix.
func on(source string, names ...string) map[string][]string {
	return map[string][]string{source: names}
}

func merge(ms ...map[string][]string) map[string][]string {
	out := map[string][]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = append(out[k], v...)
		}
	}
	return out
}

// Watched is what the rules look at, as the deployed EventBridge patterns must select it:
// calls by event source, the sources whose failures count (RA-04), and whether anything
// done as root counts (RA-12). Rules and patterns are generated from one another's truth.
type Watched struct {
	Calls    map[string][]string // event source -> sorted, distinct event names
	Failures []string            // event sources whose failed calls any rule reads
	Root     bool
	// Narrow holds, for "source name" keys, what else of the event's detail a call must
	// have for any rule to read it: EventBridge pattern fragments, one per rule that narrows
	// the call (less those another one covers), any of which selects it. A call some rule
	// reads without narrowing it has none.
	Narrow map[string][]map[string]any
}

// exists is the EventBridge pattern operator for a field that is present.
var exists = []any{map[string]bool{"exists": true}}

// WatchedCalls gathers what every rule looks at.
func WatchedCalls() Watched {
	w := Watched{Calls: map[string][]string{}, Narrow: map[string][]map[string]any{}}
	plain := map[string]bool{} // calls some rule reads whatever their detail
	for _, r := range Rules() {
		for src, names := range r.calls {
			w.Calls[src] = append(w.Calls[src], names...)
			for _, n := range names {
				k := src + " " + n
				if frag, ok := r.narrow[k]; ok {
					w.Narrow[k] = addAlternative(w.Narrow[k], frag)
				} else {
					plain[k] = true
				}
			}
		}
		w.Failures = append(w.Failures, r.failures...)
		w.Root = w.Root || r.root
	}
	for src, names := range w.Calls {
		slices.Sort(names)
		w.Calls[src] = slices.Compact(names)
	}
	slices.Sort(w.Failures)
	w.Failures = slices.Compact(w.Failures)
	for k := range plain {
		delete(w.Narrow, k)
	}
	return w
}

// addAlternative adds frag to the fragments alts, any of which selects a call, leaving out
// what another one already selects.
func addAlternative(alts []map[string]any, frag map[string]any) []map[string]any {
	var out []map[string]any
	for _, a := range alts {
		if covers(a, frag) {
			return alts
		}
		if !covers(frag, a) {
			out = append(out, a)
		}
	}
	return append(out, frag)
}

// covers reports whether every detail that pattern fragment b matches, a matches too: a
// asks for no field b does not, and allows at least b's values of each. Operators other
// than lists of strings must be equal; unsure is false (both fragments are then kept).
func covers(a, b map[string]any) bool {
	for k, av := range a {
		bv, ok := b[k]
		if !ok {
			return false
		}
		switch x := av.(type) {
		case map[string]any:
			y, ok := bv.(map[string]any)
			if !ok || !covers(x, y) {
				return false
			}
		case []string:
			y, ok := bv.([]string)
			if !ok {
				return false
			}
			for _, v := range y {
				if !slices.Contains(x, v) {
					return false
				}
			}
		default:
			if !reflect.DeepEqual(av, bv) {
				return false
			}
		}
	}
	return true
}

// relevant reports whether any rule could fire on rec: a watched call, a failure on
// Secrets Manager or KMS (RA-04), or anything done as root (RA-12).
func (e *Engine) relevant(rec *cloudtrail.Record) bool {
	if e.watched[rec.EventSource][rec.EventName] || e.root && rec.UserIdentity.Type == "Root" {
		return true
	}
	for _, p := range e.prefixes[rec.EventSource] {
		if strings.HasPrefix(rec.EventName, p) {
			return true
		}
	}
	return rec.ErrorCode != "" && e.failures[rec.EventSource]
}

// --- helpers shared by the rules ---

func isService(p string) bool { return strings.HasSuffix(p, ".amazonaws.com") || p == "AWS Internal" }

func (e *Engine) failedSeverity(ev *event, s Severity) Severity {
	if ev.rec.Failed() {
		return s.lower()
	}
	return s
}

func attempt(ev *event) string {
	if ev.rec.Failed() {
		return " (attempt failed: " + ev.rec.ErrorCode + ")"
	}
	return ""
}

type secretParams struct {
	SecretID     string   `json:"secretId"`
	SecretIDList []string `json:"secretIdList"`
	Filters      []struct {
		Key string `json:"key"`
	} `json:"filters"`
	ForceDeleteWithoutRecovery bool            `json:"forceDeleteWithoutRecovery"`
	ResourcePolicy             string          `json:"resourcePolicy"`
	RotationRules              json.RawMessage `json:"rotationRules"`
	RotationLambdaARN          string          `json:"rotationLambdaARN"`
	KMSKeyID                   string          `json:"kmsKeyId"`
}

// secretIDs returns the secrets a Secrets Manager call names (secretId may also be
// missing when requestParameters were too large: then the resources list may name it).
func secretIDs(rec *cloudtrail.Record, p *secretParams) []string {
	ids := p.SecretIDList
	if p.SecretID != "" {
		ids = append([]string{p.SecretID}, ids...)
	}
	if len(ids) == 0 {
		for _, r := range rec.Resources {
			if strings.Contains(r.ARN, ":secret:") {
				ids = append(ids, r.ARN)
			}
		}
	}
	return ids
}

func isRead(name string) bool { return name == "GetSecretValue" || name == "BatchGetSecretValue" }

// routineDeploy reports whether the call is the deployment at work: a deployer calling
// through Terraform. What RA-01 spares on that ground the other Secrets Manager rules
// spare too; the same deployer with any other tool is judged like anyone else.
func (e *Engine) routineDeploy(ev *event) bool {
	return e.cfg.isDeployer(ev.norm) && terraformAgent(ev.rec.UserAgent)
}

// terraformAgent reports whether a call came from Terraform: its AWS provider refreshes
// every secret version with GetSecretValue on each plan, so a deployer's read from it is
// routine. The user agent is the caller's word, which is why only deployers, already
// trusted to change the secrets, are spared on it.
func terraformAgent(ua string) bool {
	return uaFamily(ua) == "terraform" || strings.Contains(strings.ToLower(ua), "hashicorp/")
}

// network returns the /24 or /48 an address belongs to, "" for service names and trusted nets.
func (c *Config) network(src string) string {
	a, err := netip.ParseAddr(src)
	if err != nil || c.trustedIP(a) {
		return ""
	}
	bits := 24
	if a.Is6() && !a.Is4In6() {
		bits = 48
	}
	p, err := a.Unmap().Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}

// uaFamily reduces a user agent to the tool that sent it: versions and platforms change
// with every release, the tool does not. Remembered: a busy account has few agents and
// every record repeats one; lower-casing and scanning each again was a fifth of RA-02's
// time in a replay.
func uaFamily(ua string) string { return uaFamilies.get(ua, func() string { return uaFamilyOf(ua) }) }

// normalized is cloudtrail.NormalizePrincipal, remembered: every audited record needs its
// principal's normal form, a busy account has few principals, and making it anew cost an
// allocation per record.
func normalized(p string) string {
	return normalForms.get(p, func() string { return cloudtrail.NormalizePrincipal(p) })
}

var uaFamilies, normalForms boundedMemo[string, string]

// memoLimit bounds each boundedMemo: past it, values are computed each time.
const memoLimit = 4096

// boundedMemo remembers the values computed for up to memoLimit keys; safe for concurrent
// use.
type boundedMemo[K comparable, V any] struct {
	m sync.Map
	n atomic.Int64
}

// get returns the value remembered for k, or computes it with f (and remembers it while
// there is room).
func (b *boundedMemo[K, V]) get(k K, f func() V) V {
	if v, ok := b.m.Load(k); ok {
		return v.(V)
	}
	v := f()
	if b.n.Add(1) <= memoLimit {
		b.m.Store(k, v)
	}
	return v
}

func uaFamilyOf(ua string) string {
	l := strings.ToLower(ua)
	for _, f := range []string{"terraform", "aws-cli", "boto3", "botocore", "aws-sdk-go-v2", "aws-sdk-go", "aws-sdk-java", "aws-sdk-js", "aws-sdk-dotnet", "aws-sdk-rust", "aws-sdk-php", "aws-sdk-ruby", "aws-internal", "console.amazonaws.com", "cloudformation"} {
		if strings.Contains(l, f) {
			return f
		}
	}
	if isService(ua) || ua == "" {
		return ""
	}
	tok, _, _ := strings.Cut(l, " ")
	tok, _, _ = strings.Cut(tok, "/")
	return tok
}

// readKey names the open RA-01 finding of a principal's read of a secret, for the Decrypt
// Secrets Manager makes on its behalf.
func readKey(principal, secret string) string { return "read|" + principal + "|" + secret }

// trailName returns a trail's name from its name or ARN.
func trailName(v string) string {
	if i := strings.Index(v, ":trail/"); i >= 0 && strings.HasPrefix(v, "arn:") {
		return v[i+len(":trail/"):]
	}
	return v
}

// watchedTrail reports whether RA-07 and RA-19 watch the named trail: a configured one, or any
// when none is configured.
func (c *Config) watchedTrail(name string) bool {
	if len(c.Trails) == 0 {
		return true
	}
	for _, t := range c.Trails {
		if trailName(t.ARN) == name {
			return true
		}
	}
	return false
}

// digest is a short, stable name for a request's parameters (what was done).
func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// broadPolicies are AWS managed policies that read every secret or decrypt with any key.
var broadPolicies = []string{"AdministratorAccess", "PowerUserAccess", "SecretsManagerReadWrite", "IAMFullAccess"}
