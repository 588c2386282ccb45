package audit

import (
	"bytes"
	"context"
	"fmt"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
)

// RA-08: the secrets' KMS key.

type kmsParams struct {
	KeyID             string            `json:"keyId"`
	Policy            string            `json:"policy"`
	EncryptionContext map[string]string `json:"encryptionContext"`
	GranteePrincipal  string            `json:"granteePrincipal"`
	Operations        []string          `json:"operations"`
}

func ruleKMS(_ context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	switch rec.EventName {
	case "Decrypt":
		return ruleDecrypt(e, ev)
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
		rule: e.rule("RA-08"), severity: e.failedSeverity(ev, sev), dedup: key + "|" + rec.EventName + "|" + digest(rec.RequestParameters),
		title:     fmt.Sprintf("%s on the secret's key by %s%s", rec.EventName, ev.principal, attempt(ev)),
		desc:      fmt.Sprintf("%s called %s on %s: %s.", ev.principal, rec.EventName, key, why),
		resources: []Resource{{UID: key, Type: "AWS::KMS::Key"}},
	})
	return nil
}

func ruleDecrypt(e *Engine, ev *event) error {
	rec := ev.rec
	// Most Decrypts are not of a secret (S3, EBS, other services' data keys): without the
	// key Secrets Manager puts in the encryption context, nothing to decode. CloudTrail
	// writes keys unescaped; an escape anywhere takes the full decoding.
	if !bytes.Contains(rec.RequestParameters, []byte(`"SecretARN"`)) && !bytes.Contains(rec.RequestParameters, []byte(`\`)) {
		return nil
	}
	var p kmsParams
	if !decodeKMSParams(rec.RequestParameters, &p) {
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
		rule: e.rule("RA-08"), severity: e.failedSeverity(ev, sev), dedup: name + "|Decrypt", joins: joins,
		title:     fmt.Sprintf("Decrypt of %s by %s%s", name, ev.principal, attempt(ev)),
		desc:      fmt.Sprintf("%s decrypted the stored value of the watched secret %s: %s.", ev.principal, name, why),
		resources: []Resource{secretResource(name)},
	})
	return nil
}
