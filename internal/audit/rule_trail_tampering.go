package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
)

// ruleTrailTampering is RA-07: CloudTrail tampering: the trail's settings, selectors and
// bucket.
func ruleTrailTampering() *Rule {
	return &Rule{
		ID: "RA-07", Name: "CloudTrail tampering",
		Rationale: "Every other rule depends on the trail. Stopping or deleting it, turning off log file " +
			"validation or global service events, moving its bucket, or changing its selectors so that reads " +
			"(GetSecretValue) or writes (every change) are not recorded, or a watched service is excluded, blinds " +
			"the audit; so does a log bucket whose lifecycle expires the logs, whose policy or object lock is " +
			"changed, or which is deleted. Configured trails (trails) are watched with their buckets, and so is " +
			"every bucket a trail names in CreateTrail or UpdateTrail or delivers to, configured or not; a failed " +
			"attempt is reported too, one step lower. A trail the deployment created through Terraform, and its " +
			"bucket, may be destroyed by the deployment through Terraform: that is teardown, not tampering.",
		calls: merge(on(srcTrail, "StopLogging", "StartLogging", "DeleteTrail", "CreateTrail", "UpdateTrail", "PutEventSelectors", "PutInsightSelectors"),
			on(srcS3, "PutBucketLifecycle", "PutBucketPolicy", "DeleteBucketPolicy", "DeleteBucket", "PutObjectLockConfiguration", "PutBucketVersioning")),
		eval: evalTrailTampering,
	}
}

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
	InsightSelectors           *[]json.RawMessage `json:"insightSelectors"`
	EnableLogFileValidation    *bool              `json:"enableLogFileValidation"`
	S3BucketName               string             `json:"s3BucketName"`
	IsMultiRegionTrail         *bool              `json:"isMultiRegionTrail"`
	IncludeGlobalServiceEvents *bool              `json:"includeGlobalServiceEvents"`
}

