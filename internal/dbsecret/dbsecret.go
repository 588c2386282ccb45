// Package dbsecret reads and writes the JSON document that AWS Secrets Manager uses for
// database credentials (the format of RDS secrets and of AWS's rotation functions):
//
//	{"engine":"postgres","host":"...","port":5432,"username":"...","password":"...",
//	 "dbname":"...","ssl":true,"masterarn":"arn:aws:secretsmanager:..."}
//
// Parsing is strict about the keys it knows and keeps every other key verbatim, so a
// rotation that rewrites the password never drops what the owner stored beside it.
// A Secret never prints its password: String, GoString and LogValue redact it.
package dbsecret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
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
	// SSL is nil when the key is absent; otherwise what the owner asked for.
	SSL *bool
	// MasterARN names the secret of the user that rotates this one (alternating users).
	MasterARN string

	// rawPort keeps the port as written ("5432" or 5432) so Marshal writes it back alike.
	rawPort json.RawMessage
	// extra holds keys this package does not know, written back unchanged.
	extra map[string]json.RawMessage
}

// known lists the keys Parse interprets; anything else goes to extra.
var known = map[string]bool{
	"engine": true, "host": true, "port": true, "username": true, "password": true,
	"dbname": true, "ssl": true, "masterarn": true,
}

// Parse decodes and validates a secret string. Errors wrap ErrInvalid and name the key;
// they never contain the password.
func Parse(data []byte) (Secret, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil {
		// json errors quote offsets and types, never the secret's values.
		return Secret{}, fmt.Errorf("%w: not a JSON object: %v", ErrInvalid, syntaxOnly(err))
	}
	if raw == nil {
		return Secret{}, fmt.Errorf("%w: not a JSON object", ErrInvalid)
	}
	if dec.More() {
		return Secret{}, fmt.Errorf("%w: trailing data after the JSON object", ErrInvalid)
	}
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
	if s.Password, err = requiredString(raw, "password"); err != nil {
		return Secret{}, err
	}
	if v, ok := raw["dbname"]; ok {
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
		s.rawPort = v
	}
	if v, ok := raw["ssl"]; ok {
		b, err := boolValue("ssl", v)
		if err != nil {
			return Secret{}, err
		}
		s.SSL = &b
	}
	if v, ok := raw["masterarn"]; ok {
		if s.MasterARN, err = stringValue("masterarn", v); err != nil {
			return Secret{}, err
		}
		if s.MasterARN != "" && !strings.HasPrefix(s.MasterARN, "arn:") {
			return Secret{}, fmt.Errorf("%w: key \"masterarn\": must be a secret ARN (arn:...)", ErrInvalid)
		}
	}
	for k, v := range raw {
		if !known[k] {
			if s.extra == nil {
				s.extra = make(map[string]json.RawMessage)
			}
			s.extra[k] = v
		}
	}
	return s, nil
}

// Marshal encodes the secret, unknown keys included, with keys in a stable order.
func (s Secret) Marshal() ([]byte, error) {
	out := make(map[string]json.RawMessage, len(s.extra)+8)
	for k, v := range s.extra {
		out[k] = v
	}
	put := func(k string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("marshal %s: %w", k, err)
		}
		out[k] = b
		return nil
	}
	for _, f := range []struct {
		k string
		v string
	}{{"engine", s.Engine}, {"host", s.Host}, {"username", s.Username}, {"password", s.Password}, {"dbname", s.DBName}} {
		if err := put(f.k, f.v); err != nil {
			return nil, err
		}
	}
	if p, err := portValue(s.rawPort); s.rawPort != nil && err == nil && p == s.Port {
		out["port"] = s.rawPort
	} else if err := put("port", s.Port); err != nil {
		return nil, err
	}
	if s.SSL != nil {
		if err := put("ssl", *s.SSL); err != nil {
			return nil, err
		}
	}
	if s.MasterARN != "" {
		if err := put("masterarn", s.MasterARN); err != nil {
			return nil, err
		}
	}
	keys := make([]string, 0, len(out))
	for k := range out {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(out[k])
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// Extra returns the value of a key this package does not interpret, and whether it exists.
func (s Secret) Extra(key string) (json.RawMessage, bool) {
	v, ok := s.extra[key]
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
	// RootCert is a PEM bundle for verify-ca/verify-full; empty means the system roots.
	RootCert string
	// ConnectTimeout bounds dialing and authentication; zero means 5 seconds.
	ConnectTimeout time.Duration
	// ApplicationName shows in pg_stat_activity and the server log.
	ApplicationName string
}

// ConnConfig builds a pgx connection configuration for the secret. The password is set on
// the parsed configuration, never placed in a connection string that could be logged.
func (s Secret) ConnConfig(o ConnOptions) (*pgx.ConnConfig, error) {
	switch o.SSLMode {
	case "disable", "require", "verify-ca", "verify-full":
	default:
		return nil, fmt.Errorf("connection config: sslmode %q is not one of disable, require, verify-ca, verify-full", o.SSLMode)
	}
	timeout := o.ConnectTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
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

func portValue(v json.RawMessage) (int, error) {
	var n json.Number
	var s string
	switch {
	case json.Unmarshal(v, &n) == nil:
		s = n.String()
	case json.Unmarshal(v, &s) == nil:
	default:
		return 0, fmt.Errorf("%w: key \"port\" must be a number or a numeric string", ErrInvalid)
	}
	p, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("%w: key \"port\": %q is not a port number (1-65535)", ErrInvalid, s)
	}
	return p, nil
}

func boolValue(key string, v json.RawMessage) (bool, error) {
	var b bool
	if json.Unmarshal(v, &b) == nil {
		return b, nil
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, fmt.Errorf("%w: key %q must be true or false", ErrInvalid, key)
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
