package audit

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Rules of the Secrets Manager family: who reads the watched secrets (RA-01..RA-03),
// denied probing (RA-04), changes (RA-05) and rotation health (RA-06).

// --- RA-01 ---

func ruleUnexpectedReader(_ context.Context, e *Engine, ev *event) error {
	if !isRead(ev.rec.EventName) || e.cfg.isReader(ev.norm) || e.cfg.isRotator(ev.norm) || isService(ev.principal) {
		return nil
	}
	if e.routineDeploy(ev) {
		return nil
	}
	p := ev.secret()
	for _, id := range secretIDs(ev.rec, p) {
		name, ok := e.cfg.watched(id)
		if !ok {
			continue
		}
		// Key on what was done: this secret read with this tool. A script's reads are not
		// folded into the same principal's Terraform reads seconds earlier, and the Decrypt
		// that Secrets Manager makes for the read joins this finding (ruleDecrypt).
		ev.add(hit{
			rule: e.rule("RA-01"), severity: e.failedSeverity(ev, High), dedup: name + "|" + uaFamily(ev.rec.UserAgent),
			opens: readKey(ev.norm, name),
			title: fmt.Sprintf("%s read by %s%s", name, ev.principal, attempt(ev)),
			desc: fmt.Sprintf("%s called %s on the watched secret %s from %s (%s); only the readers and rotators in the audit configuration may read it.",
				ev.principal, ev.rec.EventName, name, ev.rec.SourceIPAddress, ev.rec.UserAgent),
			resources: []Resource{secretResource(name)},
		})
	}
	return nil
}

// routineDeploy reports whether the call is the deployment at work: a deployer calling
// through Terraform. What RA-01 spares on that ground the other Secrets Manager rules
// spare too; the same deployer with any other tool is judged like anyone else.
func (e *Engine) routineDeploy(ev *event) bool {
	return e.cfg.isDeployer(ev.norm) && terraformAgent(ev.rec.UserAgent)
}

// terraformAgent reports whether a call came from Terraform: its AWS provider refreshes
// every secret version with GetSecretValue on each plan, so a deployer's read from it is
// routine. The user agent is the caller's word, which is why only deployers, already
// trusted to change the secrets, are spared on it.
func terraformAgent(ua string) bool {
	return uaFamily(ua) == "terraform" || strings.Contains(strings.ToLower(ua), "hashicorp/")
}

// --- RA-02 ---

// network returns the /24 or /48 an address belongs to, "" for service names and trusted nets.
func (c *Config) network(src string) string {
	a, err := netip.ParseAddr(src)
	if err != nil || c.trustedIP(a) {
		return ""
	}
	bits := 24
	if a.Is6() && !a.Is4In6() {
		bits = 48
	}
	p, err := a.Unmap().Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}

// uaFamily reduces a user agent to the tool that sent it: versions and platforms change
// with every release, the tool does not.
func uaFamily(ua string) string {
	if f, ok := uaFamilies.Load(ua); ok {
		return f.(string)
	}
	f := uaFamilyOf(ua)
	if uaFamiliesN.Add(1) <= maxUAFamilies {
		uaFamilies.Store(ua, f)
	}
	return f
}

// uaFamilies remembers the family of each user agent seen (a busy account has few, and
// every record repeats one): lower-casing and scanning each agent again was a fifth of
// RA-02's time in a replay. Bounded: past maxUAFamilies agents, the rest are computed.
var (
	uaFamilies    sync.Map
	uaFamiliesN   atomic.Int64
	maxUAFamilies = int64(4096)
)

func uaFamilyOf(ua string) string {
	l := strings.ToLower(ua)
	for _, f := range []string{"terraform", "aws-cli", "boto3", "botocore", "aws-sdk-go-v2", "aws-sdk-go", "aws-sdk-java", "aws-sdk-js", "aws-sdk-dotnet", "aws-sdk-rust", "aws-sdk-php", "aws-sdk-ruby", "aws-internal", "console.amazonaws.com", "cloudformation"} {
		if strings.Contains(l, f) {
			return f
		}
	}
	if isService(ua) || ua == "" {
		return ""
	}
	tok, _, _ := strings.Cut(l, " ")
	tok, _, _ = strings.Cut(tok, "/")
	return tok
}