// auditedSources are the services whose management events some rule reads: a selector
// that leaves one out blinds that rule.
var auditedSources = []string{srcSecrets, srcKMS, srcTrail, srcRDS, srcRDSData, srcECS, srcIAM, srcS3}

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
			switch {
			case strings.EqualFold(s.ReadWriteType, "WriteOnly"):
				reasons = append(reasons, "management events recorded WriteOnly (GetSecretValue and Decrypt are reads)")
			case strings.EqualFold(s.ReadWriteType, "ReadOnly"):
				reasons = append(reasons, "management events recorded ReadOnly (every change to the secret, key, trail and policies is a write)")
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
					switch {
					case slices.Contains(f.Equals, "false") || slices.Contains(f.NotEquals, "true"):
						reasons = append(reasons, "management events recorded write-only (readOnly = false)")
					case slices.Contains(f.Equals, "true") || slices.Contains(f.NotEquals, "false"):
						reasons = append(reasons, "management events recorded read-only (readOnly = true: no changes recorded)")
					}
				case "eventSource":
					for _, x := range f.NotEquals {
						if slices.Contains(auditedSources, x) {
							reasons = append(reasons, "management events from "+x+" excluded")
						}
					}
					if len(f.Equals) > 0 {
						var missing []string
						for _, x := range auditedSources {
							if !slices.Contains(f.Equals, x) {
								missing = append(missing, x)
							}
						}
						if len(missing) > 0 {
							reasons = append(reasons, "management events limited to "+strings.Join(f.Equals, ", ")+" (missing "+strings.Join(missing, ", ")+")")
						}
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
	Global     *bool  `json:"global,omitempty"`
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
	} else if b := responseBucket(rec); b != "" && !rec.Failed() {
		now.Bucket = b // the response names the bucket a CreateTrail or UpdateTrail left in place
	}
	if p.EnableLogFileValidation != nil {
		now.Validation = p.EnableLogFileValidation
	}
	if p.IsMultiRegionTrail != nil {
		now.Multi = p.IsMultiRegionTrail
	}
	if p.IncludeGlobalServiceEvents != nil {
		now.Global = p.IncludeGlobalServiceEvents
	}
	if !rec.Failed() { // a refused call changes nothing
		b, _ := json.Marshal(now)
		if _, _, err := e.store.Swap(ctx, key, string(b), rec.Time, rec.Time.Add(e.cfg.BaselineTTL.Duration)); err != nil {
			return nil, 0, err
		}
		if now.Bucket != "" {
			if err := e.NoteTrailBucket(ctx, now.Bucket, trail, rec.Time); err != nil {
				return nil, 0, err
			}
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
	if p.IncludeGlobalServiceEvents != nil && !*p.IncludeGlobalServiceEvents && (old.Global == nil || *old.Global) {
		r = append(r, "global service events excluded (IAM changes and root sign-ins are no longer recorded)")
	}
	known := old.Bucket
	if b := e.cfg.trailBucket(trail); b != "" {
		known = b // the configured bucket is the truth, whatever the state table learnt
	}
	if p.S3BucketName != "" && known != "" && known != p.S3BucketName {
		r = append(r, "delivery moved from bucket "+known+" to "+p.S3BucketName)
	} else if rec.EventName == "UpdateTrail" && p.S3BucketName != "" && old.Bucket != p.S3BucketName {
		if old.Bucket != "" {
			r = append(r, "delivery moved from bucket "+old.Bucket+" to "+p.S3BucketName)
		} else if len(r) == 0 && !e.cfg.isDeployer(ev.norm) {
			r, sev = append(r, "delivery set to bucket "+p.S3BucketName+" (the previous bucket is not known)"), Low
		}
	}
	return r, sev, nil
}

func evalTrailTampering(ctx context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	if rec.EventSource == srcS3 {
		return evalTrailBucket(ctx, e, ev)
	}
	var p selectorParams
	rec.Params(&p)
	trail := trailName(firstNonEmpty(p.Name, p.TrailName))
	if trail == "" {
		trail = "(unnamed trail)"
	} else if !e.cfg.watchedTrail(trail) {
		return nil
	}
	sev, why := Severity(0), ""
	// What was done decides the dedup key: a second, different selector change by the
	// same principal on the same trail is a new finding; repeating one adds to it.
	done := rec.EventName
	switch rec.EventName {
	case "StopLogging":
		sev, why = High, "logging was stopped"
		if !rec.Failed() {
			if _, _, err := e.store.Swap(ctx, "stopped|"+trail, rec.EventTime, rec.Time, rec.Time.Add(e.cfg.BaselineTTL.Duration)); err != nil {
				return err
			}
		}
	case "StartLogging":
		// Restarting is what should happen; the gap since the stop is what the audit missed.
		if rec.Failed() {
			return nil
		}
		stopped, found, err := e.store.Swap(ctx, "stopped|"+trail, "", rec.Time, rec.Time)
		if err != nil || !found || stopped == "" {
			return err
		}
		sev, why = Low, "logging restarted; nothing was recorded since it stopped at "+stopped
	case "DeleteTrail":
		if teardown, err := e.teardown(ctx, ev, "trail|"+trail); err != nil || teardown {
			return err
		}
		sev, why = High, "the trail was deleted"
	case "CreateTrail", "UpdateTrail":
		if rec.EventName == "CreateTrail" && e.routineDeploy(ev) && !rec.Failed() {
			if err := e.noteDeployed(ctx, ev, "trail|"+trail); err != nil {
				return err
			}
			if b := firstNonEmpty(p.S3BucketName, responseBucket(rec)); b != "" {
				if err := e.noteDeployed(ctx, ev, "bucket|"+b); err != nil {
					return err
				}
			}
		}
		r, s, err := e.trailChanges(ctx, ev, &p, trail)
		if err != nil || len(r) == 0 {
			return err
		}
		sev, why = s, strings.Join(r, "; ")
		done += "|" + why
	case "PutEventSelectors", "PutAdvancedEventSelectors":
		why = weakened(&p)
		if why == "" {
			return nil
		}
		sev = High
		done += "|" + digest(rec.RequestParameters)
	case "PutInsightSelectors":
		if p.InsightSelectors == nil || len(*p.InsightSelectors) > 0 {
			return nil
		}
		sev, why = Medium, "CloudTrail Insights turned off"
	default:
		return nil
	}
	ev.add(hit{
		severity: e.failedSeverity(ev, sev), dedup: trail + "|" + done,
		title:     fmt.Sprintf("%s on trail %s by %s%s", rec.EventName, trail, ev.principal, attempt(ev)),
		desc:      fmt.Sprintf("%s called %s on trail %s: %s.%s", ev.principal, rec.EventName, trail, why, attempt(ev)),
		resources: []Resource{{UID: trail, Name: trail, Type: "AWS::CloudTrail::Trail"}},
	})
	return nil
}

// noteDeployed remembers that the deployment created what (through Terraform), so that
// destroying it later is teardown.
func (e *Engine) noteDeployed(ctx context.Context, ev *event, what string) error {
	rec := ev.rec
	_, _, err := e.store.Swap(ctx, "deployed|"+ownAccount(rec)+"|"+what, rec.EventTime, rec.Time, rec.Time.Add(e.cfg.BaselineTTL.Duration))
	return err
}

// teardown reports whether the call is the deployment, through Terraform, changing or
// destroying something it created itself (terraform destroy of a trail and its bucket).
// The configured trails and their buckets are never torn down quietly.
func (e *Engine) teardown(ctx context.Context, ev *event, what string) (bool, error) {
	kind, name, _ := strings.Cut(what, "|")
	if !e.routineDeploy(ev) || kind == "trail" && e.cfg.trailBucket(name) != "" || kind == "bucket" && e.cfg.bucketTrail(name) != "" {
		return false, nil
	}
	_, found, err := e.store.Get(ctx, "deployed|"+ownAccount(ev.rec)+"|"+what, ev.rec.Time)
	return found, err
}

// trailBucket returns the configured bucket of a trail, "" when not configured.
func (c *Config) trailBucket(name string) string {
	for _, t := range c.Trails {
		if trailName(t.ARN) == name {
			return t.Bucket
		}
	}
	return ""
}

// responseBucket reads s3BucketName from a CreateTrail or UpdateTrail response.
func responseBucket(rec *cloudtrail.Record) string {
	var r struct {
		S3BucketName string `json:"s3BucketName"`
	}
	rec.Response(&r)
	return r.S3BucketName
}

// trailBucketKey is where the engine remembers that a bucket receives a trail's logs.
func trailBucketKey(bucket string) string { return "trailbucket|" + bucket }

// NoteTrailBucket remembers that bucket receives the log files of trail ("" when the
// trail's name is not known, as for a delivery S3 announced), so that RA-07 watches the
// bucket without configuration: the trails name their buckets in CreateTrail and
// UpdateTrail, and deliveries show where they land.
func (e *Engine) NoteTrailBucket(ctx context.Context, bucket, trail string, at time.Time) error {
	if !validBucket(bucket) {
		return nil
	}
	if trail == "" {
		if v, found, err := e.store.Get(ctx, trailBucketKey(bucket), at); err != nil || found && v != "" {
			return err // already known, by name
		}
		trail = "(trail delivering to " + bucket + ")"
	}
	_, _, err := e.store.Swap(ctx, trailBucketKey(bucket), trail, at, at.Add(e.cfg.BaselineTTL.Duration))
	return err
}

// bucketTrailAt returns the trail that delivers to bucket: the configured one, or one the
// engine learnt from the trails' own events and deliveries; "" when none does.
func (e *Engine) bucketTrailAt(ctx context.Context, bucket string, at time.Time) (string, error) {
	if t := e.cfg.bucketTrail(bucket); t != "" || bucket == "" {
		return t, nil
	}
	v, _, err := e.store.Get(ctx, trailBucketKey(bucket), at)
	return v, err
}

// bucketTrail returns the configured trail that delivers to bucket, "" when none does.
func (c *Config) bucketTrail(bucket string) string {
	for _, t := range c.Trails {
		if t.Bucket == bucket {
			return trailName(t.ARN)
		}
	}
	return ""
}

type bucketParams struct {
	BucketName             string          `json:"bucketName"`
	LifecycleConfiguration json.RawMessage `json:"LifecycleConfiguration"`
	BucketPolicy           json.RawMessage `json:"bucketPolicy"`
}

// lifecycleRule is one rule of a PutBucketLifecycle request as CloudTrail records it
// (the XML body turned into JSON: Rule is an object when there is one, a list otherwise).
type lifecycleRule struct {
	ID         string `json:"ID"`
	Status     string `json:"Status"`
	Expiration *struct {
		Days json.Number `json:"Days"`
	} `json:"Expiration"`
	NoncurrentVersionExpiration *struct {
		NoncurrentDays json.Number `json:"NoncurrentDays"`
	} `json:"NoncurrentVersionExpiration"`
}

// minLogRetentionDays is the shortest expiry of trail logs that is not tampering: a year,
// what most audit standards ask for.
const minLogRetentionDays = 365

// expiringRules returns the enabled lifecycle rules that delete log files within a year.
func expiringRules(raw json.RawMessage) []string {
	var cfg struct {
		Rule json.RawMessage `json:"Rule"`
	}
	if json.Unmarshal(raw, &cfg) != nil || len(cfg.Rule) == 0 {
		return nil
	}
	var rules []lifecycleRule
	if cfg.Rule[0] == '{' {
		var one lifecycleRule
		if json.Unmarshal(cfg.Rule, &one) != nil {
			return nil
		}
		rules = []lifecycleRule{one}
	} else if json.Unmarshal(cfg.Rule, &rules) != nil {
		return nil
	}
	var out []string
	for _, r := range rules {
		if !strings.EqualFold(r.Status, "Enabled") {
			continue
		}
		if r.Expiration != nil {
			if d, err := r.Expiration.Days.Int64(); err != nil || d < minLogRetentionDays {
				out = append(out, fmt.Sprintf("rule %q expires log files after %s days", r.ID, firstNonEmpty(r.Expiration.Days.String(), "?")))
			}
		}
	}
	return out
}

// evalTrailBucket watches the trails' buckets, configured or learnt: a trail whose log files are
// deleted, expired or no longer writable records nothing that lasts.
func evalTrailBucket(ctx context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	var p bucketParams
	if !rec.Params(&p) {
		return nil
	}
	trail, err := e.bucketTrailAt(ctx, p.BucketName, rec.Time)
	if err != nil || trail == "" {
		return err
	}
	deployer := e.cfg.isDeployer(ev.norm)
	if teardown, err := e.teardown(ctx, ev, "bucket|"+p.BucketName); err != nil || teardown {
		return err
	}
	var sev Severity
	why := ""
	switch rec.EventName {
	case "PutBucketLifecycle", "PutBucketLifecycleConfiguration":
		if exp := expiringRules(p.LifecycleConfiguration); len(exp) > 0 {
			sev, why = High, "a lifecycle rule deletes the trail's log files: "+strings.Join(exp, "; ")
		} else if deployer {
			return nil
		} else {
			sev, why = Low, "the log bucket's lifecycle rules were replaced"
		}
	case "DeleteBucketLifecycle":
		return nil // deleting lifecycle rules keeps logs longer
	case "PutBucketPolicy":
		if deployer {
			return nil
		}
		sev, why = High, "the log bucket's policy was replaced (it decides whether CloudTrail can write and who can delete)"
	case "DeleteBucketPolicy":
		sev, why = High, "the log bucket's policy was deleted: CloudTrail can no longer deliver to it"
	case "DeleteBucket":
		sev, why = Critical, "the trail's log bucket was deleted"
	case "PutObjectLockConfiguration", "PutBucketVersioning":
		if deployer {
			return nil
		}
		sev, why = Medium, "the log bucket's object lock or versioning (which keep deleted logs recoverable) was changed"
	default:
		return nil
	}
	ev.add(hit{
		severity: e.failedSeverity(ev, sev), dedup: p.BucketName + "|" + rec.EventName + "|" + digest(rec.RequestParameters),
		title:     fmt.Sprintf("%s on bucket %s of trail %s by %s%s", rec.EventName, p.BucketName, trail, ev.principal, attempt(ev)),
		desc:      fmt.Sprintf("%s called %s on %s, the bucket of trail %s: %s.%s", ev.principal, rec.EventName, p.BucketName, trail, why, attempt(ev)),
		resources: []Resource{{UID: "arn:aws:s3:::" + p.BucketName, Name: p.BucketName, Type: "AWS::S3::Bucket"}},
	})
	return nil
}
