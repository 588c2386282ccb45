package audit

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3API is the one S3 call that reading a log file makes: the handler streams the files
// that S3 announces with it.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// S3ListAPI adds the listing that replaying s3://bucket/prefix needs.
type S3ListAPI interface {
	S3API
	s3.ListObjectsV2APIClient
}

// readS3Object streams one object to fn under the name s3://bucket/key; fn's error comes
// back prefixed with that name. The Lambda (files that S3 announces) and replay (files
// under a prefix) read log files through it alike.
func readS3Object(ctx context.Context, api S3API, bucket, key string, fn func(name string, r io.Reader) error) error {
	name := "s3://" + bucket + "/" + key
	out, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("get %s: %w", name, err)
	}
	defer out.Body.Close()
	if err := fn(name, out.Body); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// IsDigest reports whether a file name or S3 key is a CloudTrail digest file: the hourly
// signed list of log files that log file validation writes beside the logs, under
// AWSLogs/<account>/CloudTrail-Digest/ and named <account>_CloudTrail-Digest_<region>_...
// It holds hashes, not events, and matches the log files' prefix and .json.gz suffix, so
// the bucket notification announces it too: it is skipped unread.
func IsDigest(name string) bool {
	return strings.Contains(name, "/CloudTrail-Digest/") || strings.Contains(filepath.Base(name), "_CloudTrail-Digest_")
}

// IsS3URL reports whether a replay input names S3 (s3://bucket/prefix) rather than a path.
func IsS3URL(input string) bool { return strings.HasPrefix(input, "s3://") }

// EachLogFile calls fn with every CloudTrail log file that inputs name, in order: a local
// file; every .json, .jsonl and .gz file under a local directory; every object under
// s3://bucket/prefix, read through api (which may be nil when no input is on S3). Files of
// a directory or prefix come in the order of the delivery time in trail file names, then
// of their names. An error names the file it concerns.
func EachLogFile(ctx context.Context, api S3ListAPI, inputs []string, fn func(name string, r io.Reader) error) error {
	for _, in := range inputs {
		var err error
		if IsS3URL(in) {
			err = eachS3Object(ctx, api, in, fn)
		} else {
			err = eachLocalFile(in, fn)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func eachLocalFile(path string, fn func(string, io.Reader) error) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	files := []string{path}
	if info.IsDir() {
		files = nil
		err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && !IsDigest(p) && (strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".gz") || strings.HasSuffix(p, ".jsonl")) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return err
		}
		sortDeliveries(files)
	}
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = fn(p, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}

func eachS3Object(ctx context.Context, api S3ListAPI, url string, fn func(string, io.Reader) error) error {
	bucket, prefix, _ := strings.Cut(strings.TrimPrefix(url, "s3://"), "/")
	if bucket == "" {
		return fmt.Errorf("%q: want s3://bucket/prefix", url)
	}
	if api == nil {
		return fmt.Errorf("%s: no S3 client configured", url)
	}
	// Keys are listed first (names only), so that the files of several regions or
	// accounts under the prefix are read in delivery-time order, not region by region.
	var keys []string
	p := s3.NewListObjectsV2Paginator(api, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list %s: %w", url, err)
		}
		for _, obj := range page.Contents {
			if !IsDigest(aws.ToString(obj.Key)) {
				keys = append(keys, aws.ToString(obj.Key))
			}
		}
	}
	sortDeliveries(keys)
	for _, k := range keys {
		if err := readS3Object(ctx, api, bucket, k, fn); err != nil {
			return err
		}
	}
	return nil
}

// deliveryTime returns the time stamp in a trail log file's name
// (ACCOUNT_CloudTrail_REGION_20260710T1145Z_random.json.gz), "" for other names.
func deliveryTime(name string) string {
	base := filepath.Base(name)
	_, rest, ok := strings.Cut(base, "_CloudTrail_")
	if !ok {
		return ""
	}
	parts := strings.Split(rest, "_")
	if len(parts) < 2 || len(parts[1]) != len("20060102T1504Z") || parts[1][8] != 'T' {
		return ""
	}
	return parts[1]
}

// sortDeliveries orders names by delivery time where they carry one, then by name: the
// order in which the Lambda would have met them.
func sortDeliveries(names []string) {
	sort.SliceStable(names, func(i, j int) bool {
		ti, tj := deliveryTime(names[i]), deliveryTime(names[j])
		if ti != tj {
			return ti < tj
		}
		return names[i] < names[j]
	})
}
