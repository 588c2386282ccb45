package audit

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
)

// Environment variables the auditor reads (the cross-team contract).
const (
	EnvConfig     = "AUDIT_CONFIG"
	EnvConfigFile = "AUDIT_CONFIG_FILE"
	EnvStateTable = "STATE_TABLE"
	EnvAlertTopic = "ALERT_TOPIC_ARN"
)

// EnvVars lists every environment variable this package reads.
func EnvVars() []string {
	return []string{EnvConfig, EnvConfigFile, EnvStateTable, EnvAlertTopic}
}

// ErrConfig marks an invalid or missing configuration; the message names the field.
var ErrConfig = errors.New("invalid audit configuration")

// Config is the audit configuration document (JSON, snake_case keys). Principals are IAM
// ARNs; a role matches whatever its path and whichever session uses it.
type Config struct {
	// AccountID is the account the audit runs in (the security account of an
	// organization). With MemberAccounts it makes the set of watched accounts; both empty
	// is the single-account deployment, which audits whatever its own trail delivers.
	AccountID string `json:"account_id"`
	// MemberAccounts are the other accounts whose events reach the audit (an organization
	// trail, EventBridge forwarding). Once AccountID or MemberAccounts is set, a record of
	// any other account is skipped unevaluated (Engine.Watches; the handler counts them).
	MemberAccounts []string `json:"member_accounts"`
	// WatchedSecrets are the database credentials whose use the rules follow.
	WatchedSecrets []SecretWatch `json:"watched_secrets"`
	// KMSKeys are the ARNs of the keys that encrypt the watched secrets.
	KMSKeys []string `json:"kms_keys"`
	// Readers may read the watched secrets (the API's task role).
	Readers []string `json:"readers"`
	// Rotators may read and change the watched secrets' values (the rotation Lambda's role).
	Rotators []string `json:"rotators"`
	// Deployers change configuration as routine (the Terraform role): secret settings,
	// task definitions, policies. They are never exempt from the critical cases.
	Deployers []string `json:"deployers"`
	// DataAPIPrincipals may run SQL through the RDS Data API.
	DataAPIPrincipals []string `json:"data_api_principals"`
	// TrustedNetworks are CIDRs whose addresses never count as a new source network.
	TrustedNetworks []string `json:"trusted_networks"`
	// TrustedAccounts may receive shared snapshots and appear in resource policies.
	TrustedAccounts []string `json:"trusted_accounts"`
	// ECS names the task definition families and clusters of the API and database.
	ECS ECSConfig `json:"ecs"`
	// Trails are the trails the audit depends on, with their buckets (empty: every trail).
	// Buckets are also learnt from the trails' CreateTrail and UpdateTrail events and
	// from their deliveries, so a bucket is watched without being named here.
	Trails []TrailWatch `json:"trails"`
	// Databases are the RDS instance or cluster identifiers (or ARNs) of the database
	// (empty: every database in the account is watched).
	Databases []string `json:"databases"`
	// DBLogins describes the database's expected logins for the DB-xx rules, which read
	// PostgreSQL's connection log (empty: those rules stay off).
	DBLogins DBLogins `json:"db_logins"`
	// VPCEndpoints are the Secrets Manager VPC endpoints (vpce-...) the readers and rotators
	// call through; when set, a call of theirs through none of them is flagged (RA-13).
	VPCEndpoints []string `json:"vpc_endpoints"`
	// LearningPeriod is how long baselines learn silently after a secret is first seen
	// (default a week; "0s" turns learning off).
	LearningPeriod *Duration `json:"learning_period"`
	// BaselineTTL is how long a learned principal, network or user agent stays known.
	BaselineTTL Duration `json:"baseline_ttl"`
	// DedupWindow: the same rule, principal and resource alert once per window.
	DedupWindow Duration `json:"dedup_window"`
	// Enumeration: this many distinct secrets read by one principal within Window.
	Enumeration Threshold `json:"enumeration"`
	// AccessDenied: this many denied Secrets Manager or KMS calls by one principal within Window.
	AccessDenied Threshold `json:"access_denied"`
	// CrossAccountWindow: one principal reading watched secrets in two accounts within it
	// is reported (RA-21; default an hour).
	CrossAccountWindow Duration `json:"cross_account_window"`

	readers, rotators, deployers, dataAPI map[string]bool
	networks                              []netip.Prefix
	accounts                              map[string]bool
	// watchedAccounts is AccountID and MemberAccounts; empty: single-account mode.
	watchedAccounts map[string]bool
}

