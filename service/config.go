package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
)

// errConfig is wrapped by every configuration error; each names its variable.
var errConfig = errors.New("configuration")

// config is everything the API reads from its environment. No credential is among it:
// those come from the secret named by DB_SECRET_ID.
type config struct {
	SecretID string // DB_SECRET_ID (required): name or ARN of the RDS-format secret
	Port     int    // PORT [3000]; 0 picks a free port (tests)

	MaxRangeDays int // MAX_RANGE_DAYS [366]: longest date_from..date_to span, inclusive

	SSLMode  string // DB_SSLMODE [verify-full; disable only when the secret says "ssl": false]
	CABundle string // DB_CA_BUNDLE: PEM file for verify-full; empty means system roots
	// DB_ALLOW_INSECURE_PASSWORD_AUTH [false]: answer a server that asks for a cleartext or
	// MD5 password (it receives the password), with a warning per connection; off, only
	// scram-sha-256 is answered (package dbsecret).
	AllowInsecurePasswordAuth bool

	SecretTTL       time.Duration // DB_SECRET_TTL [5m]: cached secret value's maximum age
	ConnectTimeout  time.Duration // DB_CONNECT_TIMEOUT [5s]
	QueryTimeout    time.Duration // DB_QUERY_TIMEOUT [10s]: per request, retries included
	PoolMaxConns    int           // DB_POOL_MAX_CONNS [8]
	ConnMaxLifetime time.Duration // DB_POOL_MAX_CONN_LIFETIME [15m]: old sessions drain
	ConnMaxIdle     time.Duration // DB_POOL_MAX_CONN_IDLE [5m]

	ReadHeaderTimeout time.Duration // HTTP_READ_HEADER_TIMEOUT [5s]
	ReadTimeout       time.Duration // HTTP_READ_TIMEOUT [10s]
	WriteTimeout      time.Duration // HTTP_WRITE_TIMEOUT [15s]
	IdleTimeout       time.Duration // HTTP_IDLE_TIMEOUT [60s]
	ShutdownTimeout   time.Duration // SHUTDOWN_TIMEOUT [20s]: ECS's stopTimeout is 30s

	LogLevel slog.Level // LOG_LEVEL [info]: debug, info, warn, error
	// AccessLogSample is the share of successful, fast requests that get an access-log
	// line (ACCESS_LOG_SAMPLE [0.01], 0 to 1); errors and slow requests always do.
	AccessLogSample float64
	SlowRequest     time.Duration // SLOW_REQUEST [500ms]: a request this slow is always logged
	MetricsInterval time.Duration // METRICS_INTERVAL [60s]: one embedded-metric line per interval
}

// envVars lists every variable loadConfig reads, for documentation and tests.
var envVars = []string{
	"DB_SECRET_ID", "PORT", "MAX_RANGE_DAYS", "DB_SSLMODE", "DB_CA_BUNDLE", dbsecret.EnvAllowInsecurePasswordAuth, "DB_SECRET_TTL",
	"DB_CONNECT_TIMEOUT", "DB_QUERY_TIMEOUT", "DB_POOL_MAX_CONNS", "DB_POOL_MAX_CONN_LIFETIME",
	"DB_POOL_MAX_CONN_IDLE", "HTTP_READ_HEADER_TIMEOUT", "HTTP_READ_TIMEOUT",
	"HTTP_WRITE_TIMEOUT", "HTTP_IDLE_TIMEOUT", "SHUTDOWN_TIMEOUT", "LOG_LEVEL",
	"ACCESS_LOG_SAMPLE", "SLOW_REQUEST", "METRICS_INTERVAL",
}

