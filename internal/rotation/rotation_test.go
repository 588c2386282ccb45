package rotation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/rdsca"
)

func TestParseEvent(t *testing.T) {
	files, err := filepath.Glob("testdata/events/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no event fixtures: %v", err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := ParseEvent(data)
			wantOK := strings.HasPrefix(name, "ok-")
			if wantOK && err != nil {
				t.Fatalf("ParseEvent: %v", err)
			}
			if !wantOK {
				if !errors.Is(err, ErrInvalidEvent) {
					t.Fatalf("err = %v, want ErrInvalidEvent", err)
				}
				if strings.Contains(err.Error(), "SECRET-ROTATION-TOKEN") {
					t.Fatalf("error quotes the rotation token: %v", err)
				}
				return
			}
			if ev.SecretID == "" || !slices.Contains(Steps(), ev.Step) {
				t.Fatalf("parsed %+v", ev)
			}
		})
	}
}

func TestEventStringHidesRotationToken(t *testing.T) {
	ev := Event{Step: StepCreate, SecretID: "s", ClientRequestToken: strings.Repeat("a", 36), RotationToken: "SECRET-ROTATION-TOKEN"}
	for _, s := range []string{ev.String(), fmtV(ev)} {
		if strings.Contains(s, "SECRET-ROTATION-TOKEN") {
			t.Fatalf("printed event shows the rotation token: %s", s)
		}
	}
}

func fmtV(ev Event) string { return strings.TrimSpace(ev.String()) }

func TestLoadConfig(t *testing.T) {
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, rdsca.PEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("no certificate here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		check   func(Config) bool
		wantErr string
	}{
		{"defaults", nil, func(c Config) bool {
			return c.Password.Length == 32 && c.Password.ExcludeCharacters == DefaultExcludeCharacters &&
				c.Password.RequireEachIncludedType && c.Strategy == SingleUser && c.TestQuery == "SELECT 1" && !c.AllowPlaintext && !c.AllowInsecurePasswordAuth
		}, ""},
		{"all set", map[string]string{
			"PASSWORD_LENGTH": "48", "EXCLUDE_CHARACTERS": "abc", "EXCLUDE_NUMBERS": "TRUE",
			"EXCLUDE_PUNCTUATION": "true", "REQUIRE_EACH_INCLUDED_TYPE": "false",
			"ROTATION_STRATEGY": "alternating-users", "TEST_QUERY": "SELECT count(*) FROM t",
			"DB_CA_BUNDLE": bundle, "DB_ALLOW_PLAINTEXT": "true", "SECRETS_MANAGER_ENDPOINT": "https://vpce",
			"MASTER_SECRET_ARNS":              fakeMasterARN + ", arn:aws-us-gov:secretsmanager:us-gov-west-1:1:secret:rds!db-1-x2Yz9q",
			"DB_ALLOW_INSECURE_PASSWORD_AUTH": "true",
		}, func(c Config) bool {
			return c.Password.Length == 48 && c.Password.ExcludeCharacters == "abc" && c.Password.ExcludeNumbers &&
				c.Password.ExcludePunctuation && !c.Password.RequireEachIncludedType && c.Strategy == AlternatingUsers &&
				c.TestQuery == "SELECT count(*) FROM t" && c.CABundle == bundle && c.AllowPlaintext &&
				c.AllowInsecurePasswordAuth && c.SecretsManagerEndpoint == "https://vpce" && len(c.MasterSecretARNs) == 2 && c.MasterSecretARNs[0] == fakeMasterARN
		}, ""},
		{"alternating without pinned masters", map[string]string{"ROTATION_STRATEGY": "alternating-users"}, nil, "MASTER_SECRET_ARNS"},
		{"master not a full ARN", map[string]string{"MASTER_SECRET_ARNS": "rotaudit/admin"}, nil, "MASTER_SECRET_ARNS"},
		{"master ARN without its suffix", map[string]string{"MASTER_SECRET_ARNS": "arn:aws:secretsmanager:us-east-1:1:secret:admin"}, nil, "MASTER_SECRET_ARNS"},
		{"length not a number", map[string]string{"PASSWORD_LENGTH": "long"}, nil, "PASSWORD_LENGTH"},
		{"length too short", map[string]string{"PASSWORD_LENGTH": "4"}, nil, "PASSWORD_LENGTH"},
		{"bad bool", map[string]string{"EXCLUDE_NUMBERS": "maybe"}, nil, "EXCLUDE_NUMBERS"},
		{"bad plaintext", map[string]string{"DB_ALLOW_PLAINTEXT": "yes please"}, nil, "DB_ALLOW_PLAINTEXT"},
		{"bad insecure password auth", map[string]string{"DB_ALLOW_INSECURE_PASSWORD_AUTH": "md5"}, nil, "DB_ALLOW_INSECURE_PASSWORD_AUTH"},
		{"bad strategy", map[string]string{"ROTATION_STRATEGY": "multi-user"}, nil, "ROTATION_STRATEGY"},
		{"blank query", map[string]string{"TEST_QUERY": "  "}, nil, "TEST_QUERY"},
		{"nothing left", map[string]string{"EXCLUDE_NUMBERS": "true", "EXCLUDE_PUNCTUATION": "true", "EXCLUDE_UPPERCASE": "true", "EXCLUDE_LOWERCASE": "true"}, nil, "EXCLUDE_LOWERCASE"},
		{"CA bundle missing", map[string]string{"DB_CA_BUNDLE": "/nonexistent/rds.pem"}, nil, "DB_CA_BUNDLE"},
		{"CA bundle not PEM", map[string]string{"DB_CA_BUNDLE": notPEM}, nil, "DB_CA_BUNDLE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadConfig(MapEnv(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Fatalf("config %+v", c)
			}
		})
	}
}

