// Package audit turns CloudTrail records, and the database's own login log (package
// pglog), into alerts about the database's credentials and the trail that records their
// use. The rules read one record at a time and keep what they must remember (baselines,
// windowed counts, dedup keys) in a Store; Engine runs them, dedups their hits and builds
// OCSF Detection Findings. The Lambda handler (EventBridge events, S3 log files), the SNS
// publisher and the replay command are thin layers around Engine.
//
// Files: one rule per file (rule_*.go: its metadata, event patterns and evaluation, the
// id written once; rule_db_*.go for the PostgreSQL log's DB-01..06), each with its fixture
// folder (testdata/rules/ra01 for RA-01); rules.go holds what several rules share and
// logins.go how a login reaches the DB-xx rules. rules_gen.go lists the rule files, and
// the catalog (RULES.md, the table in docs/audit.md) is generated from the rules by
// TestRuleCatalog. baseline.go is RA-02's one state entry per secret or
// principal; params.go reads the parameters of the busiest calls without encoding/json;
// source.go reads log files from disk and S3, and replay.go merges them with PostgreSQL
// logs into one stream ordered by event time.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
	"github.com/rotaudit/rotaudit/internal/audit/pglog"
)

// Store is the state the rules keep between events (internal/audit/state implements it).
// Every time is the event's time, so replaying old logs behaves as live traffic did.
type Store interface {
	// Remember stores key until expires unless a live entry exists; it reports whether the
	// key was new and, when it was not, when it was first stored.
	Remember(ctx context.Context, key string, now, expires time.Time) (fresh bool, first time.Time, err error)
	// Refresh is Remember for baselines: a live entry's expiry is pushed to expires, so an
	// entry lives as long as it is used.
	Refresh(ctx context.Context, key string, now, expires time.Time) (fresh bool, first time.Time, err error)
	// Count adds member to the set key and returns how many live members were seen since.
	Count(ctx context.Context, key, member string, now, since, expires time.Time) (int, error)
	// Swap stores value under key and returns the previous live value.
	Swap(ctx context.Context, key, value string, now, expires time.Time) (old string, found bool, err error)
	// Get returns the live value stored under key by Swap.
	Get(ctx context.Context, key string, now time.Time) (value string, found bool, err error)
	// Forget deletes key (a dedup key whose alert could not be sent).
	Forget(ctx context.Context, key string) error
}

// Rule describes one detection: its id (the finding's analytic uid and the SNS rule_id
// attribute), a name, and why it exists.
type Rule struct {
	ID        string
	Name      string
	Rationale string
	eval      func(ctx context.Context, e *Engine, ev *event) error
	// dbEval is the evaluation of a DB-xx rule, on a login from PostgreSQL's log.
	dbEval func(ctx context.Context, e *Engine, ev *event, l *pglog.Login) error
	// calls are the event names, by event source, the rule looks at.
	calls map[string][]string
	// failures are event sources whose every failed call the rule looks at.
	failures []string
	// root: the rule looks at everything done as the root user.
	root bool
	// narrow: for "source name", the detail fields a call must also have (patterns only).
	narrow map[string]map[string]any
}

// looksAt reports whether rec is one of the calls the rule names (or a failure on a
// source whose failures it counts), so that a rule's evaluation sees nothing else of the
// sources it shares with other rules.
func (r *Rule) looksAt(rec *cloudtrail.Record) bool {
	if r.calls == nil || rec.ErrorCode != "" && slices.Contains(r.failures, rec.EventSource) {
		return true
	}
	for _, n := range r.calls[rec.EventSource] {
		if n == rec.EventName || strings.HasSuffix(n, "*") && strings.HasPrefix(rec.EventName, n[:len(n)-1]) {
			return true
		}
	}
	return false
}

