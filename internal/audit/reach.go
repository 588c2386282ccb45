package audit

import (
	"context"
	"strings"
	"time"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
)

// What the audit knows of who can reach a watched secret or key, for the rules that rate
// a new credential or trust by where it leads: High when it reaches the secrets, lower
// otherwise. The allowed principals of the configuration reach them by definition; any
// other user or role does once RA-11 has seen a grant to it.

func granteeUserKey(name string) string { return "granteeuser|" + name }

// roleReaches reports whether the role (a name or an ARN) can read a watched secret or
// decrypt with a watched key: a reader, rotator or deployer, or a role granted either.
func (e *Engine) roleReaches(ctx context.Context, role string, at time.Time) (bool, error) {
	name := role
	if i := strings.LastIndexByte(role, '/'); i >= 0 && strings.HasPrefix(role, "arn:") {
		name = role[i+1:]
	}
	if name == "" {
		return false, nil
	}
	if e.cfg.allowedRoleName(name) || e.cfg.deployerName(":role/", name) {
		return true, nil
	}
	_, found, err := e.store.Get(ctx, "grantee|"+name, at)
	return found, err
}

// allowedRoleName reports whether name is the name of a reader or rotator role.
func (c *Config) allowedRoleName(name string) bool {
	for _, set := range []map[string]bool{c.readers, c.rotators} {
		for arn := range set {
			if strings.HasSuffix(arn, ":role/"+name) {
				return true
			}
		}
	}
	return false
}

// userReaches is roleReaches for an IAM user.
func (e *Engine) userReaches(ctx context.Context, name string, at time.Time) (bool, error) {
	if name == "" {
		return false, nil
	}
	for _, set := range []map[string]bool{e.cfg.readers, e.cfg.rotators, e.cfg.deployers} {
		for arn := range set {
			if strings.HasSuffix(arn, ":user/"+name) || strings.HasSuffix(arn, "/"+name) && strings.Contains(arn, ":user/") {
				return true, nil
			}
		}
	}
	_, found, err := e.store.Get(ctx, granteeUserKey(name), at)
	return found, err
}

// deployerName reports whether a deployer ARN of the kind (":role/", ":user/") has name.
func (c *Config) deployerName(kind, name string) bool {
	for arn := range c.deployers {
		if strings.Contains(arn, kind) && strings.HasSuffix(arn, "/"+name) {
			return true
		}
	}
	return false
}

// ownAccount is the account a record's call was made in.
func ownAccount(rec *cloudtrail.Record) string {
	return firstNonEmpty(rec.RecipientAccountID, rec.UserIdentity.AccountID)
}

// outsideAccount returns the account of an ARN when it is neither the record's own nor a
// trusted one, "" otherwise (and for anything that is not an ARN).
func (c *Config) outsideAccount(rec *cloudtrail.Record, arn string) string {
	a := cloudtrail.ARNAccount(arn)
	if a == "" || a == ownAccount(rec) || c.accounts[a] {
		return ""
	}
	return a
}
