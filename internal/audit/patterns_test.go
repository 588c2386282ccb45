package audit

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
	"github.com/rotaudit/rotaudit/internal/audit/state"
	"github.com/rotaudit/rotaudit/internal/testkit/corpus"
)

const patternDir = "../../modules/audit-alerts/patterns"

// committedPatterns reads the deployed pattern files.
func committedPatterns(t *testing.T) []*Pattern { return loadDir(t, patternDir) }

func matchAny(t *testing.T, pats []*Pattern, rec *cloudtrail.Record) bool {
	t.Helper()
	ev, err := EventOf(rec)
	if err != nil {
		t.Fatal(err)
	}
	return matchEvent(t, pats, ev)
}

func matchEvent(t *testing.T, pats []*Pattern, ev map[string]any) bool {
	t.Helper()
	for _, p := range pats {
		ok, err := p.Match(ev)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return true
		}
	}
	return false
}

// TestPatternFilesAreGenerated: the committed files are exactly what the rules generate,
// no file more, no file less (go generate ./internal/audit rewrites them).
func TestPatternFilesAreGenerated(t *testing.T) {
	files, err := PatternFiles()
	if err != nil {
		t.Fatal(err)
	}
	paths, _ := filepath.Glob(filepath.Join(patternDir, "*.json"))
	if len(paths) != len(files) {
		t.Errorf("%d pattern files committed, %d generated", len(paths), len(files))
	}
	for name, want := range files {
		have, err := os.ReadFile(filepath.Join(patternDir, name))
		if err != nil || string(have) != string(want) {
			t.Errorf("%s is stale or missing (%v): run go generate ./internal/audit", name, err)
		}
		if len(want) > MaxPatternBytes+1 {
			t.Errorf("%s: %d bytes, over EventBridge's limit", name, len(want))
		}
	}
}

