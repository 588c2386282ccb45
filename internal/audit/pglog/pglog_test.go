package pglog

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"os"
	"testing"
	"time"
)

func TestStreamLocalLog(t *testing.T) {
	f, err := os.Open("testdata/local.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []Login
	n, skipped, err := Stream(f, func(l *Login) error { got = append(got, *l); return nil })
	if err != nil || n != 5 || skipped != 0 {
		t.Fatalf("logins %d skipped %d err %v: %+v", n, skipped, err, got)
	}
	want := []struct {
		kind       Kind
		user, host string
	}{
		{Authorized, "postgres", "[local]"},
		{Failed, "rates_app", "127.0.0.1"},
		{Failed, "nosuch", "127.0.0.1"},
		{Authorized, "rates_app", "127.0.0.1"},
		{Disconnected, "rates_app", "127.0.0.1"},
	}
	for i, w := range want {
		if g := got[i]; g.Kind != w.kind || g.User != w.user || g.Host != w.host || g.Database != "rates" {
			t.Errorf("login %d: %+v, want %v %s from %s", i, g, w.kind, w.user, w.host)
		}
	}
	if got[4].Session != 4480*time.Millisecond {
		t.Errorf("session time %v", got[4].Session)
	}
	if !got[1].Time.Equal(time.Date(2026, 12, 1, 13, 34, 41, 30e6, time.UTC)) || got[1].PID != "4942" {
		t.Errorf("time or pid: %v %s", got[1].Time, got[1].PID)
	}
}

// RDS's prefix is %t:%r:%u@%d:[%p]: and the address comes on every line.
func TestRDSLines(t *testing.T) {
	p := NewParser()
	lines := []string{
		"2026-12-01 13:34:41 UTC:10.0.1.5(55912):[unknown]@[unknown]:[4942]:LOG:  connection received: host=10.0.1.5 port=55912",
		"2026-12-01 13:34:41 UTC:10.0.1.5(55912):rates_app@rates:[4942]:LOG:  connection authorized: user=rates_app database=rates SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)",
		"2026-12-01 13:35:00 UTC:198.51.100.7(40000):rates_app@rates:[5000]:FATAL:  password authentication failed for user \"rates_app\"",
	}
	var got []Login
	for _, line := range lines {
		l, ok, err := p.Line(line, time.Time{})
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if ok {
			got = append(got, l)
		}
	}
	if len(got) != 2 || got[0].Kind != Authorized || got[0].Host != "10.0.1.5" || got[1].Kind != Failed || got[1].Host != "198.51.100.7" || got[1].User != "rates_app" {
		t.Fatalf("%+v", got)
	}
}

func TestSubscriptionEnvelope(t *testing.T) {
	env := map[string]any{"messageType": "DATA_MESSAGE", "owner": "111122223333", "logGroup": "/aws/rds/instance/rotaudit-prod/postgresql", "logStream": "rotaudit-prod",
		"subscriptionFilters": []string{"auditor"}, "logEvents": []map[string]any{
			{"id": "1", "timestamp": 1764596081000, "message": "2026-12-01 13:34:41 UTC:203.0.113.9(1):intruder@rates:[77]:LOG:  connection authorized: user=intruder database=rates"},
			{"id": "2", "timestamp": 1764596082000, "message": "not a log line"},
		}}
	b, _ := json.Marshal(env)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(b)
	zw.Close()
	raw, _ := json.Marshal(map[string]any{"awslogs": map[string]string{"data": base64.StdEncoding.EncodeToString(gz.Bytes())}})
	data, ok := IsSubscription(raw)
	if !ok {
		t.Fatal("subscription not recognised")
	}
	e, err := DecodeSubscription(data)
	if err != nil {
		t.Fatal(err)
	}
	logins, skipped := e.Logins()
	if len(logins) != 1 || skipped != 1 || logins[0].User != "intruder" || logins[0].Host != "203.0.113.9" {
		t.Fatalf("%+v skipped %d", logins, skipped)
	}
	for _, bad := range []string{"%%%", base64.StdEncoding.EncodeToString([]byte("plain"))} {
		if _, err := DecodeSubscription(bad); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
	if _, ok := IsSubscription([]byte(`{"detail-type":"x"}`)); ok {
		t.Error("EventBridge event taken for a subscription")
	}
}

// FuzzLine: any input parses without panicking, and a login always has a user and time.
func FuzzLine(f *testing.F) {
	b, _ := os.ReadFile("testdata/local.log")
	for _, l := range bytes.Split(b, []byte("\n")) {
		f.Add(string(l))
	}
	f.Add("2026-12-01 13:34:41 UTC:10.0.1.5(55912):a@b:[1]:FATAL:  no pg_hba.conf entry for host \"1.2.3.4\", user \"x\", database \"y\"")
	f.Fuzz(func(t *testing.T, line string) {
		p := NewParser()
		l, ok, _ := p.Line(line, time.Time{})
		if ok && (l.User == "" || l.Time.IsZero() || l.PID == "") {
			t.Fatalf("login without user, time or pid: %+v", l)
		}
	})
}
