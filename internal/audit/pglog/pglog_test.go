package pglog

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strings"
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

// TestLogTimezones: log_timezone decides how %m and %t are written; every form must come
// back as the instant the server meant, 09:30 UTC here.
func TestLogTimezones(t *testing.T) {
	want := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	for _, tc := range []struct{ name, stamp string }{
		{"UTC", "2026-11-20 09:30:00 UTC"},
		{"EST (America/New_York)", "2026-11-20 04:30:00 EST"},
		{"CET (Europe/Berlin)", "2026-11-20 10:30:00 CET"},
		{"CEST in summer time", "2026-11-20 11:30:00 CEST"},
		{"numeric +04 (Asia/Dubai)", "2026-11-20 13:30:00 +04"},
		{"numeric -0330", "2026-11-20 06:00:00 -0330"},
		{"numeric -03:30", "2026-11-20 06:00:00 -03:30"},
		{"numeric +0530 with milliseconds", "2026-11-20 15:00:00.000 +0530"},
		{"IANA name", "2026-11-20 10:30:00 Europe/Berlin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, line := range []string{
				tc.stamp + ":203.0.113.50(40101):rates_app@rates:[101]:FATAL:  password authentication failed for user \"rates_app\"",
				tc.stamp + " [101] rates_app@rates FATAL:  password authentication failed for user \"rates_app\"",
			} {
				l, ok, err := NewParser().Line(line, time.Time{})
				if err != nil || !ok {
					t.Fatalf("%q: ok %v err %v", line, ok, err)
				}
				if !l.Time.Equal(want) || l.PID != "101" || l.User != "rates_app" {
					t.Errorf("%q: %v pid %s user %s, want %v", line, l.Time.UTC(), l.PID, l.User, want)
				}
			}
		})
	}
}

// An unknown zone is an error for a file, and CloudWatch's timestamp for a subscription.
func TestUnknownZone(t *testing.T) {
	line := "2026-11-20 10:30:00 XYZT [101] rates_app@rates LOG:  connection authorized: user=rates_app database=rates"
	_, _, err := Stream(strings.NewReader(line+"\n"), func(*Login) error { return nil })
	if !errors.Is(err, ErrZone) || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("Stream: %v, want ErrZone on line 1", err)
	}
	ts := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	l, ok, err := NewParser().Line(line, ts)
	if err != nil || !ok || !l.Time.Equal(ts) || l.PID != "101" {
		t.Fatalf("with a timestamp: %+v %v %v", l, ok, err)
	}
}

// A log none of whose lines can be read is an error, not a warning.
func TestUnreadableLog(t *testing.T) {
	log := "Nov 20 09:30:00 db1 postgres[101]: connection authorized: user=rates_app\nNov 20 09:30:01 db1 postgres[102]: connection authorized: user=rates_app\n"
	if _, _, err := Stream(strings.NewReader(log), func(*Login) error { return nil }); !errors.Is(err, ErrNotLog) {
		t.Fatalf("Stream: %v, want ErrNotLog", err)
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-11-20 09:30:00 UTC:x", "2026-11-20 09:30:00.123 -03:30 [1]", "2026-11-20 09:30:00 +04:10.0.0.1(5)", "2026-11-20 09:30:00 Europe/Berlin [1]", "2026-11-20 09:30:00 -"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, rest, found, err := parseTime(s)
		if !found && err != nil {
			t.Fatalf("error without a time: %v", err)
		}
		if found && err == nil && tm.IsZero() {
			t.Fatalf("found a zero time in %q", s)
		}
		if len(rest) > len(s) {
			t.Fatalf("rest longer than input")
		}
	})
}

// A line still being written (no newline yet) is neither an error nor skipped, and a
// log read from an offset with nothing complete in it is no error.
func TestUnfinishedLastLine(t *testing.T) {
	full := "2026-11-20 09:30:00.000 UTC [101] rates_app@rates LOG:  connection authorized: user=rates_app database=rates\n"
	for _, tc := range []struct {
		name, log string
		logins    int
	}{
		{"only a partial line", "2026-11-20 09:30:01.0", 0},
		{"a full line and a partial one", full + "2026-11-20 09:30:01.000 UTC [10", 1},
		{"a partial line with an unknown zone so far", full + "2026-11-20 09:30:01.000 XY", 1},
		{"empty", "", 0},
		{"CRLF", strings.ReplaceAll(full, "\n", "\r\n"), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, skipped, err := Stream(strings.NewReader(tc.log), func(*Login) error { return nil })
			if err != nil || n != tc.logins || skipped != 0 {
				t.Fatalf("logins %d skipped %d err %v, want %d logins", n, skipped, err, tc.logins)
			}
		})
	}
	long := strings.Repeat("x", maxLine+10) + "\n" + full
	if n, skipped, err := Stream(strings.NewReader(long), func(*Login) error { return nil }); err != nil || n != 1 {
		t.Fatalf("the line after an over-long one: logins %d skipped %d err %v", n, skipped, err)
	}
}
