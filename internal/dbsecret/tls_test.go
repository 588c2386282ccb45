package dbsecret

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"testing"

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
