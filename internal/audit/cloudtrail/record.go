// Package cloudtrail reads CloudTrail records in every shape they arrive in: trail log files
// ({"Records":[...]}, usually gzip) streamed one record at a time, bare JSON arrays of records,
// and EventBridge envelopes whose detail is one record. It knows nothing about the rules.
package cloudtrail

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrMalformed marks a record or document that cannot be read; callers report it and go on.
var ErrMalformed = errors.New("malformed CloudTrail input")

// Record is one CloudTrail event. Parameters and response bodies stay raw: most rules never
// look at them, and decoding them lazily keeps replay close to the speed of decoding alone.
type Record struct {
	EventVersion        string          `json:"eventVersion"`
	UserIdentity        UserIdentity    `json:"userIdentity"`
	EventTime           string          `json:"eventTime"`
	EventSource         string          `json:"eventSource"`
	EventName           string          `json:"eventName"`
	AWSRegion           string          `json:"awsRegion"`
	SourceIPAddress     string          `json:"sourceIPAddress"`
	UserAgent           string          `json:"userAgent"`
	ErrorCode           string          `json:"errorCode,omitempty"`
	ErrorMessage        string          `json:"errorMessage,omitempty"`
	RequestParameters   json.RawMessage `json:"requestParameters,omitempty"`
	ResponseElements    json.RawMessage `json:"responseElements,omitempty"`
	AdditionalEventData json.RawMessage `json:"additionalEventData,omitempty"`
	RequestID           string          `json:"requestID"`
	EventID             string          `json:"eventID"`
	EventType           string          `json:"eventType"`
	RecipientAccountID  string          `json:"recipientAccountId"`
	Resources           []Resource      `json:"resources,omitempty"`
	// VPCEndpointID is the interface endpoint the call came through, when it did.
	VPCEndpointID string `json:"vpcEndpointId,omitempty"`

	// Time is EventTime parsed; Validate sets it.
	Time time.Time `json:"-"`
}

// UserIdentity is who made the call. Service events may carry only accountId and invokedBy.
type UserIdentity struct {
	Type           string         `json:"type"`
	PrincipalID    string         `json:"principalId"`
	ARN            string         `json:"arn"`
	AccountID      string         `json:"accountId"`
	AccessKeyID    string         `json:"accessKeyId,omitempty"`
	UserName       string         `json:"userName,omitempty"`
	InvokedBy      string         `json:"invokedBy,omitempty"`
	SessionContext SessionContext `json:"sessionContext,omitempty"`
}

// SessionContext holds the role behind temporary credentials.
type SessionContext struct {
	SessionIssuer SessionIssuer `json:"sessionIssuer"`
	// SourceIdentity is the identity set when the first role of a chain was assumed; it
	// follows every session chained from it, into other accounts too, and no later
	// session can change it.
	SourceIdentity string `json:"sourceIdentity,omitempty"`
}

// SessionIssuer is the role (or user) whose credentials a session uses.
type SessionIssuer struct {
	Type      string `json:"type"`
	ARN       string `json:"arn"`
	AccountID string `json:"accountId"`
	UserName  string `json:"userName"`
}

// Resource is one entry of the record's resources list.
type Resource struct {
	ARN       string `json:"ARN"`
	AccountID string `json:"accountId"`
	Type      string `json:"type"`
}

// Validate reports a record that lacks what every rule relies on, and parses its time.
func (r *Record) Validate() error {
	switch {
	case r.EventName == "":
		return fmt.Errorf("%w: record %q has no eventName", ErrMalformed, r.EventID)
	case r.EventSource == "":
		return fmt.Errorf("%w: record %q has no eventSource", ErrMalformed, r.EventID)
	}
	t, err := time.Parse(time.RFC3339, r.EventTime)
	if err != nil {
		return fmt.Errorf("%w: record %q: eventTime %q is not an RFC 3339 time", ErrMalformed, r.EventID, r.EventTime)
	}
	r.Time = t
	return nil
}