// hit is what a rule reports; Engine dedups it and turns it into a Finding.
type hit struct {
	rule      *Rule // set by the engine to the rule whose evaluation made the hit
	severity  Severity
	title     string
	desc      string
	dedup     string // what was done: the part of the dedup key after rule and principal
	opens     string // a key under which later hits may join this finding
	joins     string // join the finding opened under this key instead, when one is open
	resources []Resource
	related   []string
}

// event is one record being evaluated, with what the rules derive from it once.
type event struct {
	rec       *cloudtrail.Record
	principal string // as reported
	norm      string // as allow-lists compare it
	hits      []hit
	sp        *secretParams // decoded once for the Secrets Manager rules
}

// secret returns the record's Secrets Manager parameters, decoded on first use.
func (ev *event) secret() *secretParams {
	if ev.sp == nil {
		ev.sp = &secretParams{}
		decodeSecretParams(ev.rec.RequestParameters, ev.sp)
	}
	return ev.sp
}

func (ev *event) add(h hit) { ev.hits = append(ev.hits, h) }

// claim gives r the hits added since there were n: a rule names itself once, in its
// metadata, and its evaluation leaves hit.rule unset.
func (ev *event) claim(n int, r *Rule) {
	for i := n; i < len(ev.hits); i++ {
		ev.hits[i].rule = r
	}
}

// Engine evaluates records against the rules. It holds no per-record state itself; one
// Engine may serve many invocations.
type Engine struct {
	cfg      *Config
	store    Store
	bySource map[string][]*Rule
	always   []*Rule
	byID     map[string]*Rule
	dbRules  []*Rule
	watched  map[string]map[string]bool
	prefixes map[string][]string
	failures map[string]bool
	root     bool
	// narrowed holds the patterns of each "source name" a rule narrows (Watched.Narrow):
	// what of those calls EventBridge delivers live, any of them.
	narrowed map[string][]*Pattern
	// baselines memoises the decoding of RA-02's baseline entries (baseline.go).
	baselines decodedBaselines
	// plans remembers each call's callPlan.
	plans boundedMemo[callKey, *callPlan]
}

// NewEngine returns an engine running every rule of Rules with cfg, keeping state in store.
func NewEngine(cfg *Config, store Store) *Engine {
	e := &Engine{cfg: cfg, store: store, bySource: map[string][]*Rule{}, byID: map[string]*Rule{},
		watched: map[string]map[string]bool{}, prefixes: map[string][]string{}, failures: map[string]bool{}}
	for _, r := range Rules() {
		e.byID[r.ID] = r
		if r.root {
			e.always = append(e.always, r)
			e.root = true
		}
		var sources []string
		for src, names := range r.calls {
			sources = append(sources, src)
			if e.watched[src] == nil {
				e.watched[src] = map[string]bool{}
			}
			for _, n := range names {
				if p, ok := strings.CutSuffix(n, "*"); ok {
					e.prefixes[src] = append(e.prefixes[src], p)
					continue
				}
				e.watched[src][n] = true
			}
		}
		for _, src := range r.failures {
			e.failures[src] = true
			sources = append(sources, src)
		}
		slices.Sort(sources)
		for _, s := range slices.Compact(sources) {
			e.bySource[s] = append(e.bySource[s], r)
		}
	}
	for _, r := range DBRules() {
		e.byID[r.ID] = r
		e.dbRules = append(e.dbRules, r)
	}
	e.narrowed = map[string][]*Pattern{}
	for k, frags := range WatchedCalls().Narrow {
		for _, frag := range frags {
			b, _ := json.Marshal(map[string]any{"detail": frag}) // as the pattern file holds it
			if p, err := ParsePattern(b); err == nil {
				e.narrowed[k] = append(e.narrowed[k], p)
			}
		}
	}
	return e
}

