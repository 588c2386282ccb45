package scram

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// serverMade was produced by this project's PostgreSQL 15 for the password "pencil"
// (SET password_encryption = 'scram-sha-256'; CREATE ROLE ... PASSWORD 'pencil').
const serverMade = "SCRAM-SHA-256$4096:SBp6XfxNf+hWgBzs4WoQHg==$jDiCpJMNvc3U9lY8SALF2TY7tXjug6uHKx6KyaTOPcA=:StXtCq0850piz+ZGW9ZnvXF7u1G1UNL6woVAsmC9Ppg="

func TestVerifierMatchesServer(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString("SBp6XfxNf+hWgBzs4WoQHg==")
	got, err := Verifier("pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	if got != serverMade {
		t.Fatalf("verifier = %s, want the server's %s", got, serverMade)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name, password string
		want           bool
	}{
		{"right password", "pencil", true},
		{"wrong password", "pencil2", false},
		{"case matters", "Pencil", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := Check(serverMade, tt.password)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.want {
				t.Fatalf("Check = %v, want %v", ok, tt.want)
			}
		})
	}
}

func TestNewVerifierSaltsDiffer(t *testing.T) {
	a, err := NewVerifier("same-password")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewVerifier("same-password")
	if a == b {
		t.Fatal("two verifiers of one password are equal: the salt is not random")
	}
	if strings.Contains(a, "same-password") {
		t.Fatal("verifier contains the password")
	}
	_, salt, _, _, err := Parse(a)
	if err != nil || len(salt) != SaltLen {
		t.Fatalf("salt length %d, err %v", len(salt), err)
	}
}

func TestVerifierRejects(t *testing.T) {
	tests := []struct {
		name, password string
		wantUnsupp     bool
	}{
		{"empty", "", false},
		{"non-ASCII", "pässword", true},
		{"control character", "pass\nword", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewVerifier(tt.password)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrUnsupportedPassword) != tt.wantUnsupp {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestParseRejectsMalformed(t *testing.T) {
	for _, v := range []string{
		"", "md5abc", "SCRAM-SHA-256$", "SCRAM-SHA-256$4096:c2FsdA==",
		"SCRAM-SHA-256$x:c2FsdA==$a:b", "SCRAM-SHA-256$4096:!!$a:b",
		strings.Replace(serverMade, "4096", "0", 1),
		serverMade[:len(serverMade)-4],
	} {
		if _, _, _, _, err := Parse(v); err == nil {
			t.Errorf("Parse(%q) accepted", v)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(serverMade)
	f.Add("SCRAM-SHA-256$1:AA==$" + strings.Repeat("A", 43) + "=:" + strings.Repeat("A", 43) + "=")
	f.Fuzz(func(t *testing.T, v string) {
		iter, salt, stored, server, err := Parse(v)
		if err != nil {
			return
		}
		if iter < 1 || len(salt) == 0 || len(stored) != 32 || len(server) != 32 {
			t.Fatalf("Parse accepted a malformed verifier %q", v)
		}
	})
}
