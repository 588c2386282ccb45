package rotation

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
)

// TestPasswordFollowsThePolicy: every drawn password has the length asked, only
// characters of the kept classes less the exclusions, and, when asked, one of each kept
// class; different draws differ.
func TestPasswordFollowsThePolicy(t *testing.T) {
	for _, tc := range []struct {
		name  string
		p     PasswordPolicy
		allow string // every character a password may hold
		each  []string
	}{
		{"AWS defaults", PasswordPolicy{Length: 32, ExcludeCharacters: DefaultExcludeCharacters, RequireEachIncludedType: true},
			strings.Map(drop(DefaultExcludeCharacters), lowercase+uppercase+digits+punctuation),
			[]string{lowercase, uppercase, digits, strings.Map(drop(DefaultExcludeCharacters), punctuation)}},
		{"no punctuation, short", PasswordPolicy{Length: 8, ExcludePunctuation: true, RequireEachIncludedType: true},
			lowercase + uppercase + digits, []string{lowercase, uppercase, digits}},
		{"digits only, long", PasswordPolicy{Length: 4096, ExcludeLowercase: true, ExcludeUppercase: true, ExcludePunctuation: true},
			digits, nil},
		{"a class emptied by exclusions is not required", PasswordPolicy{Length: 8, ExcludeCharacters: digits, RequireEachIncludedType: true},
			lowercase + uppercase + punctuation, []string{lowercase, uppercase, punctuation}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[string]bool{}
			for range 200 {
				pw, err := drawWithCheck(tc.p, rand.Reader, nil)
				if err != nil {
					t.Fatal(err)
				}
				if int64(len(pw)) != tc.p.Length {
					t.Fatalf("%q: length %d, want %d", pw, len(pw), tc.p.Length)
				}
				if i := strings.IndexFunc(pw, func(r rune) bool { return !strings.ContainsRune(tc.allow, r) }); i >= 0 {
					t.Fatalf("%q holds %q, outside the policy's characters", pw, pw[i])
				}
				for _, c := range tc.each {
					if !strings.ContainsAny(pw, c) {
						t.Fatalf("%q has none of %q, which RequireEachIncludedType asks for", pw, c)
					}
				}
				if seen[pw] {
					t.Fatalf("%q drawn twice", pw)
				}
				seen[pw] = true
			}
		})
	}
}

func drop(chars string) func(rune) rune {
	return func(r rune) rune {
		if strings.ContainsRune(chars, r) {
			return -1
		}
		return r
	}
}

// TestPasswordPolicyThatCannotBeMet fails with ErrPasswordPolicy and says why.
func TestPasswordPolicyThatCannotBeMet(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    PasswordPolicy
		want string
	}{
		{"every character excluded", PasswordPolicy{Length: 16, ExcludeCharacters: lowercase + uppercase + digits + punctuation}, EnvExcludeCharacters},
		{"shorter than the classes", PasswordPolicy{Length: 3, RequireEachIncludedType: true}, EnvPasswordLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := drawWithCheck(tc.p, rand.Reader, nil)
			if !errors.Is(err, ErrPasswordPolicy) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want ErrPasswordPolicy naming %s", err, tc.want)
			}
		})
	}
	// A source that always gives the same byte never yields all four classes.
	_, err := drawWithCheck(PasswordPolicy{Length: 8, RequireEachIncludedType: true}, bytes.NewReader(bytes.Repeat([]byte{0}, 1<<20)), nil)
	if !errors.Is(err, ErrPasswordPolicy) {
		t.Fatalf("stuck source: err %v, want ErrPasswordPolicy", err)
	}
}

// TestPendingCheckValue: a pending password carries the check value of its token and the
// current password, still follows the policy, and any other token, key or character
// fails the check.
func TestPendingCheckValue(t *testing.T) {
	for _, p := range []PasswordPolicy{
		{Length: 32, ExcludeCharacters: DefaultExcludeCharacters, RequireEachIncludedType: true},
		{Length: 8, ExcludePunctuation: true, RequireEachIncludedType: true},
		{Length: 4096, ExcludeLowercase: true, ExcludeUppercase: true, ExcludePunctuation: true},
	} {
		r := &Rotator{Config: Config{Password: p}}
		cur := dbsecret.Secret{Engine: "postgres", Host: "h", Port: 5432, Username: "u", Password: "current-password", DBName: "d"}
		next, err := r.NewPending(context.Background(), cur, "token-1")
		if err != nil {
			t.Fatal(err)
		}
		pw := next.Password
		alphabet, classes := passwordAlphabet(p)
		if int64(len(pw)) != p.Length || strings.Trim(pw, alphabet) != "" || (p.RequireEachIncludedType && !hasEach([]byte(pw), classes)) {
			t.Fatalf("policy %+v: %q breaks it", p, pw)
		}
		if !madeFrom(p, pw, "current-password", "token-1") {
			t.Fatalf("policy %+v: %q fails its own check", p, pw)
		}
		if madeFrom(p, pw, "another-password", "token-1") || madeFrom(p, pw, "current-password", "token-2") {
			t.Fatalf("policy %+v: %q passes with another key or token", p, pw)
		}
		other := alphabet[0]
		if pw[0] == other {
			other = alphabet[1]
		}
		if madeFrom(p, string(other)+pw[1:], "current-password", "token-1") {
			t.Fatalf("policy %+v: a changed character still passes", p)
		}
	}
}
