package audit

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
	"github.com/rotaudit/rotaudit/internal/audit/state"
)

// TestReaderIdentity: what makes two reads in two accounts the same reader's.
func TestReaderIdentity(t *testing.T) {
	sso := "AWSReservedSSO_ReadOnly_0123456789abcdef"
	tests := []struct {
		name string
		u    cloudtrail.UserIdentity
		norm string
		want string
	}{
		{"source identity wins", cloudtrail.UserIdentity{Type: "AssumedRole", ARN: "arn:aws:sts::1:assumed-role/ops/x",
			SessionContext: cloudtrail.SessionContext{SourceIdentity: "alice", SessionIssuer: cloudtrail.SessionIssuer{UserName: "ops"}}}, "arn:aws:iam::1:role/ops", "source|alice"},
		{"identity center user", cloudtrail.UserIdentity{Type: "AssumedRole", ARN: "arn:aws:sts::1:assumed-role/" + sso + "/bob@example.com",
			SessionContext: cloudtrail.SessionContext{SessionIssuer: cloudtrail.SessionIssuer{UserName: sso}}}, "arn:aws:iam::1:role/" + sso, "sso|bob@example.com"},
		// A session name the caller chose proves nothing: the role is the reader.
		{"other role session", cloudtrail.UserIdentity{Type: "AssumedRole", ARN: "arn:aws:sts::1:assumed-role/ops/bob@example.com",
			SessionContext: cloudtrail.SessionContext{SessionIssuer: cloudtrail.SessionIssuer{UserName: "ops"}}}, "arn:aws:iam::1:role/ops", "principal|arn:aws:iam::1:role/ops"},
		{"iam user", cloudtrail.UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::1:user/jenkins"}, "arn:aws:iam::1:user/jenkins", "principal|arn:aws:iam::1:user/jenkins"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := readerIdentity(&cloudtrail.Record{UserIdentity: tc.u}, tc.norm); got != tc.want {
				t.Errorf("readerIdentity = %q, want %q", got, tc.want)
			}
		})
	}
}

// Accounts of the role chain tests: A holds the origin, B and C the roles it chains into.
const (
	chainA = "111122223333"
	chainB = "444455556666"
	chainC = "777788889999"
)