// watchedRecord builds a record of a watched call that satisfies any narrowing.
func watchedRecord(src, name string) *cloudtrail.Record {
	r := &cloudtrail.Record{EventVersion: "1.09", EventSource: src, EventName: name, EventType: "AwsApiCall", EventID: src + name,
		EventTime: "2026-11-20T09:00:00Z", AWSRegion: "eu-west-1", SourceIPAddress: "203.0.113.5", RecipientAccountID: "111122223333",
		UserIdentity: cloudtrail.UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::111122223333:user/u", AccountID: "111122223333"}}
	if src == srcKMS && name == "Decrypt" {
		r.RequestParameters = json.RawMessage(`{"encryptionContext":{"SecretARN":"arn:aws:secretsmanager:eu-west-1:111122223333:secret:x-AbCdEf"}}`)
	}
	if len(name) > 8 && name[:8] == "Rotation" {
		r.EventType = "AwsServiceEvent"
	}
	r.Time, _ = time.Parse(time.RFC3339, r.EventTime)
	return r
}

// TestPatternsMatchTheRules checks both ways: every call a rule watches passes the
// committed patterns and is relevant to the engine; every call the patterns name is
// watched by a rule; calls no rule reads are kept out.
func TestPatternsMatchTheRules(t *testing.T) {
	pats := committedPatterns(t)
	w := WatchedCalls()
	e := NewEngine(testConfig(t), nil)
	for src, names := range w.Calls {
		for _, name := range names {
			if p, ok := strings.CutSuffix(name, "*"); ok {
				name = p + "Succeeded"
			}
			rec := watchedRecord(src, name)
			if !matchAny(t, pats, rec) {
				t.Errorf("%s %s is watched by a rule but the patterns drop it", src, name)
			}
			if !e.relevant(rec) {
				t.Errorf("%s %s is in the patterns but the engine skips it", src, name)
			}
		}
	}
	// The other way: every event name in a pattern is one a rule watches.
	for _, p := range pats {
		for _, alt := range alternatives(p.root) {
			srcs, _ := alt["eventSource"].([]any)
			names, _ := alt["eventName"].([]any)
			for _, s := range srcs {
				for _, n := range names {
					name, ok := n.(string)
					if m, isMap := n.(map[string]any); isMap {
						pre, _ := m["prefix"].(string)
						name, ok = pre+"*", pre != ""
					}
					if !ok || !slices.Contains(w.Calls[s.(string)], name) {
						t.Errorf("pattern names %s %v, which no rule watches", s, n)
					}
				}
			}
		}
	}
	for _, tc := range []struct {
		name string
		rec  *cloudtrail.Record
		want bool
	}{
		{"GenerateDataKey", watchedRecord(srcKMS, "GenerateDataKey"), false},
		{"ListSecrets", watchedRecord(srcSecrets, "ListSecrets"), false},
		{"DescribeDBInstances", watchedRecord(srcRDS, "DescribeDBInstances"), false},
		{"GetRole", watchedRecord(srcIAM, "GetRole"), false},
		{"S3 GetObject", watchedRecord(srcS3, "GetObject"), false},
		{"Decrypt of the auditor's table", func() *cloudtrail.Record {
			r := watchedRecord(srcKMS, "Decrypt")
			r.RequestParameters = json.RawMessage(`{"encryptionContext":{"aws:dynamodb:tableName":"state"}}`)
			return r
		}(), false},
		{"Decrypt made by Secrets Manager for a read", func() *cloudtrail.Record {
			r := watchedRecord(srcKMS, "Decrypt")
			r.UserIdentity.InvokedBy = srcSecrets
			return r
		}(), false},
		{"denied GenerateDataKey (RA-04)", func() *cloudtrail.Record {
			r := watchedRecord(srcKMS, "GenerateDataKey")
			r.ErrorCode = "AccessDenied"
			return r
		}(), true},
		{"root ListBuckets (RA-12)", func() *cloudtrail.Record {
			r := watchedRecord(srcS3, "ListBuckets")
			r.UserIdentity.Type = "Root"
			return r
		}(), true},
	} {
		if got := matchAny(t, pats, tc.rec); got != tc.want {
			t.Errorf("%s: patterns match=%v, want %v", tc.name, got, tc.want)
		}
		if tc.want && !e.relevant(tc.rec) {
			t.Errorf("%s: in the patterns but not relevant to the engine", tc.name)
		}
	}
}

func alternatives(root map[string]any) []map[string]any {
	d, _ := root["detail"].(map[string]any)
	if or, ok := d["$or"].([]any); ok {
		var out []map[string]any
		for _, a := range or {
			out = append(out, a.(map[string]any))
		}
		return out
	}
	return []map[string]any{d}
}

// TestPatternsCutInvocations reports, on eight days of the benign corpus, the fraction of
// events that invoke the Lambda with the service-wide patterns deployed before and with
// the generated ones, and requires the generated ones to send less than half as many.
func TestPatternsCutInvocations(t *testing.T) {
	before := loadDir(t, "testdata/patterns-service-only")
	after := committedPatterns(t)
	var total, nBefore, nAfter int
	_, err := corpus.New(7, func(r *cloudtrail.Record) error {
		total++
		ev, err := EventOf(r)
		if err != nil {
			return err
		}
		if matchEvent(t, before, ev) {
			nBefore++
		}
		if matchEvent(t, after, ev) {
			nAfter++
		}
		return nil
	}).Benign(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("benign corpus, 8 days, %d events: service-wide patterns invoke the Lambda for %d (%.1f%%), generated patterns for %d (%.1f%%)",
		total, nBefore, 100*float64(nBefore)/float64(total), nAfter, 100*float64(nAfter)/float64(total))
	if nAfter*2 > nBefore {
		t.Errorf("generated patterns send %d events, not less than half of %d", nAfter, nBefore)
	}
}

func loadDir(t *testing.T, dir string) []*Pattern {
	t.Helper()
	pats, err := ReadPatterns(dir)
	if err != nil {
		t.Fatal(err)
	}
	return pats
}

// TestDeliveredAgreesWithPatterns: what Engine.Delivered counts for replay is what the
// generated EventBridge patterns let through, on every fixture record.
func TestDeliveredAgreesWithPatterns(t *testing.T) {
	files, err := PatternFiles()
	if err != nil {
		t.Fatal(err)
	}
	var pats []*Pattern
	for _, b := range files {
		p, err := ParsePattern(b)
		if err != nil {
			t.Fatal(err)
		}
		pats = append(pats, p)
	}
	e := NewEngine(testConfig(t), state.NewMemory())
	fixtures, _ := filepath.Glob("testdata/rules/*/*.json")
	n := 0
	for _, f := range fixtures {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var fx struct {
			Records []json.RawMessage `json:"records"`
		}
		json.Unmarshal(b, &fx)
		for _, raw := range fx.Records {
			rec, err := cloudtrail.ParseRecord(raw)
			if err != nil {
				continue // a PostgreSQL line
			}
			ev, err := EventOf(rec)
			if err != nil {
				t.Fatal(err)
			}
			matched := false
			for _, p := range pats {
				m, err := p.Match(ev)
				if err != nil {
					t.Fatal(err)
				}
				matched = matched || m
			}
			if got := e.Delivered(rec); got != matched {
				t.Errorf("%s: %s %s (%s): Delivered %v, patterns %v", f, rec.EventSource, rec.EventName, rec.UserIdentity.Type, got, matched)
			}
			n++
		}
	}
	if n < 100 {
		t.Fatalf("only %d records compared", n)
	}
}

// TestNarrowingUnion: rules narrowing one call differently get the union of what they ask
// for, and a narrowing another one covers adds nothing.
func TestNarrowingUnion(t *testing.T) {
	users := map[string]any{"userIdentity": map[string]any{"type": []string{"IAMUser"}}}
	chains := map[string]any{"userIdentity": map[string]any{"type": []string{"AssumedRole", "IAMUser"}}}
	decrypt := map[string]any{"requestParameters": map[string]any{"encryptionContext": map[string]any{"SecretARN": exists}}}
	tests := []struct {
		name  string
		frags []map[string]any
		want  []map[string]any
	}{
		{"one", []map[string]any{users}, []map[string]any{users}},
		{"covered after", []map[string]any{chains, users}, []map[string]any{chains}},
		{"covered before", []map[string]any{users, chains}, []map[string]any{chains}},
		{"unrelated kept", []map[string]any{users, decrypt}, []map[string]any{users, decrypt}},
		{"same operator", []map[string]any{decrypt, decrypt}, []map[string]any{decrypt}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []map[string]any
			for _, f := range tc.frags {
				got = addAlternative(got, f)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("alternatives %v, want %v", got, tc.want)
			}
		})
	}
	// The rules as they are: RA-18 asks for users' AssumeRole, RA-21 for users' and role
	// sessions', and the pattern carries the latter alone.
	w := WatchedCalls()
	if got := w.Narrow[srcSTS+" AssumeRole"]; !reflect.DeepEqual(got, []map[string]any{chains}) {
		t.Errorf("sts AssumeRole narrowed by %v, want %v", got, chains)
	}
	svc := watchedRecord(srcSTS, "AssumeRole")
	svc.UserIdentity = cloudtrail.UserIdentity{Type: "AWSService", InvokedBy: "lambda.amazonaws.com"}
	role := watchedRecord(srcSTS, "AssumeRole")
	role.UserIdentity = cloudtrail.UserIdentity{Type: "AssumedRole", ARN: "arn:aws:sts::111122223333:assumed-role/ops/s", AccountID: "111122223333"}
	e := NewEngine(testConfig(t), nil)
	pats := committedPatterns(t)
	for _, tc := range []struct {
		name string
		rec  *cloudtrail.Record
		want bool
	}{{"a role session's AssumeRole", role, true}, {"a service's AssumeRole", svc, false}} {
		if got := matchAny(t, pats, tc.rec); got != tc.want {
			t.Errorf("%s: patterns match=%v, want %v", tc.name, got, tc.want)
		}
		if got := e.Delivered(tc.rec); got != tc.want {
			t.Errorf("%s: Delivered=%v, want %v", tc.name, got, tc.want)
		}
	}
}
