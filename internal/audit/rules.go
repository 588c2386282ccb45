package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
)

const (
	srcSecrets = "secretsmanager.amazonaws.com"
	srcKMS     = "kms.amazonaws.com"
	srcTrail   = "cloudtrail.amazonaws.com"
	srcRDS     = "rds.amazonaws.com"
	srcRDSData = "rdsdata.amazonaws.com"
	srcECS     = "ecs.amazonaws.com"
	srcIAM     = "iam.amazonaws.com"
)

// Rules returns every rule, in id order. Each call returns fresh values.
func Rules() []*Rule {
	return []*Rule{
		{
			ID: "RA-01", Name: "Watched secret read by a principal not on its allow-list",
			Rationale: "The database credentials have exactly two legitimate readers: the API's task role and " +
				"the rotator. Anyone else calling GetSecretValue or BatchGetSecretValue on them holds the database " +
				"password afterwards, whatever their IAM policy says. The principal of a role session is the role " +
				"that issued it, because session names are chosen by the caller and prove nothing. A denied attempt " +
				"still shows intent and is reported one step lower.",
			sources: []string{srcSecrets}, eval: ruleUnexpectedReader,
		},
		{
			ID: "RA-02", Name: "First-seen principal, network or user agent for a watched secret",
			Rationale: "Stolen credentials are used from somewhere new: a new role, a new /24 (or /48) network, a " +
				"new SDK or tool. Each watched secret learns who reads it, from where and with what during a " +
				"learning period, then reports combinations it has not seen. Trusted networks and service " +
				"addresses never count as new networks.",
			sources: []string{srcSecrets}, eval: ruleFirstSeen,
		},
		{
			ID: "RA-03", Name: "Secret enumeration",
			Rationale: "An intruder with a foothold reads every secret it can reach. A principal reading many " +
				"distinct secrets within a short window, or calling BatchGetSecretValue with filters (which reads " +
				"whatever matches rather than what it names), is harvesting, not using, credentials.",
			sources: []string{srcSecrets}, eval: ruleEnumeration,
		},
		{
			ID: "RA-04", Name: "Burst of AccessDenied on Secrets Manager or KMS",
			Rationale: "Probing for secrets and keys produces denials before it produces success. One denial is " +
				"a misconfiguration; several from one principal within minutes is someone trying doors.",
			sources: []string{srcSecrets, srcKMS}, eval: ruleDeniedBurst,
		},
		{
			ID: "RA-05", Name: "Watched secret changed outside rotation",
			Rationale: "Only the rotator should change the credentials' value and version stages, and only the " +
				"deployment should change their settings. A value written by someone else desynchronises the " +
				"database and the secret or plants a known password; deleting the secret, cancelling its rotation " +
				"or opening its resource policy to other accounts removes the protection rotation gives.",
			sources: []string{srcSecrets}, eval: ruleSecretChanged,
		},
		{
			ID: "RA-06", Name: "Rotation failed or abandoned",
			Rationale: "A failed rotation leaves the old password in use past its lifetime and can leave " +
				"AWSPENDING behind, blocking the next rotation. Secrets Manager reports it only as a service " +
				"event, which nobody reads unless something alerts on it.",
			sources: []string{srcSecrets}, eval: ruleRotationHealth,
		},
		{
			ID: "RA-07", Name: "CloudTrail tampering",
			Rationale: "Every other rule depends on the trail. Stopping or deleting it, turning off log file " +
				"validation, moving its bucket, or changing its selectors so that management events (and with " +
				"them GetSecretValue) are not recorded, are recorded WriteOnly, or exclude KMS or RDS Data events, " +
				"blinds the audit. A failed attempt is reported too, one step lower.",
			sources: []string{srcTrail}, eval: ruleTrailTampering,
		},
		{
			ID: "RA-08", Name: "Tampering with or use of the secret's KMS key",
			Rationale: "Whoever can decrypt with the secret's key can read the secret's stored value without " +
				"GetSecretValue appearing; whoever disables or deletes it makes the secret unreadable and breaks " +
				"the API; a changed key policy can grant either. Decrypt with the secret in the encryption context " +
				"is expected only from the allowed principals (Secrets Manager calls it on their behalf).",
			sources: []string{srcKMS}, eval: ruleKMS,
		},
		{
			ID: "RA-09", Name: "Database-level AWS calls that bypass the credentials",
			Rationale: "The database can be reached without the rotated password: by resetting the master " +
				"password through the RDS API, by sharing or copying a snapshot to another account, by exporting " +
				"it to S3, or by running SQL through the RDS Data API. Each is routine for almost nobody.",
			sources: []string{srcRDS, srcRDSData}, eval: ruleDatabase,
		},
		{
			ID: "RA-10", Name: "ECS task definition or exec touching the API or database tasks",
			Rationale: "A new task definition revision that reads a different secret, runs under a different " +
				"task role or runs a different image moves the credentials to code or a role nobody reviewed; " +
				"ECS Exec gives a shell inside a task that holds the password in memory. Image changes by the " +
				"deployment are releases and stay quiet.",
			sources: []string{srcECS}, eval: ruleECS,
		},
		{
			ID: "RA-11", Name: "IAM change granting read of a watched secret or decrypt with its key",
			Rationale: "The allow-list of RA-01 is only as good as IAM: an inline or managed policy, a new " +
				"policy version or a changed trust policy can quietly add a reader. Grants made by the deployment " +
				"to the allowed roles are routine; anything else is reported.",
			sources: []string{srcIAM}, eval: ruleIAM,
		},
		{
			ID: "RA-12", Name: "Root account activity",
			Rationale: "The root user bypasses every IAM policy this project relies on and should be used " +
				"for almost nothing; any call or sign-in with it deserves a look.",
			eval: ruleRoot,
		},
	}
}

