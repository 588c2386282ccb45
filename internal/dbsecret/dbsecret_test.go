package dbsecret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const sample = `{"engine":"postgres","host":"db.internal","port":"6432","username":"rates_app","password":"s3cr3t-PW","dbname":"rates","ssl":false,"masterarn":"arn:aws:secretsmanager:us-east-1:111122223333:secret:admin","owner":"team-x","nested":{"a":[1,2]}}`

func TestParseValid(t *testing.T) {
	s, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if s.Engine != "postgres" || s.Host != "db.internal" || s.Port != 6432 || s.Username != "rates_app" ||
		s.Password != "s3cr3t-PW" || s.DBName != "rates" || s.SSL == nil || *s.SSL ||
		s.MasterARN != "arn:aws:secretsmanager:us-east-1:111122223333:secret:admin" {
		t.Fatalf("parsed wrong: %+v", s)
	}
	if v, ok := s.Extra("owner"); !ok || string(v) != `"team-x"` {
		t.Fatalf("extra key lost: %s %v", v, ok)
	}
}

func TestDefaults(t *testing.T) {
	s, err := Parse([]byte(`{"engine":"aurora-postgresql","host":"h","username":"u","password":"p"}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Port != DefaultPort || s.DBName != DefaultDBName || s.SSL != nil {
		t.Fatalf("defaults not applied: %+v", s)
	}
}

func TestParseInvalid(t *testing.T) {
	base := map[string]any{"engine": "postgres", "host": "h", "username": "u", "password": "pw-NEVER-SHOWN"}
	with := func(k string, v any) string {
		m := map[string]any{}
		for kk, vv := range base {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	tests := []struct {
		name, in, want string
	}{
		{"not json", `{"password":"pw-NEVER-SHOWN"`, "input ends inside"},
		{"garbage", `pw-NEVER-SHOWN`, "syntax error at byte"},
		{"array", `[1,2]`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"empty", ``, "empty input"},
		{"trailing", with("x", 1) + `{}`, "trailing data"},
		{"no engine", with("engine", nil), `key "engine" is missing`},
		{"wrong engine", with("engine", "mysql"), `"mysql" is not supported`},
		{"no host", with("host", nil), `key "host" is missing`},
		{"empty host", with("host", " "), `key "host" is empty`},
		{"no username", with("username", nil), `key "username" is missing`},
		{"no password", with("password", nil), `key "password" is missing`},
		{"password number", with("password", 12), `key "password" must be a string`},
		{"port text", with("port", "five"), `key "port"`},
		{"port range", with("port", 70000), `not a port number`},
		{"port float", with("port", 5432.5), `not a port number`},
		{"port bool", with("port", true), `must be a number or a numeric string`},
		{"dbname empty", with("dbname", ""), `key "dbname": empty`},
		{"masterarn", with("masterarn", "admin user"), `not a secret ARN (arn:...) or name`},
		{"masterarn number", with("masterarn", 7), `key "masterarn" must be a string`},
		{"port float string", with("port", "5432.0"), `not a port number`},
		{"nul", with("username", "a\x00b"), `NUL byte`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("accepted %s", tt.in)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "NEVER-SHOWN") {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	s, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	s.Password = "new-password"
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"port": `"6432"`, "password": `"new-password"`, "owner": `"team-x"`, "nested": `{"a":[1,2]}`, "ssl": "false"}
	for k, v := range want {
		if string(got[k]) != v {
			t.Errorf("%s = %s, want %s", k, got[k], v)
		}
	}
	again, err := Parse(b)
	if err != nil || again.Password != "new-password" || again.Port != 6432 {
		t.Fatalf("re-parse: %+v %v", again, err)
	}
	s.Port = 5433
	b, _ = s.Marshal()
	if !bytes.Contains(b, []byte(`"port":"5433"`)) {
		t.Errorf("changed port not written as a string like the owner's: %s", b)
	}
}

// TestMarshalKeepsTheOwnersDocument: the pending secret is the owner's JSON with a new
// password (and, for alternating users, username): same key order, same JSON types, no
// key added, as AWS's functions (json.loads, change, json.dumps) write it.
func TestMarshalKeepsTheOwnersDocument(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"order, string port and ssl, no dbname",
			`{"username":"u","port":"15432","password":"old","ssl":"TRUE","host":"h","engine":"postgres","z":[1]}`,
			`{"username":"u2","port":"15432","password":"new","ssl":"TRUE","host":"h","engine":"postgres","z":[1]}`},
		{"float port, numeric ssl, null dbname",
			`{"engine":"postgres","host":"h","port":15432.0,"ssl":1,"dbname":null,"username":"u","password":"old"}`,
			`{"engine":"postgres","host":"h","port":15432.0,"ssl":1,"dbname":null,"username":"u2","password":"new"}`},
		{"master as a name, spacing dropped",
			`{ "masterarn" : "prod/admin", "password":"old", "username":"u", "engine":"postgres", "host":"h" }`,
			`{"masterarn":"prod/admin","password":"new","username":"u2","engine":"postgres","host":"h"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			s.Username, s.Password = "u2", "new"
			got, err := s.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("Marshal\n got %s\nwant %s", got, tt.want)
			}
		})
	}
	// Built in code, not parsed: a fixed order, dbname written when set.
	b, err := Secret{Engine: "postgres", Host: "h", Port: 5432, Username: "u", Password: "p", DBName: "d"}.Marshal()
	if err != nil || string(b) != `{"engine":"postgres","host":"h","port":5432,"username":"u","password":"p","dbname":"d"}` {
		t.Fatalf("built secret: %s %v", b, err)
	}
}

