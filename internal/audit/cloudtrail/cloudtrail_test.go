package cloudtrail

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func collect(t *testing.T, in []byte) (ids []string, bad []error, err error) {
	t.Helper()
	_, err = Stream(bytes.NewReader(in), func(r *Record) error {
		ids = append(ids, r.EventID)
		return nil
	}, func(e error) { bad = append(bad, e) })
	return ids, bad, err
}

func TestStreamShapes(t *testing.T) {
	trail := read(t, "trail-log.json")
	lines := []byte(string(read(t, "eventbridge-event.json")) + `{"eventTime":"2026-11-20T11:00:00Z","eventSource":"kms.amazonaws.com","eventName":"Decrypt","eventID":"line-2"}` + "\n")
	tests := []struct {
		name    string
		in      []byte
		want    string
		bad     int
		wantErr bool
	}{
		{"trail log file", trail, "ev-1,ev-2,ev-3", 0, false},
		{"gzip trail log file", gz(t, trail), "ev-1,ev-2,ev-3", 0, false},
		{"bare array with too-large parameters", read(t, "records-array.json"), "ev-10,ev-11", 0, false},
		{"json lines of events and records", lines, "ev-20,line-2", 0, false},
		{"malformed records are skipped", read(t, "malformed-records.json"), "good", 3, false},
		{"truncated file keeps what came before", read(t, "truncated.json"), "a", 0, true},
		{"empty", nil, "", 0, false},
		{"not json", []byte("hello"), "", 0, true},
		{"records null", []byte(`{"Records":null}`), "", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ids, bad, err := collect(t, tc.in)
			if got := strings.Join(ids, ","); got != tc.want {
				t.Errorf("records: got %q, want %q", got, tc.want)
			}
			if len(bad) != tc.bad {
				t.Errorf("malformed reports: got %d (%v), want %d", len(bad), bad, tc.bad)
			}
			if (err != nil) != tc.wantErr {
				t.Errorf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Errorf("err %v does not wrap ErrMalformed", err)
			}
		})
	}
}

func TestMalformedReportNamesOffsetAndEvent(t *testing.T) {
	_, bad, _ := collect(t, read(t, "malformed-records.json"))
	if len(bad) == 0 || !strings.Contains(bad[0].Error(), "offset ") || !strings.Contains(bad[0].Error(), "bad-time") {
		t.Fatalf("first report should name offset and event id: %v", bad)
	}
}

