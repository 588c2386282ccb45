package audit

import (
	"encoding/json"
	"slices"
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
	// roleChainKeyPrefix begins the key of what RA-21 remembers of the temporary access key
	// an AssumeRole issued: "chain|<access key id>", value a roleChain (roleChainValue).
	roleChainKeyPrefix = "chain|"
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

// roleChain is what RA-21 keeps of a temporary access key an AssumeRole issued: the
// identity at the start of the chain that led to it (as readerIdentity names it, with its
// description) and the roles assumed on the way, in order.
type roleChain struct {
	Origin string   `json:"origin"` // "principal|<arn>", "sso|<user>"
	How    string   `json:"how"`    // the origin as a finding names it
	Roles  []string `json:"roles"`  // at least one role ARN
}

// maxChainRoles bounds the roles a roleChain keeps: a chain longer than any real one (role
// chaining caps each hop at an hour) keeps its first roles and its last.
const maxChainRoles = 8

func roleChainKey(accessKeyID string) string { return roleChainKeyPrefix + accessKeyID }

// then returns the chain extended by one more role, within maxChainRoles.
func (c roleChain) then(role string) roleChain {
	roles := append(slices.Clone(c.Roles), role)
	if len(roles) > maxChainRoles {
		roles = append(roles[:maxChainRoles-1], role)
	}
	return roleChain{Origin: c.Origin, How: c.How, Roles: roles}
}

func roleChainValue(c roleChain) string {
	b, _ := json.Marshal(c) // strings only: cannot fail
	return string(b)
}

// parseRoleChain reads the value stored under a roleChainKey; anything the engine could not
// have written (an older format, a truncated value) is refused, and the read then counts
// as its session's own.
func parseRoleChain(value string) (roleChain, bool) {
	var c roleChain
	if json.Unmarshal([]byte(value), &c) != nil || c.How == "" || len(c.Roles) == 0 || len(c.Roles) > maxChainRoles {
		return roleChain{}, false
	}
	kind, _, ok := strings.Cut(c.Origin, "|")
	if !ok || (kind != "principal" && kind != "sso") || slices.Contains(c.Roles, "") {
		return roleChain{}, false
	}
	return c, true
}
