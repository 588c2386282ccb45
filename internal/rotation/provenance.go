package rotation

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
)

// Provenance of the pending password.
//
// Whoever may write the secret may put a value under the rotation's token before
// createSecret runs (RotateSecret makes the version; its id is in DescribeSecret), and
// createSecret, which must keep a value it finds so that a retried step never makes a
// second password, would keep that one: setSecret would then set a password its writer
// chose, who could log in with it. So the rotator's passwords carry a check value: the
// last characters are an HMAC-SHA256, keyed with the password that logs in as the user
// now (AWSCURRENT's), of the token and the rest of the password, written in the policy's
// characters. A writer who knows no password of the database cannot make one.
// createSecret checks a value it finds against AWSCURRENT; setSecret checks the pending
// password against the password that actually logged in, before anything is changed.
// A pending version made otherwise (by hand, or by AWS's function) is refused with what
// to do; the rest of the password is drawn as before, so its strength is that of the
// random part (PASSWORD_LENGTH less the check, 24 of 32 characters by default).

// ErrPendingNotMade: the pending password was not made by this rotation from the
// credentials that log in.
var ErrPendingNotMade = errors.New("AWSPENDING was not made by this rotator for this rotation")

// checkLen is how many of a password's characters are its check value: a quarter, from 2
// (PASSWORD_LENGTH 8) up to 8.
func checkLen(length int64) int {
	return int(min(8, max(2, length/4)))
}

// checkValue returns the n characters of alphabet that key (the user's password now) and
// token make of rest.
func checkValue(key, token, rest, alphabet string, n int) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte("rotaudit pending password v1\x00"))
	m.Write([]byte(token))
	m.Write([]byte{0})
	m.Write([]byte(rest))
	sum := m.Sum(nil)
	var b strings.Builder
	for i := range n {
		// Two bytes a character: the modulo bias stays below 1 in 650 for any alphabet.
		v := int(sum[2*i])<<8 | int(sum[2*i+1])
		b.WriteByte(alphabet[v%len(alphabet)])
	}
	return b.String()
}

// madeFrom reports whether password carries the check value that key and token give it
// under policy p.
func madeFrom(p PasswordPolicy, password, key, token string) bool {
	n := checkLen(int64(len(password)))
	if len(password) <= n {
		return false
	}
	alphabet, _ := passwordAlphabet(p)
	if alphabet == "" {
		return false
	}
	rest, check := password[:len(password)-n], password[len(password)-n:]
	return hmac.Equal([]byte(check), []byte(checkValue(key, token, rest, alphabet, n)))
}

// notMade is the refusal of a pending version without the rotator's check value.
func notMade(against string) error {
	return fmt.Errorf("%w: its password lacks the check value that %s gives it, so someone else wrote the version under this token "+
		"(a pending password chosen by whoever may write the secret would otherwise be set in the database): remove the label "+
		"(aws secretsmanager update-secret-version-stage --version-stage AWSPENDING --remove-from-version-id TOKEN) and rotate again",
		ErrPendingNotMade, against)
}

// provenWith names the version whose password logged in, for notMade: AWSCURRENT, or
// AWSPREVIOUS when AWSCURRENT was refused (its check value was made from AWSCURRENT, so
// such a pending version cannot be proved: put the password that logs in into
// AWSCURRENT first).
func provenWith(proven, current dbsecret.Secret) string {
	if proven.Password == current.Password {
		return "AWSCURRENT's password, which logs in,"
	}
	return "the password that logs in (AWSPREVIOUS: AWSCURRENT is refused, so set the database's password in AWSCURRENT first)"
}
