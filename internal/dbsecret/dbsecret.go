// Package dbsecret reads and writes the JSON document that AWS Secrets Manager uses for
// database credentials (the format of RDS secrets and of AWS's rotation functions):
//
//	{"engine":"postgres","host":"...","port":5432,"username":"...","password":"...",
//	 "dbname":"...","ssl":true,"masterarn":"arn:aws:secretsmanager:..."}
//
// Parsing is strict about the keys it knows and keeps every other key verbatim, so a
// rotation that rewrites the password never drops what the owner stored beside it.
// A Secret never prints its password: String, GoString and LogValue redact it.
//
// It also holds the rules every program that logs in with a secret follows (the rotator,
// the first deployment's bootstrap, the API's credential cache), so that each exists once:
// TLSPolicy for TLS, and, in ConnConfig, which ways of proving the password the client
// answers: SCRAM-SHA-256 only, by default. PostgreSQL lets the server choose the method,
// and pgx, like libpq, answers whatever it is asked: a server that asks for "password"
// receives the password in clear, one that asks for "md5" a hash salted as it chooses,
// which it can relay to the real server to log in, or crack offline. The server is
// whatever the secret's host names, so a wrong or tampered host, or a spoofed one where TLS
// is off, would collect the credentials of every login. SCRAM proves the password without
// revealing it. ConnConfig therefore reads the server's messages until the login is over
// (auth.go) and fails the connection with ErrInsecureAuth, before pgx can answer, when the
// server asks for anything else. ConnOptions.AllowInsecurePasswordAuth (the variable
// DB_ALLOW_INSECURE_PASSWORD_AUTH in each program) lets cleartext and MD5 through, with a
// warning per connection. A server that asks for nothing (trust) gets nothing and is
// accepted.
package dbsecret

import (
	"bytes"
	"cmp"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrInvalid is wrapped by every error that Parse returns for a malformed document.
var ErrInvalid = errors.New("invalid database secret")

// DefaultPort and DefaultDBName apply when the secret leaves port or dbname out, as AWS's
// rotation functions do.
const (
	DefaultPort   = 5432
	DefaultDBName = "postgres"
)

// Engines lists the values accepted in the engine key.
var engines = map[string]bool{"postgres": true, "aurora-postgresql": true}

// Secret is one version of a database secret.
type Secret struct {
	Engine   string
	Host     string
	Port     int
	Username string
	Password string
	DBName   string
	// SSL is nil when the key is absent or holds what AWS's functions read as "try TLS"
	// (a value other than a boolean or the strings "true"/"false", such as "yes" or 1);
	// otherwise what the owner asked for.
	SSL *bool
	// MasterARN names the secret of the user that rotates this one (alternating users):
	// an ARN or a secret name, as GetSecretValue accepts either.
	MasterARN string

	// doc is the document as parsed: key order and raw values, so that Marshal writes
	// back what the owner wrote, changing only what the rotation changed.
	doc *document
}

// document remembers a parsed secret: every key in the order written (the first position
// of a repeated key, with its last value, as Python's json module keeps it), each raw
// value, and the values Parse read from the known keys.
type document struct {
	order  []string
	raw    map[string]json.RawMessage
	parsed Secret
}

// known lists the keys Parse interprets, in the order Marshal writes them for a secret
// built in code; anything else is kept verbatim.
var known = []string{"engine", "host", "port", "username", "password", "dbname", "ssl", "masterarn"}

func isKnown(k string) bool { return slices.Contains(known, k) }

// Parse decodes and validates a secret string. Errors wrap ErrInvalid and name the key;
// they never contain the password.
func Parse(data []byte) (Secret, error) {
	d, err := decodeOrdered(data)
	if err != nil {
		return Secret{}, err
	}
	return parseDocument(d, true)
}

// parseDocument reads the known keys of d; the password is required when needPassword.
func parseDocument(d *document, needPassword bool) (Secret, error) {
	raw := d.raw
	s := Secret{Port: DefaultPort, DBName: DefaultDBName}
	var err error
	if s.Engine, err = requiredString(raw, "engine"); err != nil {
		return Secret{}, err
	}
	if !engines[s.Engine] {
		return Secret{}, fmt.Errorf("%w: key \"engine\": %q is not supported (want postgres or aurora-postgresql)", ErrInvalid, s.Engine)
	}
	if s.Host, err = requiredString(raw, "host"); err != nil {
		return Secret{}, err
	}
	if s.Username, err = requiredString(raw, "username"); err != nil {
		return Secret{}, err
	}
	if needPassword {
		if s.Password, err = requiredString(raw, "password"); err != nil {
			return Secret{}, err
		}
	}
	// A null dbname is the default, as in AWS's multi-user function.
	if v, ok := raw["dbname"]; ok && string(v) != "null" {
		if s.DBName, err = stringValue("dbname", v); err != nil {
			return Secret{}, err
		}
		if s.DBName == "" {
			return Secret{}, fmt.Errorf("%w: key \"dbname\": empty (leave it out for the default %q)", ErrInvalid, DefaultDBName)
		}
	}
	if v, ok := raw["port"]; ok {
		if s.Port, err = portValue(v); err != nil {
			return Secret{}, err
		}
	}
	if v, ok := raw["ssl"]; ok {
		s.SSL = sslValue(v)
	}
	if v, ok := raw["masterarn"]; ok {
		if s.MasterARN, err = stringValue("masterarn", v); err != nil {
			return Secret{}, err
		}
		if err := checkSecretID(s.MasterARN); err != nil {
			return Secret{}, err
		}
	}
	d.parsed = s
	s.doc = d
	return s, nil
}

// checkSecretID accepts what GetSecretValue accepts as a SecretId: an ARN, or a secret
// name (1 to 512 of ASCII letters, digits and /_+=.@-). Empty means no master.
func checkSecretID(id string) error {
	if id == "" || strings.HasPrefix(id, "arn:") {
		return nil
	}
	if len(id) > 512 || strings.IndexFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/_+=.@-", r))
	}) >= 0 {
		return fmt.Errorf("%w: key \"masterarn\": not a secret ARN (arn:...) or name (up to 512 of letters, digits and /_+=.@-)", ErrInvalid)
	}
	return nil
}

