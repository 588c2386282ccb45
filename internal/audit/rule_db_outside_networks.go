package audit

import (
	"context"
	"fmt"
	"slices"

	"github.com/rotaudit/rotaudit/internal/audit/pglog"
)

// ruleDBOutsideNetworks is DB-02: a database login from outside the client subnets.
func ruleDBOutsideNetworks() *Rule {
	return &Rule{
		ID: "DB-02", Name: "Successful login from outside the API's and rotator's subnets",
		Rationale: "Only the API's tasks and the rotator log in to the database, from their subnets. A login " +
			"that succeeds from anywhere else is the credentials in use outside the deployment, whatever " +
			"CloudTrail shows of how they were obtained.",
		dbEval: evalDBOutsideNetworks,
	}
}

func evalDBOutsideNetworks(_ context.Context, e *Engine, ev *event, l *pglog.Login) error {
	d := &e.cfg.DBLogins
	if l.Kind != pglog.Authorized || len(d.networks) == 0 || d.fromClient(l.Host) || slices.Contains(d.IgnoreUsers, l.User) {
		return nil
	}
	ev.add(hit{
		severity: High, dedup: l.User + "|" + l.Host,
		title:     fmt.Sprintf("%s logged in from %s, outside the client subnets", l.User, l.Host),
		desc:      fmt.Sprintf("%s logged in to database %s from %s, which is not in db_logins.client_networks: the credential is in use outside the deployment.", l.User, l.Database, l.Host),
		resources: dbResource(l),
	})
	return nil
}
