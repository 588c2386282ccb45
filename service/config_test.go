package main

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	c, err := loadConfig(envOf(map[string]string{"DB_SECRET_ID": "rotaudit/local/app"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 3000 || c.MaxRangeDays != 366 || c.SSLMode != "" || c.SecretTTL != 5*time.Minute ||
		c.ConnMaxLifetime != 15*time.Minute || c.PoolMaxConns != 8 || c.AllowInsecurePasswordAuth {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestLoadConfigErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"no secret id", map[string]string{}, []string{"DB_SECRET_ID is required"}},
		{"blank secret id", map[string]string{"DB_SECRET_ID": "  "}, []string{"DB_SECRET_ID"}},
		{"port not a number", map[string]string{"DB_SECRET_ID": "x", "PORT": "http"}, []string{"PORT=\"http\""}},
		{"port too big", map[string]string{"DB_SECRET_ID": "x", "PORT": "70000"}, []string{"PORT"}},
		{"range zero", map[string]string{"DB_SECRET_ID": "x", "MAX_RANGE_DAYS": "0"}, []string{"MAX_RANGE_DAYS"}},
		{"bad sslmode", map[string]string{"DB_SECRET_ID": "x", "DB_SSLMODE": "prefer"}, []string{"DB_SSLMODE", "prefer"}},
		{"bad duration", map[string]string{"DB_SECRET_ID": "x", "DB_SECRET_TTL": "5"}, []string{"DB_SECRET_TTL"}},
		{"lifetime too short", map[string]string{"DB_SECRET_ID": "x", "DB_POOL_MAX_CONN_LIFETIME": "10ms"}, []string{"DB_POOL_MAX_CONN_LIFETIME"}},
		{"bad insecure password auth", map[string]string{"DB_SECRET_ID": "x", "DB_ALLOW_INSECURE_PASSWORD_AUTH": "md5"}, []string{"DB_ALLOW_INSECURE_PASSWORD_AUTH"}},
		{"bad log level", map[string]string{"DB_SECRET_ID": "x", "LOG_LEVEL": "loud"}, []string{"LOG_LEVEL"}},
		{"write timeout under query timeout", map[string]string{"DB_SECRET_ID": "x", "DB_QUERY_TIMEOUT": "20s"}, []string{"HTTP_WRITE_TIMEOUT"}},
		{"several at once", map[string]string{"PORT": "-1", "DB_POOL_MAX_CONNS": "lots"}, []string{"DB_SECRET_ID", "PORT", "DB_POOL_MAX_CONNS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(envOf(tt.env))
			if !errors.Is(err, errConfig) {
				t.Fatalf("want a configuration error, got %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestAllowInsecurePasswordAuth(t *testing.T) {
	for v, want := range map[string]bool{"": false, "false": false, "TRUE": true, " true ": true} {
		c, err := loadConfig(envOf(map[string]string{"DB_SECRET_ID": "x", "DB_ALLOW_INSECURE_PASSWORD_AUTH": v}))
		if err != nil || c.AllowInsecurePasswordAuth != want {
			t.Errorf("DB_ALLOW_INSECURE_PASSWORD_AUTH=%q: %v, err %v; want %v", v, c.AllowInsecurePasswordAuth, err, want)
		}
	}
}

func TestEnvVarsListsEveryVariableRead(t *testing.T) {
	read := map[string]bool{}
	loadConfig(func(k string) string { read[k] = true; return "" })
	for k := range read {
		found := false
		for _, v := range envVars {
			found = found || v == k
		}
		if !found {
			t.Errorf("loadConfig reads %s but envVars does not list it", k)
		}
	}
	if len(read) != len(envVars) {
		t.Errorf("envVars lists %d variables, loadConfig reads %d", len(envVars), len(read))
	}
}
