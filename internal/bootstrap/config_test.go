package bootstrap

import (
	"slices"
	"strings"
	"testing"
)

func TestLoadConfig(t *testing.T) {
	base := map[string]string{
		EnvMasterSecretARN: "arn:aws:secretsmanager:eu-west-1:1:secret:master",
		EnvAppSecretARNs:   " arn:aws:secretsmanager:eu-west-1:1:secret:app , arn:aws:secretsmanager:eu-west-1:1:secret:app2,",
		EnvAppUsername:     "rates_app",
	}
	env := func(over map[string]string) func(string) string {
		return func(k string) string {
			if v, ok := over[k]; ok {
				return v
			}
			return base[k]
		}
	}
	c, err := LoadConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.DBName != "rates" || c.ReaderRole != "rates_reader" || len(c.AppSecretARNs) != 2 || c.AllowPlaintext || c.AllowInsecurePasswordAuth || c.AppUsername != "rates_app" {
		t.Fatalf("defaults: %+v", c)
	}
	c, err = LoadConfig(env(map[string]string{EnvDBAllowPlaintext: "TRUE", EnvDBName: "other", EnvDBCABundle: "/ca.pem", EnvSecretsManagerEndpoint: "https://vpce",
		EnvDBAllowInsecurePasswordAuth: "true"}))
	if err != nil || !c.AllowPlaintext || !c.AllowInsecurePasswordAuth || c.DBName != "other" || c.CABundle != "/ca.pem" || c.SecretsManagerEndpoint != "https://vpce" {
		t.Fatalf("%+v %v", c, err)
	}
	c, err = LoadConfig(env(map[string]string{EnvAppUsername: " rates_app , report_app,"}))
	if err != nil || c.AppUsername != "rates_app" || !slices.Equal(c.MoreAppUsernames, []string{"report_app"}) || !slices.Equal(c.AppUsernames(), []string{"rates_app", "report_app"}) {
		t.Fatalf("two users: %+v %v", c, err)
	}
	tests := []struct {
		name string
		over map[string]string
		want string
	}{
		{"no master", map[string]string{EnvMasterSecretARN: ""}, EnvMasterSecretARN},
		{"no app secrets", map[string]string{EnvAppSecretARNs: " , "}, EnvAppSecretARNs},
		{"app secret twice", map[string]string{EnvAppSecretARNs: "a,a"}, EnvAppSecretARNs},
		{"no app username", map[string]string{EnvAppUsername: ""}, EnvAppUsername},
		{"app username too long", map[string]string{EnvAppUsername: strings.Repeat("a", 58)}, EnvAppUsername},
		{"app username is the reader", map[string]string{EnvAppUsername: "rates_reader"}, EnvAppUsername},
		{"second user is the reader", map[string]string{EnvAppUsername: "rates_app,rates_reader"}, EnvAppUsername},
		{"second user listed twice", map[string]string{EnvAppUsername: "rates_app,report_app,report_app"}, EnvAppUsername},
		{"second user is the first's clone", map[string]string{EnvAppUsername: "rates_app,rates_app_clone"}, EnvAppUsername},
		{"second user too long", map[string]string{EnvAppUsername: "rates_app," + strings.Repeat("b", 58)}, EnvAppUsername},
		{"db name too long", map[string]string{EnvDBName: strings.Repeat("d", 64)}, EnvDBName},
		{"bad boolean", map[string]string{EnvDBAllowPlaintext: "yes please"}, EnvDBAllowPlaintext},
		{"bad insecure password auth", map[string]string{EnvDBAllowInsecurePasswordAuth: "md5"}, EnvDBAllowInsecurePasswordAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := LoadConfig(env(tt.over)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one naming %s", err, tt.want)
			}
		})
	}
}

func TestEnvVarsAreRead(t *testing.T) {
	var read []string
	LoadConfig(func(k string) string { read = append(read, k); return "" })
	for _, v := range EnvVars() {
		if !slices.Contains(read, v) {
			t.Errorf("EnvVars lists %s, which LoadConfig never reads", v)
		}
	}
	for _, v := range read {
		if !slices.Contains(EnvVars(), v) {
			t.Errorf("LoadConfig reads %s, which EnvVars does not list", v)
		}
	}
}
