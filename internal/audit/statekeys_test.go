package audit

import (
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