// chainConfig watches the three accounts' rotaudit/prod/ secrets.
func chainConfig(t *testing.T) *Config {
	t.Helper()
	c, err := ParseConfig([]byte(`{"account_id": "` + chainA + `", "member_accounts": ["` + chainB + `", "` + chainC + `"],
	  "watched_secrets": [{"name_prefix": "rotaudit/prod/"}], "learning_period": "1h"}`))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var chainStart = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// iamUser is the userIdentity of an IAM user calling with its own key, as CloudTrail logs it.
func iamUser(acct, name string) map[string]any {
	return map[string]any{"type": "IAMUser", "principalId": "AIDAQEXAMPLE" + strings.ToUpper(name), "arn": "arn:aws:iam::" + acct + ":user/" + name,
		"accountId": acct, "accessKeyId": "AKIAQEXAMPLE" + strings.ToUpper(name), "userName": name}
}

// session is the userIdentity of a role session calling with the temporary key it was issued.
func session(acct, role, name, key string) map[string]any {
	return map[string]any{"type": "AssumedRole", "principalId": "AROAQEXAMPLE" + acct[:4] + ":" + name,
		"arn": "arn:aws:sts::" + acct + ":assumed-role/" + role + "/" + name, "accountId": acct, "accessKeyId": key,
		"sessionContext": map[string]any{
			"sessionIssuer":       map[string]any{"type": "Role", "principalId": "AROAQEXAMPLE" + acct[:4], "arn": "arn:aws:iam::" + acct + ":role/" + role, "accountId": acct, "userName": role},
			"webIdFederationData": map[string]any{}, "attributes": map[string]any{"creationDate": chainStart.Format(time.RFC3339), "mfaAuthenticated": "false"}}}
}

// lambdaService is the userIdentity of Lambda assuming a function's execution role.
func lambdaService() map[string]any {
	return map[string]any{"type": "AWSService", "invokedBy": "lambda.amazonaws.com"}
}

// chainRecord is one CloudTrail record in the shape trails deliver it.
func chainRecord(id string, at time.Duration, who map[string]any, src, name, recipient string, params, response any) map[string]any {
	r := map[string]any{"eventVersion": "1.09", "userIdentity": maps.Clone(who), "eventTime": chainStart.Add(at).Format(time.RFC3339),
		"eventSource": src, "eventName": name, "awsRegion": "eu-west-1", "sourceIPAddress": "203.0.113.24",
		"userAgent":         "aws-cli/2.22.4 md/awscrt#0.23.4 ua/2.0 os/linux#6.8.0 md/arch#x86_64 lang/python#3.12.6",
		"requestParameters": params, "responseElements": response, "requestID": "req-" + id, "eventID": id,
		"readOnly": true, "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": recipient, "eventCategory": "Management"}
	if who["type"] == "AWSService" {
		r["sourceIPAddress"], r["userAgent"] = who["invokedBy"], who["invokedBy"]
	}
	return r
}

// readIn is a GetSecretValue of account acct's rotaudit/prod/<name> secret.
func readIn(id string, at time.Duration, who map[string]any, acct, name string) map[string]any {
	return chainRecord(id, at, who, srcSecrets, "GetSecretValue", acct,
		map[string]any{"secretId": "arn:aws:secretsmanager:eu-west-1:" + acct + ":secret:rotaudit/prod/" + name + "-AbCdEf"}, nil)
}

// assume is a successful AssumeRole of role (an ARN) issuing the temporary key issued, made
// in the caller's account.
func assume(id string, at time.Duration, who map[string]any, role, issued string) map[string]any {
	acct := cloudtrail.ARNAccount(role)
	name := role[strings.LastIndexByte(role, '/')+1:]
	caller, _ := who["accountId"].(string) // a service has none: the role's account logs its call
	r := chainRecord(id, at, who, srcSTS, "AssumeRole", firstNonEmpty(caller, acct),
		map[string]any{"roleArn": role, "roleSessionName": "chain-" + id},
		map[string]any{
			"credentials":     map[string]any{"accessKeyId": issued, "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLE", "expiration": "Nov 20, 2026, 10:00:00 AM"},
			"assumedRoleUser": map[string]any{"assumedRoleId": "AROAQEXAMPLE" + acct[:4] + ":chain-" + id, "arn": "arn:aws:sts::" + acct + ":assumed-role/" + name + "/chain-" + id},
		})
	r["resources"] = []any{map[string]any{"accountId": acct, "type": "AWS::IAM::Role", "ARN": role}}
	return r
}

// evalChain evaluates recs in order on a fresh engine and returns its findings and store.
func evalChain(t *testing.T, recs []map[string]any) ([]Finding, Store) {
	t.Helper()
	store := state.NewMemory()
	e := NewEngine(chainConfig(t), store)
	var out []Finding
	for _, m := range recs {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := cloudtrail.ParseRecord(b)
		if err != nil {
			t.Fatalf("record %v: %v", m["eventID"], err)
		}
		fs, err := e.Evaluate(context.Background(), rec)
		if err != nil {
			t.Fatalf("record %v: the batch stops: %v", m["eventID"], err)
		}
		for _, f := range fs {
			if f.FindingInfo.Analytic.UID == "RA-21" && !f.IsUpdate() {
				out = append(out, f)
			}
		}
	}
	return out, store
}

// TestRoleChains: RA-21 follows AssumeRole from one account's principal into another
// account's role, and chains of them, when no source identity ties the sessions together.
func TestRoleChains(t *testing.T) {
	alice := iamUser(chainA, "alice")
	aliceARN := "arn:aws:iam::" + chainA + ":user/alice"
	opsB := "arn:aws:iam::" + chainB + ":role/ops"
	readerC := "arn:aws:iam::" + chainC + ":role/reader"
	const keyB, keyC = "ASIAQEXAMPLECHAINB01", "ASIAQEXAMPLECHAINC01"
	inB := session(chainB, "ops", "chain-as1", keyB)
	inC := session(chainC, "reader", "chain-as2", keyC)
	tests := []struct {
		name     string
		recs     []map[string]any
		accounts []string // of the one RA-21 finding; none wanted when nil
		desc     string   // the finding's description contains it
		unlinked string   // an issued key that must have no link afterwards
	}{
		{"A to B without source identity", []map[string]any{
			readIn("r1", 0, alice, chainA, "app"),
			assume("as1", time.Minute, alice, opsB, keyB),
			readIn("r2", 2*time.Minute, inB, chainB, "admin"),
		}, []string{chainA, chainB}, "principal " + aliceARN + " through role chain " + opsB, ""},
		{"A to B to C", []map[string]any{
			readIn("r1", 0, alice, chainA, "app"),
			assume("as1", time.Minute, alice, opsB, keyB),
			assume("as2", 2*time.Minute, inB, readerC, keyC),
			readIn("r3", 3*time.Minute, inC, chainC, "admin"),
		}, []string{chainA, chainC}, "principal " + aliceARN + " through role chain " + opsB + " > " + readerC, ""},
		{"chain read first, the origin's own read second", []map[string]any{
			assume("as1", 0, alice, opsB, keyB),
			readIn("r2", time.Minute, inB, chainB, "admin"),
			readIn("r1", 2*time.Minute, alice, chainA, "app"),
		}, []string{chainA, chainB}, "admin in " + chainB + " (through role chain " + opsB + ")", ""},
		{"a service assuming a role links nothing", []map[string]any{
			readIn("r1", 0, session(chainA, "worker", "i-0abc", "ASIAQEXAMPLEWORKER01"), chainA, "app"),
			assume("as1", time.Minute, lambdaService(), opsB, keyB),
			readIn("r2", 2*time.Minute, inB, chainB, "admin"),
		}, nil, "", keyB},
		{"within the longest session the link holds", []map[string]any{
			assume("as1", 0, alice, opsB, keyB),
			readIn("r2", 11*time.Hour+50*time.Minute, inB, chainB, "admin"),
			readIn("r1", 11*time.Hour+55*time.Minute, alice, chainA, "app"),
		}, []string{chainA, chainB}, "through role chain " + opsB, ""},
		{"beyond the longest session the link is gone", []map[string]any{
			assume("as1", 0, alice, opsB, keyB),
			readIn("r2", 12*time.Hour+time.Minute, inB, chainB, "admin"),
			readIn("r1", 12*time.Hour+5*time.Minute, alice, chainA, "app"),
		}, nil, "", ""},
		// CloudTrail's order is not the calls': a read handled before the AssumeRole that
		// issued its key is its session's own, and the origin's read later finds no pair.
		{"read handled before its AssumeRole", []map[string]any{
			readIn("r2", 2*time.Minute, inB, chainB, "admin"),
			assume("as1", time.Minute, alice, opsB, keyB),
			readIn("r1", 3*time.Minute, alice, chainA, "app"),
		}, nil, "", ""},
		{"a refused AssumeRole links nothing", []map[string]any{
			readIn("r1", 0, alice, chainA, "app"),
			func() map[string]any {
				r := assume("as1", time.Minute, alice, opsB, keyB)
				r["errorCode"], r["errorMessage"], r["responseElements"] = "AccessDenied", "not authorized to perform: sts:AssumeRole", nil
				return r
			}(),
			readIn("r2", 2*time.Minute, inB, chainB, "admin"),
		}, nil, "", keyB},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs, store := evalChain(t, tc.recs)
			if tc.unlinked != "" {
				if _, found, _ := store.Get(context.Background(), roleChainKey(tc.unlinked), chainStart.Add(time.Hour)); found {
					t.Errorf("a link was kept for %s", tc.unlinked)
				}
			}
			if tc.accounts == nil {
				for _, f := range fs {
					t.Errorf("unwanted RA-21: %s: %s", f.FindingInfo.Title, f.FindingInfo.Desc)
				}
				return
			}
			if len(fs) != 1 {
				t.Fatalf("%d RA-21 findings, want 1", len(fs))
			}
			f := fs[0]
			var accounts []string
			for _, r := range f.Resources {
				if r.Type == "AWS::Account" {
					accounts = append(accounts, r.UID)
				}
			}
			if !slices.Equal(accounts, tc.accounts) {
				t.Errorf("accounts %v, want %v", accounts, tc.accounts)
			}
			if !strings.HasPrefix(f.FindingInfo.Title, aliceARN+" read secrets in 2 accounts") {
				t.Errorf("title %q does not name the origin", f.FindingInfo.Title)
			}
			if !strings.Contains(f.FindingInfo.Desc, tc.desc) {
				t.Errorf("description %q lacks %q", f.FindingInfo.Desc, tc.desc)
			}
		})
	}
}

