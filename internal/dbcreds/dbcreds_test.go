package dbcreds

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
)

// fakeSM answers GetSecretValue with what get returns and counts the calls.
type fakeSM struct {
	calls atomic.Int64
	get   func(in *secretsmanager.GetSecretValueInput) (*secretsmanager.GetSecretValueOutput, error)
}

func (f *fakeSM) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls.Add(1)
	return f.get(in)
}

func secretJSON(user, pw string) string {
	return fmt.Sprintf(`{"engine":"postgres","host":"db.example","port":5432,"username":%q,"password":%q,"dbname":"rates","ssl":false}`, user, pw)
}

// versioned serves a secret whose value and version the test can change.
type versioned struct {
	mu      sync.Mutex
	value   string
	version string
	err     error
	delay   time.Duration
}

func (v *versioned) set(value, version string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.value, v.version = value, version
}

func (v *versioned) fail(err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.err = err
}

func (v *versioned) sm(t *testing.T) *fakeSM {
	return &fakeSM{get: func(in *secretsmanager.GetSecretValueInput) (*secretsmanager.GetSecretValueOutput, error) {
		if aws.ToString(in.VersionStage) != "AWSCURRENT" {
			t.Errorf("GetSecretValue without VersionStage AWSCURRENT: %q", aws.ToString(in.VersionStage))
		}
		v.mu.Lock()
		value, version, err, delay := v.value, v.version, v.err, v.delay
		v.mu.Unlock()
		time.Sleep(delay)
		if err != nil {
			return nil, err
		}
		return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(value), VersionId: aws.String(version), ARN: aws.String("arn:aws:secretsmanager:us-east-1:1:secret:x")}, nil
	}}
}

func logTo(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(&lockedWriter{w: buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name   string
		get    func(*secretsmanager.GetSecretValueInput) (*secretsmanager.GetSecretValueOutput, error)
		wantIs error
		want   string
	}{
		{"not found", func(*secretsmanager.GetSecretValueInput) (*secretsmanager.GetSecretValueOutput, error) {
			return nil, &smtypes.ResourceNotFoundException{Message: aws.String("no")}
		}, ErrSecretNotFound, `secret "s"`},
		{"binary", func(*secretsmanager.GetSecretValueInput) (*secretsmanager.GetSecretValueOutput, error) {
			return &secretsmanager.GetSecretValueOutput{SecretBinary: []byte{1}}, nil
		}, dbsecret.ErrInvalid, "no SecretString"},
		{"missing key", func(*secretsmanager.GetSecretValueInput) (*secretsmanager.GetSecretValueOutput, error) {
			return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(`{"engine":"postgres","host":"h","password":"p"}`)}, nil
		}, dbsecret.ErrInvalid, `"username" is missing`},
		{"unreachable", func(*secretsmanager.GetSecretValueInput) (*secretsmanager.GetSecretValueOutput, error) {
			return nil, errors.New("dial tcp: connection refused")
		}, nil, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(context.Background(), &fakeSM{get: tt.get}, Options{SecretID: "s"})
			if err == nil || tt.wantIs != nil && !errors.Is(err, tt.wantIs) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %v containing %q", err, tt.wantIs, tt.want)
			}
		})
	}
	if _, err := New(context.Background(), &fakeSM{}, Options{}); err == nil {
		t.Fatal("empty secret id accepted")
	}
}

