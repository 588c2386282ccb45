package scram

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"testing"
)

// stdlibKeys derives the stored and server keys by hand (RFC 5802 with SHA-256): the
// derivation this package had before it took github.com/xdg-go/scram's, kept as a second
// opinion and as the benchmark's other side.
func stdlibKeys(password string, salt []byte, iterations int) (storedKey, serverKey []byte, err error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return nil, nil, err
	}
	mac := func(msg string) []byte {
		h := hmac.New(sha256.New, salted)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	stored := sha256.Sum256(mac("Client Key"))
	return stored[:], mac("Server Key"), nil
}

func TestVerifierMatchesHandDerivation(t *testing.T) {
	for _, pw := range []string{"pencil", "a", "~!@#$%^&*()_+ {}|:<>?", "0123456789abcdefghijklmnopqrstuvwxyz"} {
		salt := []byte("0123456789abcdef")
		v, err := Verifier(pw, salt, 16)
		if err != nil {
			t.Fatal(err)
		}
		_, _, stored, server, err := Parse(v)
		if err != nil {
			t.Fatal(err)
		}
		wantStored, wantServer, err := stdlibKeys(pw, salt, 16)
		if err != nil {
			t.Fatal(err)
		}
		if !hmac.Equal(stored, wantStored) || !hmac.Equal(server, wantServer) {
			t.Errorf("%q: keys differ from the hand derivation", pw)
		}
	}
}

// BenchmarkStoredKeys derives one verifier's keys with PostgreSQL's 4096 iterations:
// this package (github.com/xdg-go/scram underneath) beside the hand-written derivation.
//
//	go test -run '^$' -bench StoredKeys -benchmem ./internal/scram
func BenchmarkStoredKeys(b *testing.B) {
	salt, _ := base64.StdEncoding.DecodeString("SBp6XfxNf+hWgBzs4WoQHg==")
	b.Run("xdg-go-scram", func(b *testing.B) {
		for b.Loop() {
			if _, err := Verifier("pencil", salt, Iterations); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("hand-written", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := stdlibKeys("pencil", salt, Iterations); err != nil {
				b.Fatal(err)
			}
		}
	})
}