// TestBooleanSettingsAsAWS: AWS's functions read true, 1, y, yes (any case) as true. This
// reads those, and false, 0, n, no as false; anything else is an error (AWS: false).
func TestBooleanSettingsAsAWS(t *testing.T) {
	for _, name := range []string{EnvExcludeNumbers, EnvExcludePunctuation, EnvExcludeUppercase, EnvExcludeLowercase,
		EnvRequireEachIncludedType, EnvDBAllowPlaintext, EnvAllowPrivilegedUsers, EnvCloneMemberOfUser, EnvDBAllowInsecurePasswordAuth} {
		for v, want := range map[string]bool{"true": true, "TRUE": true, "1": true, "y": true, "Y": true, "yes": true, " Yes ": true,
			"false": false, "False": false, "0": false, "n": false, "NO": false} {
			c, err := LoadConfig(MapEnv(map[string]string{name: v}))
			if err != nil {
				t.Fatalf("%s=%q: %v", name, v, err)
			}
			got := map[string]bool{
				EnvExcludeNumbers: c.Password.ExcludeNumbers, EnvExcludePunctuation: c.Password.ExcludePunctuation,
				EnvExcludeUppercase: c.Password.ExcludeUppercase, EnvExcludeLowercase: c.Password.ExcludeLowercase,
				EnvRequireEachIncludedType: c.Password.RequireEachIncludedType, EnvDBAllowPlaintext: c.AllowPlaintext,
				EnvAllowPrivilegedUsers: c.AllowPrivilegedUsers, EnvCloneMemberOfUser: c.CloneMemberOfUser,
				EnvDBAllowInsecurePasswordAuth: c.AllowInsecurePasswordAuth,
			}[name]
			if got != want {
				t.Errorf("%s=%q read as %v, want %v", name, v, got, want)
			}
		}
		for _, bad := range []string{"on", "t", "2", "yes please"} {
			if _, err := LoadConfig(MapEnv(map[string]string{name: bad})); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s=%q: err = %v, want one naming the variable", name, bad, err)
			}
		}
	}
}