// watchedCalls lists, per event source, the calls some rule looks at. Most of a trail is
// other traffic; this lets Evaluate pass over it without building anything.
var watchedCalls = map[string]map[string]bool{
	srcSecrets: set("GetSecretValue", "BatchGetSecretValue", "PutSecretValue", "UpdateSecretVersionStage", "UpdateSecret",
		"DeleteSecret", "PutResourcePolicy", "DeleteResourcePolicy", "CancelRotateSecret", "RotateSecret",
		"RemoveRegionsFromReplication", "StopReplicationToReplica", "RotationFailed", "RotationAbandoned"),
	srcKMS:     set("Decrypt", "DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy"),
	srcTrail:   set("StopLogging", "DeleteTrail", "CreateTrail", "UpdateTrail", "PutEventSelectors", "PutInsightSelectors"),
	srcRDS:     set("ModifyDBInstance", "ModifyDBCluster", "ModifyDBSnapshotAttribute", "ModifyDBClusterSnapshotAttribute", "CopyDBSnapshot", "CopyDBClusterSnapshot", "StartExportTask"),
	srcRDSData: set("ExecuteStatement", "BatchExecuteStatement", "ExecuteSql", "BeginTransaction"),
	srcECS:     set("RegisterTaskDefinition", "ExecuteCommand"),
	srcIAM:     set("PutRolePolicy", "PutUserPolicy", "PutGroupPolicy", "CreatePolicyVersion", "AttachRolePolicy", "AttachUserPolicy", "AttachGroupPolicy", "UpdateAssumeRolePolicy", "SetDefaultPolicyVersion"),
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// relevant reports whether any rule could fire on rec: a watched call, a failure on
// Secrets Manager or KMS (RA-04), or anything done as root (RA-12).
func relevant(rec *cloudtrail.Record) bool {
	if watchedCalls[rec.EventSource][rec.EventName] || rec.UserIdentity.Type == "Root" {
		return true
	}
	return rec.ErrorCode != "" && (rec.EventSource == srcSecrets || rec.EventSource == srcKMS)
}

// --- helpers shared by the rules ---

func isService(p string) bool { return strings.HasSuffix(p, ".amazonaws.com") || p == "AWS Internal" }

func (e *Engine) failedSeverity(ev *event, s Severity) Severity {
	if ev.rec.Failed() {
		return s.lower()
	}
	return s
}

func attempt(ev *event) string {
	if ev.rec.Failed() {
		return " (attempt failed: " + ev.rec.ErrorCode + ")"
	}
	return ""
}

type secretParams struct {
	SecretID     string   `json:"secretId"`
	SecretIDList []string `json:"secretIdList"`
	Filters      []struct {
		Key string `json:"key"`
	} `json:"filters"`
	ForceDeleteWithoutRecovery bool            `json:"forceDeleteWithoutRecovery"`
	ResourcePolicy             string          `json:"resourcePolicy"`
	RotationRules              json.RawMessage `json:"rotationRules"`
	RotationLambdaARN          string          `json:"rotationLambdaARN"`
	KMSKeyID                   string          `json:"kmsKeyId"`
}

// secretIDs returns the secrets a Secrets Manager call names (secretId may also be
// missing when requestParameters were too large: then the resources list may name it).
func secretIDs(rec *cloudtrail.Record, p *secretParams) []string {
	ids := p.SecretIDList
	if p.SecretID != "" {
		ids = append([]string{p.SecretID}, ids...)
	}
	if len(ids) == 0 {
		for _, r := range rec.Resources {
			if strings.Contains(r.ARN, ":secret:") {
				ids = append(ids, r.ARN)
			}
		}
	}
	return ids
}

func isRead(name string) bool { return name == "GetSecretValue" || name == "BatchGetSecretValue" }

// --- RA-01 ---

func ruleUnexpectedReader(_ context.Context, e *Engine, ev *event) error {
	if !isRead(ev.rec.EventName) || e.cfg.isReader(ev.norm) || e.cfg.isRotator(ev.norm) || isService(ev.principal) {
		return nil
	}
	p := ev.secret()
	for _, id := range secretIDs(ev.rec, p) {
		name, ok := e.cfg.watched(id)
		if !ok {
			continue
		}
		ev.add(hit{
			rule: e.rule("RA-01"), severity: e.failedSeverity(ev, High), dedup: name,
			title: fmt.Sprintf("%s read by %s%s", name, ev.principal, attempt(ev)),
			desc: fmt.Sprintf("%s called %s on the watched secret %s from %s (%s); only the readers and rotators in the audit configuration may read it.",
				ev.principal, ev.rec.EventName, name, ev.rec.SourceIPAddress, ev.rec.UserAgent),
			resources: []Resource{secretResource(name)},
		})
	}
	return nil
}

// --- RA-02 ---

// network returns the /24 or /48 an address belongs to, "" for service names and trusted nets.
func (c *Config) network(src string) string {
	a, err := netip.ParseAddr(src)
	if err != nil || c.trustedIP(a) {
		return ""
	}
	bits := 24
	if a.Is6() && !a.Is4In6() {
		bits = 48
	}
	p, err := a.Unmap().Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}

// uaFamily reduces a user agent to the tool that sent it: versions and platforms change
// with every release, the tool does not.
func uaFamily(ua string) string {
	l := strings.ToLower(ua)
	for _, f := range []string{"terraform", "aws-cli", "boto3", "botocore", "aws-sdk-go-v2", "aws-sdk-go", "aws-sdk-java", "aws-sdk-js", "aws-sdk-dotnet", "aws-sdk-rust", "aws-sdk-php", "aws-sdk-ruby", "aws-internal", "console.amazonaws.com", "cloudformation"} {
		if strings.Contains(l, f) {
			return f
		}
	}
	if isService(ua) || ua == "" {
		return ""
	}
	tok, _, _ := strings.Cut(l, " ")
	tok, _, _ = strings.Cut(tok, "/")
	return tok
}

func ruleFirstSeen(ctx context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	if !isRead(rec.EventName) || rec.Failed() || isService(ev.principal) {
		return nil
	}
	p := ev.secret()
	expires := rec.Time.Add(e.cfg.BaselineTTL.Duration)
	for _, id := range secretIDs(rec, p) {
		name, ok := e.cfg.watched(id)
		if !ok {
			continue
		}
		_, since, err := e.store.Remember(ctx, "learn|"+name, rec.Time, rec.Time.Add(100*365*24*time.Hour))
		if err != nil {
			return err
		}
		learning := rec.Time.Sub(since) < e.cfg.LearningPeriod.Duration
		for _, dim := range []struct{ kind, value, what string }{
			{"principal", ev.norm, "principal"},
			{"network", e.cfg.network(rec.SourceIPAddress), "source network"},
			{"agent", uaFamily(rec.UserAgent), "user-agent family"},
		} {
			if dim.value == "" {
				continue
			}
			fresh, _, err := e.store.Remember(ctx, "base|"+name+"|"+dim.kind+"|"+dim.value, rec.Time, expires)
			if err != nil {
				return err
			}
			if dim.kind != "principal" {
				// A network or tool the principal already uses for another watched secret
				// is not news (the rotator reaches its secrets through every NAT gateway).
				freshForPrincipal, _, err := e.store.Remember(ctx, "base|@"+ev.norm+"|"+dim.kind+"|"+dim.value, rec.Time, expires)
				if err != nil {
					return err
				}
				fresh = fresh && freshForPrincipal
			}
			if !fresh || learning {
				continue
			}
			sev := Low
			if dim.kind == "principal" {
				sev = Medium
			}
			ev.add(hit{
				rule: e.rule("RA-02"), severity: sev, dedup: name + "|" + dim.kind + "|" + dim.value,
				title: fmt.Sprintf("new %s %s for %s", dim.what, dim.value, name),
				desc: fmt.Sprintf("%s read %s from %s with %q: the %s %s had not read this secret before (baseline learning ended %s).",
					ev.principal, name, rec.SourceIPAddress, rec.UserAgent, dim.what, dim.value, since.Add(e.cfg.LearningPeriod.Duration).Format(time.RFC3339)),
				resources: []Resource{secretResource(name)},
			})
		}
	}
	return nil
}

// --- RA-03 ---

func ruleEnumeration(ctx context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	if !isRead(rec.EventName) || isService(ev.principal) {
		return nil
	}
	p := ev.secret()
	if rec.EventName == "BatchGetSecretValue" && len(p.Filters) > 0 {
		ev.add(hit{
			rule: e.rule("RA-03"), severity: e.failedSeverity(ev, High), dedup: "filters",
			title: fmt.Sprintf("BatchGetSecretValue with filters by %s%s", ev.principal, attempt(ev)),
			desc: fmt.Sprintf("%s read every secret matching a filter (%d filters) in one call: this harvests secrets rather than reading a known one.",
				ev.principal, len(p.Filters)),
		})
	}
	w := e.cfg.Enumeration
	for _, id := range secretIDs(rec, p) {
		n, err := e.store.Count(ctx, "enum|"+ev.norm, secretName(id), rec.Time, rec.Time.Add(-w.Window.Duration), rec.Time.Add(w.Window.Duration))
		if err != nil {
			return err
		}
		if n >= w.Count {
			ev.add(hit{
				rule: e.rule("RA-03"), severity: High, dedup: "distinct",
				title: fmt.Sprintf("%s read %d distinct secrets within %s", ev.principal, n, w.Window.Duration),
				desc: fmt.Sprintf("%s has read %d different secrets in the last %s (threshold %d), the latest %s.",
					ev.principal, n, w.Window.Duration, w.Count, secretName(id)),
			})
			break
		}
	}
	return nil
}

// --- RA-04 ---

func ruleDeniedBurst(ctx context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	if !rec.AccessDenied() {
		return nil
	}
	w := e.cfg.AccessDenied
	member := rec.EventID
	if member == "" {
		member = rec.EventTime + rec.EventName
	}
	n, err := e.store.Count(ctx, "denied|"+ev.norm, member, rec.Time, rec.Time.Add(-w.Window.Duration), rec.Time.Add(w.Window.Duration))
	if err != nil {
		return err
	}
	if n >= w.Count {
		ev.add(hit{
			rule: e.rule("RA-04"), severity: Medium, dedup: "burst",
			title: fmt.Sprintf("%d denied Secrets Manager/KMS calls by %s", n, ev.principal),
			desc: fmt.Sprintf("%s was denied %d times within %s (threshold %d), the latest %s %s.",
				ev.principal, n, w.Window.Duration, w.Count, rec.EventSource, rec.EventName),
		})
	}
	return nil
}

// --- RA-05 ---

func ruleSecretChanged(_ context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	switch rec.EventName {
	case "PutSecretValue", "UpdateSecretVersionStage", "UpdateSecret", "DeleteSecret", "PutResourcePolicy",
		"DeleteResourcePolicy", "CancelRotateSecret", "RotateSecret", "RemoveRegionsFromReplication", "StopReplicationToReplica":
	default:
		return nil
	}
	if isService(ev.principal) {
		return nil
	}
	p := ev.secret()
	rotator, deployer := e.cfg.isRotator(ev.norm), e.cfg.isDeployer(ev.norm)
	for _, id := range secretIDs(rec, p) {
		name, ok := e.cfg.watched(id)
		if !ok {
			continue
		}
		var sev Severity
		why := ""
		switch rec.EventName {
		case "PutSecretValue", "UpdateSecretVersionStage":
			switch {
			case rotator:
				continue
			case deployer:
				sev, why = Medium, "the deployment wrote a credential value; only the rotator should"
			default:
				sev, why = High, "a credential value or version stage was set outside rotation"
			}
		case "UpdateSecret":
			if deployer {
				continue
			}
			sev, why = High, "the secret's settings (value, description or KMS key) were changed"
			if p.KMSKeyID != "" {
				why = "the secret was moved to KMS key " + p.KMSKeyID
			}
		case "DeleteSecret":
			sev, why = High, "the secret was scheduled for deletion"
			if p.ForceDeleteWithoutRecovery {
				sev, why = Critical, "the secret was deleted without recovery"
			}
		case "PutResourcePolicy":
			pol, ok := parsePolicy(p.ResourcePolicy)
			if ok {
				if who, open := e.cfg.opensOutside(pol, rec.RecipientAccountID); open {
					sev, why = Critical, "the resource policy lets "+who+" in"
					break
				}
			}
			if deployer {
				continue
			}
			sev, why = Medium, "the secret's resource policy was replaced"
		case "DeleteResourcePolicy":
			if deployer {
				continue
			}
			sev, why = Medium, "the secret's resource policy was deleted"
		case "CancelRotateSecret":
			sev, why = High, "rotation was disabled"
			if deployer {
				sev = Medium
			}
		case "RotateSecret":
			if len(p.RotationRules) == 0 && p.RotationLambdaARN == "" {
				if rotator || deployer || e.cfg.isReader(ev.norm) {
					continue
				}
				sev, why = Low, "an immediate rotation was started by an unexpected principal"
				break
			}
			if deployer {
				continue
			}
			sev, why = High, "the rotation schedule or function was changed"
		default:
			if deployer {
				continue
			}
			sev, why = Medium, "the secret's replication was changed"
		}
		ev.add(hit{
			rule: e.rule("RA-05"), severity: e.failedSeverity(ev, sev), dedup: name + "|" + rec.EventName,
			title:     fmt.Sprintf("%s on %s by %s%s", rec.EventName, name, ev.principal, attempt(ev)),
			desc:      fmt.Sprintf("%s called %s on the watched secret %s: %s.", ev.principal, rec.EventName, name, why),
			resources: []Resource{secretResource(name)},
		})
	}
	return nil
}

// --- RA-06 ---

func ruleRotationHealth(_ context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	if rec.EventName != "RotationFailed" && rec.EventName != "RotationAbandoned" {
		return nil
	}
	var add struct {
		SecretID string `json:"SecretId"`
	}
	rec.Additional(&add)
	id := add.SecretID
	if id == "" {
		if ids := secretIDs(rec, ev.secret()); len(ids) > 0 {
			id = ids[0]
		}
	}
	name, watched := e.cfg.watched(id)
	sev := High
	if !watched {
		sev = Low
	}
	if name == "" {
		name = "(secret not named in the event)"
	}
	ev.add(hit{
		rule: e.rule("RA-06"), severity: sev, dedup: name + "|" + rec.EventName,
		title: fmt.Sprintf("%s for %s", rec.EventName, name),
		desc: fmt.Sprintf("Secrets Manager reported %s for %s: %s. The previous password stays current; check the rotator's logs and remove a stale AWSPENDING before the next attempt.",
			rec.EventName, name, firstNonEmpty(rec.ErrorMessage, "no message")),
		resources: []Resource{secretResource(name)},
	})
	return nil
}

// --- RA-07 ---

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

// --- RA-08 ---

type kmsParams struct {
	KeyID             string            `json:"keyId"`
	Policy            string            `json:"policy"`
	EncryptionContext map[string]string `json:"encryptionContext"`
}

func ruleKMS(_ context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	switch rec.EventName {
	case "Decrypt":
		return ruleDecrypt(e, ev)
	case "DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy":
	default:
		return nil
	}
	var p kmsParams
	rec.Params(&p)
	key := ""
	if e.cfg.watchedKey(p.KeyID) {
		key = p.KeyID
	}
	for _, r := range rec.Resources {
		if key == "" && e.cfg.watchedKey(r.ARN) {
			key = r.ARN
		}
	}
	if key == "" {
		return nil
	}
	var sev Severity
	why := ""
	switch rec.EventName {
	case "DisableKey":
		sev, why = High, "the key was disabled: the secret cannot be read until it is enabled"
	case "ScheduleKeyDeletion":
		sev, why = Critical, "the key was scheduled for deletion: the secret becomes unreadable for good"
	case "PutKeyPolicy":
		if pol, ok := parsePolicy(p.Policy); ok {
			if who, open := e.cfg.opensOutside(pol, rec.RecipientAccountID); open {
				sev, why = Critical, "the key policy lets "+who+" use the key"
				break
			}
		}
		if e.cfg.isDeployer(ev.norm) {
			return nil
		}
		sev, why = High, "the key policy was replaced outside the deployment"
	}
	ev.add(hit{
		rule: e.rule("RA-08"), severity: e.failedSeverity(ev, sev), dedup: key + "|" + rec.EventName,
		title:     fmt.Sprintf("%s on the secret's key by %s%s", rec.EventName, ev.principal, attempt(ev)),
		desc:      fmt.Sprintf("%s called %s on %s: %s.", ev.principal, rec.EventName, key, why),
		resources: []Resource{{UID: key, Type: "AWS::KMS::Key"}},
	})
	return nil
}

func ruleDecrypt(e *Engine, ev *event) error {
	rec := ev.rec
	var p kmsParams
	if !rec.Params(&p) {
		return nil
	}
	name, ok := e.cfg.watched(p.EncryptionContext["SecretARN"])
	if !ok {
		return nil
	}
	if e.cfg.isReader(ev.norm) || e.cfg.isRotator(ev.norm) || isService(ev.principal) {
		return nil
	}
	onBehalf := rec.UserIdentity.InvokedBy == srcSecrets || rec.SourceIPAddress == srcSecrets
	sev, why := High, "decrypted directly, not through Secrets Manager"
	if onBehalf {
		sev, why = Medium, "Secrets Manager decrypted it for a caller that is not allowed to read it"
	}
	ev.add(hit{
		rule: e.rule("RA-08"), severity: e.failedSeverity(ev, sev), dedup: name + "|Decrypt",
		title:     fmt.Sprintf("Decrypt of %s by %s%s", name, ev.principal, attempt(ev)),
		desc:      fmt.Sprintf("%s decrypted the stored value of the watched secret %s: %s.", ev.principal, name, why),
		resources: []Resource{secretResource(name)},
	})
	return nil
}

// --- RA-09 ---

type rdsParams struct {
	DBInstanceIdentifier              string          `json:"dBInstanceIdentifier"`
	DBClusterIdentifier               string          `json:"dBClusterIdentifier"`
	MasterUserPassword                json.RawMessage `json:"masterUserPassword"`
	AttributeName                     string          `json:"attributeName"`
	ValuesToAdd                       []string        `json:"valuesToAdd"`
	DBSnapshotIdentifier              string          `json:"dBSnapshotIdentifier"`
	DBClusterSnapshotIdentifier       string          `json:"dBClusterSnapshotIdentifier"`
	SourceDBSnapshotIdentifier        string          `json:"sourceDBSnapshotIdentifier"`
	SourceDBClusterSnapshotIdentifier string          `json:"sourceDBClusterSnapshotIdentifier"`
	KMSKeyID                          string          `json:"kmsKeyId"`
	SourceArn                         string          `json:"sourceArn"`
	ExportTaskIdentifier              string          `json:"exportTaskIdentifier"`
	ResourceArn                       string          `json:"resourceArn"`
}

func ruleDatabase(_ context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	var p rdsParams
	var sev Severity
	var why, res string
	switch rec.EventName {
	case "ModifyDBInstance", "ModifyDBCluster":
		rec.Params(&p)
		if len(p.MasterUserPassword) == 0 || string(p.MasterUserPassword) == "null" || e.cfg.isRotator(ev.norm) {
			return nil
		}
		res = firstNonEmpty(p.DBInstanceIdentifier, p.DBClusterIdentifier)
		sev, why = High, "the master password was reset through the RDS API, outside rotation"
	case "ModifyDBSnapshotAttribute", "ModifyDBClusterSnapshotAttribute":
		rec.Params(&p)
		if p.AttributeName != "restore" {
			return nil
		}
		res = firstNonEmpty(p.DBSnapshotIdentifier, p.DBClusterSnapshotIdentifier)
		for _, v := range p.ValuesToAdd {
			switch {
			case strings.EqualFold(v, "all"):
				sev, why = Critical, "the snapshot was made public (restore: all)"
			case v != rec.RecipientAccountID && !e.cfg.accounts[v] && sev < High:
				sev, why = High, "the snapshot was shared with account "+v
			}
		}
		if sev == 0 {
			return nil
		}
	case "CopyDBSnapshot", "CopyDBClusterSnapshot":
		rec.Params(&p)
		src := firstNonEmpty(p.SourceDBSnapshotIdentifier, p.SourceDBClusterSnapshotIdentifier)
		res = src
		if a := cloudtrail.ARNAccount(src); a != "" && a != rec.RecipientAccountID {
			sev, why = High, "a snapshot was copied from account "+a
		} else if a := cloudtrail.ARNAccount(p.KMSKeyID); a != "" && a != rec.RecipientAccountID && !e.cfg.accounts[a] {
			sev, why = High, "a snapshot copy was encrypted with a key of account "+a
		} else {
			return nil
		}
	case "StartExportTask":
		rec.Params(&p)
		res = firstNonEmpty(p.SourceArn, p.ExportTaskIdentifier)
		sev, why = High, "a snapshot or cluster was exported to S3"
	case "ExecuteStatement", "BatchExecuteStatement", "ExecuteSql", "BeginTransaction":
		if rec.EventSource != srcRDSData || e.cfg.dataAPI[ev.norm] {
			return nil
		}
		rec.Params(&p)
		res = p.ResourceArn
		sev, why = High, "SQL was run through the RDS Data API by a principal not allowed to"
	default:
		return nil
	}
	ev.add(hit{
		rule: e.rule("RA-09"), severity: e.failedSeverity(ev, sev), dedup: res + "|" + rec.EventName,
		title:     fmt.Sprintf("%s on %s by %s%s", rec.EventName, firstNonEmpty(res, "database"), ev.principal, attempt(ev)),
		desc:      fmt.Sprintf("%s called %s on %s: %s.", ev.principal, rec.EventName, firstNonEmpty(res, "(unnamed)"), why),
		resources: []Resource{{UID: res, Type: "AWS::RDS::DBInstance"}},
	})
	return nil
}

// --- RA-10 ---

type taskDefParams struct {
	Family               string `json:"family"`
	TaskRoleArn          string `json:"taskRoleArn"`
	ContainerDefinitions []struct {
		Name    string `json:"name"`
		Image   string `json:"image"`
		Secrets []struct {
			Name      string `json:"name"`
			ValueFrom string `json:"valueFrom"`
		} `json:"secrets"`
	} `json:"containerDefinitions"`
	Cluster   string `json:"cluster"`
	Task      string `json:"task"`
	Container string `json:"container"`
}

// taskShape is what RA-10 compares between revisions.
type taskShape struct {
	Role    string   `json:"role"`
	Images  []string `json:"images"`
	Secrets []string `json:"secrets"`
}

func ruleECS(ctx context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	switch rec.EventName {
	case "RegisterTaskDefinition":
	case "ExecuteCommand":
		var p taskDefParams
		rec.Params(&p)
		if !matchName(e.cfg.ECS.Clusters, p.Cluster) {
			return nil
		}
		ev.add(hit{
			rule: e.rule("RA-10"), severity: e.failedSeverity(ev, High), dedup: p.Cluster + "|" + p.Task,
			title:     fmt.Sprintf("ECS Exec into %s by %s%s", firstNonEmpty(p.Task, p.Cluster), ev.principal, attempt(ev)),
			desc:      fmt.Sprintf("%s opened an ECS Exec session into task %s (container %s) of cluster %s: the task holds the database password.", ev.principal, p.Task, p.Container, p.Cluster),
			resources: []Resource{{UID: firstNonEmpty(p.Task, p.Cluster), Type: "AWS::ECS::Task"}},
		})
		return nil
	default:
		return nil
	}
	if rec.Failed() {
		return nil
	}
	var p taskDefParams
	if !rec.Params(&p) || !slices.Contains(e.cfg.ECS.Families, p.Family) {
		return nil
	}
	now := taskShape{Role: p.TaskRoleArn}
	for _, c := range p.ContainerDefinitions {
		now.Images = append(now.Images, c.Name+"="+c.Image)
		for _, s := range c.Secrets {
			now.Secrets = append(now.Secrets, c.Name+"."+s.Name+"="+s.ValueFrom)
		}
	}
	sort.Strings(now.Images)
	sort.Strings(now.Secrets)
	cur, _ := json.Marshal(now)
	oldJSON, found, err := e.store.Swap(ctx, "taskdef|"+p.Family, string(cur), rec.Time, rec.Time.Add(e.cfg.BaselineTTL.Duration))
	if err != nil || !found {
		return err
	}
	var old taskShape
	if json.Unmarshal([]byte(oldJSON), &old) != nil {
		return nil
	}
	var changes []string
	secretChanged := !slices.Equal(old.Secrets, now.Secrets)
	roleChanged := old.Role != now.Role
	imageChanged := !slices.Equal(old.Images, now.Images)
	if secretChanged {
		changes = append(changes, fmt.Sprintf("secrets %v -> %v", old.Secrets, now.Secrets))
	}
	if roleChanged {
		changes = append(changes, fmt.Sprintf("task role %s -> %s", old.Role, now.Role))
	}
	if imageChanged {
		changes = append(changes, fmt.Sprintf("images %v -> %v", old.Images, now.Images))
	}
	sev := High
	if e.cfg.isDeployer(ev.norm) {
		// Releases change images; a deployment that also repoints the secret or the role
		// is worth a look, at lower severity.
		if !secretChanged && !roleChanged {
			return nil
		}
		sev = Medium
	}
	if len(changes) == 0 {
		return nil
	}
	ev.add(hit{
		rule: e.rule("RA-10"), severity: sev, dedup: p.Family + "|" + string(cur),
		title:     fmt.Sprintf("task definition %s changed by %s", p.Family, ev.principal),
		desc:      fmt.Sprintf("%s registered a new revision of %s: %s.", ev.principal, p.Family, strings.Join(changes, "; ")),
		resources: []Resource{{UID: p.Family, Type: "AWS::ECS::TaskDefinition"}},
	})
	return nil
}

// matchName reports whether an ECS name or ARN is one of names (all when names is empty).
func matchName(names []string, v string) bool {
	if len(names) == 0 {
		return true
	}
	for _, n := range names {
		if v == n || strings.HasSuffix(v, "/"+n) {
			return true
		}
	}
	return false
}

// --- RA-11 ---

type iamParams struct {
	RoleName       string `json:"roleName"`
	UserName       string `json:"userName"`
	GroupName      string `json:"groupName"`
	PolicyName     string `json:"policyName"`
	PolicyArn      string `json:"policyArn"`
	PolicyDocument string `json:"policyDocument"`
	VersionID      string `json:"versionId"`
}

// broadPolicies are AWS managed policies that read every secret or decrypt with any key.
var broadPolicies = []string{"AdministratorAccess", "PowerUserAccess", "SecretsManagerReadWrite", "IAMFullAccess"}

func ruleIAM(_ context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	if rec.Failed() {
		return nil
	}
	var p iamParams
	if !rec.Params(&p) {
		return nil
	}
	target := firstNonEmpty(p.RoleName, p.UserName, p.GroupName, p.PolicyArn)
	deployer := e.cfg.isDeployer(ev.norm)
	allowedTarget := p.RoleName != "" && e.cfg.allowedRoleName(p.RoleName)
	sev, why := Severity(0), ""
	switch rec.EventName {
	case "PutRolePolicy", "PutUserPolicy", "PutGroupPolicy", "CreatePolicyVersion":
		pol, ok := parsePolicy(p.PolicyDocument)
		if !ok {
			return nil
		}
		what, grants := e.cfg.grants(pol)
		if !grants {
			return nil
		}
		switch {
		case deployer && allowedTarget:
			return nil
		case deployer:
			sev = Medium
		default:
			sev = High
		}
		why = "the policy allows " + what
	case "AttachRolePolicy", "AttachUserPolicy", "AttachGroupPolicy":
		name := p.PolicyArn[strings.LastIndexByte(p.PolicyArn, '/')+1:]
		if !slices.Contains(broadPolicies, name) || deployer && allowedTarget {
			return nil
		}
		sev, why = High, "the managed policy "+name+" lets it read every secret and decrypt with any key"
	case "UpdateAssumeRolePolicy":
		if !allowedTarget {
			return nil
		}
		pol, ok := parsePolicy(p.PolicyDocument)
		if ok {
			if who, open := e.cfg.opensOutside(pol, rec.RecipientAccountID); open {
				sev, why = Critical, "the role that reads the secret can now be assumed by "+who
				break
			}
		}
		if deployer {
			return nil
		}
		sev, why = High, "the trust policy of a role that reads the secret was changed"
	case "SetDefaultPolicyVersion":
		if deployer {
			return nil
		}
		sev, why = Low, "the active version of a managed policy was switched (its content is not in the event)"
	default:
		return nil
	}
	ev.add(hit{
		rule: e.rule("RA-11"), severity: sev, dedup: target + "|" + rec.EventName + "|" + p.PolicyName,
		title:     fmt.Sprintf("%s on %s by %s", rec.EventName, target, ev.principal),
		desc:      fmt.Sprintf("%s called %s on %s: %s.", ev.principal, rec.EventName, target, why),
		resources: []Resource{{UID: target, Type: "AWS::IAM::Policy"}},
	})
	return nil
}

// allowedRoleName reports whether name is the name of a reader or rotator role.
func (c *Config) allowedRoleName(name string) bool {
	for _, set := range []map[string]bool{c.readers, c.rotators} {
		for arn := range set {
			if strings.HasSuffix(arn, ":role/"+name) {
				return true
			}
		}
	}
	return false
}

// --- RA-12 ---

func ruleRoot(_ context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	if rec.UserIdentity.Type != "Root" || rec.UserIdentity.InvokedBy != "" || rec.EventType == "AwsServiceEvent" {
		return nil
	}
	sev := High
	if rec.Failed() || strings.Contains(string(rec.ResponseElements), `"Failure"`) {
		sev = Medium
	}
	ev.add(hit{
		rule: e.rule("RA-12"), severity: sev, dedup: rec.EventName,
		title:     fmt.Sprintf("root account %s from %s", rec.EventName, rec.SourceIPAddress),
		desc:      fmt.Sprintf("The root user of account %s called %s (%s) from %s with %q.", rec.RecipientAccountID, rec.EventName, rec.EventSource, rec.SourceIPAddress, rec.UserAgent),
		resources: []Resource{{UID: firstNonEmpty(rec.RecipientAccountID, rec.UserIdentity.AccountID), Type: "AWS::Account"}},
	})
	return nil
}

// rule finds a rule by id.
func (e *Engine) rule(id string) *Rule { return e.byID[id] }
