package awscheck

import (
	"fmt"
	"net/netip"
	"strings"
)

// Network is the part of an applied VPC that decides whether a caller in some subnets,
// with some security groups, reaches an AWS API or PostgreSQL.
type Network struct {
	subnetCIDR  map[string]string // subnet id -> CIDR
	subnetVPC   map[string]string
	subnetRT    map[string]string   // subnet id -> route table id
	mainRT      map[string]string   // vpc id -> main route table id
	defaultGW   map[string][]string // route table id -> targets of 0.0.0.0/0 ("nat-..." or "igw-...")
	endpoints   []endpoint
	sgRules     []sgRule
	natGateways map[string]bool
}

type endpoint struct {
	ID, Service, Type, VPC string
	Subnets, RouteTables   []string
	SGs                    []string
	PrivateDNS             bool
	Policy                 map[string]any
}

type sgRule struct {
	SG, Dir       string // ingress or egress
	Proto         string // "tcp" or "-1"
	From, To      int
	CIDR, PeerSG  string
	PrefixListID  string
	SelfReference bool
}

func newNetwork(byType map[string][]Resource) Network {
	n := Network{
		subnetCIDR: map[string]string{}, subnetVPC: map[string]string{}, subnetRT: map[string]string{},
		mainRT: map[string]string{}, defaultGW: map[string][]string{}, natGateways: map[string]bool{},
	}
	for _, r := range byType["aws_vpc"] {
		n.mainRT[r.str("id")] = r.str("main_route_table_id")
	}
	for _, r := range byType["aws_subnet"] {
		n.subnetCIDR[r.str("id")] = r.str("cidr_block")
		n.subnetVPC[r.str("id")] = r.str("vpc_id")
	}
	for _, r := range byType["aws_route_table_association"] {
		n.subnetRT[r.str("subnet_id")] = r.str("route_table_id")
	}
	addRoute := func(rt, dst, nat, gw string) {
		if dst != "0.0.0.0/0" {
			return
		}
		for _, t := range []string{nat, gw} {
			if t != "" {
				n.defaultGW[rt] = append(n.defaultGW[rt], t)
			}
		}
	}
	for _, r := range byType["aws_route"] {
		addRoute(r.str("route_table_id"), r.str("destination_cidr_block"), r.str("nat_gateway_id"), r.str("gateway_id"))
	}
	for _, r := range byType["aws_route_table"] {
		for _, b := range r.blocks("route") {
			dst, _ := b["cidr_block"].(string)
			nat, _ := b["nat_gateway_id"].(string)
			gw, _ := b["gateway_id"].(string)
			addRoute(r.str("id"), dst, nat, gw)
		}
	}
	for _, r := range byType["aws_nat_gateway"] {
		n.natGateways[r.str("id")] = true
	}
	for _, r := range byType["aws_vpc_endpoint"] {
		p, _ := parsePolicy(r.str("policy"))
		svc := r.str("service_name")
		// com.amazonaws.<region>.<service>
		if parts := strings.SplitN(svc, ".", 4); len(parts) == 4 {
			svc = parts[3]
		}
		dns, _ := r.Values["private_dns_enabled"].(bool)
		n.endpoints = append(n.endpoints, endpoint{
			ID: r.str("id"), Service: svc, Type: r.str("vpc_endpoint_type"), VPC: r.str("vpc_id"),
			Subnets: r.strs("subnet_ids"), RouteTables: r.strs("route_table_ids"), SGs: r.strs("security_group_ids"),
			PrivateDNS: dns, Policy: p,
		})
	}
	num := func(v any) int {
		f, _ := v.(float64)
		return int(f)
	}
	for _, dir := range []string{"ingress", "egress"} {
		for _, r := range byType["aws_vpc_security_group_"+dir+"_rule"] {
			n.sgRules = append(n.sgRules, sgRule{
				SG: r.str("security_group_id"), Dir: dir, Proto: r.str("ip_protocol"),
				From: num(r.Values["from_port"]), To: num(r.Values["to_port"]),
				CIDR: r.str("cidr_ipv4"), PeerSG: r.str("referenced_security_group_id"), PrefixListID: r.str("prefix_list_id"),
			})
		}
		for _, r := range byType["aws_security_group"] {
			for _, b := range r.blocks(dir) {
				base := sgRule{SG: r.str("id"), Dir: dir, Proto: fmt.Sprint(b["protocol"]), From: num(b["from_port"]), To: num(b["to_port"])}
				for _, c := range toStrings(b["cidr_blocks"]) {
					x := base
					x.CIDR = c
					n.sgRules = append(n.sgRules, x)
				}
				for _, s := range toStrings(b["security_groups"]) {
					x := base
					x.PeerSG = s
					n.sgRules = append(n.sgRules, x)
				}
				for _, s := range toStrings(b["prefix_list_ids"]) {
					x := base
					x.PrefixListID = s
					n.sgRules = append(n.sgRules, x)
				}
				if self, _ := b["self"].(bool); self {
					x := base
					x.PeerSG = r.str("id")
					n.sgRules = append(n.sgRules, x)
				}
			}
		}
	}
	return n
}

