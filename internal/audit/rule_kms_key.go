package audit

import (
	"bytes"
	"context"
	"fmt"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
)

// ruleKMSKey is RA-08: the secrets' KMS key.
func ruleKMSKey() *Rule {
	return &Rule{
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
		calls: on(srcKMS, "Decrypt", "DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy", "CreateGrant", "ImportKeyMaterial", "DeleteImportedKeyMaterial"),
		eval:  evalKMSKey,
	}
}

type kmsParams struct {
	KeyID             string            `json:"keyId"`
	Policy            string            `json:"policy"`
	EncryptionContext map[string]string `json:"encryptionContext"`
	GranteePrincipal  string            `json:"granteePrincipal"`
	Operations        []string          `json:"operations"`
}

func evalKMSKey(_ context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	switch rec.EventName {
	case "Decrypt":
		return evalDecrypt(e, ev)
	case "DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy", "CreateGrant", "ImportKeyMaterial", "DeleteImportedKeyMaterial":
	default:
		return nil
	}
	var p kmsParams
	decodeKMSParams(rec.RequestParameters, &p)
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
	case "CreateGrant":
		// Services create grants for their own use (RDS, EBS: invokedBy set); a grant made
		// by a person or a role hands Decrypt around the key policy, unseen by IAM.
		if rec.UserIdentity.InvokedBy != "" || isService(ev.principal) || e.cfg.isRotator(ev.norm) {
			return nil
		}
		grantee := firstNonEmpty(p.GranteePrincipal, "(grantee not recorded)")
		acct := cloudtrail.ARNAccount(p.GranteePrincipal)
		outside := acct != "" && acct != rec.RecipientAccountID && !e.cfg.accounts[acct]
		switch {
		case outside:
			sev = Critical
		case e.cfg.isDeployer(ev.norm):
			return nil
		default:
			sev = High
		}
		why = fmt.Sprintf("a grant lets %s use the key for %v, without the key policy saying so", grantee, p.Operations)
	case "ImportKeyMaterial":
		sev, why = High, "new key material was imported: whoever holds it can decrypt the secret outside AWS, and can make it unreadable"
		if e.cfg.isDeployer(ev.norm) {
			sev = Medium
		}
	case "DeleteImportedKeyMaterial":
		sev, why = Critical, "the key material was deleted: the secret is unreadable until the same material is imported again"
	}
	ev.add(hit{
		severity: e.failedSeverity(ev, sev), dedup: key + "|" + rec.EventName + "|" + digest(rec.RequestParameters),
		title:     fmt.Sprintf("%s on the secret's key by %s%s", rec.EventName, ev.principal, attempt(ev)),
		desc:      fmt.Sprintf("%s called %s on %s: %s.", ev.principal, rec.EventName, key, why),
		resources: []Resource{{UID: key, Type: "AWS::KMS::Key"}},
	})
	return nil
}

func evalDecrypt(e *Engine, ev *event) error {
	rec := ev.rec
	// Most Decrypts are not of a secret (S3, EBS, other services' data keys): without the
	// key Secrets Manager puts in the encryption context, nothing to decode. CloudTrail
	// writes keys unescaped; an escape anywhere takes the full decoding.
	if !bytes.Contains(rec.RequestParameters, []byte(`"SecretARN"`)) && !bytes.Contains(rec.RequestParameters, []byte(`\`)) {
		return nil
	}
	// The allowed principals' Decrypts are expected whatever the secret: asked first, they
	// spare the decoding of most Decrypts of a secret (Secrets Manager's, for the readers).
	if e.cfg.isReader(ev.norm) || e.cfg.isRotator(ev.norm) || isService(ev.principal) {
		return nil
	}
	var p kmsParams
	if !decodeKMSParams(rec.RequestParameters, &p) {
		return nil
	}
	name, ok := e.cfg.watched(ownAccount(ev.rec), p.EncryptionContext["SecretARN"])
	if !ok {
		return nil
	}
	onBehalf := rec.UserIdentity.InvokedBy == srcSecrets || rec.SourceIPAddress == srcSecrets
	if onBehalf && e.cfg.isDeployer(ev.norm) {
		// A deployer's read is judged by RA-01, which sees the tool that made it; the
		// Decrypt Secrets Manager makes for it carries Secrets Manager's agent, not the
		// caller's, and would otherwise alert on every terraform plan.
		return nil
	}
	sev, why, joins := High, "decrypted directly, not through Secrets Manager", ""
	if onBehalf {
		// The Decrypt behind an unexpected read is part of that read: it joins the open
		// RA-01 finding, and stands alone only when the read was not seen.
		sev, why, joins = Medium, "Secrets Manager decrypted it for a caller that is not allowed to read it", readKey(ev.norm, name)
	}
	ev.add(hit{
		severity: e.failedSeverity(ev, sev), dedup: name + "|Decrypt", joins: joins,
		title:     fmt.Sprintf("Decrypt of %s by %s%s", name, ev.principal, attempt(ev)),
		desc:      fmt.Sprintf("%s decrypted the stored value of the watched secret %s: %s.", ev.principal, name, why),
		resources: []Resource{secretResource(name)},
	})
	return nil
}
