package audit

import (
	"encoding/json"
	"net/url"
	"strings"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
)

// secretName turns a secret id as callers write it (full ARN, partial ARN or name) into
// the secret's name without the six-character suffix Secrets Manager adds to ARNs.
func secretName(id string) string {
	if i := strings.Index(id, ":secret:"); i >= 0 && strings.HasPrefix(id, "arn:") {
		name := id[i+len(":secret:"):]
		if j := strings.LastIndexByte(name, '-'); j >= 0 && len(name)-j-1 == 6 && isAlnum(name[j+1:]) {
			name = name[:j]
		}
		return name
	}
	return id
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// watched reports whether a secret id, read in account acct (the record's recipient),
// names a watched secret, and returns its name as state keys use it (scoped to its
// account). The secret's account is its ARN's when id is one, else acct; an entry for
// another account does not match, whatever the name.
func (c *Config) watched(acct, id string) (string, bool) {
	if id == "" {
		return "", false
	}
	name := secretName(id)
	if a := cloudtrail.ARNAccount(id); a != "" {
		acct = a
	}
	for _, w := range c.WatchedSecrets {
		if w.account != "" && acct != "" && w.account != acct {
			continue
		}
		switch {
		case w.ARN != "" && (id == w.ARN || name == secretName(w.ARN)):
			return c.scoped(acct, name), true
		case w.NamePrefix != "" && strings.HasPrefix(name, w.NamePrefix):
			return c.scoped(acct, name), true
		}
	}
	return c.scoped(acct, name), false
}

// watchedKey reports whether a key id, key ARN or grant resource names a watched key.
func (c *Config) watchedKey(id string) bool {
	if id == "" {
		return false
	}
	for _, k := range c.KMSKeys {
		if id == k || strings.HasSuffix(k, ":key/"+id) || strings.HasSuffix(k, "/"+strings.TrimPrefix(id, "key/")) {
			return true
		}
	}
	return false
}

func secretResource(name string) Resource {
	return Resource{UID: name, Name: name, Type: "AWS::SecretsManager::Secret"}
}

// strList decodes a JSON string or list of strings (IAM policy fields take both).
type strList []string

// UnmarshalJSON accepts "x" and ["x", "y"].
func (s *strList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

type statement struct {
	Effect      string          `json:"Effect"`
	Principal   json.RawMessage `json:"Principal"`
	Action      strList         `json:"Action"`
	NotAction   strList         `json:"NotAction"`
	Resource    strList         `json:"Resource"`
	NotResource strList         `json:"NotResource"`
	Condition   json.RawMessage `json:"Condition"`
}

type policy struct {
	Statements []statement
}

// parsePolicy reads an IAM, resource or key policy. CloudTrail gives it as a string,
// sometimes URL-encoded; Statement may be one object or a list.
func parsePolicy(doc string) (policy, bool) {
	doc = strings.TrimSpace(doc)
	if strings.HasPrefix(doc, "%7B") || strings.HasPrefix(doc, "%7b") {
		if d, err := url.QueryUnescape(doc); err == nil {
			doc = d
		}
	}
	var raw struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if json.Unmarshal([]byte(doc), &raw) != nil || len(raw.Statement) == 0 {
		return policy{}, false
	}
	var p policy
	if raw.Statement[0] == '{' {
		var s statement
		if json.Unmarshal(raw.Statement, &s) != nil {
			return policy{}, false
		}
		p.Statements = []statement{s}
	} else if json.Unmarshal(raw.Statement, &p.Statements) != nil {
		return policy{}, false
	}
	return p, true
}

// principals lists a statement's AWS principals ("*" for anyone).
func (s statement) principals() []string {
	if len(s.Principal) == 0 {
		return nil
	}
	var star string
	if json.Unmarshal(s.Principal, &star) == nil {
		return []string{star}
	}
	var m map[string]strList
	if json.Unmarshal(s.Principal, &m) != nil {
		return nil
	}
	return m["AWS"]
}

// opensOutside reports whether an Allow statement lets anyone ("*") or an account other
// than own and the trusted ones in. A "*" narrowed by an account or organisation
// condition is not open.
func (c *Config) opensOutside(p policy, own string) (string, bool) {
	for _, s := range p.Statements {
		if !strings.EqualFold(s.Effect, "Allow") {
			continue
		}
		for _, pr := range s.principals() {
			if pr == "*" {
				cond := string(s.Condition)
				if strings.Contains(cond, "aws:PrincipalOrgID") || strings.Contains(cond, "aws:PrincipalAccount") || strings.Contains(cond, "aws:SourceAccount") {
					continue
				}
				return "*", true
			}
			acct := pr
			if strings.HasPrefix(pr, "arn:") {
				acct = cloudtrail.ARNAccount(pr)
			}
			if acct != "" && acct != own && !c.accounts[acct] {
				return acct, true
			}
		}
	}
	return "", false
}

// grants reports whether an Allow statement of p lets its holder read a watched secret or
// decrypt with a watched key, and says which.
func (c *Config) grants(p policy) (string, bool) {
	for _, s := range p.Statements {
		if !strings.EqualFold(s.Effect, "Allow") {
			continue
		}
		broadAction := len(s.NotAction) > 0
		broadResource := len(s.NotResource) > 0
		readSecret := broadAction || anyMatch(s.Action, "secretsmanager:GetSecretValue") || anyMatch(s.Action, "secretsmanager:BatchGetSecretValue")
		decrypt := broadAction || anyMatch(s.Action, "kms:Decrypt")
		for _, res := range s.Resource {
			if readSecret && (broadResource || c.resourceCoversSecret(res)) {
				return "read of watched secret via " + res, true
			}
			if decrypt && (broadResource || c.resourceCoversKey(res)) {
				return "decrypt with watched key via " + res, true
			}
		}
		if broadResource && (readSecret || decrypt) {
			return "NotResource grant", true
		}
	}
	return "", false
}

func anyMatch(patterns []string, action string) bool {
	for _, p := range patterns {
		if glob(strings.ToLower(p), strings.ToLower(action)) {
			return true
		}
	}
	return false
}

func (c *Config) resourceCoversSecret(res string) bool {
	if res == "*" {
		return true
	}
	for _, w := range c.WatchedSecrets {
		if w.ARN != "" && (glob(res, w.ARN) || secretName(res) == secretName(w.ARN)) {
			return true
		}
		if w.NamePrefix != "" {
			name := res
			if i := strings.Index(res, ":secret:"); i >= 0 {
				name = res[i+len(":secret:"):]
			} else if strings.HasPrefix(res, "arn:") {
				continue
			}
			lit := name
			if j := strings.IndexAny(name, "*?"); j >= 0 {
				lit = name[:j]
				if strings.HasPrefix(w.NamePrefix, lit) {
					return true
				}
			}
			if strings.HasPrefix(lit, w.NamePrefix) {
				return true
			}
		}
	}
	return false
}

func (c *Config) resourceCoversKey(res string) bool {
	for _, k := range c.KMSKeys {
		if glob(res, k) {
			return true
		}
	}
	return false
}

// glob matches s against an IAM pattern where * is any run of characters and ? one.
func glob(pattern, s string) bool {
	px, sx := 0, 0
	nextP, nextS := -1, -1
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			switch c := pattern[px]; {
			case c == '*':
				nextP, nextS = px, sx+1
				px++
				continue
			case sx < len(s) && (c == '?' || c == s[sx]):
				px++
				sx++
				continue
			}
		}
		if nextP >= 0 && nextS <= len(s) {
			px, sx = nextP+1, nextS
			nextS++
			continue
		}
		return false
	}
	return true
}