func (r sgRule) port(p int) bool {
	return r.Proto == "-1" || r.Proto == "all" || ((r.Proto == "tcp" || r.Proto == "6") && r.From <= p && p <= r.To)
}

func cidrCovers(cidr, inner string) bool {
	a, err1 := netip.ParsePrefix(cidr)
	b, err2 := netip.ParsePrefix(inner)
	return err1 == nil && err2 == nil && a.Bits() <= b.Bits() && a.Contains(b.Addr())
}

// allows reports whether traffic on port from (sgs, in subnets) to (peer sgs, in peer
// subnets) passes the source's egress rules and the target's ingress rules.
func (n Network) allows(port int, srcSGs, srcSubnets, dstSGs, dstSubnets []string) bool {
	return n.passes("egress", port, srcSGs, dstSGs, dstSubnets) && n.passes("ingress", port, dstSGs, srcSGs, srcSubnets)
}

// passes: one side's rules (dir) let the other side (peer SGs in peer subnets) through.
func (n Network) passes(dir string, port int, own, peerSGs, peerSubnets []string) bool {
	for _, r := range n.sgRules {
		if r.Dir != dir || !contains(own, r.SG) || !r.port(port) {
			continue
		}
		if r.PeerSG != "" && contains(peerSGs, r.PeerSG) {
			return true
		}
		if r.CIDR != "" && len(peerSubnets) > 0 {
			all := true
			for _, s := range peerSubnets {
				all = all && cidrCovers(r.CIDR, n.subnetCIDR[s])
			}
			if all {
				return true
			}
		}
	}
	return false
}

// passesInternet: egress on port to any public address (the API's public addresses).
func (n Network) passesInternet(port int, own []string) bool {
	for _, r := range n.sgRules {
		if r.Dir == "egress" && contains(own, r.SG) && r.port(port) && r.CIDR == "0.0.0.0/0" {
			return true
		}
	}
	return false
}

func (n Network) routeTable(subnet string) string {
	if rt, ok := n.subnetRT[subnet]; ok {
		return rt
	}
	return n.mainRT[n.subnetVPC[subnet]]
}

// Reach says how a caller in subnets with sgs reaches service's API over HTTPS: through an
// interface endpoint in its VPC with private DNS, a gateway endpoint on its route tables,
// a NAT gateway, or an internet gateway with a public address. Every subnet must have a
// way (a task or function lands in any of them). The endpoint's policy, when it has one,
// is returned for evaluation.
// https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html
func (n Network) Reach(service string, subnets, sgs []string, publicIP bool) (how string, policy map[string]any, err error) {
	if len(subnets) == 0 {
		return "outside any VPC", nil, nil
	}
	vpc := n.subnetVPC[subnets[0]]
	for _, ep := range n.endpoints {
		if ep.Service != service || ep.VPC != vpc {
			continue
		}
		switch ep.Type {
		case "Interface":
			if !ep.PrivateDNS {
				continue
			}
			if n.allows(443, sgs, subnets, ep.SGs, ep.Subnets) {
				return "interface endpoint " + ep.ID, ep.Policy, nil
			}
		case "Gateway":
			all := true
			for _, s := range subnets {
				all = all && contains(ep.RouteTables, n.routeTable(s))
			}
			if all && n.passesPrefixOrInternet(443, sgs) {
				return "gateway endpoint " + ep.ID, ep.Policy, nil
			}
		}
	}
	var missing []string
	via := ""
	for _, s := range subnets {
		ok := false
		for _, gw := range n.defaultGW[n.routeTable(s)] {
			if strings.HasPrefix(gw, "nat-") || n.natGateways[gw] {
				ok, via = true, "NAT gateway"
			}
			if strings.HasPrefix(gw, "igw-") && publicIP {
				ok, via = true, "internet gateway (public address)"
			}
		}
		if !ok {
			missing = append(missing, s)
		}
	}
	if len(missing) == 0 && n.passesInternet(443, sgs) {
		return via, nil, nil
	}
	return "", nil, fmt.Errorf("no network path to %s from subnets %s: no %s endpoint in the VPC that its security groups reach on 443, no NAT gateway%s",
		service, strings.Join(subnets, ","), service, map[bool]string{true: "", false: ", no public address"}[publicIP])
}

func (n Network) passesPrefixOrInternet(port int, own []string) bool {
	for _, r := range n.sgRules {
		if r.Dir == "egress" && contains(own, r.SG) && r.port(port) && (r.PrefixListID != "" || r.CIDR == "0.0.0.0/0") {
			return true
		}
	}
	return false
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
