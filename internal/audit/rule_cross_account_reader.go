package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
)

// ruleCrossAccountReader is RA-21: one identity reading watched secrets in two accounts.
func ruleCrossAccountReader() *Rule {
	return &Rule{
		ID: "RA-21", Name: "One principal reading watched secrets in two accounts",
		Rationale: "Each account's readers read that account's secrets; an identity that reads database " +
			"credentials in two accounts within an hour is moving through the organization, and no one " +
			"account's trail shows it. The same identity is the source identity when a session carries one " +
			"(it follows every role chained from the first, into other accounts, and cannot be changed), the " +
			"user of an IAM Identity Center session (its session name, which AWS sets, not the caller), " +
			"otherwise the identity at the start of the role chain that issued the session's access key, and " +
			"otherwise the principal itself, a user or role calling into another account's secret through its " +
			"resource policy. The chains come from the successful AssumeRole calls of users and role sessions: " +
			"the temporary access key each one issued is remembered for twelve hours, the longest a role " +
			"session lasts, as the caller's own identity, itself followed back when the caller's key came from " +
			"an earlier AssumeRole, so that A assuming a role in B that assumes one in C reads as A throughout. " +
			"Services assuming roles (every Lambda's and task's credentials) start no chain. CloudTrail does not " +
			"deliver in order: a read handled before the AssumeRole that issued its key counts as its session's " +
			"own principal. A secret's account is its ARN's, or the account the call was made in. Only " +
			"successful reads of watched secrets count, and the deployer's Terraform refreshes are routine as " +
			"for RA-01.",
		calls: merge(on(srcSecrets, reads...), on(srcSTS, "AssumeRole")),
		// Live, every AssumeRole of a user or a role session must reach the Lambda (RA-18
		// alone asks for users' only): the later hops of a chain are role sessions assuming
		// roles. Services' assumptions are most of STS's volume and never a chain's hop.
		narrow: map[string]map[string]any{srcSTS + " AssumeRole": {
			"userIdentity": map[string]any{"type": chainCallers()},
		}},
		eval: evalCrossAccountReader,
	}
}

// chainCallers are the identity types whose AssumeRole starts or extends a role chain: the
// only ones besides AWS services that can call it (root and federation-token sessions
// cannot). The copy of a cross-account AssumeRole logged in the role's account names its
// caller as an "AWSAccount", without the caller's ARN or key: the caller's account logs
// the call in full, and that copy makes the link.
func chainCallers() []string { return []string{"AssumedRole", "IAMUser"} }

// roleSessionLife is how long a link from an issued access key to its chain is kept: the
// longest a role session can last (a role's maximum session duration is 12 hours; a
// chained session's, one). Past it the key is expired and no read can be made with it.
const roleSessionLife = 12 * time.Hour

// AssumeRoleWithSAML and AssumeRoleWithWebIdentity are not followed: their responses carry
// the issued key too, but their caller is no AWS session (no ARN, no access key of its
// own), the session they open is the first of any chain, and the AssumeRole made from that
// session already links the rest of the chain to its role.

// ssoRolePrefix starts the name of every role IAM Identity Center makes for a permission
// set; its sessions are named after the signed-in user.
const ssoRolePrefix = "AWSReservedSSO_"

// readerIdentity is who reads, across accounts, and how that was decided.
func readerIdentity(rec *cloudtrail.Record, norm string) (id, how string) {
	u := &rec.UserIdentity
	if s := u.SessionContext.SourceIdentity; s != "" {
		return "source|" + s, "source identity " + s
	}
	if role, ok := strings.CutPrefix(u.SessionContext.SessionIssuer.UserName, ssoRolePrefix); ok && role != "" {
		if i := strings.LastIndexByte(u.ARN, '/'); i >= 0 && strings.Contains(u.ARN, ":assumed-role/") && i+1 < len(u.ARN) {
			user := u.ARN[i+1:]
			return "sso|" + user, "Identity Center user " + user
		}
	}
	return "principal|" + norm, norm
}