// loadConfig builds the configuration; a missing or bad value is an error naming it.
func loadConfig(getenv func(string) string) (config, error) {
	p := envParser{getenv: getenv}
	c := config{
		SecretID:                  strings.TrimSpace(getenv("DB_SECRET_ID")),
		Port:                      p.int("PORT", 3000, 0, 65535),
		MaxRangeDays:              p.int("MAX_RANGE_DAYS", 366, 1, 100_000),
		CABundle:                  getenv("DB_CA_BUNDLE"),
		AllowInsecurePasswordAuth: p.bool(dbsecret.EnvAllowInsecurePasswordAuth),
		SecretTTL:                 p.duration("DB_SECRET_TTL", 5*time.Minute, time.Second, 24*time.Hour),
		ConnectTimeout:            p.duration("DB_CONNECT_TIMEOUT", 5*time.Second, 100*time.Millisecond, time.Minute),
		QueryTimeout:              p.duration("DB_QUERY_TIMEOUT", 10*time.Second, 100*time.Millisecond, 5*time.Minute),
		PoolMaxConns:              p.int("DB_POOL_MAX_CONNS", 8, 1, 1000),
		ConnMaxLifetime:           p.duration("DB_POOL_MAX_CONN_LIFETIME", 15*time.Minute, time.Second, 24*time.Hour),
		ConnMaxIdle:               p.duration("DB_POOL_MAX_CONN_IDLE", 5*time.Minute, time.Second, 24*time.Hour),
		ReadHeaderTimeout:         p.duration("HTTP_READ_HEADER_TIMEOUT", 5*time.Second, 100*time.Millisecond, 5*time.Minute),
		ReadTimeout:               p.duration("HTTP_READ_TIMEOUT", 10*time.Second, 100*time.Millisecond, 5*time.Minute),
		WriteTimeout:              p.duration("HTTP_WRITE_TIMEOUT", 15*time.Second, 100*time.Millisecond, 5*time.Minute),
		IdleTimeout:               p.duration("HTTP_IDLE_TIMEOUT", 60*time.Second, time.Second, time.Hour),
		ShutdownTimeout:           p.duration("SHUTDOWN_TIMEOUT", 20*time.Second, 0, 10*time.Minute),
		AccessLogSample:           p.fraction("ACCESS_LOG_SAMPLE", 0.01),
		SlowRequest:               p.duration("SLOW_REQUEST", 500*time.Millisecond, time.Millisecond, time.Hour),
		MetricsInterval:           p.duration("METRICS_INTERVAL", time.Minute, time.Second, time.Hour),
	}
	if c.SecretID == "" {
		p.fail("DB_SECRET_ID", "is required: the name or ARN of the database secret")
	}
	switch v := getenv("DB_SSLMODE"); v {
	case "", "disable", "require", "verify-ca", "verify-full":
		c.SSLMode = v
	default:
		p.fail("DB_SSLMODE", fmt.Sprintf("%q is not one of disable, require, verify-ca, verify-full", v))
	}
	if v := getenv("LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			p.fail("LOG_LEVEL", fmt.Sprintf("%q is not one of debug, info, warn, error", v))
		}
	}
	if c.WriteTimeout <= c.QueryTimeout {
		p.fail("HTTP_WRITE_TIMEOUT", fmt.Sprintf("(%s) must be longer than DB_QUERY_TIMEOUT (%s) so a slow query still gets its answer out", c.WriteTimeout, c.QueryTimeout))
	}
	return c, errors.Join(p.errs...)
}

// envParser reads typed values and collects one error per bad variable.
type envParser struct {
	getenv func(string) string
	errs   []error
}

func (p *envParser) fail(name, msg string) {
	sep := " "
	if strings.HasPrefix(msg, "=") {
		sep = ""
	}
	p.errs = append(p.errs, fmt.Errorf("%w: %s%s%s", errConfig, name, sep, msg))
}

// bool reads true or false in any case, false when unset, as the bootstrap does.
func (p *envParser) bool(name string) bool {
	switch v := strings.ToLower(strings.TrimSpace(p.getenv(name))); v {
	case "", "false":
		return false
	case "true":
		return true
	default:
		p.fail(name, fmt.Sprintf("=%q must be true or false", v))
		return false
	}
}

// fraction reads a number from 0 to 1, def when unset.
func (p *envParser) fraction(name string, def float64) float64 {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || !(x >= 0 && x <= 1) {
		p.fail(name, fmt.Sprintf("=%q must be a number from 0 to 1 (0.01 logs one request in a hundred)", v))
		return def
	}
	return x
}

func (p *envParser) int(name string, def, lo, hi int) int {
	return bounded(p, name, def, lo, hi, strconv.Atoi, "a whole number")
}

func (p *envParser) duration(name string, def, lo, hi time.Duration) time.Duration {
	return bounded(p, name, def, lo, hi, time.ParseDuration, "a duration such as 5s or 2m,")
}

// bounded reads name with parse, def when it is unset; a value that does not parse or lies
// outside [lo, hi] is recorded as an error saying it must be what, from lo to hi.
func bounded[T int | time.Duration](p *envParser, name string, def, lo, hi T, parse func(string) (T, error), what string) T {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	x, err := parse(v)
	if err != nil || x < lo || x > hi {
		p.fail(name, fmt.Sprintf("=%q must be %s from %v to %v", v, what, lo, hi))
		return def
	}
	return x
}
