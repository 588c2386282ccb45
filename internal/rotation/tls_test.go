package rotation_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotaudit/rotaudit/internal/lambdakit"
	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/rotation/driver"
	"github.com/rotaudit/rotaudit/internal/rotation/rotationtest"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// tlsFront is a TLS front end for the local PostgreSQL, which has no TLS of its own: it
// answers a client's TLS request with 'S', terminates TLS with a test certificate, and
// relays the session to the real server; a client that starts without TLS is relayed as
// is. It counts both kinds, so a test can prove that no plaintext attempt was made.
type tlsFront struct {
	addr           string
	tlsOK, tlsFail atomic.Int32
	plain          atomic.Int32
}

const sslRequestCode = 80877103

func startTLSFront(t *testing.T, backend string, cert tls.Certificate) *tlsFront {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	f := &tlsFront{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(c, backend, cert)
		}
	}()
	return f
}

func (f *tlsFront) serve(c net.Conn, backend string, cert tls.Certificate) {
	defer c.Close()
	head := make([]byte, 8)
	if _, err := io.ReadFull(c, head); err != nil {
		return
	}
	var client net.Conn = c
	var pre []byte
	if binary.BigEndian.Uint32(head[0:4]) == 8 && binary.BigEndian.Uint32(head[4:8]) == sslRequestCode {
		if _, err := c.Write([]byte{'S'}); err != nil {
			return
		}
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		if err := tc.Handshake(); err != nil {
			f.tlsFail.Add(1)
			return
		}
		f.tlsOK.Add(1)
		client = tc
	} else {
		f.plain.Add(1)
		pre = head
	}
	b, err := net.Dial("tcp", backend)
	if err != nil {
		return
	}
	defer b.Close()
	if _, err := b.Write(pre); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(b, client); done <- struct{}{} }()
	go func() { io.Copy(client, b); done <- struct{}{} }()
	<-done
}

// testCA makes a certificate authority and a server certificate for 127.0.0.1 signed by
// it; it returns the server certificate and the path of the authority's PEM file.
func testCA(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rotaudit test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, path
}

// TestPreferTLSAllowPlaintext: DB_ALLOW_PLAINTEXT=true means "prefer TLS, allow
// plaintext". A server that offers TLS with a certificate DB_CA_BUNDLE verifies gets a
// verified TLS session, and the log says so; one whose certificate does not verify is an
// error with no plaintext attempt at all (no downgrade). A server that refuses TLS is
// covered by TestMasterByNameAndLenientSSL and TestNoSilentTLSDowngrade.
func TestPreferTLSAllowPlaintext(t *testing.T) {
	testenv.Integration(t) // every subtest needs the stack
	cert, caPath := testCA(t)
	_, otherCA := testCA(t)
	for _, tc := range []struct {
		name   string
		bundle string
		ok     bool
	}{{"certificate verifies", caPath, true}, {"certificate from another authority", otherCA, false}} {
		t.Run(tc.name, func(t *testing.T) {
			f := rotationtest.New(t, rotationtest.Options{UserPrefix: "dropin_tls"})
			front := startTLSFront(t, "127.0.0.1:"+strconv.Itoa(f.Env.PGPort), cert)
			_, port, _ := net.SplitHostPort(front.addr)
			cur := f.Get(t, "", "AWSCURRENT")
			cur.SSL = nil
			cur.Port, _ = strconv.Atoi(port)
			body, _ := cur.Marshal()
			putCurrent(t, f, string(body))
			cfg, err := rotation.LoadConfig(rotation.MapEnv(map[string]string{
				rotation.EnvDBAllowPlaintext: "yes", rotation.EnvDBCABundle: tc.bundle,
			}))
			if err != nil {
				t.Fatal(err)
			}
			var logs testenv.Buffer
			r := &rotation.Rotator{SM: f.SM, Dial: rotation.PgxDialer, Config: cfg, Log: lambdakit.NewLogger(&logs)}
			token := f.StartRotation(t)
			err = driver.Run(context.Background(), r, f.SecretARN, token, nil)
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				if front.tlsOK.Load() == 0 || front.plain.Load() != 0 || !strings.Contains(logs.String(), `"tls":true`) {
					t.Fatalf("TLS sessions %d, plaintext %d; log:\n%s", front.tlsOK.Load(), front.plain.Load(), logs.String())
				}
				return
			}
			if !errors.Is(err, rotation.ErrDBTLS) {
				t.Fatalf("err = %v, want ErrDBTLS", err)
			}
			// The front end counts the aborted handshake in its own goroutine: give it a moment.
			for deadline := time.Now().Add(3 * time.Second); front.tlsFail.Load() == 0 && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			if front.plain.Load() != 0 || front.tlsFail.Load() == 0 {
				t.Fatalf("plaintext attempts %d (want 0), failed handshakes %d", front.plain.Load(), front.tlsFail.Load())
			}
			direct := cur
			direct.Port, direct.SSL = f.Env.PGPort, nil
			if !rotationtest.LogsIn(direct) {
				t.Fatal("the database password changed although the certificate did not verify")
			}
		})
	}
}