// Marshal encodes the secret as its owner wrote it: the keys in their order, unknown keys
// verbatim, and each known key unchanged (same bytes, so the same JSON type) unless its
// value changed; a changed value keeps the key's type (a port written as a string stays a
// string). Keys that were absent stay absent unless set to something other than the
// default. A secret built in code is written with the keys in a fixed order.
func (s Secret) Marshal() ([]byte, error) {
	var order []string
	if s.doc != nil {
		order = slices.Clone(s.doc.order)
	}
	for _, k := range known {
		if !slices.Contains(order, k) {
			order = append(order, k)
		}
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	n := 0
	for _, k := range order {
		v, ok, err := s.value(k)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if n > 0 {
			buf.WriteByte(',')
		}
		n++
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, fmt.Errorf("marshal key: %w", err)
		}
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// value returns the encoding of key k, and false when k is not written.
func (s Secret) value(k string) (json.RawMessage, bool, error) {
	var raw json.RawMessage
	var had bool
	var was Secret
	if s.doc != nil {
		raw, had = s.doc.raw[k]
		was = s.doc.parsed
	}
	if !isKnown(k) {
		return raw, had, nil
	}
	str := func(cur, old string, writeAbsent bool) (json.RawMessage, bool, error) {
		if had && cur == old {
			return raw, true, nil
		}
		if !had && !writeAbsent {
			return nil, false, nil
		}
		b, err := json.Marshal(cur)
		if err != nil {
			return nil, false, fmt.Errorf("marshal %s: %w", k, err)
		}
		return b, true, nil
	}
	switch k {
	case "engine":
		return str(s.Engine, was.Engine, true)
	case "host":
		return str(s.Host, was.Host, true)
	case "username":
		return str(s.Username, was.Username, true)
	case "password":
		return str(s.Password, was.Password, true)
	case "masterarn":
		if s.MasterARN == "" && (!had || was.MasterARN != "") {
			return nil, false, nil
		}
		return str(s.MasterARN, was.MasterARN, true)
	case "dbname":
		absentDefault := DefaultDBName
		if s.doc == nil {
			absentDefault = ""
		}
		return str(s.DBName, was.DBName, s.DBName != "" && s.DBName != absentDefault)
	case "port":
		if had && s.Port == was.Port {
			return raw, true, nil
		}
		if !had && (s.Port == 0 || (s.doc != nil && s.Port == DefaultPort)) {
			return nil, false, nil
		}
		if had && len(raw) > 0 && raw[0] == '"' {
			return json.RawMessage(strconv.Quote(strconv.Itoa(s.Port))), true, nil
		}
		return json.RawMessage(strconv.Itoa(s.Port)), true, nil
	case "ssl":
		if had && sameBool(s.SSL, was.SSL) {
			return raw, true, nil
		}
		if s.SSL == nil {
			return nil, false, nil
		}
		v := strconv.FormatBool(*s.SSL)
		if had && len(raw) > 0 && raw[0] == '"' {
			v = strconv.Quote(v)
		}
		return json.RawMessage(v), true, nil
	}
	return nil, false, nil
}

func sameBool(a, b *bool) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

// Extra returns the value of a key this package does not interpret, and whether it exists.
func (s Secret) Extra(key string) (json.RawMessage, bool) {
	if isKnown(key) || s.doc == nil {
		return nil, false
	}
	v, ok := s.doc.raw[key]
	return v, ok
}

// SameServer reports whether two versions point at the same database server and name.
func (s Secret) SameServer(o Secret) bool {
	return s.Host == o.Host && s.Port == o.Port && s.DBName == o.DBName && s.Engine == o.Engine
}

// String redacts the password so that fmt verbs can never print it.
func (s Secret) String() string {
	return fmt.Sprintf("dbsecret{engine=%s host=%s port=%d dbname=%s username=%s password=REDACTED}", s.Engine, s.Host, s.Port, s.DBName, s.Username)
}

// GoString is String for %#v.
func (s Secret) GoString() string { return s.String() }

// LogValue implements slog.LogValuer: logs see who and where, never the password.
func (s Secret) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("engine", s.Engine),
		slog.String("host", s.Host),
		slog.Int("port", s.Port),
		slog.String("dbname", s.DBName),
		slog.String("username", s.Username),
	)
}

