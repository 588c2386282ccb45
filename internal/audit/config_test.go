package audit

import (
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

func TestLoadEnv(t *testing.T) {
	doc, _ := os.ReadFile("testdata/config.json")
	file := filepath.Join(t.TempDir(), "audit.json")
	os.WriteFile(file, doc, 0o600)
	topic := "arn:aws:sns:eu-west-1:111122223333:alerts"
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"document", map[string]string{EnvConfig: string(doc), EnvStateTable: "t", EnvAlertTopic: topic}, ""},
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
	} {
		if _, got := c.watched(id); got != want {
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
