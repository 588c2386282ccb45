package audit

import (
	"encoding/json"
	"slices"
	"strings"

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
	srcS3      = "s3.amazonaws.com"
	srcSTS     = "sts.amazonaws.com"
)

// Rules returns every rule of CloudTrail records, in id order. Each call returns fresh
// values. The rules below predate one file per rule; each newer rule is a rule_*.go file
// of its own, which rules_gen.go lists.
func Rules() []*Rule {
	rs := append(olderRules(), fileRules()...)
	slices.SortFunc(rs, func(a, b *Rule) int { return strings.Compare(a.ID, b.ID) })
	return rs
}

func olderRules() []*Rule {
	return []*Rule{
		{
			ID: "RA-01", Name: "Watched secret read by a principal not on its allow-list",
			Rationale: "The database credentials have exactly two legitimate readers: the API's task role and " +
				"the rotator. Anyone else calling GetSecretValue or BatchGetSecretValue on them holds the database " +
				"password afterwards, whatever their IAM policy says. The principal of a role session is the role " +
				"that issued it, because session names are chosen by the caller and prove nothing. A denied attempt " +
				"still shows intent and is reported one step lower. A deployer's read made by Terraform (user agent " +
				"Terraform or HashiCorp) is expected, because the AWS provider refreshes each secret version with " +
				"GetSecretValue on every plan; the same deployer reading from any other tool (the CLI, an SDK, a " +
				"script) is still flagged, since nothing in a deployment needs the password outside Terraform.",
			calls: on(srcSecrets, reads...), eval: ruleUnexpectedReader,
		},
		{
			ID: "RA-02", Name: "First-seen principal, network or user agent for a watched secret",
			Rationale: "Stolen credentials are used from somewhere new: a new role, a new /24 (or /48) network, a " +
				"new SDK or tool. Each watched secret learns who reads it, from where and with what during a " +
				"learning period, then reports combinations it has not seen. Trusted networks and service " +
				"addresses never count as new networks, and the deployer's reads through Terraform, routine for " +
				"RA-01, are neither learnt nor reported.",
			calls: on(srcSecrets, reads...), eval: ruleFirstSeen,
		},
		{
			ID: "RA-03", Name: "Secret enumeration",
			Rationale: "An intruder with a foothold reads every secret it can reach. A principal reading many " +
				"distinct secrets within a short window, or calling BatchGetSecretValue with filters (which reads " +
				"whatever matches rather than what it names), is harvesting, not using, credentials. Only watched " +
				"secrets count, and a deployer's reads through Terraform, which refreshes every secret it manages on " +
				"each plan, are routine as they are for RA-01; so are the readers' and rotators' reads, which are of the " +
				"watched secrets by design (a rotator rotating many secrets reads each; RA-13 follows where they read from).",
			calls: on(srcSecrets, reads...), eval: ruleEnumeration,
		},
		{
			ID: "RA-04", Name: "Burst of AccessDenied on Secrets Manager or KMS",
			Rationale: "Probing for secrets and keys produces denials before it produces success. One denial is " +
				"a misconfiguration; several from one principal within minutes is someone trying doors.",
			failures: []string{srcSecrets, srcKMS}, eval: ruleDeniedBurst,
		},
		{
			ID: "RA-05", Name: "Watched secret changed outside rotation",
			Rationale: "Only the rotator should change the credentials' value and version stages, and only the " +
				"deployment should change their settings. A value written by someone else desynchronises the " +
				"database and the secret or plants a known password; deleting the secret, cancelling its rotation " +
				"or opening its resource policy to other accounts removes the protection rotation gives. The " +
				"deployment is the deployer calling through Terraform (writing a secret's first value, deleting it " +
				"on destroy); the same deployer with the CLI or an SDK is judged like anyone else.",
			calls: on(srcSecrets, secretChanges...), eval: ruleSecretChanged,
		},
		{
			ID: "RA-06", Name: "Rotation failed or abandoned",
			Rationale: "A failed rotation leaves the old password in use past its lifetime and can leave " +
				"AWSPENDING behind, blocking the next rotation. Secrets Manager reports it only as a service " +
				"event, which nobody reads unless something alerts on it.",
			// Every Rotation* service event: the failures alert, and the starts and
			// successes are the rotation history the DB-xx rules correlate logins with.
			calls: on(srcSecrets, "Rotation*"), eval: ruleRotationHealth,
		},
		{
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
				on(srcS3, "PutBucketLifecycle", "PutBucketPolicy", "DeleteBucketPolicy", "DeleteBucket", "PutObjectLockConfiguration", "PutBucketVersioning")), eval: ruleTrailTampering,
		},
		{
			ID: "RA-08", Name: "Tampering with or use of the secret's KMS key",
			Rationale: "Whoever can decrypt with the secret's key can read the secret's stored value without " +
				"GetSecretValue appearing; whoever disables or deletes it, or deletes its imported material, makes " +
				"the secret unreadable and breaks the API; a changed key policy or a grant can hand out decryption " +
				"unseen by IAM. Decrypt with the secret in the encryption context is expected only from the allowed " +
				"principals; the one Secrets Manager makes for an unexpected read joins that read's RA-01 finding, and " +
				"the one it makes for a deployer's read is left to RA-01, which judges that read by its tool.",
			// Only direct Decrypts of a secret's value reach the Lambda live: the pattern
			// leaves out every other Decrypt in the region (the auditor's own table and
			// topic), and those Secrets Manager makes for a GetSecretValue (invokedBy set),
			// which the read itself already brings; S3 backfill still sees them.
			narrow: map[string]map[string]any{srcKMS + " Decrypt": {
				"requestParameters": map[string]any{"encryptionContext": map[string]any{"SecretARN": exists}},
				"userIdentity":      map[string]any{"invokedBy": []any{map[string]bool{"exists": false}}},
			}},
			calls: on(srcKMS, "Decrypt", "DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy", "CreateGrant", "ImportKeyMaterial", "DeleteImportedKeyMaterial"), eval: ruleKMS,
		},
		{
			ID: "RA-09", Name: "Database-level AWS calls that bypass the credentials",
			Rationale: "The database can be reached without the rotated password: by resetting the master " +
				"password through the RDS API, by sharing or copying a snapshot to another account or region, by " +
				"exporting it to S3, by restoring a copy or making it publicly accessible, or by running SQL through " +
				"the RDS Data API; deleting the configured database (any database, when none is configured) destroys " +
				"it. A restore is public when its request or, where the request left it to the subnet group's default, " +
				"its response says so. Each is routine for almost nobody.",
			calls: merge(on(srcRDS, "ModifyDBInstance", "ModifyDBCluster", "ModifyDBSnapshotAttribute", "ModifyDBClusterSnapshotAttribute",
				"CopyDBSnapshot", "CopyDBClusterSnapshot", "StartExportTask", "RestoreDBInstanceFromDBSnapshot", "RestoreDBInstanceToPointInTime",
				"RestoreDBClusterFromSnapshot", "RestoreDBClusterToPointInTime", "DeleteDBInstance", "DeleteDBCluster"),
				on(srcRDSData, "ExecuteStatement", "BatchExecuteStatement", "ExecuteSql", "BeginTransaction")), eval: ruleDatabase,
		},
		{
			ID: "RA-10", Name: "ECS task definition or exec touching the API or database tasks",
			Rationale: "A new task definition revision that reads a different secret, passes a different " +
				"DB_SECRET_ID in its environment, runs another command, runs under a different task role or " +
				"runs a different image moves the credentials to code or a role nobody reviewed; RunTask or " +
				"StartTask overrides do the same without a revision, and ECS Exec gives a shell inside a task that " +
				"holds the password in memory. The first revision seen is trusted only from the deployment and " +
				"the configured registries; image changes by the deployment are releases and stay quiet.",
			calls: on(srcECS, "RegisterTaskDefinition", "ExecuteCommand", "RunTask", "StartTask"), eval: ruleECS,
		},
		{
			ID: "RA-11", Name: "IAM change granting read of a watched secret or decrypt with its key",
			Rationale: "The allow-list of RA-01 is only as good as IAM: an inline policy, a customer-managed " +
				"policy created and attached, a new policy version, a broad AWS policy, or a changed trust policy " +
				"of any role that was granted the secret (or of any role, when it opens to another account) can " +
				"quietly add a reader. Grants made by the deployment to the allowed roles are routine; anything " +
				"else is reported.",
			calls: on(srcIAM, "PutRolePolicy", "PutUserPolicy", "PutGroupPolicy", "CreatePolicy", "CreatePolicyVersion", "AttachRolePolicy",
				"AttachUserPolicy", "AttachGroupPolicy", "UpdateAssumeRolePolicy", "SetDefaultPolicyVersion"), eval: ruleIAM,
		},
		{
			ID: "RA-12", Name: "Root account activity",
			Rationale: "The root user bypasses every IAM policy this project relies on and should be used " +
				"for almost nothing; any call or sign-in with it deserves a look, also one a service makes with " +
				"the root's credentials (invokedBy), but not the housekeeping services log as root without them.",
			root: true, eval: ruleRoot,
		},
		{
			ID: "RA-13", Name: "Allowed reader or rotator calling from outside its networks",
			Rationale: "The API's tasks and the rotator run inside the VPC and reach Secrets Manager from its " +
				"addresses or through its interface endpoints. Their credentials used from anywhere else were " +
				"taken out of the deployment. Unlike RA-02 this needs no learning period, so an attacker's first " +
				"reads are reported rather than learnt as normal; it is active when trusted_networks or " +
				"vpc_endpoints is configured.",
			calls: on(srcSecrets, secretUses...), eval: ruleOutsideNetworks,
		},
	}
}