// ConnOptions says how to reach the server named by a secret.
type ConnOptions struct {
	// SSLMode is a libpq sslmode: disable, require, verify-ca or verify-full.
	SSLMode string
	// RootCert is a PEM bundle for verify-ca/verify-full; empty means the embedded RDS
	// authorities for an RDS or Aurora endpoint (package rdsca), else the system roots.
	RootCert string
	// RootCAs, when set, verifies the server instead of RootCert or the system roots (the
	// embedded RDS bundle, see package rdsca).
	RootCAs *x509.CertPool
	// ConnectTimeout bounds dialing and authentication; zero means 5 seconds.
	ConnectTimeout time.Duration
	// ApplicationName shows in pg_stat_activity and the server log.
	ApplicationName string
	// AllowInsecurePasswordAuth lets the server have the password by cleartext or MD5
	// authentication (DB_ALLOW_INSECURE_PASSWORD_AUTH). Off, a connection answers only
	// SCRAM-SHA-256 (or a server that asks for nothing) and fails with ErrInsecureAuth,
	// having sent nothing, when the server asks for anything else. See the package doc.
	AllowInsecurePasswordAuth bool
	// Log receives the warning, once per connection, that AllowInsecurePasswordAuth was
	// used; nil means slog.Default().
	Log *slog.Logger
}

// connectTimeout is o's bound on one login: ConnectTimeout, 5 seconds when zero.
func (o ConnOptions) connectTimeout() time.Duration {
	if o.ConnectTimeout <= 0 {
		return 5 * time.Second
	}
	return o.ConnectTimeout
}

