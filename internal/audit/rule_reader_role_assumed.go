package audit

import (
	"context"
	"fmt"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
)

// ruleReaderRoleAssumed is RA-18: a person or program taking on the readers' roles.
func ruleReaderRoleAssumed() *Rule {
	return &Rule{
		ID: "RA-18", Name: "API task role or another reader role assumed by an IAM user or role",
		Rationale: "The API's task role is assumed by ECS for its tasks and the rotator's role by Lambda, never " +
			"by a person: an IAM user or another role assuming one of them gets the session that RA-01 lets read " +
			"the secret, so its reads look legitimate from then on. It is High for the readers and rotators of the " +
			"configuration, Medium for a role the audit saw granted a watched secret or key; a refused attempt is " +
			"one step lower. Live, EventBridge brings the AssumeRole calls of IAM users, and those of role " +
			"sessions that RA-21 follows through role chains, never services'; trail files and replay bring " +
			"every one.",
		calls: on(srcSTS, "AssumeRole"),
		// Services and role sessions assume roles all day (every task's credentials, every
		// chained job): this rule alone would ask only for IAM users' AssumeRole live; RA-21
		// asks for role sessions' too (the patterns take the union), and S3 backfill and
		// replay see the rest.
		narrow: map[string]map[string]any{srcSTS + " AssumeRole": {
			"userIdentity": map[string]any{"type": []string{"IAMUser"}},
		}},
		eval: evalReaderRoleAssumed,
	}
}

func evalReaderRoleAssumed(ctx context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	u := rec.UserIdentity
	if u.Type == "AWSService" || u.InvokedBy != "" || isService(ev.principal) || u.Type == "" {
		return nil // ECS and Lambda assuming the roles they run with
	}
	var p assumeRoleParams
	if !decodeAssumeRoleParams(rec.RequestParameters, &p) || p.RoleArn == "" {
		return nil
	}
	role := cloudtrail.NormalizePrincipal(p.RoleArn)
	sev := Severity(0)
	switch {
	case e.cfg.isReader(role) || e.cfg.isRotator(role):
		sev = High
	default:
		granted, err := e.roleReaches(ctx, role, rec.Time)
		if err != nil || !granted || e.cfg.isDeployer(role) {
			return err // the deployer's role is assumed by the deployment every run
		}
		sev = Medium
	}
	ev.add(hit{
		severity: e.failedSeverity(ev, sev), dedup: role,
		title:     fmt.Sprintf("%s assumed %s%s", ev.principal, role, attempt(ev)),
		desc:      fmt.Sprintf("%s (%s) called AssumeRole on %s, session %q, from %s with %q: that role reads the watched secrets.%s", ev.principal, u.Type, role, p.SessionName, rec.SourceIPAddress, rec.UserAgent, attempt(ev)),
		resources: []Resource{{UID: role, Type: "AWS::IAM::Role"}},
	})
	return nil
}
