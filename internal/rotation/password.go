package rotation

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
)

// Password classes, as GetRandomPassword draws them (its punctuation is every printable
// ASCII character that is neither a letter, a digit nor a space).
const (
	lowercase   = "abcdefghijklmnopqrstuvwxyz"
	uppercase   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digits      = "0123456789"
	punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
)

// ErrPasswordPolicy: the policy leaves no password to draw.
var ErrPasswordPolicy = errors.New("password policy cannot be met")

// passwordAlphabet returns the characters p allows and its classes (those with a
// character left).
func passwordAlphabet(p PasswordPolicy) (string, []string) {
	var classes []string
	for _, c := range []struct {
		set     string
		exclude bool
	}{{lowercase, p.ExcludeLowercase}, {uppercase, p.ExcludeUppercase}, {digits, p.ExcludeNumbers}, {punctuation, p.ExcludePunctuation}} {
		if c.exclude {
			continue
		}
		kept := strings.Map(func(r rune) rune {
			if strings.ContainsRune(p.ExcludeCharacters, r) {
				return -1
			}
			return r
		}, c.set)
		if kept != "" {
			classes = append(classes, kept)
		}
	}
	return strings.Join(classes, ""), classes
}

// drawWithCheck draws a password under p from src (crypto/rand), as GetRandomPassword
// would with the same parameters: each character uniform over the classes p keeps, less
// ExcludeCharacters, and with RequireEachIncludedType at least one of each kept class
// (drawn again until it has one, which keeps every valid password equally likely). When
// check is not nil, the last characters are check(the rest, the alphabet, how many)
// rather than random (provenance.go). Made here rather than asked of Secrets Manager: one
// call fewer on every rotation's critical path, the new password never crosses the
// network before the rotator stores it, and the function's role needs no
// secretsmanager:GetRandomPassword.
func drawWithCheck(p PasswordPolicy, src io.Reader, check func(rest, alphabet string, n int) string) (string, error) {
	alphabet, classes := passwordAlphabet(p)
	if alphabet == "" {
		return "", fmt.Errorf("%w: %s excludes every character the other settings leave", ErrPasswordPolicy, EnvExcludeCharacters)
	}
	if p.Length < 1 {
		return "", fmt.Errorf("%w: length %d", ErrPasswordPolicy, p.Length)
	}
	if p.RequireEachIncludedType && int(p.Length) < len(classes) {
		return "", fmt.Errorf("%w: %s=%d is shorter than the %d character classes %s=true asks for", ErrPasswordPolicy, EnvPasswordLength, p.Length, len(classes), EnvRequireEachIncludedType)
	}
	n := big.NewInt(int64(len(alphabet)))
	random := int(p.Length)
	if check != nil {
		random -= checkLen(p.Length)
	}
	buf := make([]byte, random)
	// With 8 characters over four classes a draw lacks one about a third of the time; a
	// thousand draws all lacking one is beyond chance, so the source is broken.
	for range 1000 {
		for i := range buf {
			k, err := rand.Int(src, n)
			if err != nil {
				return "", fmt.Errorf("password: read random source: %w", err)
			}
			buf[i] = alphabet[k.Int64()]
		}
		pw := string(buf)
		if check != nil {
			pw += check(pw, alphabet, int(p.Length)-random)
		}
		if !p.RequireEachIncludedType || hasEach([]byte(pw), classes) {
			return pw, nil
		}
	}
	return "", fmt.Errorf("%w: the random source gave no password with each class in 1000 draws", ErrPasswordPolicy)
}

func hasEach(pw []byte, classes []string) bool {
	for _, c := range classes {
		if !strings.ContainsAny(string(pw), c) {
			return false
		}
	}
	return true
}
