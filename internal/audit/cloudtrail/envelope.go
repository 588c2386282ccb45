package cloudtrail

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrUnsupported marks a Lambda invocation of a shape the auditor does not handle.
var ErrUnsupported = errors.New("unsupported event")

// Detail types of the EventBridge events that carry a CloudTrail record.
const (
	DetailTypeAPICall      = "AWS API Call via CloudTrail"
	DetailTypeServiceEvent = "AWS Service Event via CloudTrail"
	DetailTypeSignin       = "AWS Console Signin via CloudTrail"
)

// Object names a CloudTrail log file in S3.
type Object struct {
	Bucket string
	Key    string
}

// Invocation is what one Lambda invocation asks the auditor to look at: records that came
// inline (EventBridge), and log files to stream from S3 (object-created notifications).
type Invocation struct {
	Records []*Record
	Objects []Object
	// Problems lists parts of the invocation that were skipped as malformed.
	Problems []error
}

// ParseInvocation tells the event shapes apart: an EventBridge event (detail-type), an S3
// notification (Records[].s3), and an SQS batch (Records[].body) whose bodies are any of
// these or an SNS notification wrapping one. Malformed parts are collected in Problems; an
// error is returned only when nothing in the event is recognisable.
func ParseInvocation(raw []byte) (*Invocation, error) {
	inv := &Invocation{}
	if err := inv.add(raw, 0); err != nil {
		return nil, err
	}
	return inv, nil
}

type probe struct {
	DetailType string          `json:"detail-type"`
	Detail     json.RawMessage `json:"detail"`
	ID         string          `json:"id"`
	Records    []struct {
		EventSource string `json:"eventSource"`
		EventSrc2   string `json:"EventSource"` // SNS spells it with a capital
		MessageID   string `json:"messageId"`
		Body        string `json:"body"`
		S3          *struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key string `json:"key"`
			} `json:"object"`
		} `json:"s3"`
		SNS *struct {
			Message string `json:"Message"`
		} `json:"Sns"`
	} `json:"Records"`
	Type    string `json:"Type"`
	Message string `json:"Message"`
}

const maxNesting = 4

func (inv *Invocation) add(raw []byte, depth int) error {
	if depth > maxNesting {
		return fmt.Errorf("%w: envelopes nested deeper than %d", ErrMalformed, maxNesting)
	}
	var p probe
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("%w: event is not a JSON object: %v", ErrMalformed, err)
	}
	switch {
	case p.DetailType != "":
		if !isCloudTrailDetailType(p.DetailType) {
			return fmt.Errorf("%w: EventBridge event %q has detail-type %q", ErrUnsupported, p.ID, p.DetailType)
		}
		rec, err := ParseRecord(p.Detail)
		if err != nil {
			return fmt.Errorf("EventBridge event %q: %w", p.ID, err)
		}
		inv.Records = append(inv.Records, rec)
		return nil
	case p.Type == "Notification" && p.Message != "": // SNS envelope delivered to SQS, not raw
		return inv.add([]byte(p.Message), depth+1)
	case len(p.Records) > 0:
		for i, r := range p.Records {
			switch {
			case r.S3 != nil:
				key, err := url.QueryUnescape(r.S3.Object.Key)
				if err != nil || r.S3.Bucket.Name == "" || key == "" {
					inv.Problems = append(inv.Problems, fmt.Errorf("%w: S3 notification record %d: bucket %q key %q", ErrMalformed, i, r.S3.Bucket.Name, r.S3.Object.Key))
					continue
				}
				inv.Objects = append(inv.Objects, Object{Bucket: r.S3.Bucket.Name, Key: key})
			case r.EventSource == "aws:sqs":
				if err := inv.add([]byte(r.Body), depth+1); err != nil {
					inv.Problems = append(inv.Problems, fmt.Errorf("SQS message %q: %w", r.MessageID, err))
				}
			case r.SNS != nil:
				if err := inv.add([]byte(r.SNS.Message), depth+1); err != nil {
					inv.Problems = append(inv.Problems, fmt.Errorf("SNS record %d: %w", i, err))
				}
			case r.EventSource != "" && strings.HasSuffix(r.EventSource, ".amazonaws.com"):
				// A trail log file's own records handed over inline: read them as such.
				return inv.addLogFile(raw)
			default:
				inv.Problems = append(inv.Problems, fmt.Errorf("%w: Records[%d] is neither S3, SQS nor SNS", ErrUnsupported, i))
			}
		}
		return nil
	default:
		return fmt.Errorf("%w: neither an EventBridge event, an S3 notification nor an SQS batch", ErrUnsupported)
	}
}

func (inv *Invocation) addLogFile(raw []byte) error {
	_, err := Stream(strings.NewReader(string(raw)), func(r *Record) error {
		c := *r
		c.RequestParameters = append(json.RawMessage(nil), r.RequestParameters...)
		c.ResponseElements = append(json.RawMessage(nil), r.ResponseElements...)
		c.AdditionalEventData = append(json.RawMessage(nil), r.AdditionalEventData...)
		c.Resources = append([]Resource(nil), r.Resources...)
		inv.Records = append(inv.Records, &c)
		return nil
	}, func(err error) { inv.Problems = append(inv.Problems, err) })
	return err
}

func isCloudTrailDetailType(t string) bool {
	return t == DetailTypeAPICall || t == DetailTypeServiceEvent || t == DetailTypeSignin
}

// ParseRecordOrEvent accepts either a bare CloudTrail record or an EventBridge event
// carrying one, as replay input in JSON lines may hold either.
func ParseRecordOrEvent(raw []byte) (*Record, error) {
	var p struct {
		DetailType string          `json:"detail-type"`
		Detail     json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if p.DetailType != "" {
		if !isCloudTrailDetailType(p.DetailType) {
			return nil, fmt.Errorf("%w: detail-type %q", ErrUnsupported, p.DetailType)
		}
		return ParseRecord(p.Detail)
	}
	return ParseRecord(raw)
}