func ruleFirstSeen(ctx context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	if !isRead(rec.EventName) || rec.Failed() || isService(ev.principal) || e.routineDeploy(ev) {
		return nil // the deployment's Terraform refreshes are routine here as for RA-01
	}
	p := ev.secret()
	expires := rec.Time.Add(e.cfg.BaselineTTL.Duration)
	var own *baseline // the principal's networks and tools across secrets, loaded once
	for _, id := range secretIDs(rec, p) {
		name, ok := e.cfg.watched(id)
		if !ok {
			continue
		}
		sb, err := e.loadBaseline(ctx, "baseline|secret|"+name, rec.Time)
		if err != nil {
			return err
		}
		if sb.First == 0 {
			// A new entry: the learning start outlives it (an unused secret's entry
			// expires; its learning does not start again).
			_, since, err := e.store.Remember(ctx, "learn|"+name, rec.Time, rec.Time.Add(100*365*24*time.Hour))
			if err != nil {
				return err
			}
			sb.First, sb.dirty = since.Unix(), true
		}
		since := time.Unix(sb.First, 0).UTC()
		learning := rec.Time.Sub(since) < e.cfg.LearningPeriod.Duration
		for _, dim := range []struct{ kind, value, what string }{
			{"principal", ev.norm, "principal"},
			{"network", e.cfg.network(rec.SourceIPAddress), "source network"},
			{"agent", uaFamily(rec.UserAgent), "user-agent family"},
		} {
			if dim.value == "" {
				continue
			}
			// Refreshed on use: a principal that keeps reading stays known however long
			// the deployment lives; only what has not been seen for baseline_ttl is new again.
			fresh := sb.touch(dim.kind+"|"+dim.value, rec.Time, expires)
			if fresh {
				if fresh, err = e.legacyNew(ctx, "base|"+name+"|"+dim.kind+"|"+dim.value, rec.Time); err != nil {
					return err
				}
			}
			if dim.kind != "principal" {
				// A network or tool the principal already uses for another watched secret
				// is not news (the rotator reaches its secrets through every NAT gateway).
				if own == nil {
					if own, err = e.loadBaseline(ctx, "baseline|principal|"+ev.norm, rec.Time); err != nil {
						return err
					}
				}
				freshForPrincipal := own.touch(dim.kind+"|"+dim.value, rec.Time, expires)
				if fresh && freshForPrincipal {
					if freshForPrincipal, err = e.legacyNew(ctx, "base|@"+ev.norm+"|"+dim.kind+"|"+dim.value, rec.Time); err != nil {
						return err
					}
				}
				fresh = fresh && freshForPrincipal
			}
			if !fresh || learning {
				continue
			}
			sev := Low
			if dim.kind == "principal" {
				sev = Medium
			}
			ev.add(hit{
				rule: e.rule("RA-02"), severity: sev, dedup: name + "|" + dim.kind + "|" + dim.value,
				title: fmt.Sprintf("new %s %s for %s", dim.what, dim.value, name),
				desc: fmt.Sprintf("%s read %s from %s with %q: the %s %s had not read this secret before (baseline learning ended %s).",
					ev.principal, name, rec.SourceIPAddress, rec.UserAgent, dim.what, dim.value, since.Add(e.cfg.LearningPeriod.Duration).Format(time.RFC3339)),
				resources: []Resource{secretResource(name)},
			})
		}
		if err := e.saveBaseline(ctx, sb, rec.Time, expires); err != nil {
			return err
		}
	}
	if own != nil {
		return e.saveBaseline(ctx, own, rec.Time, expires)
	}
	return nil
}

// --- RA-03 ---

func ruleEnumeration(ctx context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	if !isRead(rec.EventName) || isService(ev.principal) || e.routineDeploy(ev) || e.cfg.isReader(ev.norm) || e.cfg.isRotator(ev.norm) {
		// Terraform refreshes every secret version it manages on each plan; the readers and
		// rotators read the watched secrets by design (a rotator rotating many reads each).
		return nil
	}
	p := ev.secret()
	if rec.EventName == "BatchGetSecretValue" && len(p.Filters) > 0 {
		ev.add(hit{
			rule: e.rule("RA-03"), severity: e.failedSeverity(ev, High), dedup: "filters",
			title: fmt.Sprintf("BatchGetSecretValue with filters by %s%s", ev.principal, attempt(ev)),
			desc: fmt.Sprintf("%s read every secret matching a filter (%d filters) in one call: this harvests secrets rather than reading a known one.",
				ev.principal, len(p.Filters)),
		})
	}
	w := e.cfg.Enumeration
	for _, id := range secretIDs(rec, p) {
		// Only the watched secrets count: reads of others are not this audit's concern,
		// and counting them made every busy application look like a harvester.
		name, ok := e.cfg.watched(id)
		if !ok {
			continue
		}
		n, err := e.store.Count(ctx, "enum|"+ev.norm, name, rec.Time, rec.Time.Add(-w.Window.Duration), rec.Time.Add(w.Window.Duration))
		if err != nil {
			return err
		}
		if n >= w.Count {
			ev.add(hit{
				rule: e.rule("RA-03"), severity: High, dedup: "distinct",
				title: fmt.Sprintf("%s read %d distinct secrets within %s", ev.principal, n, w.Window.Duration),
				desc: fmt.Sprintf("%s has read %d different watched secrets in the last %s (threshold %d), the latest %s.",
					ev.principal, n, w.Window.Duration, w.Count, name),
			})
			break
		}
	}
	return nil
}

