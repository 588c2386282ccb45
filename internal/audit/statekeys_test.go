package audit

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestStateKeys: what the engine writes, the readers outside it parse back.
func TestStateKeys(t *testing.T) {
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	pair := [2]string{"rates_app", "rates_app_clone"}
	p, ok := ParsePreviousUser(previousUserKey(pair), previousUserValue("rates_app_clone", at))
	if !ok || p.Pair != pair || p.User != "rates_app_clone" || !p.Rotated.Equal(at) {
		t.Fatalf("previous user: %+v %v", p, ok)
	}
	if got, ok := ParseLastLogin(lastLoginValue(at)); !ok || !got.Equal(at) {
		t.Fatalf("last login: %v %v", got, ok)
	}
	for _, bad := range [][2]string{
		{"dbprev|a|b", "c|1700000000"}, // not one of the pair
		{"dbprev|a", "a|1700000000"},   // no pair
		{"dbprev|a|b", "a|x"},          // no time
		{"dblast|a", "a|1700000000"},   // another key
	} {
		if p, ok := ParsePreviousUser(bad[0], bad[1]); ok {
			t.Errorf("ParsePreviousUser(%q, %q) = %+v, want refused", bad[0], bad[1], p)
		}
	}

	chain := roleChain{Origin: "principal|arn:aws:iam::111122223333:user/alice", How: "arn:aws:iam::111122223333:user/alice",
		Roles: []string{"arn:aws:iam::444455556666:role/ops"}}
	if c, ok := parseRoleChain(roleChainValue(chain)); !ok || !reflect.DeepEqual(c, chain) {
		t.Fatalf("role chain: %+v %v", c, ok)
	}
	long := chain
	for i := range 2 * maxChainRoles {
		long = long.then(fmt.Sprintf("arn:aws:iam::777788889999:role/hop%d", i))
	}
	if c, ok := parseRoleChain(roleChainValue(long)); !ok || len(c.Roles) != maxChainRoles || c.Roles[0] != chain.Roles[0] ||
		c.Roles[maxChainRoles-1] != fmt.Sprintf("arn:aws:iam::777788889999:role/hop%d", 2*maxChainRoles-1) {
		t.Fatalf("a long chain keeps %d roles, its first and its last: %+v %v", maxChainRoles, c, ok)
	}
	for _, bad := range []string{
		`{"origin":"principal|x","how":"x","roles":[]}`,   // no role
		`{"origin":"source|x","how":"x","roles":["r"]}`,   // a source identity is never linked
		`{"origin":"principal|x","how":"","roles":["r"]}`, // nothing to name it by
		`{"origin":"principal|x","how":"x","roles":[""]}`, // an empty role
		`principal|x`, // not the format
	} {
		if c, ok := parseRoleChain(bad); ok {
			t.Errorf("parseRoleChain(%q) = %+v, want refused", bad, c)
		}
	}

	tests := []struct {
		key, secret, event string
		ok                 bool
	}{
		{DedupKeyPrefix(RotationHealthRuleID) + "secretsmanager.amazonaws.com|rotaudit/dev/app|RotationFailed", "rotaudit/dev/app", "RotationFailed", true},
		{DedupKeyPrefix(RotationHealthRuleID) + "arn:aws:iam::1:role/a|b|rotaudit/dev/app|RotationAbandoned|failed", "rotaudit/dev/app", "RotationAbandoned", true},
		{DedupKeyPrefix(RotationHealthRuleID) + "p|rotaudit/dev/app|RotationSucceeded", "", "", false},
		{DedupKeyPrefix("RA-01") + "p|rotaudit/dev/app|RotationFailed", "", "", false},
		{DedupKeyPrefix(RotationHealthRuleID) + "RotationFailed", "", "", false},
	}
	for _, tt := range tests {
		s, e, ok := ParseRotationFailureKey(tt.key)
		if s != tt.secret || e != tt.event || ok != tt.ok {
			t.Errorf("ParseRotationFailureKey(%q) = %q %q %v, want %q %q %v", tt.key, s, e, ok, tt.secret, tt.event, tt.ok)
		}
	}
}

// FuzzStateKeys: whatever the state table holds, the readers never panic, and what they
// accept is what the engine could have written.
func FuzzStateKeys(f *testing.F) {
	f.Add("dbprev|a|b", "a|1700000000")
	f.Add("dedup|RA-06|p|rotaudit/dev/app|RotationFailed|failed", "")
	f.Add("dbprev||", "|")
	f.Add("chain|ASIAQEXAMPLECHAINB01", `{"origin":"sso|bob","how":"Identity Center user bob","roles":["arn:aws:iam::1:role/a"]}`)
	f.Fuzz(func(t *testing.T, key, value string) {
		if p, ok := ParsePreviousUser(key, value); ok {
			if previousUserKey(p.Pair) != key || (p.User != p.Pair[0] && p.User != p.Pair[1]) || p.Rotated.Unix() <= 0 {
				t.Fatalf("accepted %q %q as %+v", key, value, p)
			}
		}
		if s, e, ok := ParseRotationFailureKey(key); ok && (s == "" || strings.Contains(s, "|") || (e != "RotationFailed" && e != "RotationAbandoned")) {
			t.Fatalf("accepted %q as %q %q", key, s, e)
		}
		ParseLastLogin(value)
		if c, ok := parseRoleChain(value); ok {
			if again, ok := parseRoleChain(roleChainValue(c)); !ok || !reflect.DeepEqual(again, c) {
				t.Fatalf("role chain %q read as %+v, which does not read back", value, c)
			}
		}
	})
}
