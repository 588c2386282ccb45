package audit

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// ruleOutsideNetworks is RA-13: the allowed principals' calls from outside their networks.
func ruleOutsideNetworks() *Rule {
	return &Rule{
		ID: "RA-13", Name: "Allowed reader or rotator calling from outside its networks",
		Rationale: "The API's tasks and the rotator run inside the VPC and reach Secrets Manager from its " +
			"addresses or through its interface endpoints. Their credentials used from anywhere else were " +
			"taken out of the deployment. Unlike RA-02 this needs no learning period, so an attacker's first " +
			"reads are reported rather than learnt as normal; it is active when trusted_networks or " +
			"vpc_endpoints is configured.",
		calls: on(srcSecrets, secretUses...),
		eval:  evalOutsideNetworks,
	}
}

// secretUses are the calls on a watched secret that the allowed principals make.
var secretUses = []string{"GetSecretValue", "BatchGetSecretValue", "PutSecretValue", "UpdateSecretVersionStage", "DescribeSecret"}

// evalOutsideNetworks needs no learning: the readers and rotators run inside the VPC, so
// their calls come from its addresses (trusted_networks) and, when the VPC has Secrets
// Manager endpoints, through one of them. A call of theirs from anywhere else is their
// credentials used outside the deployment, from the first event on.
func evalOutsideNetworks(_ context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	cfg := e.cfg
	if len(cfg.networks) == 0 && len(cfg.VPCEndpoints) == 0 {
		return nil
	}
	if !cfg.isReader(ev.norm) && !cfg.isRotator(ev.norm) || rec.UserIdentity.InvokedBy != "" || isService(rec.SourceIPAddress) {
		return nil
	}
	var why []string
	if len(cfg.networks) > 0 {
		a, err := netip.ParseAddr(rec.SourceIPAddress)
		if err != nil || !cfg.trustedIP(a.Unmap()) {
			why = append(why, "from "+firstNonEmpty(rec.SourceIPAddress, "an unknown address")+", outside trusted_networks")
		}
	}
	if len(cfg.VPCEndpoints) > 0 && !slices.Contains(cfg.VPCEndpoints, rec.VPCEndpointID) {
		why = append(why, "not through the configured VPC endpoints ("+firstNonEmpty(rec.VPCEndpointID, "no endpoint")+")")
	}
	if len(why) == 0 {
		return nil
	}
	for _, id := range secretIDs(rec, ev.secret()) {
		name, ok := cfg.watched(ownAccount(ev.rec), id)
		if !ok {
			continue
		}
		ev.add(hit{
			severity: e.failedSeverity(ev, High), dedup: name + "|" + cfg.network(rec.SourceIPAddress) + "|" + rec.VPCEndpointID,
			title:     fmt.Sprintf("%s used %s from outside its networks%s", ev.principal, name, attempt(ev)),
			desc:      fmt.Sprintf("%s, allowed to use %s only from inside the deployment, called %s %s: its credentials are in use elsewhere.", ev.principal, name, rec.EventName, strings.Join(why, " and ")),
			resources: []Resource{secretResource(name)},
		})
	}
	return nil
}