func TestSSLMode(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		configured string
		ssl        *bool
		want       string
		wantErr    bool
	}{
		{"", nil, "verify-full", false},
		{"", &yes, "verify-full", false},
		{"", &no, "disable", false},
		{"disable", nil, "disable", false},
		{"disable", &yes, "", true},
		{"require", &no, "require", false},
		{"verify-ca", nil, "verify-ca", false},
		{"prefer", nil, "", true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%v", tt.configured, tt.ssl != nil && *tt.ssl), func(t *testing.T) {
			got, err := SSLMode(tt.configured, dbsecret.Secret{SSL: tt.ssl})
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
}

func TestRejectedLoginsShareOneFetch(t *testing.T) {
	v := &versioned{value: secretJSON("app", "old"), version: "v1"}
	sm := v.sm(t)
	c, err := New(context.Background(), sm, Options{SecretID: "s", MinBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rejected := c.Current()
	v.set(secretJSON("app", "new"), "v2")
	v.mu.Lock()
	v.delay = 50 * time.Millisecond
	v.mu.Unlock()
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cr, err := c.RefreshAfterReject(context.Background(), rejected)
			if err != nil || cr.VersionID != "v2" || cr.Config.Password != "new" {
				t.Errorf("got %v %v", cr.VersionID, err)
			}
		}()
	}
	wg.Wait()
	if n := sm.calls.Load(); n != 2 { // New's fetch and one refresh
		t.Fatalf("%d GetSecretValue calls, want 2", n)
	}
	// A caller that saw the old value after the refresh gets the new one without a fetch.
	if cr, _ := c.RefreshAfterReject(context.Background(), rejected); cr.VersionID != "v2" || sm.calls.Load() != 2 {
		t.Fatalf("stale rejection refetched: %d calls", sm.calls.Load())
	}
}

func TestRejectionsBackOff(t *testing.T) {
	v := &versioned{value: secretJSON("app", "old"), version: "v1"}
	sm := v.sm(t)
	c, err := New(context.Background(), sm, Options{SecretID: "s", MinBackoff: 20 * time.Millisecond, MaxBackoff: 80 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// The password changed in the database, the secret not yet: every refresh finds v1.
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) {
		c.RefreshAfterReject(context.Background(), c.Current())
	}
	// Waits 20, 40, 80, 80, ... ms: about 8 fetches in 500ms; without backoff thousands. A
	// loaded machine delays timers, so only the upper bound is tight.
	if n := sm.calls.Load(); n < 2 || n > 12 {
		t.Fatalf("%d fetches in 500ms, want between 2 and 12", n)
	}
	v.set(secretJSON("app", "new"), "v2")
	cr, err := c.RefreshAfterReject(context.Background(), c.Current())
	if err != nil || cr.VersionID != "v2" {
		t.Fatalf("after the secret changed: %v %v", cr.VersionID, err)
	}
	c.mu.Lock()
	b := c.backoff
	c.mu.Unlock()
	if b != 20*time.Millisecond {
		t.Fatalf("backoff %s not reset after a new version", b)
	}
}

func TestUnreachableKeepsLastGoodValue(t *testing.T) {
	v := &versioned{value: secretJSON("app", "pw-SECRET-1"), version: "v1"}
	var logs bytes.Buffer
	c, err := New(context.Background(), v.sm(t), Options{SecretID: "s", Log: logTo(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	v.fail(errors.New("dial tcp 10.0.0.1:443: i/o timeout"))
	cr, err := c.Refresh(context.Background())
	if err == nil {
		t.Fatal("want the fetch error")
	}
	if cr.Config.Password != "pw-SECRET-1" || c.Current().Config.Password != "pw-SECRET-1" {
		t.Fatal("lost the last good value")
	}
	out := logs.String()
	if !strings.Contains(out, "serving the last good value") || !strings.Contains(out, "i/o timeout") {
		t.Fatalf("log does not say so: %s", out)
	}
	if strings.Contains(out, "pw-SECRET-1") {
		t.Fatalf("log holds the password: %s", out)
	}
}

func TestRunRefreshesBeforeTTL(t *testing.T) {
	v := &versioned{value: secretJSON("app", "one"), version: "v1"}
	sm := v.sm(t)
	c, err := New(context.Background(), sm, Options{SecretID: "s", TTL: 40 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	v.set(secretJSON("app", "two"), "v2")
	deadline := time.Now().Add(2 * time.Second)
	for c.Current().VersionID != "v2" {
		if time.Now().After(deadline) {
			t.Fatal("background refresh never picked up v2")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}

func TestBeforeConnectUsesCurrentValue(t *testing.T) {
	v := &versioned{value: secretJSON("app", "one"), version: "v1"}
	c, err := New(context.Background(), v.sm(t), Options{SecretID: "s", ApplicationName: "x"})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := c.PoolConfig(PoolOptions{MaxConns: 3, MaxConnLifetime: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if pc.MaxConns != 3 || pc.MaxConnLifetime != time.Minute || pc.MaxConnLifetimeJitter == 0 || pc.BeforeConnect == nil {
		t.Fatalf("pool config: %+v", pc)
	}
	v.set(`{"engine":"postgres","host":"other.example","port":6432,"username":"app2","password":"two","dbname":"d2","ssl":false}`, "v2")
	if _, err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg := pc.ConnConfig.Copy()
	if err := pc.BeforeConnect(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.User != "app2" || cfg.Password != "two" || cfg.Host != "other.example" || cfg.Port != 6432 || cfg.Database != "d2" || cfg.TLSConfig != nil {
		t.Fatalf("BeforeConnect left %s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
	}
}

func TestDoRetriesOnlyRejectedLogins(t *testing.T) {
	authErr := fmt.Errorf("acquire: %w", &pgconn.PgError{Code: "28P01", Message: "password authentication failed"})
	tests := []struct {
		name      string
		errs      []error
		wantCalls int
		wantErr   bool
	}{
		{"ok", []error{nil}, 1, false},
		{"rejected then ok", []error{authErr, nil}, 2, false},
		{"role gone then ok", []error{&pgconn.PgError{Code: "28000"}, authErr, nil}, 3, false},
		{"query error is not retried", []error{&pgconn.PgError{Code: "42P01"}}, 1, true},
		{"other error is not retried", []error{pgx.ErrNoRows}, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &versioned{value: secretJSON("app", "one"), version: "v1"}
			c, err := New(context.Background(), v.sm(t), Options{SecretID: "s", MinBackoff: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			calls := 0
			err = c.Do(context.Background(), func(context.Context) error {
				e := tt.errs[min(calls, len(tt.errs)-1)]
				calls++
				return e
			})
			if calls != tt.wantCalls || (err != nil) != tt.wantErr {
				t.Fatalf("%d calls, err %v", calls, err)
			}
		})
	}
	t.Run("gives up when the context ends", func(t *testing.T) {
		v := &versioned{value: secretJSON("app", "one"), version: "v1"}
		c, _ := New(context.Background(), v.sm(t), Options{SecretID: "s", MinBackoff: 10 * time.Millisecond})
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		err := c.Do(ctx, func(context.Context) error { return authErr })
		if !IsAuthFailure(err) {
			t.Fatalf("want the rejection back, got %v", err)
		}
	})
}

func TestIsAuthFailure(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "28P01"}, true},
		{fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "28000"}), true},
		{&pgconn.PgError{Code: "57P01"}, false},
		{errors.New("28P01"), false},
		{nil, false},
	} {
		if got := IsAuthFailure(tt.err); got != tt.want {
			t.Errorf("IsAuthFailure(%v) = %v", tt.err, got)
		}
	}
}
