package backfill

import (
	"errors"
	"strings"
	"testing"
)

const testKey = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/04/111122223333_CloudTrail_us-east-1_20260304T0000Z_x.json.gz"

func TestParseMessage(t *testing.T) {
	good := Message{Version: Version, Bucket: "org-trail", Key: testKey, ETag: `"abc"`}
	if m, err := ParseMessage([]byte(good.Body())); err != nil || m != good {
		t.Fatalf("round trip: %+v, %v", m, err)
	}
	tests := []struct{ name, body, want string }{
		{"not JSON", `{"rotaudit_backfill":1,`, "unexpected EOF"},
		{"other version", `{"rotaudit_backfill":2,"bucket":"org-trail","key":"` + testKey + `","etag":"e"}`, "version 1"},
		{"unknown field", `{"rotaudit_backfill":1,"bucket":"org-trail","key":"` + testKey + `","etag":"e","extra":1}`, "unknown field"},
		{"bad bucket", `{"rotaudit_backfill":1,"bucket":"Org_Trail","key":"` + testKey + `","etag":"e"}`, "bucket"},
		{"digest", `{"rotaudit_backfill":1,"bucket":"org-trail","key":"AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/03/04/d.json.gz","etag":"e"}`, "not a CloudTrail log file"},
		{"no etag", `{"rotaudit_backfill":1,"bucket":"org-trail","key":"` + testKey + `"}`, "no etag"},
		{"two objects", `{"rotaudit_backfill":1,"bucket":"org-trail","key":"` + testKey + `","etag":"e"} {}`, "data after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !IsMessage([]byte(tt.body)) && tt.name != "not JSON" {
				t.Errorf("IsMessage is false for %s", tt.body)
			}
			_, err := ParseMessage([]byte(tt.body))
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want ErrMalformed with %q, got %v", tt.want, err)
			}
		})
	}
	for _, other := range []string{`{"Records":[]}`, `"rotaudit_backfill"`, `{"detail-type":"x"}`, ``} {
		if IsMessage([]byte(other)) {
			t.Errorf("IsMessage(%q) is true", other)
		}
	}
}

func TestDedupID(t *testing.T) {
	a := Message{Version: Version, Bucket: "org-trail", Key: testKey, ETag: `"1"`}
	b := a
	b.ETag = `"2"`
	long := a
	long.Key = "very/" + strings.Repeat("long/", 40) + testKey
	if a.DedupID() != a.DedupID() || a.DedupID() == b.DedupID() {
		t.Fatal("the dedup id must be the same for the same file and differ for another content")
	}
	if n := len(long.DedupID()); n > 128 {
		t.Fatalf("dedup id of %d characters: SQS allows 128", n)
	}
}

func TestGrouping(t *testing.T) {
	k, _ := ParseKey(testKey)
	if got := GroupID(k); got != "111122223333/us-east-1" {
		t.Errorf("group %q, want the stream", got)
	}
}

// FuzzParseMessage: message bodies come from a queue others may be able to write to.
func FuzzParseMessage(f *testing.F) {
	f.Add(Message{Version: Version, Bucket: "org-trail", Key: testKey, ETag: "e"}.Body())
	f.Add(`{"rotaudit_backfill":1}`)
	f.Fuzz(func(t *testing.T, body string) {
		m, err := ParseMessage([]byte(body))
		if err != nil {
			return
		}
		if !IsMessage([]byte(body)) || ValidateBucket(m.Bucket) != nil || m.ETag == "" {
			t.Fatalf("accepted %q as %+v", body, m)
		}
		if _, err := ParseKey(m.Key); err != nil {
			t.Fatalf("accepted key %q: %v", m.Key, err)
		}
	})
}
