package audit

import (
	"context"
	"fmt"
)

// ruleSecretChanged is RA-05: the watched secrets changed outside rotation.
func ruleSecretChanged() *Rule {
	return &Rule{
		ID: "RA-05", Name: "Watched secret changed outside rotation",
		Rationale: "Only the rotator should change the credentials' value and version stages, and only the " +
			"deployment should change their settings. A value written by someone else desynchronises the " +
			"database and the secret or plants a known password; deleting the secret, cancelling its rotation " +
			"or opening its resource policy to other accounts removes the protection rotation gives. The " +
			"deployment is the deployer calling through Terraform (writing a secret's first value, deleting it " +
			"on destroy); the same deployer with the CLI or an SDK is judged like anyone else.",
		calls: on(srcSecrets, secretChanges...),
		eval:  evalSecretChanged,
	}
}

// secretChanges are the calls RA-05 judges.
var secretChanges = []string{"PutSecretValue", "UpdateSecretVersionStage", "UpdateSecret", "DeleteSecret", "PutResourcePolicy",
	"DeleteResourcePolicy", "CancelRotateSecret", "RotateSecret", "RemoveRegionsFromReplication", "StopReplicationToReplica",
	"ReplicateSecretToRegions"}

func evalSecretChanged(_ context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	switch rec.EventName {
	case "PutSecretValue", "UpdateSecretVersionStage", "UpdateSecret", "DeleteSecret", "PutResourcePolicy",
		"DeleteResourcePolicy", "CancelRotateSecret", "RotateSecret", "RemoveRegionsFromReplication", "StopReplicationToReplica",
		"ReplicateSecretToRegions":
	default:
		return nil
	}
	if isService(ev.principal) {
		return nil
	}
	p := ev.secret()
	// The deployer is spared only through Terraform; by any other tool it is anyone.
	rotator, deployer := e.cfg.isRotator(ev.norm), e.routineDeploy(ev)
	for _, id := range secretIDs(rec, p) {
		name, ok := e.cfg.watched(ownAccount(ev.rec), id)
		if !ok {
			continue
		}
		var sev Severity
		why := ""
		switch rec.EventName {
		case "PutSecretValue", "UpdateSecretVersionStage":
			switch {
			case rotator, deployer:
				continue // rotation, or Terraform writing the initial value of a secret it manages
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
			switch {
			case deployer:
				// terraform destroy, with the recovery window the configuration gives
				// (recovery_window_in_days = 0 deletes at once): the deployment removing
				// what it made.
				continue
			case p.ForceDeleteWithoutRecovery:
				sev, why = Critical, "the secret was deleted without recovery"
			default:
				sev, why = High, "the secret was scheduled for deletion"
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
		case "ReplicateSecretToRegions":
			// A replica is a second copy, readable under other regions' policies and keys.
			sev, why = High, "the secret was replicated to other regions"
			if deployer {
				sev = Medium
			}
		default:
			if deployer {
				continue
			}
			sev, why = Medium, "the secret's replication was changed"
		}
		ev.add(hit{
			severity: e.failedSeverity(ev, sev), dedup: name + "|" + rec.EventName,
			title:     fmt.Sprintf("%s on %s by %s%s", rec.EventName, name, ev.principal, attempt(ev)),
			desc:      fmt.Sprintf("%s called %s on the watched secret %s: %s.", ev.principal, rec.EventName, name, why),
			resources: []Resource{secretResource(name)},
		})
	}
	return nil
}