// SecretWatch names watched secrets: one ARN, or every secret whose name has a prefix.
// An ARN entry watches that secret in the ARN's account only. A name_prefix entry watches
// the prefix in Account when given, and in every watched account when not: configs written
// for one account have none and mean the same as before, and an organization names a
// prefix once for all its accounts.
type SecretWatch struct {
	ARN        string `json:"arn,omitempty"`
	NamePrefix string `json:"name_prefix,omitempty"`
	Account    string `json:"account,omitempty"`

	account string // the ARN's account or Account
}

// ECSConfig names what rule RA-10 watches in ECS.
type ECSConfig struct {
	Families []string `json:"families"`
	Clusters []string `json:"clusters"`
	// Registries are the image repository prefixes releases come from
	// ("111122223333.dkr.ecr.eu-west-1.amazonaws.com/"); empty: any.
	Registries []string `json:"registries"`
}

// DBLogins is what the DB-xx rules know of the database's legitimate logins.
type DBLogins struct {
	// Users are the roles the watched secrets hold (both users of an alternating pair).
	Users []string `json:"users"`
	// AdminUsers are the master or admin roles, used by the rotator and bootstrap only.
	AdminUsers []string `json:"admin_users"`
	// IgnoreUsers are the platform's own roles (rdsadmin) that log in as routine.
	IgnoreUsers []string `json:"ignore_users"`
	// ClientNetworks are the CIDRs of the API's and the rotator's subnets; empty: any
	// address is a client's (DB-02 stays off).
	ClientNetworks []string `json:"client_networks"`
	// AlternatingPairs are the two users of each alternating-users secret.
	AlternatingPairs [][2]string `json:"alternating_pairs"`
	// FailureBurst: this many failed logins from one source, or for one user, within Window.
	FailureBurst Threshold `json:"failure_burst"`
	// AdminWindow is how near a rotation an admin login must be (default 15m).
	AdminWindow Duration `json:"admin_window"`
	// StaleAfter is how long after a rotation the previous user of a pair may still log
	// in before it is a client that never refreshed (default 24h).
	StaleAfter Duration `json:"stale_after"`

	networks []netip.Prefix
}

// enabled reports whether any DB-xx rule has something to go on.
func (d *DBLogins) enabled() bool { return len(d.Users) > 0 || len(d.AdminUsers) > 0 }

// TrailWatch names one trail (its ARN) and the bucket it delivers to.
type TrailWatch struct {
	ARN    string `json:"arn"`
	Bucket string `json:"bucket"`
}

// Threshold is a count within a sliding window.
type Threshold struct {
	Count  int      `json:"count"`
	Window Duration `json:"window"`
}

// Duration is a time.Duration written as a Go duration string ("10m", "168h").
type Duration struct{ time.Duration }

// UnmarshalJSON reads "90s", "10m", "168h".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string such as \"10m\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration (use h, m, s: \"168h\")", s)
	}
	d.Duration = v
	return nil
}

// MarshalJSON writes the duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// Defaults for fields the document leaves out.
const (
	DefaultLearningPeriod     = 7 * 24 * time.Hour
	DefaultBaselineTTL        = 90 * 24 * time.Hour
	DefaultDedupWindow        = time.Hour
	DefaultEnumerationCount   = 5
	DefaultEnumerationWindow  = 10 * time.Minute
	DefaultDeniedCount        = 5
	DefaultDeniedWindow       = 5 * time.Minute
	DefaultAdminWindow        = 15 * time.Minute
	DefaultStaleAfter         = 24 * time.Hour
	DefaultCrossAccountWindow = time.Hour
)

// ParseConfig reads and validates a configuration document. Unknown fields are errors, so
// a misspelt key fails at start rather than silently disabling a rule.
func ParseConfig(doc []byte) (*Config, error) {
	if err := checkDurations(doc); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if err := c.init(); err != nil {
		return nil, err
	}
	return &c, nil
}

func bad(field, format string, a ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrConfig, field, fmt.Sprintf(format, a...))
}