// TestAWSLenientValues: values AWS's functions accept: a port as an integral float, ssl as
// "yes", 1 or null (AWS: try TLS), ssl "True" (AWS: true), masterarn as a secret name.
func TestAWSLenientValues(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name, extra string
		port        int
		ssl         *bool
	}{
		{"port float", `"port":15432.0`, 15432, nil},
		{"port exponent", `"port":1.5432e4`, 15432, nil},
		{"port string", `"port":" 15432 "`, 15432, nil},
		{"ssl yes", `"ssl":"yes"`, 5432, nil},
		{"ssl 1", `"ssl":1`, 5432, nil},
		{"ssl null", `"ssl":null`, 5432, nil},
		{"ssl True", `"ssl":"True"`, 5432, &yes},
		{"ssl FALSE", `"ssl":"FALSE"`, 5432, &no},
		{"ssl false", `"ssl":false`, 5432, &no},
		{"master name", `"masterarn":"rds!db-1234"`, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(`{"engine":"postgres","host":"h","username":"u","password":"p",` + tt.extra + `}`))
			if tt.name == "master name" {
				// "!" is not in a secret name's alphabet: RDS's own secret names are
				// addressed by ARN.
				if err == nil {
					t.Fatal("accepted a master id with '!'")
				}
				if s, err = Parse([]byte(`{"engine":"postgres","host":"h","username":"u","password":"p","masterarn":"prod/db-admin_1"}`)); err != nil || s.MasterARN != "prod/db-admin_1" {
					t.Fatalf("master name: %v %v", s, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Port != tt.port || !sameBool(s.SSL, tt.ssl) {
				t.Fatalf("port %d ssl %v, want %d %v", s.Port, s.SSL, tt.port, tt.ssl)
			}
		})
	}
	for _, bad := range []string{`15432.5`, `"15432.0"`, `0.0`, `65536.0`, `1e400`} {
		if _, err := Parse([]byte(`{"engine":"postgres","host":"h","username":"u","password":"p","port":` + bad + `}`)); !errors.Is(err, ErrInvalid) {
			t.Errorf("port %s: err = %v, want refused", bad, err)
		}
	}
}

func TestNeverPrintsPassword(t *testing.T) {
	s, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "secret", s)
	for _, out := range []string{buf.String(), fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", s, s, s, s)} {
		if strings.Contains(out, "s3cr3t-PW") {
			t.Fatalf("password printed: %s", out)
		}
	}
	if !strings.Contains(buf.String(), `"username":"rates_app"`) {
		t.Fatalf("log lacks the username: %s", buf.String())
	}
}

func TestConnConfig(t *testing.T) {
	s, _ := Parse([]byte(`{"engine":"postgres","host":"h'st","username":"we ird'us\\er","password":"p' w","dbname":"d b"}`))
	cfg, err := s.ConnConfig(ConnOptions{SSLMode: "disable"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "h'st" || cfg.User != `we ird'us\er` || cfg.Password != "p' w" || cfg.Database != "d b" || cfg.TLSConfig != nil {
		t.Fatalf("config: host=%q user=%q db=%q tls=%v", cfg.Host, cfg.User, cfg.Database, cfg.TLSConfig != nil)
	}
	full, err := s.ConnConfig(ConnOptions{SSLMode: "verify-full"})
	if err != nil {
		t.Fatal(err)
	}
	if full.TLSConfig == nil || full.TLSConfig.InsecureSkipVerify || len(full.Fallbacks) != 0 {
		t.Fatalf("verify-full must verify and never fall back")
	}
	if _, err := s.ConnConfig(ConnOptions{SSLMode: "prefer"}); err == nil {
		t.Fatal("sslmode prefer (silent downgrade) accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte(`{"engine":"postgres","host":"h","username":"u","password":"p","port":5432}`))
	f.Add([]byte(`{"port":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		b, err := s.Marshal()
		if err != nil {
			t.Fatalf("marshal of a parsed secret: %v", err)
		}
		again, err := Parse(b)
		if err != nil {
			t.Fatalf("re-parse of marshalled secret: %v", err)
		}
		if again.Password != s.Password || again.Username != s.Username || again.Port != s.Port || again.Host != s.Host {
			t.Fatalf("round trip changed the secret")
		}
	})
}