// Delivered reports whether EventBridge's generated patterns deliver rec to the Lambda
// live: a record some rule looks at, which for a narrowed call (a Decrypt Secrets Manager
// made, a service's AssumeRole) also matches the narrowing. Replay uses it to count what
// the Lambda would be invoked for.
func (e *Engine) Delivered(rec *cloudtrail.Record) bool {
	if !e.relevant(rec) {
		return false
	}
	ps, ok := e.narrowed[rec.EventSource+" "+rec.EventName]
	if !ok || e.root && rec.UserIdentity.Type == "Root" || rec.ErrorCode != "" && e.failures[rec.EventSource] {
		return true // by name, or by the root and failure branches of the patterns
	}
	for _, p := range ps {
		if m, err := p.Match(map[string]any{"detail": narrowDetail(rec, p.root["detail"])}); err == nil && m {
			return true
		}
	}
	return false
}

// narrowDetail builds the part of rec's EventBridge detail that a narrowing fragment reads,
// without the JSON round trip of EventOf: userIdentity from the decoded fields, and the
// request parameters only when the fragment looks into them.
func narrowDetail(rec *cloudtrail.Record, frag any) map[string]any {
	f, _ := frag.(map[string]any)
	d := map[string]any{}
	if _, ok := f["userIdentity"]; ok {
		u := map[string]any{}
		for k, v := range map[string]string{"type": rec.UserIdentity.Type, "invokedBy": rec.UserIdentity.InvokedBy,
			"arn": rec.UserIdentity.ARN, "accountId": rec.UserIdentity.AccountID, "principalId": rec.UserIdentity.PrincipalID} {
			if v != "" {
				u[k] = v
			}
		}
		d["userIdentity"] = u
	}
	if _, ok := f["requestParameters"]; ok {
		var rp map[string]any
		if json.Unmarshal(rec.RequestParameters, &rp) == nil && rp != nil {
			d["requestParameters"] = rp
		}
	}
	return d
}

// Evaluate runs the rules on one validated record and returns its findings, deduplicated
// against earlier ones. rec may be reused by the caller afterwards.
func (e *Engine) Evaluate(ctx context.Context, rec *cloudtrail.Record) ([]Finding, error) {
	fs, _, err := e.evaluate(ctx, rec)
	return fs, err
}

// Watches reports whether rec belongs to a watched account (Config.AccountID and
// MemberAccounts; every account when neither is set). The account is the one the call
// was made in (recipientAccountId), or the caller's when the record names none. Records
// of other accounts are skipped, never evaluated: an organization trail delivers every
// member's, and an account nobody configured has no allow-lists to judge it by.
func (e *Engine) Watches(rec *cloudtrail.Record) bool {
	return e.cfg.watchesAccount(ownAccount(rec))
}

// evaluate is Evaluate that also reports whether any rule looked at rec.
func (e *Engine) evaluate(ctx context.Context, rec *cloudtrail.Record) ([]Finding, bool, error) {
	if !e.Watches(rec) {
		return nil, false, nil
	}
	p := e.plan(rec.EventSource, rec.EventName)
	rules, relevant := p.rules, p.relevant
	if rec.ErrorCode != "" {
		rules, relevant = p.rulesFailed, p.relevantFailed
	}
	if !relevant && !(e.root && rec.UserIdentity.Type == "Root") {
		return nil, false, nil
	}
	ev := event{rec: rec, principal: rec.Principal()}
	ev.norm = normalized(ev.principal)
	for _, r := range rules {
		n := len(ev.hits)
		if err := r.eval(ctx, e, &ev); err != nil {
			return nil, true, fmt.Errorf("rule %s: event %s: %w", r.ID, rec.EventID, err)
		}
		ev.claim(n, r)
	}
	fs, err := e.findings(ctx, &ev)
	return fs, true, err
}

// callPlan is what the engine does with one call (event source and name): whether the
// patterns deliver it and which rules look at it, in order, when it succeeded and when it
// failed. Made once per call and remembered (up to memoLimit calls): asking every rule of
// the source whether it looks at each record was a quarter of the rules' time in a replay.
type callPlan struct {
	relevant, relevantFailed bool
	rules, rulesFailed       []*Rule
}

type callKey struct{ source, name string }

