package audit

//go:generate go run ../../cmd/rotaudit audit patterns -dir ../../modules/audit-alerts/patterns

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
)

// EventBridge detail-types of CloudTrail events.
const (
	detailAPICall = "AWS API Call via CloudTrail"
	detailService = "AWS Service Event via CloudTrail"
	detailSignin  = "AWS Console Signin via CloudTrail"
)

// MaxPatternBytes is EventBridge's default limit on an event pattern (2,048 characters;
// the Terraform provider refuses longer ones).
const MaxPatternBytes = 2048

// PatternFiles returns the EventBridge event patterns of modules/audit-alerts/patterns,
// generated from the calls the rules watch (WatchedCalls), so that the Lambda is invoked
// for exactly what some rule reads:
//
//   - management-events.json: every watched call of a non-IAM source by name, failed calls
//     on the sources RA-04 counts, and everything done as root;
//   - iam-events.json: the watched IAM calls (IAM events are delivered in us-east-1 only,
//     where the module puts a second rule);
//   - access-events.json: the watched calls of the sources that hand out credentials or
//     network access (STS, IAM Roles Anywhere, EC2), which the management pattern has
//     no room left for.
//
// Files are compact JSON with a final newline, within MaxPatternBytes.
func PatternFiles() (map[string][]byte, error) {
	w := WatchedCalls()
	var or []any
	var sources []string
	for src := range w.Calls {
		sources = append(sources, src)
	}
	slices.Sort(sources)
	var access []any
	for _, src := range sources {
		switch {
		case src == srcIAM:
		case slices.Contains(accessSources, src):
			access = append(access, sourceAlternatives(w, src)...)
		default:
			or = append(or, sourceAlternatives(w, src)...)
		}
	}
	if len(w.Failures) > 0 {
		or = append(or, map[string]any{"eventSource": w.Failures, "errorCode": []any{map[string]bool{"exists": true}}})
	}
	if w.Root {
		or = append(or, map[string]any{"userIdentity": map[string]any{"type": []string{"Root"}}})
	}
	mgmt := map[string]any{
		"detail-type": []string{detailAPICall, detailService, detailSignin},
		"detail":      map[string]any{"$or": or},
	}
	iam := map[string]any{
		"detail-type": []string{detailAPICall},
		"detail":      map[string]any{"eventSource": []string{srcIAM}, "eventName": w.Calls[srcIAM]},
	}
	acc := map[string]any{
		"detail-type": []string{detailAPICall},
		"detail":      map[string]any{"$or": access},
	}
	out := map[string][]byte{}
	for name, p := range map[string]any{"management-events.json": mgmt, "iam-events.json": iam, "access-events.json": acc} {
		b, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		if len(b) > MaxPatternBytes {
			return nil, fmt.Errorf("pattern %s is %d bytes, over EventBridge's %d: split it", name, len(b), MaxPatternBytes)
		}
		out[name] = append(b, '\n')
	}
	return out, nil
}

// sourceAlternatives are the "$or" branches that select the watched calls of src: one
// for the calls named plainly, one for each call a rule narrows further.
func sourceAlternatives(w Watched, src string) []any {
	var or []any
	var plain []string
	for _, name := range w.Calls[src] {
		frags, ok := w.Narrow[src+" "+name]
		if !ok {
			plain = append(plain, name)
			continue
		}
		for _, extra := range frags {
			alt := map[string]any{"eventSource": []string{src}, "eventName": []string{name}}
			for k, v := range extra {
				alt[k] = v
			}
			or = append(or, alt)
		}
	}
	if len(plain) == 0 {
		return or
	}
	names := make([]any, 0, len(plain))
	for _, n := range plain {
		if p, ok := strings.CutSuffix(n, "*"); ok {
			names = append(names, map[string]string{"prefix": p})
		} else {
			names = append(names, n)
		}
	}
	return append(or, map[string]any{"eventSource": []string{src}, "eventName": names})
}