// TestMalformedAssumeRole: an AssumeRole record missing what a link needs is ignored, with
// no error that would stop the batch, and leaves no link behind.
func TestMalformedAssumeRole(t *testing.T) {
	alice := iamUser(chainA, "alice")
	opsB := "arn:aws:iam::" + chainB + ":role/ops"
	const key = "ASIAQEXAMPLECHAINB01"
	tests := []struct {
		name  string
		spoil func(r map[string]any)
	}{
		{"no responseElements", func(r map[string]any) { r["responseElements"] = nil }},
		{"responseElements not an object", func(r map[string]any) { r["responseElements"] = "too large" }},
		{"no credentials", func(r map[string]any) { delete(r["responseElements"].(map[string]any), "credentials") }},
		{"no access key", func(r map[string]any) {
			delete(r["responseElements"].(map[string]any)["credentials"].(map[string]any), "accessKeyId")
		}},
		{"access key not a string", func(r map[string]any) {
			r["responseElements"].(map[string]any)["credentials"].(map[string]any)["accessKeyId"] = 42
		}},
		{"no requestParameters", func(r map[string]any) { delete(r, "requestParameters") }},
		{"roleArn not an ARN", func(r map[string]any) { r["requestParameters"].(map[string]any)["roleArn"] = "ops" }},
		{"caller without a type", func(r map[string]any) { delete(r["userIdentity"].(map[string]any), "type") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := assume("as1", time.Minute, alice, opsB, key)
			tc.spoil(r)
			fs, store := evalChain(t, []map[string]any{
				readIn("r1", 0, alice, chainA, "app"),
				r,
				readIn("r2", 2*time.Minute, session(chainB, "ops", "chain-as1", key), chainB, "admin"),
			})
			if len(fs) != 0 {
				t.Errorf("RA-21 linked through a malformed AssumeRole: %s", fs[0].FindingInfo.Desc)
			}
			if _, found, _ := store.Get(context.Background(), roleChainKey(key), chainStart.Add(time.Hour)); found {
				t.Errorf("a link was kept for %s", key)
			}
		})
	}
	// The well-formed record, for contrast, leaves a link.
	_, store := evalChain(t, []map[string]any{assume("as1", time.Minute, alice, opsB, key)})
	if _, found, _ := store.Get(context.Background(), roleChainKey(key), chainStart.Add(time.Hour)); !found {
		t.Errorf("the well-formed AssumeRole left no link")
	}
}

// TestTemporaryKey: only keys shaped like STS's are looked up or remembered.
func TestTemporaryKey(t *testing.T) {
	for key, want := range map[string]bool{
		"ASIAQEXAMPLECHAINB01":            true,
		"ASIA_0123456789abcdef":           true,
		"AKIA1JMTHE9ZMZMWG0MG":            false, // an IAM user's own key (the Stratus dataset's)
		"ASIASHORT":                       false,
		"ASIAQEXAMPLE|CHAINB01":           false,
		"":                                false,
		"ASIA" + strings.Repeat("A", 125): false,
	} {
		if got := temporaryKey(key); got != want {
			t.Errorf("temporaryKey(%q) = %v, want %v", key, got, want)
		}
	}
}
