package audit

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseConfigErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name, doc, field string
	}{
		{"empty watch list", `{}`, "watched_secrets"},
		{"both arn and prefix", `{"watched_secrets":[{"arn":"arn:aws:secretsmanager:r:1:secret:x","name_prefix":"x"}]}`, "watched_secrets[0]"},
		{"arn not a secret", `{"watched_secrets":[{"arn":"arn:aws:s3:::bucket"}]}`, "watched_secrets[0].arn"},
		{"bad key", `{"watched_secrets":[{"name_prefix":"x"}],"kms_keys":["alias/x"]}`, "kms_keys[0]"},
		{"reader not arn", `{"watched_secrets":[{"name_prefix":"x"}],"readers":["api-task"]}`, "readers[0]"},
		{"bad cidr", `{"watched_secrets":[{"name_prefix":"x"}],"trusted_networks":["10.0.0.0/33"]}`, "trusted_networks[0]"},
		{"bad account", `{"watched_secrets":[{"name_prefix":"x"}],"trusted_accounts":["1234"]}`, "trusted_accounts[0]"},
		{"bad duration", `{"watched_secrets":[{"name_prefix":"x"}],"dedup_window":"1 hour"}`, "dedup_window"},
		{"negative learning", `{"watched_secrets":[{"name_prefix":"x"}],"learning_period":"-1h"}`, "learning_period"},
		{"threshold too low", `{"watched_secrets":[{"name_prefix":"x"}],"enumeration":{"count":1}}`, "enumeration.count"},
		{"unknown field", `{"watched_secrets":[{"name_prefix":"x"}],"reader":[]}`, `"reader"`},
		{"not json", `watched`, "invalid character"},
		{"bad own account", `{"watched_secrets":[{"name_prefix":"x"}],"account_id":"12345678901a"}`, "account_id"},
		{"bad member account", `{"account_id":"111122223333","watched_secrets":[{"name_prefix":"x"}],"member_accounts":["4444"]}`, "member_accounts[0]"},
		{"members without own account", `{"watched_secrets":[{"name_prefix":"x"}],"member_accounts":["444455556666"]}`, "account_id"},
		{"bad watch account", `{"watched_secrets":[{"name_prefix":"x","account":"x"}]}`, "watched_secrets[0].account"},
		{"watch account not the arn's", `{"watched_secrets":[{"arn":"arn:aws:secretsmanager:r:111122223333:secret:x","account":"444455556666"}]}`, "watched_secrets[0].account"},
		{"watch in unwatched account", `{"account_id":"111122223333","watched_secrets":[{"name_prefix":"x","account":"444455556666"}]}`, "watched_secrets[0]"},
		{"bad cross-account window", `{"watched_secrets":[{"name_prefix":"x"}],"cross_account_window":"soon"}`, "cross_account_window"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.doc))
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q does not name %s", err, tc.field)
			}
		})
	}
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig([]byte(`{"watched_secrets":[{"name_prefix":"x"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.LearningPeriod.Duration != DefaultLearningPeriod || c.DedupWindow.Duration != time.Hour || c.Enumeration.Count != 5 || c.AccessDenied.Window.Duration != 5*time.Minute {
		t.Errorf("defaults not applied: %+v", c)
	}
	c, err = ParseConfig([]byte(`{"watched_secrets":[{"name_prefix":"x"}],"learning_period":"0s"}`))
	if err != nil || c.LearningPeriod.Duration != 0 {
		t.Errorf("explicit 0s learning period: %v %v", c.LearningPeriod, err)
	}
}

// TestAccounts: once the own and member accounts are configured, records of other accounts
// are not audited, a secret is watched in the account its entry names, and state keys of a
// member's secrets carry the account (the own account's keep the bare name, as a
// single-account deployment wrote them).
func TestAccounts(t *testing.T) {
	const own, member, other = "111122223333", "444455556666", "777788889999"
	c, err := ParseConfig([]byte(`{"account_id":"` + own + `","member_accounts":["` + member + `"],
		"watched_secrets":[{"name_prefix":"rotaudit/prod/"},{"name_prefix":"billing/","account":"` + member + `"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for acct, want := range map[string]bool{own: true, member: true, other: false, "": true} {
		if got := c.watchesAccount(acct); got != want {
			t.Errorf("watchesAccount(%q) = %v, want %v", acct, got, want)
		}
	}
	for _, tc := range []struct {
		acct, id, name string
		ok             bool
	}{
		{own, "rotaudit/prod/app", "rotaudit/prod/app", true},
		{member, "rotaudit/prod/app", member + "/rotaudit/prod/app", true},
		{own, "arn:aws:secretsmanager:eu-west-1:" + member + ":secret:rotaudit/prod/app-AbCdEf", member + "/rotaudit/prod/app", true},
		{member, "billing/db", member + "/billing/db", true},
		{own, "billing/db", "billing/db", false},
	} {
		name, ok := c.watched(tc.acct, tc.id)
		if name != tc.name || ok != tc.ok {
			t.Errorf("watched(%s, %s) = %q, %v; want %q, %v", tc.acct, tc.id, name, ok, tc.name, tc.ok)
		}
	}
	single := testConfig(t)
	if !single.watchesAccount(other) || single.scoped(other, "x") != "x" {
		t.Errorf("a config with no accounts audits every account under the bare names")
	}
}

func TestLoadEnv(t *testing.T) {
	doc, _ := os.ReadFile("testdata/config.json")
	file := filepath.Join(t.TempDir(), "audit.json")
	os.WriteFile(file, doc, 0o600)
	topic := "arn:aws:sns:eu-west-1:111122223333:alerts"
	// gz is what Terraform's base64gzip makes of a document.
	gz := func(b []byte) string {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return base64.StdEncoding.EncodeToString(buf.Bytes())
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"document", map[string]string{EnvConfig: string(doc), EnvStateTable: "t", EnvAlertTopic: topic}, ""},
		{"gzipped document", map[string]string{EnvConfig: gz(doc), EnvStateTable: "t", EnvAlertTopic: topic}, ""},
		{"not base64", map[string]string{EnvConfig: "watched_secrets: all", EnvStateTable: "t", EnvAlertTopic: topic}, "neither a JSON document nor base64"},
		{"base64, not gzip", map[string]string{EnvConfig: base64.StdEncoding.EncodeToString(doc), EnvStateTable: "t", EnvAlertTopic: topic}, "not of a gzipped document"},
		{"gzip cut short", map[string]string{EnvConfig: gz(doc)[:40], EnvStateTable: "t", EnvAlertTopic: topic}, EnvConfig},
		{"gzip bomb", map[string]string{EnvConfig: gz(bytes.Repeat([]byte(" "), 2<<20)), EnvStateTable: "t", EnvAlertTopic: topic}, "more than 1048576 bytes"},
		{"gzipped document and a file", map[string]string{EnvConfig: gz(doc), EnvConfigFile: file, EnvStateTable: "t", EnvAlertTopic: topic}, "not both"},
		{"file", map[string]string{EnvConfigFile: file, EnvStateTable: "t", EnvAlertTopic: topic}, ""},
		{"neither", map[string]string{EnvStateTable: "t", EnvAlertTopic: topic}, EnvConfig},
		{"both", map[string]string{EnvConfig: string(doc), EnvConfigFile: file, EnvStateTable: "t", EnvAlertTopic: topic}, "not both"},
		{"missing file", map[string]string{EnvConfigFile: "/nonexistent/audit.json", EnvStateTable: "t", EnvAlertTopic: topic}, EnvConfigFile},
		{"no table", map[string]string{EnvConfig: string(doc), EnvAlertTopic: topic}, EnvStateTable},
		{"bad topic", map[string]string{EnvConfig: string(doc), EnvStateTable: "t", EnvAlertTopic: "alerts"}, EnvAlertTopic},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, err := LoadEnv(func(k string) string { return tc.env[k] })
			if tc.wantErr == "" {
				if err != nil || env.StateTable != "t" || env.AlertTopic != topic || len(env.Config.WatchedSecrets) != 2 {
					t.Fatalf("LoadEnv: %+v, %v", env, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one naming %s", err, tc.wantErr)
			}
		})
	}
	for _, v := range []string{EnvConfig, EnvConfigFile, EnvStateTable, EnvAlertTopic} {
		found := false
		for _, e := range EnvVars() {
			found = found || e == v
		}
		if !found {
			t.Errorf("EnvVars lacks %s", v)
		}
	}
}

func TestWatchedSecretSpellings(t *testing.T) {
	c := testConfig(t)
	for id, want := range map[string]bool{
		"arn:aws:secretsmanager:eu-west-1:111122223333:secret:rotaudit/prod/app-AbCdEf": true,
		"arn:aws:secretsmanager:eu-west-1:111122223333:secret:rotaudit/prod/app":        true,
		"rotaudit/prod/app":          true,
		"rotaudit/prod/admin-master": true,
		"rotaudit/prod/application":  false,
		"rotaudit/dev/app":           false,
		"":                           false,
		// The same name in another account is another secret.
		"arn:aws:secretsmanager:eu-west-1:444455556666:secret:rotaudit/prod/app-AbCdEf": false,
	} {
		if _, got := c.watched("111122223333", id); got != want {
			t.Errorf("watched(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		want bool
	}{
		{"*", "anything", true},
		{"arn:aws:secretsmanager:*:*:secret:rotaudit/*", "arn:aws:secretsmanager:eu-west-1:1:secret:rotaudit/prod/app-AbCdEf", true},
		{"arn:aws:secretsmanager:*:*:secret:other/*", "arn:aws:secretsmanager:eu-west-1:1:secret:rotaudit/prod/app-AbCdEf", false},
		{"secretsmanager:get*", "secretsmanager:getsecretvalue", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
	} {
		if got := glob(tc.p, tc.s); got != tc.want {
			t.Errorf("glob(%q, %q) = %v", tc.p, tc.s, got)
		}
	}
}

// FuzzConfigDocument: whatever AUDIT_CONFIG holds, ConfigDocument returns a bounded document
// or an ErrConfig, and gives a gzipped document back as it went in.
func FuzzConfigDocument(f *testing.F) {
	doc, _ := os.ReadFile("testdata/config.json")
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(doc)
	w.Close()
	f.Add(string(doc), false)
	f.Add(base64.StdEncoding.EncodeToString(buf.Bytes()), false)
	f.Add("H4sIAAAAAAAA/w==", false)
	f.Add(`{"watched_secrets":[]}`, true)
	f.Fuzz(func(t *testing.T, v string, pack bool) {
		if pack {
			var b bytes.Buffer
			w := gzip.NewWriter(&b)
			w.Write([]byte(v))
			w.Close()
			got, err := ConfigDocument(base64.StdEncoding.EncodeToString(b.Bytes()))
			switch {
			case len(v) > maxConfigDocument && err == nil:
				t.Fatalf("a gzipped document of %d bytes was taken", len(v))
			case len(v) <= maxConfigDocument && (err != nil || string(got) != v):
				t.Fatalf("a gzipped document did not come back: %q, %v", got, err)
			}
			return
		}
		got, err := ConfigDocument(v)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error %v is not an ErrConfig", err)
			}
			return
		}
		if len(got) > maxConfigDocument {
			t.Fatalf("%d bytes unpacked, over the bound", len(got))
		}
	})
}
