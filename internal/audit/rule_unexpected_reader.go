package audit

import (
	"context"
	"fmt"
)

// ruleUnexpectedReader is RA-01: watched secrets read by principals not allowed to.
func ruleUnexpectedReader() *Rule {
	return &Rule{
		ID: "RA-01", Name: "Watched secret read by a principal not on its allow-list",
		Rationale: "The database credentials have exactly two legitimate readers: the API's task role and " +
			"the rotator. Anyone else calling GetSecretValue or BatchGetSecretValue on them holds the database " +
			"password afterwards, whatever their IAM policy says. The principal of a role session is the role " +
			"that issued it, because session names are chosen by the caller and prove nothing. A denied attempt " +
			"still shows intent and is reported one step lower. A deployer's read made by Terraform (user agent " +
			"Terraform or HashiCorp) is expected, because the AWS provider refreshes each secret version with " +
			"GetSecretValue on every plan; the same deployer reading from any other tool (the CLI, an SDK, a " +
			"script) is still flagged, since nothing in a deployment needs the password outside Terraform.",
		calls: on(srcSecrets, reads...),
		eval:  evalUnexpectedReader,
	}
}

func evalUnexpectedReader(_ context.Context, e *Engine, ev *event) error {
	if !isRead(ev.rec.EventName) || e.cfg.isReader(ev.norm) || e.cfg.isRotator(ev.norm) || isService(ev.principal) {
		return nil
	}
	if e.routineDeploy(ev) {
		return nil
	}
	p := ev.secret()
	for _, id := range secretIDs(ev.rec, p) {
		name, ok := e.cfg.watched(ownAccount(ev.rec), id)
		if !ok {
			continue
		}
		// Key on what was done: this secret read with this tool. A script's reads are not
		// folded into the same principal's Terraform reads seconds earlier, and the Decrypt
		// that Secrets Manager makes for the read joins this finding (evalDecrypt).
		ev.add(hit{
			severity: e.failedSeverity(ev, High), dedup: name + "|" + uaFamily(ev.rec.UserAgent),
			opens: readKey(ev.norm, name),
			title: fmt.Sprintf("%s read by %s%s", name, ev.principal, attempt(ev)),
			desc: fmt.Sprintf("%s called %s on the watched secret %s from %s (%s); only the readers and rotators in the audit configuration may read it.",
				ev.principal, ev.rec.EventName, name, ev.rec.SourceIPAddress, ev.rec.UserAgent),
			resources: []Resource{secretResource(name)},
		})
	}
	return nil
}