// TestExcludeCharactersSetButEmpty: EXCLUDE_CHARACTERS="" means no exclusions (AWS reads
// it with os.environ.get(name, default)); unset means the default list.
func TestExcludeCharactersSetButEmpty(t *testing.T) {
	c, err := LoadConfig(MapEnv(map[string]string{EnvExcludeCharacters: ""}))
	if err != nil || c.Password.ExcludeCharacters != "" {
		t.Fatalf("set but empty: %q %v, want no exclusions", c.Password.ExcludeCharacters, err)
	}
	c, err = LoadConfig(MapEnv(nil))
	if err != nil || c.Password.ExcludeCharacters != DefaultExcludeCharacters {
		t.Fatalf("unset: %q %v, want the default", c.Password.ExcludeCharacters, err)
	}
	// Set but empty, nothing is excluded: over many passwords the default's characters show up.
	r := &Rotator{Config: Config{Password: PasswordPolicy{Length: 64}}}
	cur, _ := dbsecret.Parse([]byte(`{"engine":"postgres","host":"h","username":"u","password":"p"}`))
	seen := ""
	for range 50 {
		next, err := r.NewPending(context.Background(), cur, fakeToken)
		if err != nil {
			t.Fatal(err)
		}
		seen += next.Password
	}
	if !strings.ContainsAny(seen, DefaultExcludeCharacters) {
		t.Fatalf("EXCLUDE_CHARACTERS=\"\" drew none of %q in 3200 characters: they were excluded", DefaultExcludeCharacters)
	}
}

func TestEnvVarsCoversEverythingRead(t *testing.T) {
	read := map[string]bool{}
	LoadConfig(func(k string) (string, bool) { read[k] = true; return "", false })
	vars := EnvVars()
	for k := range read {
		if !slices.Contains(vars, k) {
			t.Errorf("LoadConfig reads %s, EnvVars does not list it", k)
		}
	}
	for _, k := range vars {
		if !read[k] {
			t.Errorf("EnvVars lists %s, LoadConfig does not read it", k)
		}
	}
}

