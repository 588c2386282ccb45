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
			"user of an IAM Identity Center session (its session name, which AWS sets, not the caller), and " +
			"otherwise the principal itself, a user or role calling into another account's secret through its " +
			"resource policy. A secret's account is its ARN's, or the account the call was made in. Only " +
			"successful reads of watched secrets count, and the deployer's Terraform refreshes are routine as " +
			"for RA-01.",
		calls: on(srcSecrets, reads...),
		eval:  evalCrossAccountReader,
	}
}

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

// accountReads is what RA-21 keeps per identity: each account it read a watched secret in,
// when last, and which secret.
type accountReads map[string]accountRead

type accountRead struct {
	T      int64  `json:"t"`
	Secret string `json:"secret"`
}

func evalCrossAccountReader(ctx context.Context, e *Engine, ev *event) error {
	rec := ev.rec
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
	who, how := readerIdentity(rec, ev.norm)
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
			reads[a] = accountRead{T: now.Unix(), Secret: s}
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
		what = append(what, fmt.Sprintf("%s in %s", reads[a].Secret, a))
	}
	ev.add(hit{
		severity: High, dedup: who + "|" + strings.Join(accounts, ","),
		title: fmt.Sprintf("%s read secrets in %d accounts (%s)", how, len(accounts), strings.Join(accounts, ", ")),
		desc: fmt.Sprintf("%s (%s, calling from account %s) read watched secrets in %d accounts within %s: %s. Each account's readers read their own account's secrets.",
			how, ev.principal, firstNonEmpty(rec.UserIdentity.AccountID, here), len(accounts), window, strings.Join(what, "; ")),
		resources: res,
	})
	return nil
}