// reads are the calls that return a secret's value.
var reads = []string{"GetSecretValue", "BatchGetSecretValue"}

// secretChanges are the calls RA-05 judges.
var secretChanges = []string{"PutSecretValue", "UpdateSecretVersionStage", "UpdateSecret", "DeleteSecret", "PutResourcePolicy",
	"DeleteResourcePolicy", "CancelRotateSecret", "RotateSecret", "RemoveRegionsFromReplication", "StopReplicationToReplica",
	"ReplicateSecretToRegions"}

// on lists calls of one event source a rule looks at; a name ending in * is a prefix.
func on(source string, names ...string) map[string][]string {
	return map[string][]string{source: names}
}

func merge(ms ...map[string][]string) map[string][]string {
	out := map[string][]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = append(out[k], v...)
		}
	}
	return out
}

// Watched is what the rules look at, as the deployed EventBridge patterns must select it:
// calls by event source, the sources whose failures count (RA-04), and whether anything
// done as root counts (RA-12). Rules and patterns are generated from one another's truth.
type Watched struct {
	Calls    map[string][]string // event source -> sorted, distinct event names
	Failures []string            // event sources whose failed calls any rule reads
	Root     bool
	// Narrow holds, for "source name" keys, what else of the event's detail a call must
	// have for any rule to read it (an EventBridge pattern fragment).
	Narrow map[string]map[string]any
}