// plan returns the call's plan, the same as relevant and looksAt decide record by record.
func (e *Engine) plan(source, name string) *callPlan {
	return e.plans.get(callKey{source, name}, func() *callPlan {
		ok := &cloudtrail.Record{EventSource: source, EventName: name}
		failed := &cloudtrail.Record{EventSource: source, EventName: name, ErrorCode: "AccessDenied"}
		p := &callPlan{relevant: e.relevant(ok), relevantFailed: e.relevant(failed)}
		for _, set := range [2][]*Rule{e.always, e.bySource[source]} {
			for _, r := range set {
				if r.looksAt(ok) {
					p.rules = append(p.rules, r)
				}
				if r.looksAt(failed) {
					p.rulesFailed = append(p.rulesFailed, r)
				}
			}
		}
		return p
	})
}

// findings turns an event's hits into findings through record: new ones, or updates of
// those open on the same dedup key.
func (e *Engine) findings(ctx context.Context, ev *event) ([]Finding, error) {
	if len(ev.hits) == 0 {
		return nil, nil
	}
	out := make([]Finding, 0, len(ev.hits))
	for i := range ev.hits {
		f, ok, err := e.record(ctx, ev, &ev.hits[i])
		if err != nil {
			return nil, fmt.Errorf("dedup %s: %w", ev.hits[i].rule.ID, err)
		}
		if ok {
			out = append(out, f)
		}
	}
	return out, nil
}

// openFinding is what the store keeps of a finding while its dedup window is open: later
// events on the same key add their ids and count to it instead of being dropped.
type openFinding struct {
	UID   string   `json:"uid"`
	Rule  string   `json:"rule"`
	Title string   `json:"title"`
	First int64    `json:"first"`
	Count int      `json:"count"`
	IDs   []string `json:"ids"`
}

// maxRelated caps the event ids an open finding carries; the count goes on.
const maxRelated = 50

// record turns a hit into a new finding, or into an update of the finding already open on
// its dedup key (ActivityID 2, the same uid, the count and every related id so far).
// Failed attempts and successes never share a finding. A hit that joins another rule's
// open finding (the Decrypt Secrets Manager makes for an unexpected read) updates that
// finding, or stands alone when none is open.
func (e *Engine) record(ctx context.Context, ev *event, h *hit) (Finding, bool, error) {
	rec := ev.rec
	window := rec.Time.Add(e.cfg.DedupWindow.Duration)
	if h.joins != "" {
		key, found, err := e.store.Get(ctx, h.joins, rec.Time)
		if err != nil {
			return Finding{}, false, err
		}
		if found {
			return e.update(ctx, ev, h, key, window)
		}
	}
	key := DedupKeyPrefix(h.rule.ID) + ev.norm + "|" + h.dedup
	if rec.Failed() {
		// Failed attempts gather in a finding of their own, so that the success which
		// follows them (what the attempts were for) opens a new one rather than becoming
		// count 3 of the attempts, an update that is not even sent.
		key += "|failed"
	}
	fresh, _, err := e.store.Remember(ctx, key, rec.Time, window)
	if err != nil {
		return Finding{}, false, err
	}
	if !fresh {
		return e.update(ctx, ev, h, key, window)
	}
	f := newFinding(h, rec, ev.principal)
	f.dedupKey = key
	f.Count = 1
	of := openFinding{UID: f.FindingInfo.UID, Rule: h.rule.ID, Title: f.FindingInfo.Title, First: f.Time, Count: 1, IDs: relatedIDs(&f)}
	if err := e.putOpen(ctx, key, &of, rec.Time, window); err != nil {
		return Finding{}, false, err
	}
	if h.opens != "" {
		if _, _, err := e.store.Swap(ctx, h.opens, key, rec.Time, window); err != nil {
			return Finding{}, false, err
		}
	}
	return f, true, nil
}

