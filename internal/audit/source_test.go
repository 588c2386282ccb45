package audit

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
)

// collect runs EachLogFile and returns "name=content" for every file it was given.
func collect(t *testing.T, api S3ListAPI, inputs ...string) ([]string, error) {
	t.Helper()
	var got []string
	err := EachLogFile(context.Background(), api, inputs, func(name string, r io.Reader) error {
		b, err := io.ReadAll(r)
		got = append(got, name+"="+string(b))
		return err
	})
	return got, err
}

func TestEachLogFileLocal(t *testing.T) {
	dir := t.TempDir()
	digest := "AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2026/12/01/111111111111_CloudTrail-Digest_us-east-1_t_us-east-1_20261201T000000Z.json.gz"
	for name, body := range map[string]string{"b/2.json.gz": "b2", "a.json": "a", "b/1.jsonl": "b1", "notes.txt": "skipped", "b/c.gz": "c", digest: "hashes"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := collect(t, nil, dir, filepath.Join(dir, "notes.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{dir + "/a.json=a", dir + "/b/1.jsonl=b1", dir + "/b/2.json.gz=b2", dir + "/b/c.gz=c", dir + "/notes.txt=skipped"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("files\n got %q\nwant %q (a directory in name order, log files only, no digest files; a named file always)", got, want)
	}
	if _, err := collect(t, nil, filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing path: %v", err)
	}
}

func TestEachLogFileS3(t *testing.T) {
	pages := map[string]*s3.ListObjectsV2Output{
		"":   {Contents: []s3types.Object{{Key: aws.String("logs/1.json.gz")}, {Key: aws.String("logs/2.json.gz")}}, IsTruncated: aws.Bool(true), NextContinuationToken: aws.String("t2")},
		"t2": {Contents: []s3types.Object{{Key: aws.String("logs/3.json.gz")}, {Key: aws.String("logs/CloudTrail-Digest/us-east-1/1_CloudTrail-Digest_us-east-1_t_us-east-1_20261201T000000Z.json.gz")}}, IsTruncated: aws.Bool(false)},
	}
	var listed []string
	api := &fakeS3{
		list: func(in *s3.ListObjectsV2Input) (*s3.ListObjectsV2Output, error) {
			listed = append(listed, aws.ToString(in.Bucket)+"/"+aws.ToString(in.Prefix))
			return pages[aws.ToString(in.ContinuationToken)], nil
		},
		get: func(in *s3.GetObjectInput) (*s3.GetObjectOutput, error) {
			if aws.ToString(in.Key) == "logs/3.json.gz" && aws.ToString(in.Bucket) == "broken" {
				return nil, errors.New("access denied")
			}
			return &s3.GetObjectOutput{Body: io.NopCloser(strings.NewReader(aws.ToString(in.Key)))}, nil
		},
	}
	got, err := collect(t, api, "s3://trail/logs/")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"s3://trail/logs/1.json.gz=logs/1.json.gz", "s3://trail/logs/2.json.gz=logs/2.json.gz", "s3://trail/logs/3.json.gz=logs/3.json.gz"}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(listed, []string{"trail/logs/", "trail/logs/"}) {
		t.Fatalf("objects %q after listing %q, want %q over two pages, the digest file unread", got, listed, want)
	}
	if _, err := collect(t, api, "s3://broken/logs/"); err == nil || !strings.Contains(err.Error(), "get s3://broken/logs/3.json.gz: access denied") {
		t.Fatalf("a failed read must name the object: %v", err)
	}
	err = EachLogFile(context.Background(), api, []string{"s3://trail/logs/"}, func(string, io.Reader) error { return errors.New("bad file") })
	if err == nil || err.Error() != "s3://trail/logs/1.json.gz: bad file" {
		t.Fatalf("an error of the file's reader must name the object and stop: %v", err)
	}
	for _, bad := range []string{"s3://", "s3:///logs"} {
		if _, err := collect(t, api, bad); err == nil || !strings.Contains(err.Error(), "want s3://bucket/prefix") {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if _, err := collect(t, nil, "s3://trail/logs/"); err == nil || !strings.Contains(err.Error(), "no S3 client") {
		t.Fatalf("no client: %v", err)
	}
}

// TestAnnouncedDigestIsNotRead: with log file validation on, the trail's bucket notification
// also announces the hourly digest files (same prefix, same suffix). They hold hashes, not
// events: the handler skips them without reading them, so they neither cost a download nor
// log a malformed file.
func TestAnnouncedDigestIsNotRead(t *testing.T) {
	var got []string
	api := &fakeS3{get: func(in *s3.GetObjectInput) (*s3.GetObjectOutput, error) {
		got = append(got, aws.ToString(in.Key))
		return &s3.GetObjectOutput{Body: io.NopCloser(strings.NewReader(`{"Records":[]}`))}, nil
	}}
	var log strings.Builder
	h := &Handler{S3: api, Log: slog.New(slog.NewTextHandler(&log, nil))}
	var sum Summary
	for _, key := range []string{
		"AWSLogs/111111111111/CloudTrail-Digest/eu-west-1/2026/12/01/111111111111_CloudTrail-Digest_eu-west-1_trail_us-east-1_20261201T010000Z.json.gz",
		"AWSLogs/111111111111/CloudTrail/eu-west-1/2026/12/01/111111111111_CloudTrail_eu-west-1_20261201T0100Z_abc.json.gz",
	} {
		if err := h.object(context.Background(), cloudtrail.Object{Bucket: "trail", Key: key}, &sum); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 1 || !strings.Contains(got[0], "/CloudTrail/") || sum.Files != 1 || sum.Malformed != 0 {
		t.Fatalf("read %q, %d files, %d malformed: want the log file only\n%s", got, sum.Files, sum.Malformed, log.String())
	}
}

// Trail files of several regions under one prefix are read in delivery-time order.
func TestSortDeliveries(t *testing.T) {
	names := []string{
		"AWSLogs/1/CloudTrail/eu-west-1/2026/07/10/1_CloudTrail_eu-west-1_20260710T1205Z_b.json.gz",
		"AWSLogs/1/CloudTrail/eu-west-1/2026/07/10/1_CloudTrail_eu-west-1_20260710T1150Z_a.json.gz",
		"AWSLogs/1/CloudTrail/us-east-1/2026/07/10/1_CloudTrail_us-east-1_20260710T1200Z_c.json.gz",
		"notes.json",
	}
	sortDeliveries(names)
	for i, o := range []string{"notes.json", "20260710T1150Z", "20260710T1200Z", "20260710T1205Z"} {
		if !strings.Contains(names[i], o) {
			t.Fatalf("order %q: want names without a delivery time first, then by delivery time", names)
		}
	}
}