func (c *Config) init() error {
	if len(c.WatchedSecrets) == 0 {
		return bad("watched_secrets", "list at least one secret (arn or name_prefix)")
	}
	c.watchedAccounts = map[string]bool{}
	if c.AccountID != "" {
		if !isAccountID(c.AccountID) {
			return bad("account_id", "%q is not a 12-digit account id", c.AccountID)
		}
		c.watchedAccounts[c.AccountID] = true
	}
	for i, a := range c.MemberAccounts {
		if !isAccountID(a) {
			return bad(fmt.Sprintf("member_accounts[%d]", i), "%q is not a 12-digit account id", a)
		}
		c.watchedAccounts[a] = true
	}
	if len(c.MemberAccounts) > 0 && c.AccountID == "" {
		return bad("account_id", "set the audit's own account id when member_accounts is set")
	}
	for i := range c.WatchedSecrets {
		w := &c.WatchedSecrets[i]
		f := fmt.Sprintf("watched_secrets[%d]", i)
		switch {
		case (w.ARN == "") == (w.NamePrefix == ""):
			return bad(f, "give exactly one of arn and name_prefix")
		case w.ARN != "" && !strings.HasPrefix(w.ARN, "arn:") || w.ARN != "" && !strings.Contains(w.ARN, ":secret:"):
			return bad(f+".arn", "%q is not a Secrets Manager secret ARN", w.ARN)
		case w.Account != "" && !isAccountID(w.Account):
			return bad(f+".account", "%q is not a 12-digit account id", w.Account)
		case w.ARN != "" && w.Account != "" && cloudtrail.ARNAccount(w.ARN) != w.Account:
			return bad(f+".account", "%q is not the account of the ARN %q; leave it out for an ARN", w.Account, w.ARN)
		}
		w.account = w.Account
		if w.ARN != "" {
			w.account = cloudtrail.ARNAccount(w.ARN)
		}
		if w.account != "" && len(c.watchedAccounts) > 0 && !c.watchedAccounts[w.account] {
			return bad(f, "account %s is neither account_id nor one of member_accounts", w.account)
		}
	}
	for i, k := range c.KMSKeys {
		if !strings.HasPrefix(k, "arn:") || !strings.Contains(k, ":key/") {
			return bad(fmt.Sprintf("kms_keys[%d]", i), "%q is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)", k)
		}
	}
	var err error
	if c.readers, err = principalSet("readers", c.Readers); err != nil {
		return err
	}
	if c.rotators, err = principalSet("rotators", c.Rotators); err != nil {
		return err
	}
	if c.deployers, err = principalSet("deployers", c.Deployers); err != nil {
		return err
	}
	if c.dataAPI, err = principalSet("data_api_principals", c.DataAPIPrincipals); err != nil {
		return err
	}
	for i, n := range c.TrustedNetworks {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			return bad(fmt.Sprintf("trusted_networks[%d]", i), "%q is not a CIDR such as 10.0.0.0/16", n)
		}
		c.networks = append(c.networks, p.Masked())
	}
	for i, tr := range c.Trails {
		f := fmt.Sprintf("trails[%d]", i)
		if !strings.HasPrefix(tr.ARN, "arn:") || !strings.Contains(tr.ARN, ":cloudtrail:") || !strings.Contains(tr.ARN, ":trail/") {
			return bad(f+".arn", "%q is not a trail ARN (arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME)", tr.ARN)
		}
		if !validBucket(tr.Bucket) {
			return bad(f+".bucket", "%q is not an S3 bucket name", tr.Bucket)
		}
	}
	for i, d := range c.Databases {
		if d == "" || strings.ContainsAny(d, " \t\n") {
			return bad(fmt.Sprintf("databases[%d]", i), "%q is not a DB instance or cluster identifier", d)
		}
	}
	for i, v := range c.VPCEndpoints {
		if !strings.HasPrefix(v, "vpce-") {
			return bad(fmt.Sprintf("vpc_endpoints[%d]", i), "%q is not a VPC endpoint id (vpce-...)", v)
		}
	}
	for i, n := range c.DBLogins.ClientNetworks {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			return bad(fmt.Sprintf("db_logins.client_networks[%d]", i), "%q is not a CIDR such as 10.0.1.0/24", n)
		}
		c.DBLogins.networks = append(c.DBLogins.networks, p.Masked())
	}
	for i, pair := range c.DBLogins.AlternatingPairs {
		if pair[0] == "" || pair[1] == "" || pair[0] == pair[1] {
			return bad(fmt.Sprintf("db_logins.alternating_pairs[%d]", i), "want two different role names")
		}
	}
	c.accounts = map[string]bool{}
	for i, a := range c.TrustedAccounts {
		if !isAccountID(a) {
			return bad(fmt.Sprintf("trusted_accounts[%d]", i), "%q is not a 12-digit account id", a)
		}
		c.accounts[a] = true
	}
	for _, d := range []struct {
		name string
		v    *Duration
		def  time.Duration
	}{
		{"baseline_ttl", &c.BaselineTTL, DefaultBaselineTTL},
		{"dedup_window", &c.DedupWindow, DefaultDedupWindow},
		{"enumeration.window", &c.Enumeration.Window, DefaultEnumerationWindow},
		{"access_denied.window", &c.AccessDenied.Window, DefaultDeniedWindow},
		{"db_logins.failure_burst.window", &c.DBLogins.FailureBurst.Window, DefaultDeniedWindow},
		{"db_logins.admin_window", &c.DBLogins.AdminWindow, DefaultAdminWindow},
		{"db_logins.stale_after", &c.DBLogins.StaleAfter, DefaultStaleAfter},
		{"cross_account_window", &c.CrossAccountWindow, DefaultCrossAccountWindow},
	} {
		if d.v.Duration < 0 {
			return bad(d.name, "must not be negative")
		}
		if d.v.Duration == 0 {
			d.v.Duration = d.def
		}
	}
	if c.LearningPeriod == nil {
		c.LearningPeriod = &Duration{DefaultLearningPeriod}
	}
	if c.LearningPeriod.Duration < 0 {
		return bad("learning_period", "must not be negative")
	}
	if c.Enumeration.Count == 0 {
		c.Enumeration.Count = DefaultEnumerationCount
	}
	if c.DBLogins.FailureBurst.Count == 0 {
		c.DBLogins.FailureBurst.Count = DefaultDeniedCount
	}
	if c.DBLogins.FailureBurst.Count < 2 {
		return bad("db_logins.failure_burst.count", "must be at least 2, got %d", c.DBLogins.FailureBurst.Count)
	}
	if c.AccessDenied.Count == 0 {
		c.AccessDenied.Count = DefaultDeniedCount
	}
	if c.Enumeration.Count < 2 {
		return bad("enumeration.count", "must be at least 2, got %d", c.Enumeration.Count)
	}
	if c.AccessDenied.Count < 1 {
		return bad("access_denied.count", "must be at least 1, got %d", c.AccessDenied.Count)
	}
	return nil
}