// temporaryKey reports whether id has the shape of an access key STS issued (ASIA..., 16
// to 128 word characters): an IAM user's own key (AKIA...) is never the end of a chain,
// so its reads cost no look-up.
func temporaryKey(id string) bool {
	if len(id) < 16 || len(id) > 128 || !strings.HasPrefix(id, "ASIA") {
		return false
	}
	for _, c := range id {
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// chainedReader is readerIdentity followed through the role chains the engine remembers:
// a session that carries no source identity and is not Identity Center's reads as the
// origin of the chain that issued its access key, when an AssumeRole issuing it was seen.
// chain is that chain, nil for a session read as itself.
func (e *Engine) chainedReader(ctx context.Context, rec *cloudtrail.Record, norm string) (who, how string, chain *roleChain, err error) {
	who, how = readerIdentity(rec, norm)
	key := rec.UserIdentity.AccessKeyID
	if !strings.HasPrefix(who, "principal|") || !temporaryKey(key) {
		return who, how, nil, nil // a source identity and Identity Center already name the person
	}
	raw, found, err := e.store.Get(ctx, roleChainKey(key), rec.Time)
	if err != nil || !found {
		return who, how, nil, err
	}
	c, ok := parseRoleChain(raw)
	if !ok {
		return who, how, nil, nil
	}
	return c.Origin, c.How, &c, nil
}

// via says how a read was linked to its chain's origin.
func (c *roleChain) via() string {
	if c == nil {
		return ""
	}
	return "through role chain " + strings.Join(c.Roles, " > ")
}

// followAssumeRole remembers the access key a successful AssumeRole issued as the caller's
// identity, followed back through the caller's own chain. A record without the role or the
// issued key (redacted, truncated, an emulator's) is left alone: a link is a refinement,
// and no record is worth blocking the batch.
func (e *Engine) followAssumeRole(ctx context.Context, ev *event) error {
	rec := ev.rec
	u := &rec.UserIdentity
	if rec.Failed() || !slices.Contains(chainCallers(), u.Type) || u.InvokedBy != "" || isService(ev.principal) {
		return nil
	}
	var p assumeRoleParams
	var resp struct {
		Credentials struct {
			AccessKeyID string `json:"accessKeyId"`
		} `json:"credentials"`
	}
	if !decodeAssumeRoleParams(rec.RequestParameters, &p) || !rec.Response(&resp) {
		return nil
	}
	role := cloudtrail.NormalizePrincipal(p.RoleArn)
	issued := resp.Credentials.AccessKeyID
	if cloudtrail.ARNAccount(role) == "" || !strings.Contains(role, ":role/") || !temporaryKey(issued) {
		return nil
	}
	who, how, chain, err := e.chainedReader(ctx, rec, ev.norm)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(who, "principal|") && !strings.HasPrefix(who, "sso|") {
		return nil // a source identity: every session chained from it carries it already
	}
	c := roleChain{Origin: who, How: how}
	if chain != nil {
		c = *chain
	}
	_, _, err = e.store.Swap(ctx, roleChainKey(issued), roleChainValue(c.then(role)), rec.Time, rec.Time.Add(roleSessionLife))
	return err
}

// accountReads is what RA-21 keeps per identity: each account it read a watched secret in,
// when last, and which secret.
type accountReads map[string]accountRead

type accountRead struct {
	T      int64  `json:"t"`
	Secret string `json:"secret"`
	// Via is how the read was linked to the identity, when through a role chain.
	Via string `json:"via,omitempty"`
}

func evalCrossAccountReader(ctx context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	if rec.EventSource == srcSTS {
		return e.followAssumeRole(ctx, ev)
	}
	if !isRead(rec.EventName) || rec.Failed() || isService(ev.principal) || e.routineDeploy(ev) {
		return nil
	}
	here := ownAccount(rec)
	seen := map[string]string{} // account -> a watched secret read there by this call
	for _, id := range secretIDs(rec, ev.secret()) {
		if _, ok := e.cfg.watched(here, id); !ok {
			continue
		}
		acct := firstNonEmpty(cloudtrail.ARNAccount(id), here)
		if acct != "" && seen[acct] == "" {
			seen[acct] = secretName(id)
		}
	}
	if len(seen) == 0 {
		return nil
	}
	who, how, chain, err := e.chainedReader(ctx, rec, ev.norm)
	if err != nil {
		return err
	}
	key := "xacct|" + who
	window := e.cfg.CrossAccountWindow.Duration
	now := rec.Time
	raw, found, err := e.store.Get(ctx, key, now)
	if err != nil {
		return err
	}
	reads := accountReads{}
	if found {
		json.Unmarshal([]byte(raw), &reads) // unreadable: start again
	}
	changed := false
	for a, r := range reads {
		if now.Unix()-r.T > int64(window/time.Second) {
			delete(reads, a)
			changed = true
		}
	}
	for a, s := range seen {
		// A known account's time is written again only once half the window has passed:
		// a reader's routine reads of its own account cost a read of the entry, not a
		// write each. Its time then lags its last read by less than half the window, so
		// two accounts read within half the window of each other are always found.
		if r, ok := reads[a]; !ok || now.Unix()-r.T >= int64(window/time.Second)/2 {
			reads[a] = accountRead{T: now.Unix(), Secret: s, Via: chain.via()}
			changed = true
		}
	}
	if changed {
		b, err := json.Marshal(reads)
		if err != nil {
			return err
		}
		// Two invocations writing one identity's entry at once may lose one account:
		// that account's next read within the window puts it back.
		if _, _, err := e.store.Swap(ctx, key, string(b), now, now.Add(window)); err != nil {
			return err
		}
	}
	if len(reads) < 2 || !changed {
		return nil // nothing new: a pair already reported stays in its open finding's window
	}
	accounts := slices.Sorted(maps.Keys(reads))
	var res []Resource
	var what []string
	for _, a := range accounts {
		res = append(res, Resource{UID: a, Type: "AWS::Account"}, Resource{UID: e.cfg.scoped(a, reads[a].Secret), Name: reads[a].Secret, Type: "AWS::SecretsManager::Secret"})
		w := fmt.Sprintf("%s in %s", reads[a].Secret, a)
		if v := reads[a].Via; v != "" {
			w += " (" + v + ")"
		}
		what = append(what, w)
	}
	subject := how
	if chain != nil && strings.HasPrefix(who, "principal|") {
		subject = "principal " + how + " " + chain.via()
	} else if chain != nil {
		subject = how + " " + chain.via()
	}
	ev.add(hit{
		severity: High, dedup: who + "|" + strings.Join(accounts, ","),
		title: fmt.Sprintf("%s read secrets in %d accounts (%s)", how, len(accounts), strings.Join(accounts, ", ")),
		desc: fmt.Sprintf("%s (%s, calling from account %s) read watched secrets in %d accounts within %s: %s. Each account's readers read their own account's secrets.",
			subject, ev.principal, firstNonEmpty(rec.UserIdentity.AccountID, here), len(accounts), window, strings.Join(what, "; ")),
		resources: res,
	})
	return nil
}