// exists is the EventBridge pattern operator for a field that is present.
var exists = []any{map[string]bool{"exists": true}}

// WatchedCalls gathers what every rule looks at.
func WatchedCalls() Watched {
	w := Watched{Calls: map[string][]string{}, Narrow: map[string]map[string]any{}}
	for _, r := range Rules() {
		for k, v := range r.narrow {
			w.Narrow[k] = v
		}
		for src, names := range r.calls {
			w.Calls[src] = append(w.Calls[src], names...)
		}
		w.Failures = append(w.Failures, r.failures...)
		w.Root = w.Root || r.root
	}
	for src, names := range w.Calls {
		slices.Sort(names)
		w.Calls[src] = slices.Compact(names)
	}
	slices.Sort(w.Failures)
	w.Failures = slices.Compact(w.Failures)
	return w
}

// relevant reports whether any rule could fire on rec: a watched call, a failure on
// Secrets Manager or KMS (RA-04), or anything done as root (RA-12).
func (e *Engine) relevant(rec *cloudtrail.Record) bool {
	if e.watched[rec.EventSource][rec.EventName] || e.root && rec.UserIdentity.Type == "Root" {
		return true
	}
	for _, p := range e.prefixes[rec.EventSource] {
		if strings.HasPrefix(rec.EventName, p) {
			return true
		}
	}
	return rec.ErrorCode != "" && e.failures[rec.EventSource]
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
