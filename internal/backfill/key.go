package backfill

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNotLogFile marks an object under the trail's prefix that is not a CloudTrail log file:
// a digest, an Insights file, the trail's write check. The backfill skips it and says so.
var ErrNotLogFile = errors.New("not a CloudTrail log file")

// LogKey is a CloudTrail log file's S3 key, taken apart:
//
//	[PREFIX/]AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_RANDOM.json.gz
type LogKey struct {
	Key     string
	Org     string // the organization id of an organization trail, "" otherwise
	Account string
	Region  string
	// Delivered is when CloudTrail wrote the file (the time stamp in its name).
	Delivered time.Time
}

// Stream is the account and region whose files the key belongs to: CloudTrail writes each
// stream's files under one folder, so their keys sort in delivery order.
func (k LogKey) Stream() string { return k.Account + "/" + k.Region }

// ParseKey takes a log file's key apart and checks that its parts agree (the account and
// region of the folder and of the name, the day of the folder and of the time stamp).
// Digests and other files CloudTrail writes beside the logs are ErrNotLogFile; a key that
// looks like a log file but is inconsistent is an error naming the part at fault.
func ParseKey(key string) (LogKey, error) {
	k := LogKey{Key: key}
	i := strings.Index(key, "AWSLogs/")
	if i < 0 || (i > 0 && key[i-1] != '/') {
		return k, fmt.Errorf("%w: %q has no AWSLogs/ folder", ErrNotLogFile, key)
	}
	parts := strings.Split(key[i+len("AWSLogs/"):], "/")
	if len(parts) > 0 && strings.HasPrefix(parts[0], "o-") {
		k.Org, parts = parts[0], parts[1:]
		if !isOrgID(k.Org) {
			return k, fmt.Errorf("%q: organization id %q is not o- and 10 to 32 lower-case letters or digits", key, k.Org)
		}
	}
	// ACCOUNT / CloudTrail / REGION / YYYY / MM / DD / NAME
	if len(parts) != 7 || parts[1] != "CloudTrail" {
		return k, fmt.Errorf("%w: %q is not ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/NAME under AWSLogs/", ErrNotLogFile, key)
	}
	k.Account, k.Region = parts[0], parts[2]
	if !isAccount(k.Account) {
		return k, fmt.Errorf("%q: account %q is not 12 digits", key, k.Account)
	}
	if !isRegion(k.Region) {
		return k, fmt.Errorf("%q: region %q is not a region name", key, k.Region)
	}
	day, err := time.Parse("2006/01/02", strings.Join(parts[3:6], "/"))
	if err != nil {
		return k, fmt.Errorf("%q: folder %s is not a date YYYY/MM/DD", key, strings.Join(parts[3:6], "/"))
	}
	name := parts[6]
	if !strings.HasSuffix(name, ".json.gz") {
		return k, fmt.Errorf("%w: %q does not end in .json.gz", ErrNotLogFile, key)
	}
	f := strings.Split(strings.TrimSuffix(name, ".json.gz"), "_")
	if len(f) != 5 || f[1] != "CloudTrail" || f[4] == "" {
		return k, fmt.Errorf("%q: name %q is not ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_RANDOM.json.gz", key, name)
	}
	if f[0] != k.Account || f[2] != k.Region {
		return k, fmt.Errorf("%q: the name's account and region (%s, %s) differ from the folder's (%s, %s)", key, f[0], f[2], k.Account, k.Region)
	}
	if k.Delivered, err = time.Parse("20060102T1504Z", f[3]); err != nil {
		return k, fmt.Errorf("%q: time stamp %q is not YYYYMMDDTHHmmZ", key, f[3])
	}
	if !k.Delivered.Truncate(24 * time.Hour).Equal(day) {
		return k, fmt.Errorf("%q: time stamp %s is not on the folder's day %s", key, f[3], day.Format("2006-01-02"))
	}
	return k, nil
}

func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isOrgID(s string) bool {
	id := strings.TrimPrefix(s, "o-")
	if len(id) < 10 || len(id) > 32 {
		return false
	}
	for _, c := range id {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// isRegion accepts the shape of every region name (us-east-1, ap-southeast-5,
// us-gov-west-1, eu-isoe-west-1): lower-case words joined by dashes, ending in a number.
func isRegion(s string) bool {
	words := strings.Split(s, "-")
	if len(words) < 3 {
		return false
	}
	for i, w := range words {
		if w == "" {
			return false
		}
		for _, c := range w {
			digit := c >= '0' && c <= '9'
			if (i == len(words)-1) != digit || (!digit && (c < 'a' || c > 'z')) {
				return false
			}
		}
	}
	return true
}