// Failed reports whether the call was refused or errored (a failed attempt is still an attempt).
func (r *Record) Failed() bool { return r.ErrorCode != "" }

// AccessDenied reports whether the call failed for lack of permission.
func (r *Record) AccessDenied() bool {
	c := r.ErrorCode
	return c == "AccessDenied" || c == "AccessDeniedException" || c == "Client.UnauthorizedOperation" ||
		c == "UnauthorizedOperation" || strings.HasSuffix(c, "AccessDeniedException")
}

// Principal names who acted, in the form allow-lists use: for a role session its issuing
// role's ARN (never the session name, which the caller chooses), for a user or root its ARN,
// and for a service acting on its own the service's name.
func (r *Record) Principal() string {
	u := &r.UserIdentity
	if u.SessionContext.SessionIssuer.ARN != "" && (u.Type == "AssumedRole" || u.Type == "" || strings.Contains(u.ARN, ":assumed-role/")) {
		return u.SessionContext.SessionIssuer.ARN
	}
	if role, ok := RoleFromSessionARN(u.ARN); ok {
		return role
	}
	if u.ARN != "" {
		return u.ARN
	}
	if u.Type == "AWSService" || u.ARN == "" && u.InvokedBy != "" {
		return u.InvokedBy
	}
	if u.PrincipalID != "" {
		return u.PrincipalID
	}
	return u.AccountID
}

// RoleFromSessionARN turns arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION into the role's
// ARN arn:aws:iam::ACCOUNT:role/NAME (the role's path is not in a session ARN).
func RoleFromSessionARN(arn string) (string, bool) {
	part, acct, rest, ok := splitARN(arn)
	if !ok || !strings.HasPrefix(rest, "assumed-role/") {
		return "", false
	}
	name, _, _ := strings.Cut(strings.TrimPrefix(rest, "assumed-role/"), "/")
	if name == "" {
		return "", false
	}
	return "arn:" + part + ":iam::" + acct + ":role/" + name, true
}

// NormalizePrincipal makes two spellings of one principal compare equal: a role's ARN
// loses its path (role names are unique in an account), a session ARN becomes its role.
func NormalizePrincipal(p string) string {
	if role, ok := RoleFromSessionARN(p); ok {
		return role
	}
	part, acct, rest, ok := splitARN(p)
	if !ok || !strings.HasPrefix(rest, "role/") {
		return p
	}
	name := rest[strings.LastIndexByte(rest, '/')+1:]
	return "arn:" + part + ":iam::" + acct + ":role/" + name
}

// splitARN returns the partition, account and resource of an ARN.
func splitARN(arn string) (partition, account, resource string, ok bool) {
	// arn:partition:service:region:account:resource, cut without allocating: this runs for
	// the principal of every record.
	var f [5]string
	rest := arn
	for i := range f {
		j := strings.IndexByte(rest, ':')
		if j < 0 {
			return "", "", "", false
		}
		f[i], rest = rest[:j], rest[j+1:]
	}
	if f[0] != "arn" {
		return "", "", "", false
	}
	return f[1], f[4], rest, true
}

// ARNAccount returns the account id in an ARN, or "".
func ARNAccount(arn string) string {
	_, acct, _, _ := splitARN(arn)
	return acct
}

// Params decodes the request parameters into v. Null, absent or non-object parameters
// ("too large" records carry none) leave v untouched and return false.
func (r *Record) Params(v any) bool {
	return decodeObject(r.RequestParameters, v)
}

// Additional decodes additionalEventData into v, like Params.
func (r *Record) Additional(v any) bool {
	return decodeObject(r.AdditionalEventData, v)
}

// Response decodes responseElements into v, like Params.
func (r *Record) Response(v any) bool {
	return decodeObject(r.ResponseElements, v)
}

func decodeObject(raw json.RawMessage, v any) bool {
	if len(raw) == 0 || raw[0] != '{' {
		return false
	}
	return json.Unmarshal(raw, v) == nil
}
