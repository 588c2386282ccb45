package audit

import (
	"context"
	"fmt"
	"strings"
)

const srcRolesAnywhere = "rolesanywhere.amazonaws.com"

// ruleRolesAnywhere is RA-16: IAM Roles Anywhere trust anchors and profiles.
func ruleRolesAnywhere() *Rule {
	return &Rule{
		ID: "RA-16", Name: "IAM Roles Anywhere trust anchor or profile created or changed",
		Rationale: "A Roles Anywhere trust anchor makes a certificate authority a source of AWS credentials, and a " +
			"profile names the roles its certificates may become: whoever holds that authority's key gets role " +
			"credentials without any access key or sign-in. This deployment uses neither. A profile that can " +
			"become a role reaching a watched secret or key is High; a trust anchor, or a profile of other roles, " +
			"is Medium; the deployment doing it through Terraform is reported only for roles that reach the secrets.",
		calls: on(srcRolesAnywhere, "CreateTrustAnchor", "UpdateTrustAnchor", "EnableTrustAnchor", "CreateProfile", "UpdateProfile"),
		eval:  evalRolesAnywhere,
	}
}

func evalRolesAnywhere(ctx context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	var p struct {
		Name     string   `json:"name"`
		RoleArns []string `json:"roleArns"`
		ID       string   `json:"trustAnchorId"`
		Profile  string   `json:"profileId"`
	}
	rec.Params(&p)
	var reaching []string
	for _, r := range p.RoleArns {
		ok, err := e.roleReaches(ctx, r, rec.Time)
		if err != nil {
			return err
		}
		if ok {
			reaching = append(reaching, r)
		}
	}
	sev, why := Medium, "a certificate authority can now issue AWS credentials"
	if strings.HasSuffix(rec.EventName, "Profile") {
		why = "certificates of the trust anchors can now become " + firstNonEmpty(strings.Join(p.RoleArns, ", "), "the profile's roles")
	}
	if len(reaching) > 0 {
		sev, why = High, "certificates of the trust anchors can now become "+strings.Join(reaching, ", ")+", which can reach the watched secrets"
	}
	if e.routineDeploy(ev) {
		if len(reaching) == 0 {
			return nil
		}
		sev = Medium
	}
	name := firstNonEmpty(p.Name, p.ID, p.Profile, "(unnamed)")
	ev.add(hit{
		severity: e.failedSeverity(ev, sev), dedup: name + "|" + rec.EventName,
		title:     fmt.Sprintf("%s %s by %s%s", rec.EventName, name, ev.principal, attempt(ev)),
		desc:      fmt.Sprintf("%s called %s (%s): %s.%s", ev.principal, rec.EventName, name, why, attempt(ev)),
		resources: []Resource{{UID: name, Name: p.Name, Type: "AWS::RolesAnywhere"}},
	})
	return nil
}