// --- RA-04 ---

func ruleDeniedBurst(ctx context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	if !rec.AccessDenied() {
		return nil
	}
	w := e.cfg.AccessDenied
	member := rec.EventID
	if member == "" {
		member = rec.EventTime + rec.EventName
	}
	n, err := e.store.Count(ctx, "denied|"+ev.norm, member, rec.Time, rec.Time.Add(-w.Window.Duration), rec.Time.Add(w.Window.Duration))
	if err != nil {
		return err
	}
	if n >= w.Count {
		ev.add(hit{
			rule: e.rule("RA-04"), severity: Medium, dedup: "burst",
			title: fmt.Sprintf("%d denied Secrets Manager/KMS calls by %s", n, ev.principal),
			desc: fmt.Sprintf("%s was denied %d times within %s (threshold %d), the latest %s %s.",
				ev.principal, n, w.Window.Duration, w.Count, rec.EventSource, rec.EventName),
		})
	}
	return nil
}

// --- RA-05 ---

func ruleSecretChanged(_ context.Context, e *Engine, ev *event) error {
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
		name, ok := e.cfg.watched(id)
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
			rule: e.rule("RA-05"), severity: e.failedSeverity(ev, sev), dedup: name + "|" + rec.EventName,
			title:     fmt.Sprintf("%s on %s by %s%s", rec.EventName, name, ev.principal, attempt(ev)),
			desc:      fmt.Sprintf("%s called %s on the watched secret %s: %s.", ev.principal, rec.EventName, name, why),
			resources: []Resource{secretResource(name)},
		})
	}
	return nil
}

// --- RA-06 ---

func ruleRotationHealth(ctx context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	var add struct {
		SecretID string `json:"SecretId"`
	}
	rec.Additional(&add)
	id := add.SecretID
	if id == "" {
		if ids := secretIDs(rec, ev.secret()); len(ids) > 0 {
			id = ids[0]
		}
	}
	name, watched := e.cfg.watched(id)
	if watched && e.cfg.DBLogins.enabled() {
		if err := e.noteRotation(ctx, rec); err != nil {
			return err
		}
	}
	if rec.EventName != "RotationFailed" && rec.EventName != "RotationAbandoned" {
		return nil
	}
	sev := High
	if !watched {
		sev = Low
	}
	if name == "" {
		name = "(secret not named in the event)"
	}
	ev.add(hit{
		rule: e.rule("RA-06"), severity: sev, dedup: name + "|" + rec.EventName,
		title: fmt.Sprintf("%s for %s", rec.EventName, name),
		desc: fmt.Sprintf("Secrets Manager reported %s for %s: %s. The previous password stays current; check the rotator's logs and remove a stale AWSPENDING before the next attempt.",
			rec.EventName, name, firstNonEmpty(rec.ErrorMessage, "no message")),
		resources: []Resource{secretResource(name)},
	})
	return nil
}

// readKey names the open RA-01 finding of a principal's read of a secret, for the Decrypt
// Secrets Manager makes on its behalf.
func readKey(principal, secret string) string { return "read|" + principal + "|" + secret }

// RA-13

// secretUses are the calls on a watched secret that the allowed principals make.
var secretUses = []string{"GetSecretValue", "BatchGetSecretValue", "PutSecretValue", "UpdateSecretVersionStage", "DescribeSecret"}

// ruleOutsideNetworks needs no learning: the readers and rotators run inside the VPC, so
// their calls come from its addresses (trusted_networks) and, when the VPC has Secrets
// Manager endpoints, through one of them. A call of theirs from anywhere else is their
// credentials used outside the deployment, from the first event on.
func ruleOutsideNetworks(_ context.Context, e *Engine, ev *event) error {
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
		name, ok := cfg.watched(id)
		if !ok {
			continue
		}
		ev.add(hit{
			rule: e.rule("RA-13"), severity: e.failedSeverity(ev, High), dedup: name + "|" + cfg.network(rec.SourceIPAddress) + "|" + rec.VPCEndpointID,
			title:     fmt.Sprintf("%s used %s from outside its networks%s", ev.principal, name, attempt(ev)),
			desc:      fmt.Sprintf("%s, allowed to use %s only from inside the deployment, called %s %s: its credentials are in use elsewhere.", ev.principal, name, rec.EventName, strings.Join(why, " and ")),
			resources: []Resource{secretResource(name)},
		})
	}
	return nil
}
