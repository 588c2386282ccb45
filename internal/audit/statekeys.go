package audit

import (
	"strconv"
	"strings"
	"time"
)

// The state the rules keep that is read outside the engine too (`rotaudit fleet` reads it
// from the state table): each key and value format is built and parsed here only, so the
// writer and the readers cannot drift apart.

// Key prefixes in the state table.
const (
	// PreviousUserKeyPrefix begins the key of what DB-06 remembers for each alternating
	// pair at a successful rotation: "dbprev|<user0>|<user1>", value "<user>|<unix time>".
	PreviousUserKeyPrefix = "dbprev|"
	// LastLoginKeyPrefix begins the key of a watched user's last successful login:
	// "dblast|<user>", value the login's unix time.
	LastLoginKeyPrefix = "dblast|"
	// dedupKeyPrefix begins a finding's deduplication key: "dedup|<rule>|<principal>|<dedup>".
	dedupKeyPrefix = "dedup|"
)

func previousUserKey(pair [2]string) string {
	return PreviousUserKeyPrefix + pair[0] + "|" + pair[1]
}

func previousUserValue(user string, rotated time.Time) string {
	return user + "|" + strconv.FormatInt(rotated.Unix(), 10)
}

// LastLoginKey is the key under which the engine keeps user's last successful login.
func LastLoginKey(user string) string { return LastLoginKeyPrefix + user }

func lastLoginValue(at time.Time) string { return strconv.FormatInt(at.Unix(), 10) }

// ParseLastLogin reads the value stored under LastLoginKey.
func ParseLastLogin(value string) (time.Time, bool) {
	t, err := strconv.ParseInt(value, 10, 64)
	if err != nil || t <= 0 {
		return time.Time{}, false
	}
	return time.Unix(t, 0).UTC(), true
}

// PreviousUser is what DB-06 keeps of an alternating pair: at the rotation of Rotated, the
// clients were using User, which that rotation made the previous user.
type PreviousUser struct {
	Pair    [2]string
	User    string
	Rotated time.Time
}

// ParsePreviousUser reads one entry stored under a PreviousUserKeyPrefix key.
func ParsePreviousUser(key, value string) (PreviousUser, bool) {
	rest, ok := strings.CutPrefix(key, PreviousUserKeyPrefix)
	if !ok {
		return PreviousUser{}, false
	}
	u0, u1, ok := strings.Cut(rest, "|")
	if !ok || u0 == "" || u1 == "" {
		return PreviousUser{}, false
	}
	user, at, ok := strings.Cut(value, "|")
	rotated, okT := ParseLastLogin(at) // the same unix-seconds encoding
	if !ok || !okT || (user != u0 && user != u1) {
		return PreviousUser{}, false
	}
	return PreviousUser{Pair: [2]string{u0, u1}, User: user, Rotated: rotated}, true
}

// DedupKeyPrefix begins the deduplication keys of rule id's findings; such a key lives in
// the state table while the finding's dedup window is open.
func DedupKeyPrefix(id string) string { return dedupKeyPrefix + id + "|" }

// ParseRotationFailureKey reads the dedup key of an RA-06 finding (RotationFailed or
// RotationAbandoned): the secret it names and the event.
func ParseRotationFailureKey(key string) (secret, event string, ok bool) {
	rest, ok := strings.CutPrefix(key, DedupKeyPrefix(RotationHealthRuleID))
	if !ok {
		return "", "", false
	}
	rest = strings.TrimSuffix(rest, "|failed")
	i := strings.LastIndexByte(rest, '|')
	if i < 0 {
		return "", "", false
	}
	rest, event = rest[:i], rest[i+1:]
	if event != "RotationFailed" && event != "RotationAbandoned" {
		return "", "", false
	}
	// Secret names hold no "|"; the principal before them may.
	secret = rest[strings.LastIndexByte(rest, '|')+1:]
	return secret, event, secret != ""
}