// ConnConfig builds a pgx connection configuration for the secret. The password is set on
// the parsed configuration, never placed in a connection string that could be logged. The
// configuration answers only SCRAM-SHA-256 unless o.AllowInsecurePasswordAuth (see the
// package doc); that rule lives in its BuildFrontend, AfterNetConnect and RequireAuth, which
// a caller copies along (as package dbcreds does) and never replaces.
func (s Secret) ConnConfig(o ConnOptions) (*pgx.ConnConfig, error) {
	switch o.SSLMode {
	case "disable", "require", "verify-ca", "verify-full":
	default:
		return nil, fmt.Errorf("connection config: sslmode %q is not one of disable, require, verify-ca, verify-full", o.SSLMode)
	}
	timeout := o.connectTimeout()
	kv := []string{
		"host=" + quote(s.Host),
		"port=" + strconv.Itoa(s.Port),
		"dbname=" + quote(s.DBName),
		"user=" + quote(s.Username),
		"sslmode=" + o.SSLMode,
		"connect_timeout=" + strconv.Itoa(int((timeout+time.Second-1)/time.Second)),
	}
	if o.RootCert != "" {
		kv = append(kv, "sslrootcert="+quote(o.RootCert))
	}
	if o.ApplicationName != "" {
		kv = append(kv, "application_name="+quote(o.ApplicationName))
	}
	cfg, err := pgx.ParseConfig(strings.Join(kv, " "))
	if err != nil {
		return nil, fmt.Errorf("connection config for %s@%s:%d: %w", s.Username, s.Host, s.Port, err)
	}
	cfg.Password = s.Password
	cfg.ConnectTimeout = timeout
	if cfg.TLSConfig != nil {
		if roots := cmp.Or(o.RootCAs, defaultRoots(o.RootCert, s.Host)); roots != nil {
			cfg.TLSConfig.RootCAs = roots
		}
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	installAuthGuard(&cfg.Config, s.Host, s.Port, o.AllowInsecurePasswordAuth, log)
	// Fallbacks would retry without TLS under sslmode=prefer; with the modes above there are
	// none, and none must ever be added: no silent downgrade.
	cfg.Fallbacks = nil
	return cfg, nil
}

// quote writes a libpq keyword/value string value.
func quote(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

func requiredString(raw map[string]json.RawMessage, key string) (string, error) {
	v, ok := raw[key]
	if !ok {
		return "", fmt.Errorf("%w: key %q is missing", ErrInvalid, key)
	}
	s, err := stringValue(key, v)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(s) == "" {
		return "", fmt.Errorf("%w: key %q is empty", ErrInvalid, key)
	}
	return s, nil
}

func stringValue(key string, v json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("%w: key %q must be a string", ErrInvalid, key)
	}
	if strings.ContainsRune(s, 0) {
		return "", fmt.Errorf("%w: key %q contains a NUL byte", ErrInvalid, key)
	}
	return s, nil
}

// portValue reads a port as AWS's functions do (Python's int() of the value): a JSON
// number, integral floats such as 5432.0 included, or a string of digits. A fractional
// number, which int() would silently truncate, is refused.
func portValue(v json.RawMessage) (int, error) {
	var n json.Number
	var s string
	p := -1
	isString := len(v) > 0 && v[0] == '"'
	switch {
	case !isString && json.Unmarshal(v, &n) == nil && string(v) != "null":
		s = n.String()
		if i, err := strconv.Atoi(s); err == nil {
			p = i
		} else if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && f >= 1 && f <= 65535 {
			p = int(f)
		}
	case isString && json.Unmarshal(v, &s) == nil:
		if i, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
			p = i
		}
	default:
		return 0, fmt.Errorf("%w: key \"port\" must be a number or a numeric string", ErrInvalid)
	}
	if p < 1 || p > 65535 {
		return 0, fmt.Errorf("%w: key \"port\": %q is not a port number (a whole number from 1 to 65535)", ErrInvalid, s)
	}
	return p, nil
}

// sslValue reads "ssl" as AWS's get_ssl_config does: a boolean, or the string "true" or
// "false" in any case, is what the owner asked for; anything else (absent, "yes", 1,
// null) means "try TLS", which is nil here. The rotator then requires verified TLS unless
// DB_ALLOW_PLAINTEXT lets it fall back to plaintext when the server refuses TLS: AWS
// falls back on any failure, which would be a silent downgrade.
func sslValue(v json.RawMessage) *bool {
	var b bool
	if string(v) == "true" || string(v) == "false" {
		b = string(v) == "true"
		return &b
	}
	var s string
	if len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil {
		switch strings.ToLower(s) {
		case "true":
			b = true
			return &b
		case "false":
			return &b
		}
	}
	return nil
}

// decodeOrdered reads one JSON object, keeping its keys' order and raw values. A repeated
// key keeps its first position and its last value, as encoding/json and Python's json
// module both take the last value.
func decodeOrdered(data []byte) (*document, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	bad := func(err error) error {
		return fmt.Errorf("%w: not a JSON object: %v", ErrInvalid, syntaxOnly(err))
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, bad(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", ErrInvalid)
	}
	doc := &document{raw: map[string]json.RawMessage{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, bad(err)
		}
		k, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%w: not a JSON object: malformed JSON", ErrInvalid)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, bad(err)
		}
		if _, seen := doc.raw[k]; !seen {
			doc.order = append(doc.order, k)
		}
		doc.raw[k] = v
	}
	if _, err := dec.Token(); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, bad(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrInvalid)
	}
	return doc, nil
}

// syntaxOnly keeps the position of a JSON error and drops any quoted input.
func syntaxOnly(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("a JSON %s where an object belongs", te.Value)
	}
	if errors.Is(err, io.EOF) {
		return "empty input"
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "input ends inside the JSON value"
	}
	return "malformed JSON"
}
