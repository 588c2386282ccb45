package dbsecret

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/rdsca"
)

func TestTLSPolicyConnOptions(t *testing.T) {
	yes, no := true, false
	rdsHost := "app.cluster-c9akciq32.eu-west-1.rds.amazonaws.com"
	tests := []struct {
		name     string
		p        TLSPolicy
		s        Secret
		want     ConnOptions
		fallback bool
		rdsRoots bool
	}{
		{"ssl open, plaintext not allowed", TLSPolicy{CABundle: "/ca.pem"}, Secret{Host: "db"}, ConnOptions{SSLMode: "verify-full", RootCert: "/ca.pem"}, false, false},
		{"ssl open, plaintext allowed: TLS first", TLSPolicy{AllowPlaintext: true}, Secret{Host: "db"}, ConnOptions{SSLMode: "verify-full"}, true, false},
		{"ssl true never falls back", TLSPolicy{AllowPlaintext: true}, Secret{Host: "db", SSL: &yes}, ConnOptions{SSLMode: "verify-full"}, false, false},
		{"ssl false", TLSPolicy{CABundle: "/ca.pem", AllowPlaintext: true}, Secret{Host: "db", SSL: &no}, ConnOptions{SSLMode: "disable"}, false, false},
		{"RDS endpoint without a bundle", TLSPolicy{}, Secret{Host: rdsHost}, ConnOptions{SSLMode: "verify-full"}, false, true},
		{"RDS endpoint with a bundle", TLSPolicy{CABundle: "/mine.pem"}, Secret{Host: rdsHost}, ConnOptions{SSLMode: "verify-full", RootCert: "/mine.pem"}, false, false},
		{"insecure password auth carried, with TLS", TLSPolicy{AllowInsecurePasswordAuth: true}, Secret{Host: "db"}, ConnOptions{SSLMode: "verify-full", AllowInsecurePasswordAuth: true}, false, false},
		{"insecure password auth carried, without TLS", TLSPolicy{AllowInsecurePasswordAuth: true}, Secret{Host: "db", SSL: &no}, ConnOptions{SSLMode: "disable", AllowInsecurePasswordAuth: true}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.p.ConnOptions(tt.s)
			if tt.rdsRoots != (o.RootCAs == rdsca.Pool()) || (!tt.rdsRoots && o.RootCAs != nil) {
				t.Fatalf("RootCAs %v, want the RDS pool: %v", o.RootCAs, tt.rdsRoots)
			}
			o.RootCAs = nil
			if o != tt.want || tt.p.PlaintextFallback(tt.s) != tt.fallback {
				t.Fatalf("options %+v fallback %v, want %+v fallback %v", o, tt.p.PlaintextFallback(tt.s), tt.want, tt.fallback)
			}
		})
	}
}

// refusingServer answers every TLS request with PostgreSQL's "no TLS here" ('N').
func refusingServer(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				head := make([]byte, 8)
				if _, err := io.ReadFull(c, head); err == nil {
					c.Write([]byte("N"))
				}
				io.Copy(io.Discard, c)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestConnect(t *testing.T) {
	port := refusingServer(t)
	s := Secret{Host: "127.0.0.1", Port: port, Username: "u", Password: "p", DBName: "d"}
	certErr := errors.New("tls: failed to verify certificate: x509: certificate signed by unknown authority")
	tests := []struct {
		name      string
		first     ConnOptions
		fallback  bool
		firstErr  error // nil: dial the refusing server
		wantModes []string
		wantTLS   bool
		wantErr   bool
	}{
		{"refused, fallback allowed: plaintext", ConnOptions{SSLMode: "verify-full", RootCAs: rdsca.Pool()}, true, nil, []string{"verify-full", "disable"}, false, false},
		{"refused, no fallback: error", ConnOptions{SSLMode: "verify-full"}, false, nil, []string{"verify-full"}, false, true},
		{"failed certificate check never falls back", ConnOptions{SSLMode: "verify-full"}, true, certErr, []string{"verify-full"}, false, true},
		{"plaintext asked for", ConnOptions{SSLMode: "disable"}, false, nil, []string{"disable"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var modes []string
			_, tls, err := Connect(context.Background(), tt.first, tt.fallback, func(ctx context.Context, o ConnOptions) (string, error) {
				modes = append(modes, o.SSLMode)
				if o.SSLMode == "disable" {
					if o.RootCert != "" || o.RootCAs != nil {
						t.Errorf("plaintext attempt keeps TLS settings: %+v", o)
					}
					return "conn", nil
				}
				if tt.firstErr != nil {
					return "", tt.firstErr
				}
				cfg, err := s.ConnConfig(o)
				if err != nil {
					t.Fatal(err)
				}
				c, err := pgx.ConnectConfig(ctx, cfg)
				if err == nil {
					c.Close(ctx)
					t.Fatal("the refusing server accepted TLS")
				}
				return "", err
			})
			if (err != nil) != tt.wantErr || tls != tt.wantTLS || !slices.Equal(modes, tt.wantModes) {
				t.Fatalf("modes %v tls %v err %v; want modes %v tls %v error %v", modes, tls, err, tt.wantModes, tt.wantTLS, tt.wantErr)
			}
		})
	}
}

// TestConnectRetriesATimedOutLogin: a login that ran out of the connect timeout is made
// once more, TLS fallback and all, when ctx has the time for another; a refusal, a second
// timeout or a deadline too near is not retried.
func TestConnectRetriesATimedOutLogin(t *testing.T) {
	timeout := fmt.Errorf("failed to connect: %w", context.DeadlineExceeded)
	refused := errors.New("password authentication failed")
	for _, tt := range []struct {
		name      string
		errs      []error // the dials' answers in turn; past the end, a connection
		budget    time.Duration
		wantDials int
		wantErr   error
	}{
		{"one timeout", []error{timeout}, 0, 2, nil},
		{"one timeout, time for another", []error{timeout}, 10 * time.Second, 2, nil},
		{"two timeouts", []error{timeout, timeout}, 0, 2, context.DeadlineExceeded},
		{"a refusal", []error{refused}, 0, 1, refused},
		{"no time for another", []error{timeout}, 5 * time.Second, 1, context.DeadlineExceeded},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.budget > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.budget)
				defer cancel()
			}
			var logs bytes.Buffer
			dials := 0
			_, _, err := Connect(ctx, ConnOptions{SSLMode: "disable", Log: slog.New(slog.NewTextHandler(&logs, nil))}, false,
				func(ctx context.Context, o ConnOptions) (string, error) {
					dials++
					if dials <= len(tt.errs) {
						return "", tt.errs[dials-1]
					}
					return "conn", nil
				})
			if dials != tt.wantDials || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("%d dials, err %v; want %d dials, err %v", dials, err, tt.wantDials, tt.wantErr)
			}
			if retried := strings.Contains(logs.String(), "trying once more"); retried != (tt.wantDials == 2) {
				t.Errorf("the retry logged: %v, want %v:\n%s", retried, tt.wantDials == 2, logs.String())
			}
		})
	}
}