func TestPartner(t *testing.T) {
	tests := []struct{ in, want, wantErr string }{
		{"app", "app_clone", ""},
		{"app_clone", "app", ""},
		{"_clone", "_clone_clone", ""},
		{`a "b"; é`, `a "b"; é_clone`, ""},
		{strings.Repeat("x", 57), strings.Repeat("x", 57) + "_clone", ""},
		{strings.Repeat("x", 58), "", "over PostgreSQL's 63"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Partner(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalidSecret) {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Partner = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestConnOptionsNeverDowngrade(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name      string
		ssl       *bool
		plaintext bool
		want      string
		fallback  bool
	}{
		{"default is verify-full", nil, false, "verify-full", false},
		{"secret asks for TLS", &yes, true, "verify-full", false},
		{"secret says no TLS", &no, false, "disable", false},
		{"environment prefers TLS, allows plaintext", nil, true, "verify-full", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{AllowPlaintext: tt.plaintext, CABundle: "/ca.pem"}
			s := dbsecret.Secret{SSL: tt.ssl}
			o := c.ConnOptions(s)
			wantRoot := "/ca.pem"
			if tt.want == "disable" {
				wantRoot = ""
			}
			if o.SSLMode != tt.want || o.RootCert != wantRoot || o.ConnectTimeout != ConnectTimeout || c.PlaintextFallback(s) != tt.fallback {
				t.Fatalf("options %+v fallback %v, want sslmode %s fallback %v", o, c.PlaintextFallback(s), tt.want, tt.fallback)
			}
		})
	}
}

// TestRDSEndpointsUseTheEmbeddedBundle: with no DB_CA_BUNDLE, an RDS or Aurora endpoint is
// verified with the embedded RDS authorities, any other host with the system roots;
// DB_CA_BUNDLE overrides both.
func TestRDSEndpointsUseTheEmbeddedBundle(t *testing.T) {
	rds := dbsecret.Secret{Engine: "aurora-postgresql", Host: "app.cluster-c9akciq32.eu-west-1.rds.amazonaws.com", Port: 5432, Username: "u", DBName: "d"}
	if o := (Config{}).ConnOptions(rds); o.SSLMode != "verify-full" || o.RootCAs != rdsca.Pool() || o.RootCert != "" {
		t.Fatalf("RDS endpoint: %+v", o)
	}
	if o := (Config{}).ConnOptions(dbsecret.Secret{Host: "db.internal"}); o.RootCAs != nil || o.RootCert != "" {
		t.Fatalf("other host: %+v", o)
	}
	if o := (Config{CABundle: "/mine.pem"}).ConnOptions(rds); o.RootCAs != nil || o.RootCert != "/mine.pem" {
		t.Fatalf("DB_CA_BUNDLE does not override: %+v", o)
	}
	cfg, err := rds.ConnConfig((Config{}).ConnOptions(rds))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TLSConfig == nil || cfg.TLSConfig.RootCAs != rdsca.Pool() || cfg.TLSConfig.ServerName != rds.Host || len(cfg.Fallbacks) != 0 {
		t.Fatalf("pgx config does not verify against the RDS bundle: %+v", cfg.TLSConfig)
	}
}

// fakeSM is a Secrets Manager with the semantics of AWS for the five calls: versions with
// labels, and ResourceExistsException for a second put of a different value.
type fakeSM struct {
	mu      sync.Mutex
	values  map[string]string
	stages  map[string][]string
	enabled bool
	puts    int
}

func newFakeSM(current string) *fakeSM {
	return &fakeSM{
		values:  map[string]string{"v1": current},
		stages:  map[string][]string{"v1": {StageCurrent}, "tok-" + strings.Repeat("0", 32): {StagePending}},
		enabled: true,
	}
}

const fakeToken = "tok-00000000000000000000000000000000"

func (f *fakeSM) DescribeSecret(_ context.Context, in *sm.DescribeSecretInput, _ ...func(*sm.Options)) (*sm.DescribeSecretOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := map[string][]string{}
	for k, v := range f.stages {
		st[k] = slices.Clone(v)
	}
	return &sm.DescribeSecretOutput{ARN: aws.String("arn:aws:secretsmanager:us-east-1:1:secret:x"), RotationEnabled: aws.Bool(f.enabled), VersionIdsToStages: st}, nil
}

func (f *fakeSM) GetSecretValue(_ context.Context, in *sm.GetSecretValueInput, _ ...func(*sm.Options)) (*sm.GetSecretValueOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if aws.ToString(in.SecretId) == fakeMasterARN {
		return &sm.GetSecretValueOutput{SecretString: aws.String(masterJSON), ARN: in.SecretId}, nil
	}
	for v, st := range f.stages {
		if in.VersionId != nil && *in.VersionId != v {
			continue
		}
		if slices.Contains(st, aws.ToString(in.VersionStage)) {
			val, ok := f.values[v]
			if !ok {
				return nil, &smtypes.ResourceNotFoundException{Message: aws.String("no value")}
			}
			return &sm.GetSecretValueOutput{SecretString: aws.String(val), VersionId: aws.String(v), ARN: in.SecretId}, nil
		}
	}
	return nil, &smtypes.ResourceNotFoundException{Message: aws.String("no such version")}
}

func (f *fakeSM) PutSecretValue(_ context.Context, in *sm.PutSecretValueInput, _ ...func(*sm.Options)) (*sm.PutSecretValueOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.puts++
	v := aws.ToString(in.ClientRequestToken)
	if old, ok := f.values[v]; ok {
		if old != aws.ToString(in.SecretString) {
			return nil, &smtypes.ResourceExistsException{Message: aws.String("exists")}
		}
		return &sm.PutSecretValueOutput{}, nil
	}
	f.values[v] = aws.ToString(in.SecretString)
	f.stages[v] = in.VersionStages
	return &sm.PutSecretValueOutput{}, nil
}

func (f *fakeSM) UpdateSecretVersionStage(_ context.Context, in *sm.UpdateSecretVersionStageInput, _ ...func(*sm.Options)) (*sm.UpdateSecretVersionStageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	label := aws.ToString(in.VersionStage)
	if from := aws.ToString(in.RemoveFromVersionId); from != "" {
		if !slices.Contains(f.stages[from], label) {
			return nil, &smtypes.InvalidParameterException{Message: aws.String("label not on version")}
		}
		f.stages[from] = slices.DeleteFunc(f.stages[from], func(s string) bool { return s == label })
		if label == StageCurrent {
			for v := range f.stages {
				f.stages[v] = slices.DeleteFunc(f.stages[v], func(s string) bool { return s == StagePrevious })
			}
			f.stages[from] = append(f.stages[from], StagePrevious)
		}
	}
	if to := aws.ToString(in.MoveToVersionId); to != "" {
		f.stages[to] = append(f.stages[to], label)
	}
	return &sm.UpdateSecretVersionStageOutput{}, nil
}

const currentJSON = `{"engine":"postgres","host":"db","port":5432,"username":"app","password":"old-pass","dbname":"rates","ssl":false,"masterarn":"arn:aws:secretsmanager:us-east-1:1:secret:m-AbCdEf","extra":{"a":1}}`

// fakeMasterARN is the master secret currentJSON names; fakeSM answers it with masterJSON.
const fakeMasterARN = "arn:aws:secretsmanager:us-east-1:1:secret:m-AbCdEf"

const masterJSON = `{"engine":"postgres","host":"db","port":5432,"username":"master","password":"master-pass","dbname":"postgres","ssl":false}`

func noDB(context.Context, *pgx.ConnConfig) (DB, error) {
	return nil, errors.New("unit tests have no database")
}

func TestCreateSecretIsIdempotent(t *testing.T) {
	for _, strategy := range []Strategy{SingleUser, AlternatingUsers} {
		t.Run(string(strategy), func(t *testing.T) {
			f := newFakeSM(currentJSON)
			r := &Rotator{SM: f, Dial: newFakeCluster().dial, Config: Config{Strategy: strategy, Password: PasswordPolicy{Length: 32}, MasterSecretARNs: []string{fakeMasterARN}}}
			ev := Event{Step: StepCreate, SecretID: "x", ClientRequestToken: fakeToken}
			for i := 0; i < 3; i++ {
				if err := r.Handle(context.Background(), ev); err != nil {
					t.Fatalf("createSecret #%d: %v", i+1, err)
				}
			}
			if f.puts != 1 {
				t.Fatalf("PutSecretValue called %d times for one token, want 1", f.puts)
			}
			p, err := dbsecret.Parse([]byte(f.values[fakeToken]))
			if err != nil {
				t.Fatal(err)
			}
			want := "app"
			if strategy == AlternatingUsers {
				want = "app_clone"
			}
			if p.Username != want || p.Password == "old-pass" {
				t.Fatalf("pending %v", p)
			}
			if x, ok := p.Extra("extra"); !ok || string(x) != `{"a":1}` {
				t.Fatalf("unknown key not kept: %s", x)
			}
		})
	}
}

func TestCreateSecretRaceKeepsStoredValue(t *testing.T) {
	f := newFakeSM(currentJSON)
	r := &Rotator{SM: f, Dial: noDB, Config: Config{Password: PasswordPolicy{Length: 32}}}
	// A twin stored its value between this call's read and its put.
	twin := `{"engine":"postgres","host":"db","port":5432,"username":"app","password":"twin","dbname":"rates"}`
	next, _ := dbsecret.Parse([]byte(currentJSON))
	f.values[fakeToken] = twin
	if err := r.putPending(context.Background(), "x", fakeToken, "", next); err != nil {
		t.Fatalf("put after a twin's put: %v", err)
	}
	if f.values[fakeToken] != twin {
		t.Fatal("the twin's value was replaced")
	}
}

func TestStepChecks(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*fakeSM)
		step    string
		token   string
		wantErr error
		wantMsg string
	}{
		{"rotation disabled", func(f *fakeSM) { f.enabled = false }, StepCreate, fakeToken, ErrRotationDisabled, "enable rotation"},
		{"unknown token", nil, StepSet, strings.Repeat("9", 36), ErrNotPending, "not a version"},
		{"token not pending", func(f *fakeSM) {
			f.stages["other-version-000000000000000000000"] = []string{StagePending}
			f.stages[fakeToken] = nil
		}, StepTest, fakeToken, ErrNotPending, "other-version-000000000000000000000 holds AWSPENDING"},
		{"current is malformed", func(f *fakeSM) { f.values["v1"] = `{"engine":"mysql"}` }, StepCreate, fakeToken, ErrInvalidSecret, `"engine"`},
		{"pending on another host", func(f *fakeSM) {
			f.values[fakeToken] = strings.Replace(currentJSON, `"host":"db"`, `"host":"elsewhere"`, 1)
		}, StepSet, fakeToken, ErrInvalidSecret, "never moves a secret to another server"},
		{"pending with another user", func(f *fakeSM) {
			f.values[fakeToken] = strings.Replace(currentJSON, `"username":"app"`, `"username":"intruder"`, 1)
		}, StepSet, fakeToken, ErrInvalidSecret, `username "intruder", want "app"`},
		{"alternating without masterarn", func(f *fakeSM) {
			f.values["v1"] = strings.Replace(currentJSON, `"masterarn"`, `"x"`, 1)
		}, StepCreate, fakeToken, ErrInvalidSecret, "masterarn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSM(currentJSON)
			if tt.mutate != nil {
				tt.mutate(f)
			}
			strategy := SingleUser
			if strings.HasPrefix(tt.name, "alternating") {
				strategy = AlternatingUsers
			}
			r := &Rotator{SM: f, Dial: newFakeCluster().dial, Config: Config{Strategy: strategy, Password: PasswordPolicy{Length: 32}, MasterSecretARNs: []string{fakeMasterARN}}}
			err := r.Handle(context.Background(), Event{Step: tt.step, SecretID: "x", ClientRequestToken: tt.token})
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tt.wantErr, tt.wantMsg)
			}
			if f.puts != 0 {
				t.Fatal("a failed check still wrote to Secrets Manager")
			}
		})
	}
}