// watchesAccount reports whether records of acct are audited: every account in
// single-account mode, else the own and member accounts. A record naming no account at
// all (some service events) is audited.
func (c *Config) watchesAccount(acct string) bool {
	return len(c.watchedAccounts) == 0 || acct == "" || c.watchedAccounts[acct]
}

// scoped qualifies a state key's name (a secret's) with the account it lives in, so that
// the same name in two accounts never shares a baseline, a count or a dedup key. The
// audit's own account, and every account in single-account mode, keep the bare name: the
// state a single-account deployment already holds stays valid when it becomes the
// organization's.
func (c *Config) scoped(acct, name string) string {
	if acct == "" || acct == c.AccountID || len(c.watchedAccounts) == 0 {
		return name
	}
	return acct + "/" + name
}

func principalSet(field string, arns []string) (map[string]bool, error) {
	m := make(map[string]bool, len(arns))
	for i, a := range arns {
		if !strings.HasPrefix(a, "arn:") {
			return nil, bad(fmt.Sprintf("%s[%d]", field, i), "%q is not an IAM ARN", a)
		}
		m[cloudtrail.NormalizePrincipal(a)] = true
	}
	return m, nil
}

// validBucket checks the S3 bucket naming rules that matter here: 3 to 63 lower-case
// letters, digits, dots and hyphens.
func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 {
		return false
	}
	for _, r := range b {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Env is what the Lambda reads from its environment.
type Env struct {
	Config     *Config
	StateTable string
	AlertTopic string
}

// maxConfigDocument bounds a configuration document unpacked from AUDIT_CONFIG.
const maxConfigDocument = 1 << 20

// ConfigDocument returns the JSON document an AUDIT_CONFIG value holds: the document itself,
// or base64 of it gzipped (Terraform's base64gzip), which is how modules/audit-alerts sets
// it: Lambda refuses a function whose environment is over 4 KB, and a fleet's ARNs compress
// about fourfold. An empty value gives an empty document.
func ConfigDocument(v string) ([]byte, error) {
	t := strings.TrimSpace(v)
	if t == "" || strings.HasPrefix(t, "{") {
		return []byte(t), nil
	}
	z, err := base64.StdEncoding.DecodeString(t)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is neither a JSON document nor base64 of a gzipped one: %v", ErrConfig, EnvConfig, err)
	}
	r, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, fmt.Errorf("%w: %s is base64 but not of a gzipped document: %v", ErrConfig, EnvConfig, err)
	}
	doc, err := io.ReadAll(io.LimitReader(r, maxConfigDocument+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: the gzipped document is damaged: %v", ErrConfig, EnvConfig, err)
	}
	if len(doc) > maxConfigDocument {
		return nil, fmt.Errorf("%w: %s unpacks to more than %d bytes", ErrConfig, EnvConfig, maxConfigDocument)
	}
	return doc, nil
}