// update adds the event to the open finding under key and returns the grown finding.
func (e *Engine) update(ctx context.Context, ev *event, h *hit, key string, window time.Time) (Finding, bool, error) {
	rec := ev.rec
	raw, found, err := e.openEntry(ctx, key, rec.Time)
	if err != nil {
		return Finding{}, false, err
	}
	var of openFinding
	if !found || json.Unmarshal([]byte(raw), &of) != nil || of.UID == "" {
		return Finding{}, false, nil // opened by an older version, or expired in between
	}
	if slices.Contains(of.IDs, rec.EventID) {
		return Finding{}, false, nil // the same event delivered again (Lambda retries, S3 backfill)
	}
	of.Count++
	if len(of.IDs) < maxRelated {
		of.IDs = append(of.IDs, rec.EventID)
	}
	if err := e.putOpen(ctx, key, &of, rec.Time, window); err != nil {
		return Finding{}, false, err
	}
	f := newFinding(h, rec, ev.principal)
	if r := e.rule(of.Rule); r != nil {
		f.FindingInfo.Analytic = Analytic{UID: r.ID, Name: r.Name, TypeID: 1, Type: "Rule"}
	}
	f.ActivityID, f.ActivityName, f.TypeUID = 2, "Update", 200402
	f.StatusID, f.Status = 2, "In Progress"
	f.FindingInfo.UID, f.FindingInfo.Title, f.Message = of.UID, of.Title, of.Title
	f.FindingInfo.FirstSeenTime = of.First
	f.Count = of.Count
	f.FindingInfo.RelatedEvents = f.FindingInfo.RelatedEvents[:0]
	for _, id := range of.IDs {
		f.FindingInfo.RelatedEvents = append(f.FindingInfo.RelatedEvents, RelatedEvent{UID: id, ProductUID: "cloudtrail"})
	}
	return f, true, nil
}

// openWaits bounds how often openEntry looks again for an entry being written: 50 ms,
// doubled each time, 1.55 s in all.
const openWaits = 5

// openEntry reads the open entry of the finding whose dedup key is key. An invocation that
// opens a finding claims the key first and writes the entry right after, so another
// invocation counting the same key in between finds the key claimed and no entry yet: it
// looks again for a moment instead of dropping its event (seen under load: two
// invocations, EventBridge and a trail file, the same reader of a secret, and the update
// lost). Absent after the waits, the entry is gone (an older version's, or expired).
func (e *Engine) openEntry(ctx context.Context, key string, now time.Time) (string, bool, error) {
	wait := 50 * time.Millisecond
	for i := 0; ; i++ {
		raw, found, err := e.store.Get(ctx, "open|"+key, now)
		if err != nil || found || i == openWaits {
			return raw, found, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", false, ctx.Err()
		case <-t.C:
		}
		wait *= 2
	}
}

func (e *Engine) putOpen(ctx context.Context, key string, of *openFinding, now, expires time.Time) error {
	b, err := json.Marshal(of)
	if err != nil {
		return err
	}
	_, _, err = e.store.Swap(ctx, "open|"+key, string(b), now, expires)
	return err
}

// Release forgets the dedup key of a finding that could not be delivered, so that the
// retry of the invocation (Lambda retries failed ones) alerts instead of being deduplicated.
func (e *Engine) Release(ctx context.Context, f *Finding) error {
	if f.dedupKey == "" {
		return nil
	}
	if err := e.store.Forget(ctx, "open|"+f.dedupKey); err != nil {
		return err
	}
	return e.store.Forget(ctx, f.dedupKey)
}

// rule finds a rule by id.
func (e *Engine) rule(id string) *Rule { return e.byID[id] }

func (c *Config) isReader(p string) bool   { return c.readers[p] }
func (c *Config) isRotator(p string) bool  { return c.rotators[p] }
func (c *Config) isDeployer(p string) bool { return c.deployers[p] }

// trustedIP reports whether addr is in a trusted network.
func (c *Config) trustedIP(addr netip.Addr) bool {
	for _, p := range c.networks {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func looksLikeIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}
