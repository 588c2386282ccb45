package rdsca

import (
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

// TestBundleIsAmazonRDSAuthorities: every block is a certificate of an Amazon RDS
// certificate authority, valid today, and the pool holds them all.
func TestBundleIsAmazonRDSAuthorities(t *testing.T) {
	rest := PEM()
	n := 0
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatalf("block %d: %v", n, err)
		}
		if !c.IsCA || !strings.HasPrefix(c.Subject.CommonName, "Amazon RDS") || c.Subject.Organization[0] != "Amazon Web Services, Inc." {
			t.Errorf("block %d: %s is not an Amazon RDS authority", n, c.Subject)
		}
		if time.Now().After(c.NotAfter) {
			t.Errorf("block %d: %s expired %s", n, c.Subject.CommonName, c.NotAfter)
		}
		n++
	}
	if n != 87 || len(strings.TrimSpace(string(rest))) != 0 {
		t.Fatalf("%d certificates and %d bytes of something else, want 87 and none", n, len(rest))
	}
	if got := len(Pool().Subjects()); got != n { //nolint:staticcheck // counting, not trusting
		t.Fatalf("pool holds %d, want %d", got, n)
	}
}

func TestIsRDSHost(t *testing.T) {
	for host, want := range map[string]bool{
		"mydb.c9akciq32.eu-west-1.rds.amazonaws.com":            true,
		"app.cluster-ro-c9akciq32.us-east-1.rds.amazonaws.com.": true,
		"MYDB.C9AKCIQ32.EU-WEST-1.RDS.AMAZONAWS.COM":            true,
		"rds.amazonaws.com":                                     false,
		".rds.amazonaws.com":                                    false,
		"mydb.c9akciq32.cn-north-1.rds.amazonaws.com.cn":        false,
		"rds.amazonaws.com.evil.example":                        false,
		"127.0.0.1":                                             false,
		"db.internal":                                           false,
	} {
		if got := IsRDSHost(host); got != want {
			t.Errorf("IsRDSHost(%q) = %v, want %v", host, got, want)
		}
	}
}