func TestPrincipal(t *testing.T) {
	tests := []struct {
		name string
		id   UserIdentity
		want string
	}{
		{"assumed role is its issuer, not the session", UserIdentity{Type: "AssumedRole", ARN: "arn:aws:sts::1:assumed-role/api/i-123", SessionContext: SessionContext{SessionIssuer: SessionIssuer{ARN: "arn:aws:iam::1:role/svc/api"}}}, "arn:aws:iam::1:role/svc/api"},
		{"session without issuer", UserIdentity{Type: "IAMUser", ARN: "arn:aws:sts::1:assumed-role/Admin/user01"}, "arn:aws:iam::1:role/Admin"},
		{"iam user", UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::1:user/bob"}, "arn:aws:iam::1:user/bob"},
		{"service event without type", UserIdentity{AccountID: "1", InvokedBy: "secretsmanager.amazonaws.com"}, "secretsmanager.amazonaws.com"},
		{"aws service", UserIdentity{Type: "AWSService", InvokedBy: "ecs-tasks.amazonaws.com"}, "ecs-tasks.amazonaws.com"},
		{"root", UserIdentity{Type: "Root", ARN: "arn:aws:iam::1:root"}, "arn:aws:iam::1:root"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Record{UserIdentity: tc.id}
			if got := r.Principal(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNormalizePrincipal(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:iam::1:role/svc/api":          "arn:aws:iam::1:role/api",
		"arn:aws:iam::1:role/api":              "arn:aws:iam::1:role/api",
		"arn:aws:sts::1:assumed-role/api/sess": "arn:aws:iam::1:role/api",
		"arn:aws:iam::1:user/bob":              "arn:aws:iam::1:user/bob",
		"secretsmanager.amazonaws.com":         "secretsmanager.amazonaws.com",
	} {
		if got := NormalizePrincipal(in); got != want {
			t.Errorf("NormalizePrincipal(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseInvocation(t *testing.T) {
	tests := []struct {
		name             string
		file             string
		records, objects int
		problems         int
		wantErr          error
	}{
		{"eventbridge", "eventbridge-event.json", 1, 0, 0, nil},
		{"s3 notification with encoded key", "s3-notification.json", 0, 1, 0, nil},
		{"sqs batch of eventbridge, s3, sns and junk", "sqs-batch.json", 2, 1, 1, nil},
		{"trail log file inline", "trail-log.json", 3, 0, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := ParseInvocation(read(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(inv.Records) != tc.records || len(inv.Objects) != tc.objects || len(inv.Problems) != tc.problems {
				t.Fatalf("got %d records, %d objects, %d problems (%v); want %d, %d, %d", len(inv.Records), len(inv.Objects), len(inv.Problems), inv.Problems, tc.records, tc.objects, tc.problems)
			}
		})
	}
	inv, _ := ParseInvocation(read(t, "s3-notification.json"))
	if k := inv.Objects[0].Key; !strings.HasSuffix(k, "file one.json.gz") {
		t.Errorf("S3 key not URL-decoded: %q", k)
	}
	for name, in := range map[string]string{
		"scheduled event": `{"detail-type":"Scheduled Event","detail":{}}`,
		"unknown":         `{"hello":1}`,
		"not json":        `[`,
	} {
		if _, err := ParseInvocation([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzStream(f *testing.F) {
	for _, n := range []string{"trail-log.json", "records-array.json", "malformed-records.json", "truncated.json", "eventbridge-event.json"} {
		f.Add(read(f, n))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		n := 0
		got, _ := Stream(bytes.NewReader(in), func(r *Record) error {
			if r.Validate() != nil {
				t.Fatalf("invalid record delivered: %+v", r)
			}
			r.Principal()
			n++
			return nil
		}, nil)
		if got != n {
			t.Fatalf("count %d, delivered %d", got, n)
		}
	})
}

func FuzzParseInvocation(f *testing.F) {
	for _, n := range []string{"eventbridge-event.json", "s3-notification.json", "sqs-batch.json", "trail-log.json"} {
		f.Add(read(f, n))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		inv, err := ParseInvocation(in)
		if err != nil {
			return
		}
		for _, r := range inv.Records {
			if r.Validate() != nil {
				t.Fatalf("invalid record returned: %+v", r)
			}
		}
	})
}

// TestDecoderMatchesEncodingJSON checks the hand-written decoder against encoding/json:
// same fields, same raw parameters, on every fixture and, when the repository sits beside
// the project's shared folder, on every real sample in ../shared/datasets/cloudtrail.
func TestDecoderMatchesEncodingJSON(t *testing.T) {
	t.Run("fixtures", func(t *testing.T) {
		files, _ := filepath.Glob("testdata/*.json")
		if len(files) == 0 {
			t.Fatal("no fixtures in testdata/")
		}
		compareDecoders(t, files)
	})
	t.Run("real samples", func(t *testing.T) {
		dir := "../../../../shared/datasets/cloudtrail"
		files, _ := filepath.Glob(dir + "/*/*.json")
		if len(files) == 0 {
			t.Skipf("optional real CloudTrail samples absent (%s/*/*.json): only the fixtures were compared", dir)
		}
		compareDecoders(t, files)
	})
}

// compareDecoders decodes every record of files with both decoders; each file must give
// at least one record.
func compareDecoders(t *testing.T, files []string) {
	t.Helper()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var elems []json.RawMessage
		var env struct{ Records []json.RawMessage }
		if json.Unmarshal(b, &elems) != nil {
			if json.Unmarshal(b, &env) != nil || env.Records == nil {
				elems = []json.RawMessage{b}
			} else {
				elems = env.Records
			}
		}
		if len(elems) == 0 {
			t.Errorf("%s: no records to compare", f)
		}
		for i, raw := range elems {
			var want, got Record
			stdErr := json.Unmarshal(raw, &want)
			ourErr := decodeRecord(raw, &got, newInterner())
			if (stdErr == nil) != (ourErr == nil) {
				t.Errorf("%s[%d]: encoding/json err %v, ours %v", f, i, stdErr, ourErr)
				continue
			}
			if len(want.Resources) == 0 && len(got.Resources) == 0 {
				want.Resources, got.Resources = nil, nil
			}
			if stdErr == nil && !reflect.DeepEqual(want, got) {
				t.Errorf("%s[%d]: decoders differ:\n std %+v\n our %+v", f, i, want, got)
			}
		}
	}
}

func TestCorruptGzipIsMalformed(t *testing.T) {
	z := gz(t, read(t, "trail-log.json"))
	z[len(z)-6] ^= 0xff // break the CRC
	_, _, err := collect(t, z)
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
}

// TestStreamSplitReads feeds the stream one byte per read, so every string, escape and
// brace straddles a buffer boundary.
func TestStreamSplitReads(t *testing.T) {
	for _, name := range []string{"escapes.json", "trail-log.json", "records-array.json"} {
		t.Run(name, func(t *testing.T) {
			in := read(t, name)
			var whole, split []string
			_, err1 := Stream(bytes.NewReader(in), func(r *Record) error {
				whole = append(whole, r.EventID+"|"+r.UserAgent+"|"+string(r.RequestParameters))
				return nil
			}, nil)
			_, err2 := Stream(iotest.OneByteReader(bytes.NewReader(in)), func(r *Record) error {
				split = append(split, r.EventID+"|"+r.UserAgent+"|"+string(r.RequestParameters))
				return nil
			}, nil)
			if err1 != nil || err2 != nil {
				t.Fatalf("errors: %v, %v", err1, err2)
			}
			if !reflect.DeepEqual(whole, split) || len(whole) == 0 {
				t.Fatalf("split reads differ:\n%q\n%q", whole, split)
			}
		})
	}
	var got []string
	Stream(bytes.NewReader(read(t, "escapes.json")), func(r *Record) error { got = append(got, r.UserAgent); return nil }, nil)
	if want := []string{`tool "quoted" {not a brace} \ [x]`, "café / slash"}; !reflect.DeepEqual(got, want) {
		t.Errorf("unescaped user agents %q, want %q", got, want)
	}
}

// TestStreamTerminates covers inputs that once made the reader loop on a stray delimiter.
func TestStreamTerminates(t *testing.T) {
	for _, in := range []string{`{"a":1} }`, `{"a":1} ,`, `[}`, `[,,,`, `{"Records":[{},]}`, `{"Records":[1,"x",null,{}]}`, `{"x":1`} {
		done := make(chan struct{})
		go func() {
			Stream(strings.NewReader(in), func(*Record) error { return nil }, nil)
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("Stream(%q) does not return", in)
		}
	}
}

// FuzzParseRecord: the record decoder never panics, and what it accepts survives a round
// trip through encoding/json unchanged.
func FuzzParseRecord(f *testing.F) {
	var env struct{ Records []json.RawMessage }
	json.Unmarshal(read(f, "trail-log.json"), &env)
	for _, r := range env.Records {
		f.Add([]byte(r))
	}
	var arr []json.RawMessage
	json.Unmarshal(read(f, "records-array.json"), &arr)
	for _, r := range arr {
		f.Add([]byte(r))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := ParseRecord(in)
		if err != nil {
			return
		}
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again, err := ParseRecord(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if len(r.Resources) == 0 {
			r.Resources, again.Resources = nil, nil
		}
		if !reflect.DeepEqual(r, again) {
			t.Fatalf("round trip changed the record:\n%+v\n%+v", r, again)
		}
	})
}

// TestParseRecordSourceIdentity: the source identity of a chained session is read where
// CloudTrail writes it, beside the session issuer, as encoding/json reads it.
func TestParseRecordSourceIdentity(t *testing.T) {
	in := []byte(`{"eventVersion":"1.11","eventTime":"2026-11-20T09:05:00Z","eventSource":"secretsmanager.amazonaws.com","eventName":"GetSecretValue","eventID":"e1","recipientAccountId":"444455556666",
	 "userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:chain","arn":"arn:aws:sts::444455556666:assumed-role/ops/chain","accountId":"444455556666",
	  "sessionContext":{"sourceIdentity":"build-bot","sessionIssuer":{"type":"Role","arn":"arn:aws:iam::444455556666:role/ops","accountId":"444455556666","userName":"ops"},"attributes":{"mfaAuthenticated":"false"}}}}`)
	r, err := ParseRecord(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.UserIdentity.SessionContext.SourceIdentity; got != "build-bot" {
		t.Errorf("sourceIdentity = %q, want build-bot", got)
	}
	var std Record
	if err := json.Unmarshal(in, &std); err != nil {
		t.Fatal(err)
	}
	if std.UserIdentity.SessionContext != r.UserIdentity.SessionContext {
		t.Errorf("session context %+v, encoding/json reads %+v", r.UserIdentity.SessionContext, std.UserIdentity.SessionContext)
	}
}
