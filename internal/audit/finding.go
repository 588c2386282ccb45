package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
)

// Severity is an OCSF severity_id.
type Severity int

// OCSF severities the rules use.
const (
	Informational Severity = 1
	Low           Severity = 2
	Medium        Severity = 3
	High          Severity = 4
	Critical      Severity = 5
)

// String returns the OCSF severity caption.
func (s Severity) String() string {
	switch s {
	case Informational:
		return "Informational"
	case Low:
		return "Low"
	case Medium:
		return "Medium"
	case High:
		return "High"
	case Critical:
		return "Critical"
	}
	return "Unknown"
}

// lower is one step less severe, for failed attempts.
func (s Severity) lower() Severity {
	if s > Low {
		return s - 1
	}
	return s
}

// Finding is an OCSF 1.3 Detection Finding (class_uid 2004).
type Finding struct {
	ActivityID   int         `json:"activity_id"`
	ActivityName string      `json:"activity_name"`
	CategoryUID  int         `json:"category_uid"`
	CategoryName string      `json:"category_name"`
	ClassUID     int         `json:"class_uid"`
	ClassName    string      `json:"class_name"`
	TypeUID      int         `json:"type_uid"`
	SeverityID   Severity    `json:"severity_id"`
	Severity     string      `json:"severity"`
	StatusID     int         `json:"status_id"`
	Status       string      `json:"status"`
	Time         int64       `json:"time"`
	Message      string      `json:"message"`
	Metadata     Metadata    `json:"metadata"`
	FindingInfo  FindingInfo `json:"finding_info"`
	Actor        Actor       `json:"actor"`
	SrcEndpoint  *Endpoint   `json:"src_endpoint,omitempty"`
	Resources    []Resource  `json:"resources"`
	Cloud        Cloud       `json:"cloud"`
	API          API         `json:"api"`
	// Count is how many events the finding rests on so far (an Update carries the total).
	Count int `json:"count,omitempty"`

	dedupKey string
}

// Metadata names the product that produced the finding.
type Metadata struct {
	Version string  `json:"version"`
	Product Product `json:"product"`
}

// Product is rotaudit's audit function.
type Product struct {
	Name       string `json:"name"`
	VendorName string `json:"vendor_name"`
	Feature    struct {
		Name string `json:"name"`
	} `json:"feature"`
}

// FindingInfo says what was found and on which events it rests.
type FindingInfo struct {
	UID           string         `json:"uid"`
	Title         string         `json:"title"`
	Desc          string         `json:"desc"`
	Analytic      Analytic       `json:"analytic"`
	RelatedEvents []RelatedEvent `json:"related_events"`
	FirstSeenTime int64          `json:"first_seen_time"`
	LastSeenTime  int64          `json:"last_seen_time"`
}

// Analytic is the rule that fired.
type Analytic struct {
	UID    string `json:"uid"`
	Name   string `json:"name"`
	TypeID int    `json:"type_id"`
	Type   string `json:"type"`
}

// RelatedEvent is a CloudTrail event the finding rests on.
type RelatedEvent struct {
	UID        string `json:"uid"`
	ProductUID string `json:"product_uid"`
	TypeName   string `json:"type_name,omitempty"`
}

// Actor is who made the call.
type Actor struct {
	User      User   `json:"user"`
	InvokedBy string `json:"invoked_by,omitempty"`
	AppName   string `json:"app_name,omitempty"`
}

// User is the principal: uid is the allow-list form (a role, not its session).
type User struct {
	UID     string   `json:"uid"`
	Name    string   `json:"name,omitempty"`
	Type    string   `json:"type,omitempty"`
	Account *Account `json:"account,omitempty"`
}

// Account is an AWS account.
type Account struct {
	UID string `json:"uid"`
}

// Endpoint is the caller's network address or the service that called on its behalf.
type Endpoint struct {
	IP     string `json:"ip,omitempty"`
	Domain string `json:"domain,omitempty"`
}

// Resource is something the finding is about.
type Resource struct {
	UID  string `json:"uid"`
	Name string `json:"name,omitempty"`
	Type string `json:"type"`
}

