// Package scram computes PostgreSQL SCRAM-SHA-256 password verifiers on the client, so a
// rotation can set a new password with ALTER ROLE ... PASSWORD '<verifier>' and the
// plaintext never travels in SQL, never reaches the server log or pg_stat_statements.
//
// The verifier is what PostgreSQL itself stores in pg_authid.rolpassword (RFC 5802 and
// RFC 7677 applied as in PostgreSQL's src/common/scram-common.c):
//
//	SCRAM-SHA-256$<iterations>:<salt base64>$<StoredKey base64>:<ServerKey base64>
//
// The keys come from github.com/xdg-go/scram (its stored credentials); this package only
// checks the password, lays out PostgreSQL's format and parses it. The hand-written
// derivation it had (crypto/pbkdf2 and HMAC, now only in the tests) was 1.3x faster, 3.2
// vs 4.3 ms per verifier (medians of 3 in one run, 2026-12-01): under the 1.5x that
// hand-written machinery must earn, so it gave way to the maintained package:
//
//	go test -run '^$' -bench StoredKeys -benchmem ./internal/scram
package scram

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	xdgscram "github.com/xdg-go/scram"
)

// Iterations is PostgreSQL's default scram_iterations.
const Iterations = 4096

// SaltLen is the salt length PostgreSQL uses (SCRAM_DEFAULT_SALT_LEN).
const SaltLen = 16

// ErrUnsupportedPassword is returned for passwords whose SASLprep normalisation could
// differ from their bytes: PostgreSQL normalises non-ASCII passwords before hashing, and
// a verifier computed from the raw bytes would then never match.
var ErrUnsupportedPassword = errors.New("password must be printable ASCII for a client-side SCRAM verifier")

// NewVerifier returns the verifier for password with a fresh random salt.
func NewVerifier(password string) (string, error) {
	salt := make([]byte, SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("scram: salt: %w", err)
	}
	return Verifier(password, salt, Iterations)
}

// Verifier returns the verifier for password, salt and iteration count.
func Verifier(password string, salt []byte, iterations int) (string, error) {
	if password == "" {
		return "", errors.New("scram: empty password")
	}
	for i := 0; i < len(password); i++ {
		// Printable ASCII is left unchanged by SASLprep, so these bytes are exactly what
		// the server hashes when a client logs in.
		if password[i] < 0x20 || password[i] > 0x7e {
			return "", ErrUnsupportedPassword
		}
	}
	if len(salt) == 0 || iterations < 1 {
		return "", errors.New("scram: salt and iteration count are required")
	}
	client, err := xdgscram.SHA256.NewClient("", password, "")
	if err != nil {
		return "", fmt.Errorf("scram: %w", err)
	}
	creds, err := client.GetStoredCredentialsWithError(xdgscram.KeyFactors{Salt: string(salt), Iters: iterations})
	if err != nil {
		return "", fmt.Errorf("scram: stored keys: %w", err)
	}
	enc := base64.StdEncoding
	return "SCRAM-SHA-256$" + strconv.Itoa(iterations) + ":" + enc.EncodeToString(salt) +
		"$" + enc.EncodeToString(creds.StoredKey) + ":" + enc.EncodeToString(creds.ServerKey), nil
}

// Check reports whether password matches verifier, as the server would decide.
func Check(verifier, password string) (bool, error) {
	iter, salt, stored, _, err := Parse(verifier)
	if err != nil {
		return false, err
	}
	v, err := Verifier(password, salt, iter)
	if err != nil {
		return false, err
	}
	_, _, got, _, _ := Parse(v)
	return hmac.Equal(got, stored), nil
}

// Parse splits a verifier into its parts, rejecting anything malformed.
func Parse(verifier string) (iterations int, salt, storedKey, serverKey []byte, err error) {
	bad := func(what string) error { return fmt.Errorf("scram: malformed verifier: %s", what) }
	rest, ok := strings.CutPrefix(verifier, "SCRAM-SHA-256$")
	if !ok {
		return 0, nil, nil, nil, bad("no SCRAM-SHA-256$ prefix")
	}
	params, keys, ok := strings.Cut(rest, "$")
	if !ok {
		return 0, nil, nil, nil, bad("no keys")
	}
	iterS, saltS, ok := strings.Cut(params, ":")
	if !ok {
		return 0, nil, nil, nil, bad("no salt")
	}
	if iterations, err = strconv.Atoi(iterS); err != nil || iterations < 1 {
		return 0, nil, nil, nil, bad("iteration count")
	}
	storedS, serverS, ok := strings.Cut(keys, ":")
	if !ok {
		return 0, nil, nil, nil, bad("no server key")
	}
	enc := base64.StdEncoding
	if salt, err = enc.DecodeString(saltS); err != nil || len(salt) == 0 {
		return 0, nil, nil, nil, bad("salt")
	}
	if storedKey, err = enc.DecodeString(storedS); err != nil || len(storedKey) != sha256.Size {
		return 0, nil, nil, nil, bad("stored key")
	}
	if serverKey, err = enc.DecodeString(serverS); err != nil || len(serverKey) != sha256.Size {
		return 0, nil, nil, nil, bad("server key")
	}
	return iterations, salt, storedKey, serverKey, nil
}
