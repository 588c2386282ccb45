package backfill

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Version is the version of the message format, in every message's rotaudit_backfill field.
const Version = 1

// ErrMalformed marks a message body that is not a valid backfill message. Retrying cannot
// fix it: the auditor logs and drops it.
var ErrMalformed = errors.New("malformed backfill message")

// Message asks the auditor to read one log file. One file a message: the event source
// mapping's batch (up to 10 messages on a FIFO queue) makes an invocation's work, and a
// failure is reported, and retried, for one file.
type Message struct {
	Version int    `json:"rotaudit_backfill"`
	Bucket  string `json:"bucket"`
	Key     string `json:"key"`
	// ETag is the object's ETag when it was listed: with the key, it names this content
	// of the file for SQS's deduplication.
	ETag string `json:"etag"`
}

// IsMessage reports whether an SQS message body claims to be a backfill message (it has
// the rotaudit_backfill field), valid or not: the auditor then reports it per message.
func IsMessage(body []byte) bool {
	var probe struct {
		Version *json.RawMessage `json:"rotaudit_backfill"`
	}
	// The first value only: trailing data makes a malformed message, not another kind.
	return bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) && json.NewDecoder(bytes.NewReader(body)).Decode(&probe) == nil && probe.Version != nil
}

// ParseMessage decodes and validates a message body: the version, a bucket name, a key that
// is a CloudTrail log file's, an ETag. Errors wrap ErrMalformed.
func ParseMessage(body []byte) (Message, error) {
	var m Message
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return m, fmt.Errorf("%w: data after the JSON object", ErrMalformed)
	}
	if m.Version != Version {
		return m, fmt.Errorf("%w: rotaudit_backfill is %d, this auditor reads version %d", ErrMalformed, m.Version, Version)
	}
	if err := ValidateBucket(m.Bucket); err != nil {
		return m, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := ParseKey(m.Key); err != nil {
		return m, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if m.ETag == "" {
		return m, fmt.Errorf("%w: no etag", ErrMalformed)
	}
	return m, nil
}

// Body encodes m as an SQS message body.
func (m Message) Body() string {
	b, _ := json.Marshal(m) // strings and an int: cannot fail
	return string(b)
}

// DedupID is the message's MessageDeduplicationId: the object (bucket and key) and its
// content (ETag), hashed because SQS allows 128 characters and a key may be longer. The
// same file sent twice within SQS's five-minute window is accepted once.
func (m Message) DedupID() string {
	sum := sha256.Sum256([]byte(m.Bucket + "/" + m.Key + "\x00" + m.ETag))
	return hex.EncodeToString(sum[:])
}

// GroupID is the MessageGroupId of the file k: its stream (account and region). The files
// of one group reach the auditor one batch at a time in the order they were sent, which
// is their delivery order; different streams run side by side. (A coarser group, such as
// the account, would not order more: its regions' keys sort region by region, not in time.)
func GroupID(k LogKey) string { return k.Stream() }

// ValidateBucket checks an S3 bucket name's rules (3 to 63 lower-case letters, digits,
// dots and dashes, starting and ending with a letter or digit).
func ValidateBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket %q: a bucket name has 3 to 63 characters", b)
	}
	for i, c := range b {
		ok := (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || ((c == '.' || c == '-') && i > 0 && i < len(b)-1)
		if !ok {
			return fmt.Errorf("bucket %q: a bucket name holds lower-case letters, digits, dots and dashes, and starts and ends with a letter or digit", b)
		}
	}
	if strings.Contains(b, "..") {
		return fmt.Errorf("bucket %q: two dots in a row", b)
	}
	return nil
}