// LoadEnv builds the Lambda's settings from getenv (os.Getenv in production).
func LoadEnv(getenv func(string) string) (*Env, error) {
	doc, err := ConfigDocument(getenv(EnvConfig))
	if err != nil {
		return nil, err
	}
	switch file := getenv(EnvConfigFile); {
	case len(doc) > 0 && file != "":
		return nil, fmt.Errorf("%w: set %s or %s, not both", ErrConfig, EnvConfig, EnvConfigFile)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrConfig, EnvConfigFile, err)
		}
		doc = b
	case len(doc) == 0:
		return nil, fmt.Errorf("%w: set %s (the JSON document) or %s (its path)", ErrConfig, EnvConfig, EnvConfigFile)
	}
	cfg, err := ParseConfig(doc)
	if err != nil {
		return nil, err
	}
	e := &Env{Config: cfg, StateTable: getenv(EnvStateTable), AlertTopic: getenv(EnvAlertTopic)}
	if e.StateTable == "" {
		return nil, fmt.Errorf("%w: %s is empty: name the DynamoDB state table", ErrConfig, EnvStateTable)
	}
	if !strings.HasPrefix(e.AlertTopic, "arn:") || !strings.Contains(e.AlertTopic, ":sns:") {
		return nil, fmt.Errorf("%w: %s=%q is not an SNS topic ARN", ErrConfig, EnvAlertTopic, e.AlertTopic)
	}
	return e, nil
}

// checkDurations reports a bad duration with its field's name, which the JSON decoder's
// own error would not give.
func checkDurations(doc []byte) error {
	var top map[string]json.RawMessage
	if json.Unmarshal(doc, &top) != nil {
		return nil // the decoder reports it
	}
	check := func(field string, raw json.RawMessage) error {
		if raw == nil {
			return nil
		}
		var d Duration
		if err := d.UnmarshalJSON(raw); err != nil {
			return bad(field, "%v", err)
		}
		return nil
	}
	for _, f := range []string{"learning_period", "baseline_ttl", "dedup_window", "cross_account_window"} {
		if err := check(f, top[f]); err != nil {
			return err
		}
	}
	for _, f := range []string{"enumeration", "access_denied"} {
		var sub map[string]json.RawMessage
		if json.Unmarshal(top[f], &sub) == nil {
			if err := check(f+".window", sub["window"]); err != nil {
				return err
			}
		}
	}
	var db map[string]json.RawMessage
	if json.Unmarshal(top["db_logins"], &db) == nil {
		for _, f := range []string{"admin_window", "stale_after"} {
			if err := check("db_logins."+f, db[f]); err != nil {
				return err
			}
		}
		var burst map[string]json.RawMessage
		if json.Unmarshal(db["failure_burst"], &burst) == nil {
			if err := check("db_logins.failure_burst.window", burst["window"]); err != nil {
				return err
			}
		}
	}
	return nil
}
