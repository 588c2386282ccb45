package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

const srcEC2 = "ec2.amazonaws.com"

// postgresPort is the database's port, the one a world-open ingress must not reach.
const postgresPort = 5432

// ruleDatabaseOpenToWorld is RA-20: the database's port opened to the internet.
func ruleDatabaseOpenToWorld() *Rule {
	return &Rule{
		ID: "RA-20", Name: "Security group ingress opening PostgreSQL to the world",
		Rationale: "The database's login is reachable only from the VPC's subnets; an ingress rule from 0.0.0.0/0 " +
			"or ::/0 that covers PostgreSQL's port (or every port) lets anyone holding a copy of the password, or " +
			"guessing it, log in from anywhere, and DB-02 then sees logins it cannot stop. It is High; the " +
			"deployment doing it through Terraform is Medium (a mistake rather than an intrusion, still to be " +
			"undone). Rules for other ports are not this audit's concern.",
		calls: on(srcEC2, "AuthorizeSecurityGroupIngress"),
		eval:  evalDatabaseOpenToWorld,
	}
}

// ingressParams is AuthorizeSecurityGroupIngress as CloudTrail records it: the rules in
// ipPermissions.items, or one rule in the top-level fields of the older form.
type ingressParams struct {
	GroupID       string `json:"groupId"`
	GroupName     string `json:"groupName"`
	IPPermissions struct {
		Items []ingressPermission `json:"items"`
	} `json:"ipPermissions"`
	ingressPermission
	CidrIP string `json:"cidrIp"`
}

type ingressPermission struct {
	IPProtocol string          `json:"ipProtocol"`
	FromPort   *int            `json:"fromPort"`
	ToPort     *int            `json:"toPort"`
	IPRanges   json.RawMessage `json:"ipRanges"`
	IPv6Ranges json.RawMessage `json:"ipv6Ranges"`
}

// world reports whether the permission admits every address on the database's port.
func (p *ingressPermission) world() bool {
	var v4, v6 struct {
		Items []struct {
			CidrIP   string `json:"cidrIp"`
			CidrIPv6 string `json:"cidrIpv6"`
		} `json:"items"`
	}
	json.Unmarshal(p.IPRanges, &v4)
	json.Unmarshal(p.IPv6Ranges, &v6)
	open := false
	for _, r := range append(v4.Items, v6.Items...) {
		open = open || r.CidrIP == "0.0.0.0/0" || r.CidrIPv6 == "::/0"
	}
	return open && p.covers(postgresPort)
}

func (p *ingressPermission) covers(port int) bool {
	switch strings.ToLower(p.IPProtocol) {
	case "-1", "all":
		return true
	case "tcp", "6":
	default:
		return false
	}
	if p.FromPort == nil || p.ToPort == nil {
		return true
	}
	return *p.FromPort <= port && port <= *p.ToPort || *p.FromPort == -1
}

func evalDatabaseOpenToWorld(_ context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	var p ingressParams
	if !rec.Params(&p) {
		return nil
	}
	group := firstNonEmpty(p.GroupID, p.GroupName)
	open := p.CidrIP == "0.0.0.0/0" && p.covers(postgresPort)
	for i := range p.IPPermissions.Items {
		open = open || p.IPPermissions.Items[i].world()
	}
	if !open {
		return nil
	}
	sev := High
	if e.routineDeploy(ev) {
		sev = Medium
	}
	ev.add(hit{
		severity: e.failedSeverity(ev, sev), dedup: group,
		title:     fmt.Sprintf("security group %s opened PostgreSQL to the world, by %s%s", group, ev.principal, attempt(ev)),
		desc:      fmt.Sprintf("%s called %s on %s: port %d is open to every address, so the database's login is reachable from the internet.%s", ev.principal, rec.EventName, group, postgresPort, attempt(ev)),
		resources: []Resource{{UID: group, Type: "AWS::EC2::SecurityGroup"}},
	})
	return nil
}
