package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// RA-07: CloudTrail tampering: the trail's settings, selectors and bucket.

type selectorParams struct {
	Name           string `json:"name"`
	TrailName      string `json:"trailName"`
	EventSelectors []struct {
		ReadWriteType                 string   `json:"readWriteType"`
		IncludeManagementEvents       *bool    `json:"includeManagementEvents"`
		ExcludeManagementEventSources []string `json:"excludeManagementEventSources"`
	} `json:"eventSelectors"`
	AdvancedEventSelectors []struct {
		FieldSelectors []struct {
			Field     string   `json:"field"`
			Equals    []string `json:"equals"`
			NotEquals []string `json:"notEquals"`
		} `json:"fieldSelectors"`
	} `json:"advancedEventSelectors"`
	InsightSelectors        *[]json.RawMessage `json:"insightSelectors"`
	EnableLogFileValidation *bool              `json:"enableLogFileValidation"`
	S3BucketName            string             `json:"s3BucketName"`
	IsMultiRegionTrail      *bool              `json:"isMultiRegionTrail"`
}

var auditedSources = []string{srcKMS, srcRDSData}

// weakened says how a PutEventSelectors call reduces what the trail records, or "".
func weakened(p *selectorParams) string {
	var reasons []string
	if len(p.EventSelectors) > 0 {
		mgmt := false
		for _, s := range p.EventSelectors {
			if s.IncludeManagementEvents != nil && !*s.IncludeManagementEvents {
				continue
			}
			mgmt = true
			if strings.EqualFold(s.ReadWriteType, "WriteOnly") {
				reasons = append(reasons, "management events recorded WriteOnly (GetSecretValue and Decrypt are reads)")
			}
			for _, x := range s.ExcludeManagementEventSources {
				if slices.Contains(auditedSources, x) {
					reasons = append(reasons, "management events from "+x+" excluded")
				}
			}
		}
		if !mgmt {
			reasons = append(reasons, "no selector includes management events")
		}
	}
	if len(p.AdvancedEventSelectors) > 0 {
		mgmt := false
		for _, s := range p.AdvancedEventSelectors {
			isMgmt := false
			for _, f := range s.FieldSelectors {
				if f.Field == "eventCategory" && slices.Contains(f.Equals, "Management") {
					isMgmt = true
				}
			}
			if !isMgmt {
				continue
			}
			mgmt = true
			for _, f := range s.FieldSelectors {
				switch f.Field {
				case "readOnly":
					if slices.Contains(f.Equals, "false") {
						reasons = append(reasons, "management events recorded write-only (readOnly = false)")
					}
				case "eventSource":
					for _, x := range f.NotEquals {
						if slices.Contains(auditedSources, x) {
							reasons = append(reasons, "management events from "+x+" excluded")
						}
					}
					if len(f.Equals) > 0 && !slices.Contains(f.Equals, srcSecrets) {
						reasons = append(reasons, "management events limited to "+strings.Join(f.Equals, ", "))
					}
				}
			}
		}
		if !mgmt {
			reasons = append(reasons, "no advanced selector records management events")
		}
	}
	return strings.Join(reasons, "; ")
}

// trailSettings is what RA-07 remembers of a trail between CreateTrail and UpdateTrail calls.
type trailSettings struct {
	Bucket     string `json:"bucket,omitempty"`
	Validation *bool  `json:"validation,omitempty"`
	Multi      *bool  `json:"multi,omitempty"`
}

// trailChanges compares a CreateTrail or UpdateTrail call with what the trail had before.
// Terraform sends every setting on each update, so a setting repeated unchanged is not a
// change. A bucket set on a trail the auditor has not seen before may be a move or the
// same bucket: it is learnt from the deployment and reported at low severity from others.
func (e *Engine) trailChanges(ctx context.Context, ev *event, p *selectorParams, trail string) ([]string, Severity, error) {
	rec := ev.rec
	key := "trail|" + rec.RecipientAccountID + "|" + trail
	var old trailSettings
	prev, found, err := e.store.Get(ctx, key, rec.Time)
	if err != nil {
		return nil, 0, err
	}
	if found {
		json.Unmarshal([]byte(prev), &old)
	}
	now := old
	if p.S3BucketName != "" {
		now.Bucket = p.S3BucketName
	}
	if p.EnableLogFileValidation != nil {
		now.Validation = p.EnableLogFileValidation
	}
	if p.IsMultiRegionTrail != nil {
		now.Multi = p.IsMultiRegionTrail
	}
	if !rec.Failed() { // a refused call changes nothing
		b, _ := json.Marshal(now)
		if _, _, err := e.store.Swap(ctx, key, string(b), rec.Time, rec.Time.Add(e.cfg.BaselineTTL.Duration)); err != nil {
			return nil, 0, err
		}
	}
	var r []string
	sev := High
	if p.EnableLogFileValidation != nil && !*p.EnableLogFileValidation && (old.Validation == nil || *old.Validation) {
		r = append(r, "log file validation turned off")
	}
	if p.IsMultiRegionTrail != nil && !*p.IsMultiRegionTrail && old.Multi != nil && *old.Multi {
		r = append(r, "trail limited to one region")
	}
	if rec.EventName == "UpdateTrail" && p.S3BucketName != "" && old.Bucket != p.S3BucketName {
		if old.Bucket != "" {
			r = append(r, "delivery moved from bucket "+old.Bucket+" to "+p.S3BucketName)
		} else if len(r) == 0 && !e.cfg.isDeployer(ev.norm) {
			r, sev = append(r, "delivery set to bucket "+p.S3BucketName+" (the previous bucket is not known)"), Low
		}
	}
	return r, sev, nil
}

func ruleTrailTampering(ctx context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	var p selectorParams
	rec.Params(&p)
	trail := firstNonEmpty(p.Name, p.TrailName, "(unnamed trail)")
	sev, why := Severity(0), ""
	switch rec.EventName {
	case "StopLogging":
		sev, why = High, "logging was stopped"
	case "DeleteTrail":
		sev, why = High, "the trail was deleted"
	case "CreateTrail", "UpdateTrail":
		r, s, err := e.trailChanges(ctx, ev, &p, trail)
		if err != nil || len(r) == 0 {
			return err
		}
		sev, why = s, strings.Join(r, "; ")
	case "PutEventSelectors":
		why = weakened(&p)
		if why == "" {
			return nil
		}
		sev = High
	case "PutInsightSelectors":
		if p.InsightSelectors == nil || len(*p.InsightSelectors) > 0 {
			return nil
		}
		sev, why = Medium, "CloudTrail Insights turned off"
	default:
		return nil
	}
	ev.add(hit{
		rule: e.rule("RA-07"), severity: e.failedSeverity(ev, sev), dedup: trail + "|" + rec.EventName,
		title:     fmt.Sprintf("%s on trail %s by %s%s", rec.EventName, trail, ev.principal, attempt(ev)),
		desc:      fmt.Sprintf("%s called %s on trail %s: %s.%s", ev.principal, rec.EventName, trail, why, attempt(ev)),
		resources: []Resource{{UID: trail, Name: trail, Type: "AWS::CloudTrail::Trail"}},
	})
	return nil
}