// accessSources are the event sources of access-events.json.
var accessSources = []string{srcSTS, srcRolesAnywhere, srcEC2}

// Pattern is a parsed EventBridge event pattern. Match implements the subset the
// generated patterns use (lists of strings, "exists", "prefix", nested objects and "$or"), so
// tests and the cost report can tell which events would invoke the Lambda.
type Pattern struct{ root map[string]any }

// ParsePattern reads an event pattern.
func ParsePattern(b []byte) (*Pattern, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("event pattern: %w", err)
	}
	return &Pattern{root: m}, nil
}

// ReadPatterns parses every *.json event pattern in dir, in name order: a deployed set
// (modules/audit-alerts/patterns) or another one to compare it with.
func ReadPatterns(dir string) ([]*Pattern, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(paths) == 0 {
		return nil, fmt.Errorf("patterns: no *.json in %s", dir)
	}
	out := make([]*Pattern, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("patterns: %w", err)
		}
		pat, err := ParsePattern(b)
		if err != nil {
			return nil, fmt.Errorf("patterns: %s: %w", p, err)
		}
		out = append(out, pat)
	}
	return out, nil
}

// Match reports whether an event built by EventOf matches.
func (p *Pattern) Match(ev map[string]any) (bool, error) { return matchObject(p.root, ev) }

// EventOf builds the EventBridge event that carries rec, as a generic JSON value.
func EventOf(rec *cloudtrail.Record) (map[string]any, error) {
	detail, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	var d map[string]any
	if err := json.Unmarshal(detail, &d); err != nil {
		return nil, err
	}
	dt := detailAPICall
	switch {
	case rec.EventType == "AwsServiceEvent":
		dt = detailService
	case rec.EventType == "AwsConsoleSignIn":
		dt = detailSignin
	}
	return map[string]any{"detail-type": dt, "source": "aws." + trimService(rec.EventSource), "detail": d}, nil
}

func trimService(src string) string {
	if i := bytes.IndexByte([]byte(src), '.'); i >= 0 {
		return src[:i]
	}
	return src
}

func matchObject(pat map[string]any, ev map[string]any) (bool, error) {
	for k, v := range pat {
		if k == "$or" {
			alts, ok := v.([]any)
			if !ok {
				return false, fmt.Errorf("$or: want a list")
			}
			matched := false
			for _, a := range alts {
				m, ok := a.(map[string]any)
				if !ok {
					return false, fmt.Errorf("$or: want objects")
				}
				ok, err := matchObject(m, ev)
				if err != nil {
					return false, err
				}
				if ok {
					matched = true
					break
				}
			}
			if !matched {
				return false, nil
			}
			continue
		}
		ok, err := matchField(v, ev[k], hasKey(ev, k))
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func hasKey(m map[string]any, k string) bool { _, ok := m[k]; return ok }

func matchField(pat, val any, present bool) (bool, error) {
	switch p := pat.(type) {
	case map[string]any:
		sub, _ := val.(map[string]any)
		return matchObject(p, sub)
	case []any:
		for _, alt := range p {
			switch a := alt.(type) {
			case string:
				if s, ok := val.(string); ok && s == a {
					return true, nil
				}
			case map[string]any:
				if len(a) != 1 {
					return false, fmt.Errorf("unsupported pattern operator %v", a)
				}
				if pre, ok := a["prefix"].(string); ok {
					if s, ok := val.(string); ok && strings.HasPrefix(s, pre) {
						return true, nil
					}
					continue
				}
				ex, ok := a["exists"].(bool)
				if !ok {
					return false, fmt.Errorf("unsupported pattern operator %v", a)
				}
				if ex == (present && val != nil && val != "") {
					return true, nil
				}
			default:
				return false, fmt.Errorf("unsupported pattern value %v", alt)
			}
		}
		return false, nil
	}
	return false, fmt.Errorf("unsupported pattern %v", pat)
}
