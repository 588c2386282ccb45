package audit

import (
	"context"
	"fmt"
)

// ruleRoleTrustsOutside is RA-17: a role created to be assumed from another account.
func ruleRoleTrustsOutside() *Rule {
	return &Rule{
		ID: "RA-17", Name: "Role created that another account can assume",
		Rationale: "A role whose trust policy lets another account (or anyone) assume it is a door kept open from " +
			"outside: whatever policies it is given later are exercised from an account the audit does not see. " +
			"Trusted accounts (trusted_accounts) and principals narrowed by an organisation or account condition " +
			"do not count. It is High when the role can reach a watched secret or key (an allowed role recreated, " +
			"or one granted them), Medium otherwise; RA-11 judges trust changes of existing roles.",
		calls: on(srcIAM, "CreateRole"),
		eval:  evalRoleTrustsOutside,
	}
}

func evalRoleTrustsOutside(ctx context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	var p struct {
		RoleName string `json:"roleName"`
		Policy   string `json:"assumeRolePolicyDocument"`
	}
	if !rec.Params(&p) {
		return nil
	}
	pol, ok := parsePolicy(p.Policy)
	if !ok {
		return nil
	}
	who, open := e.cfg.opensOutside(pol, ownAccount(rec))
	if !open {
		return nil
	}
	reach, err := e.roleReaches(ctx, p.RoleName, rec.Time)
	if err != nil {
		return err
	}
	sev, where := Medium, ""
	if reach {
		sev, where = High, ", a role that can reach the watched secrets,"
	}
	ev.add(hit{
		severity: e.failedSeverity(ev, sev), dedup: p.RoleName + "|" + who,
		title:     fmt.Sprintf("role %s created for %s to assume, by %s%s", p.RoleName, who, ev.principal, attempt(ev)),
		desc:      fmt.Sprintf("%s created role %s%s whose trust policy lets %s assume it.%s", ev.principal, p.RoleName, where, who, attempt(ev)),
		resources: []Resource{{UID: p.RoleName, Name: p.RoleName, Type: "AWS::IAM::Role"}},
	})
	return nil
}