// Cloud says where.
type Cloud struct {
	Provider string   `json:"provider"`
	Region   string   `json:"region,omitempty"`
	Account  *Account `json:"account,omitempty"`
}

// API is the call that was made.
type API struct {
	Operation string `json:"operation"`
	Service   struct {
		Name string `json:"name"`
	} `json:"service"`
	Response *struct {
		Error   string `json:"error,omitempty"`
		Message string `json:"message,omitempty"`
	} `json:"response,omitempty"`
}

// IsUpdate reports whether f adds events to a finding reported before (same uid).
func (f *Finding) IsUpdate() bool { return f.ActivityID == 2 }

// Subject is a readable one-line summary within SNS's 100-character limit.
func (f *Finding) Subject() string {
	s := fmt.Sprintf("[%s] %s %s", strings.ToUpper(f.Severity), f.FindingInfo.Analytic.UID, f.FindingInfo.Title)
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ { // SNS subjects: printable ASCII, no newlines
		if c := s[i]; c >= 0x20 && c < 0x7f {
			b = append(b, c)
		}
	}
	if len(b) > 100 {
		b = append(b[:97], "..."...)
	}
	return string(b)
}

// newFinding builds the OCSF document for a hit on rec.
func newFinding(h *hit, rec *cloudtrail.Record, principal string) Finding {
	ms := rec.Time.UnixMilli()
	f := Finding{
		ActivityID: 1, ActivityName: "Create",
		CategoryUID: 2, CategoryName: "Findings",
		ClassUID: 2004, ClassName: "Detection Finding", TypeUID: 200401,
		SeverityID: h.severity, Severity: h.severity.String(),
		StatusID: 1, Status: "New",
		Time:     ms,
		Message:  h.title,
		Metadata: Metadata{Version: "1.3.0", Product: Product{Name: "rotaudit", VendorName: "rotaudit"}},
		FindingInfo: FindingInfo{
			Title: h.title, Desc: h.desc,
			Analytic:      Analytic{UID: h.rule.ID, Name: h.rule.Name, TypeID: 1, Type: "Rule"},
			FirstSeenTime: ms, LastSeenTime: ms,
		},
		Actor: Actor{
			User:      User{UID: principal, Name: rec.UserIdentity.UserName, Type: rec.UserIdentity.Type},
			InvokedBy: rec.UserIdentity.InvokedBy, AppName: rec.UserAgent,
		},
		Resources: h.resources,
		Cloud:     Cloud{Provider: "AWS", Region: rec.AWSRegion},
	}
	f.Metadata.Product.Feature.Name = "audit"
	if acct := firstNonEmpty(rec.UserIdentity.AccountID, rec.RecipientAccountID); acct != "" {
		f.Actor.User.Account = &Account{UID: acct}
	}
	if rec.RecipientAccountID != "" {
		f.Cloud.Account = &Account{UID: rec.RecipientAccountID}
	}
	if ip := rec.SourceIPAddress; ip != "" {
		if looksLikeIP(ip) {
			f.SrcEndpoint = &Endpoint{IP: ip}
		} else {
			f.SrcEndpoint = &Endpoint{Domain: ip}
		}
	}
	f.API.Operation = rec.EventName
	f.API.Service.Name = rec.EventSource
	if rec.ErrorCode != "" || rec.ErrorMessage != "" {
		f.API.Response = &struct {
			Error   string `json:"error,omitempty"`
			Message string `json:"message,omitempty"`
		}{rec.ErrorCode, rec.ErrorMessage}
	}
	related := h.related
	if len(related) == 0 {
		related = []string{rec.EventID}
	}
	for _, id := range related {
		f.FindingInfo.RelatedEvents = append(f.FindingInfo.RelatedEvents, RelatedEvent{UID: id, ProductUID: "cloudtrail", TypeName: rec.EventName})
	}
	if f.Resources == nil {
		f.Resources = []Resource{}
	}
	sum := sha256.Sum256([]byte(h.rule.ID + "\x00" + principal + "\x00" + h.dedup + "\x00" + rec.EventID))
	f.FindingInfo.UID = hex.EncodeToString(sum[:16])
	return f
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