func TestFinishSecretIdempotent(t *testing.T) {
	f := newFakeSM(currentJSON)
	f.values[fakeToken] = currentJSON
	var logs bytes.Buffer
	var metered []string
	meter := meterFunc(func(_ context.Context, step string, _ time.Duration, failed bool) {
		metered = append(metered, fmt.Sprintf("%s failed=%t", step, failed))
	})
	r := &Rotator{SM: f, Dial: noDB, Log: slog.New(slog.NewJSONHandler(&logs, nil)), Metrics: meter}
	ev := Event{Step: StepFinish, SecretID: "x", ClientRequestToken: fakeToken, RotationToken: "SECRET-ROTATION-TOKEN"}
	for i := 0; i < 3; i++ {
		if err := r.Handle(context.Background(), ev); err != nil {
			t.Fatalf("finishSecret #%d: %v", i+1, err)
		}
	}
	if !slices.Equal(f.stages[fakeToken], []string{StageCurrent}) || !slices.Equal(f.stages["v1"], []string{StagePrevious}) {
		t.Fatalf("stages %v", f.stages)
	}
	// A finish that died between the move and the clear: AWSPENDING still on the current.
	f.stages[fakeToken] = append(f.stages[fakeToken], StagePending)
	if err := r.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(f.stages[fakeToken], StagePending) {
		t.Fatal("AWSPENDING left on the current version")
	}
	out := logs.String()
	if strings.Contains(out, "SECRET-ROTATION-TOKEN") || strings.Contains(out, "old-pass") {
		t.Fatalf("log shows a secret:\n%s", out)
	}
	for _, want := range []string{`"secret_arn":"arn:aws:secretsmanager`, `"step":"finishSecret"`, `"duration_ms":`, `"outcome":"skipped"`, `"outcome":"done"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	if want := slices.Repeat([]string{"finishSecret failed=false"}, 4); !slices.Equal(metered, want) {
		t.Errorf("metered %q, want %q", metered, want)
	}
}

// meterFunc is a Meter that calls itself.
type meterFunc func(ctx context.Context, step string, d time.Duration, failed bool)

func (f meterFunc) Step(ctx context.Context, step string, d time.Duration, failed bool) {
	f(ctx, step, d, failed)
}

func FuzzParseEvent(f *testing.F) {
	files, _ := filepath.Glob("testdata/events/*.json")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := ParseEvent(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("error does not wrap ErrInvalidEvent: %v", err)
			}
			return
		}
		if ev.Validate() != nil || ev.SecretID == "" || len(ev.ClientRequestToken) < 32 {
			t.Fatalf("accepted an invalid event %+v", ev)
		}
	})
}
