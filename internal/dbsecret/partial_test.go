package dbsecret

import (
	"errors"
	"strings"
	"testing"
)

func TestParseUnbootstrapped(t *testing.T) {
	const base = `"engine":"postgres","host":"db.example","port":5432,"dbname":"rates","username":"rates_app","masterarn":"arn:aws:secretsmanager:us-east-1:1:secret:m"`
	tests := []struct {
		name, in, wantPassword, wantErr string
	}{
		{"no password key", `{` + base + `}`, "", ""},
		{"empty password", `{` + base + `,"password":""}`, "", ""},
		{"null password", `{` + base + `,"password":null}`, "", ""},
		{"a password", `{` + base + `,"password":"pw-123"}`, "pw-123", ""},
		{"password not a string", `{` + base + `,"password":5}`, "", `"password" must be a string`},
		{"no username", `{"engine":"postgres","host":"h"}`, "", `"username" is missing`},
		{"bad engine", `{"engine":"mysql","host":"h","username":"u"}`, "", `"engine"`},
		{"bad port", `{"engine":"postgres","host":"h","username":"u","port":"x"}`, "", `"port"`},
		{"not JSON", `{`, "", "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseUnbootstrapped([]byte(tt.in))
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrInvalid with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Password != tt.wantPassword || s.Username != "rates_app" || s.DBName != "rates" || s.MasterARN == "" {
				t.Fatalf("parsed %v (password %q)", s, s.Password)
			}
			// Everything else keeps refusing it.
			if tt.wantPassword == "" {
				if _, err := Parse([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), `"password"`) {
					t.Fatalf("Parse accepted a secret without a password: %v", err)
				}
			}
		})
	}
}

func TestParseCredentials(t *testing.T) {
	s, only, err := ParseCredentials([]byte(`{"username":"postgres","password":"pw"}`))
	if err != nil || !only || s.Username != "postgres" || s.Password != "pw" || s.Host != "" {
		t.Fatalf("RDS-managed: %v %v %v", s, only, err)
	}
	s, only, err = ParseCredentials([]byte(`{"engine":"postgres","host":"h","username":"a","password":"pw","dbname":"d"}`))
	if err != nil || only || s.Host != "h" || s.DBName != "d" {
		t.Fatalf("full: %v %v %v", s, only, err)
	}
	for _, in := range []string{`{"username":"postgres"}`, `{"password":"x"}`, `{"username":"u","password":"p","host":""}`, `[]`} {
		if _, _, err := ParseCredentials([]byte(in)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v", in, err)
		}
	}
}

func FuzzParseUnbootstrapped(f *testing.F) {
	f.Add(`{"engine":"postgres","host":"h","username":"u"}`)
	f.Add(`{"engine":"postgres","host":"h","username":"u","password":""}`)
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseUnbootstrapped([]byte(in))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
			return
		}
		if s.Username == "" || s.Host == "" {
			t.Fatalf("accepted without username or host: %v", s)
		}
	})
}
