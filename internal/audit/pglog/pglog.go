// Package pglog reads PostgreSQL's connection and authentication log lines (what
// log_connections, log_disconnections and failed authentication write) and turns them into
// Logins: who logged in, or tried to, from where. It reads two sources: the server's own
// log file (the local stack's, or any stderr log) and the CloudWatch Logs subscription
// envelope that carries RDS's exported postgresql log (gzip + base64 of JSON).
//
// It understands the line prefixes '%m [%p] %u@%d ' (the local stack) and RDS's fixed
// '%t:%r:%u@%d:[%p]:'; the connection lines carry the client's address, and the lines of
// one connection share the backend's pid, which ties an authorization or a failure to
// the address its "connection received" line gave. Times are read in whatever
// log_timezone wrote them (zone.go): an abbreviation, a numeric offset or a zone name.
package pglog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Kind says what a Login records.
type Kind int

// The kinds of Login.
const (
	Authorized   Kind = iota + 1 // the server accepted the login
	Failed                       // authentication failed (or no pg_hba.conf entry)
	Disconnected                 // a session ended (log_disconnections)
)

// String names the kind as the findings' event names do.
func (k Kind) String() string {
	switch k {
	case Authorized:
		return "Login"
	case Failed:
		return "LoginFailed"
	case Disconnected:
		return "Disconnect"
	}
	return "Unknown"
}

// Login is one connection event.
type Login struct {
	Kind     Kind
	Time     time.Time
	PID      string
	User     string
	Database string
	// Host is the client's address, "[local]" for a unix socket, "" when not logged.
	Host string
	// Reason is the server's message for a failure.
	Reason string
	// Session is how long a disconnected session lasted.
	Session time.Duration
}

// ID names the event for findings: time and backend pid identify it in the server's log.
func (l *Login) ID() string {
	return fmt.Sprintf("pg-%s-%s-%s", l.Time.UTC().Format("20060102T150405.000"), l.PID, strings.ToLower(l.Kind.String()))
}

// ErrNotLog marks input that is not a PostgreSQL log line or envelope.
var ErrNotLog = errors.New("not a PostgreSQL log line")

// Parser turns lines into Logins, remembering the client address of each pid between its
// "connection received" line and the line that says how the login ended.
type Parser struct {
	hosts map[string]string
}

// NewParser returns a parser with no connection in flight.
func NewParser() *Parser { return &Parser{hosts: map[string]string{}} }

// maxInFlight bounds the pids remembered: a log that never says how connections ended
// (a cut file) must not grow the map without end.
const maxInFlight = 1 << 14

// Line parses one log line. ok is false for lines that are not about logins (most of a
// log); err is ErrNotLog for text that is not a log line at all. ts, when not zero, is the
// time to use when the line has none (CloudWatch's event timestamp).
func (p *Parser) Line(line string, ts time.Time) (l Login, ok bool, err error) {
	sev, msg, prefix, found := splitSeverity(line)
	if !found {
		if strings.HasPrefix(line, "\t") || strings.TrimSpace(line) == "" {
			return l, false, nil // continuation of a DETAIL or STATEMENT
		}
		return l, false, ErrNotLog
	}
	pre, err := parsePrefix(prefix)
	if err != nil && ts.IsZero() {
		return l, false, err
	}
	if pre.time.IsZero() || err != nil {
		pre.time = ts // CloudWatch's timestamp is the instant, whatever the line's zone
	}
	if pre.time.IsZero() || pre.pid == "" {
		return l, false, ErrNotLog
	}
	l = Login{Time: pre.time, PID: pre.pid, User: pre.user, Database: pre.db, Host: pre.host}
	switch {
	case sev == "LOG" && strings.HasPrefix(msg, "connection received: "):
		host := field(msg, "host=")
		if len(p.hosts) >= maxInFlight {
			clear(p.hosts)
		}
		p.hosts[pre.pid] = host
		return l, false, nil
	case sev == "LOG" && strings.HasPrefix(msg, "connection authorized: "):
		l.Kind = Authorized
		l.User = firstNonEmpty(field(msg, "user="), l.User)
		l.Database = firstNonEmpty(field(msg, "database="), l.Database)
	case sev == "FATAL" && (strings.Contains(msg, "authentication failed for user") || strings.HasPrefix(msg, "no pg_hba.conf entry")):
		l.Kind = Failed
		l.Reason = msg
		if u := quoted(msg, "user \""); u != "" {
			l.User = u
		}
	case sev == "LOG" && strings.HasPrefix(msg, "disconnection: "):
		l.Kind = Disconnected
		l.User = firstNonEmpty(field(msg, "user="), l.User)
		l.Database = firstNonEmpty(field(msg, "database="), l.Database)
		l.Host = firstNonEmpty(field(msg, "host="), l.Host)
		l.Session = sessionTime(msg)
		return l, l.User != "" && l.User != "[unknown]", nil
	default:
		return l, false, nil
	}
	if h, ok := p.hosts[pre.pid]; ok {
		l.Host = h
		delete(p.hosts, pre.pid)
	}
	if l.User == "" || l.User == "[unknown]" {
		return l, false, nil
	}
	return l, true, nil
}

var severities = []string{"LOG", "FATAL", "DETAIL", "ERROR", "WARNING", "HINT", "STATEMENT", "PANIC", "INFO", "NOTICE", "CONTEXT", "DEBUG1", "DEBUG2", "DEBUG3", "DEBUG4", "DEBUG5"}

// splitSeverity finds "SEV:  " (PostgreSQL writes two spaces after the severity).
func splitSeverity(line string) (sev, msg, prefix string, ok bool) {
	from := 0
	for {
		j := strings.Index(line[from:], ":  ")
		if j < 0 {
			return "", "", "", false
		}
		end := from + j
		start := end
		for start > 0 && (line[start-1] >= 'A' && line[start-1] <= 'Z' || line[start-1] >= '0' && line[start-1] <= '9') {
			start--
		}
		if word := line[start:end]; slices.Contains(severities, word) {
			return word, strings.TrimSpace(line[end+3:]), line[:start], true
		}
		from = end + 3
	}
}

type prefixFields struct {
	time           time.Time
	pid            string
	user, db, host string
}

// parsePrefix reads the time (first), the [pid], user@db and RDS's host(port). err is
// set when the prefix starts with a time whose zone is unknown.
func parsePrefix(s string) (prefixFields, error) {
	var f prefixFields
	s = strings.TrimSpace(s)
	t, rest, found, zerr := parseTime(s)
	if found {
		f.time, s = t, rest
	}
	for rest := s; f.pid == ""; {
		i := strings.IndexByte(rest, '[')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], ']')
		if j < 0 {
			break
		}
		if isDigits(rest[i+1 : i+j]) {
			f.pid = rest[i+1 : i+j]
		}
		rest = rest[i+j:]
	}
	for _, tok := range strings.Fields(s) {
		for _, part := range strings.Split(tok, ":") {
			if at := strings.IndexByte(part, '@'); at >= 0 && f.user == "" {
				f.user, f.db = part[:at], part[at+1:]
				if f.user == "[unknown]" {
					f.user = ""
				}
				continue
			}
			// RDS %r: host(port)
			if k := strings.IndexByte(part, '('); k > 0 && strings.HasSuffix(part, ")") && isDigits(part[k+1:len(part)-1]) {
				f.host = part[:k]
			}
		}
	}
	return f, zerr
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// field returns the value after key up to the next space ("host=1.2.3.4 port=5").
func field(msg, key string) string {
	i := strings.Index(msg, key)
	if i < 0 {
		return ""
	}
	v := msg[i+len(key):]
	if j := strings.IndexByte(v, ' '); j >= 0 {
		v = v[:j]
	}
	return v
}

func quoted(msg, key string) string {
	i := strings.Index(msg, key)
	if i < 0 {
		return ""
	}
	v := msg[i+len(key):]
	if j := strings.IndexByte(v, '"'); j >= 0 {
		return v[:j]
	}
	return ""
}

// sessionTime reads "session time: 0:00:01.234".
func sessionTime(msg string) time.Duration {
	v := field(msg, "session time: ")
	var h, m int
	var s float64
	if _, err := fmt.Sscanf(v, "%d:%d:%f", &h, &m, &s); err != nil {
		return 0
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s*float64(time.Second))
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// maxLine bounds one log line (a huge STATEMENT line is skipped, not a reason to fail).
const maxLine = 1 << 20

// Stream reads a server log file and calls fn for each Login, in file order. Lines that
// are not log lines are counted in skipped; a last line without its newline, which the
// server is still writing, is left alone. A line whose time is in a zone that cannot be
// placed (ErrZone), or a log of which no line can be read at all (another log_line_prefix,
// not a PostgreSQL log), is an error: the DB-xx rules would otherwise be blind, or judge
// logins hours away from when they happened, with nothing but a warning to show for it.
func Stream(r io.Reader, fn func(*Login) error) (logins, skipped int, err error) {
	p := NewParser()
	br := bufio.NewReaderSize(r, 64<<10)
	n, read := 0, 0
	for {
		line, complete, rerr := readLine(br)
		if rerr != nil && rerr != io.EOF {
			return logins, skipped, fmt.Errorf("read postgresql log: %w", rerr)
		}
		if line == "" && rerr == io.EOF {
			break
		}
		n++
		l, ok, perr := p.Line(line, time.Time{})
		switch {
		case perr != nil && !complete:
			// The last line has no newline yet: the server is still writing it.
		case errors.Is(perr, ErrZone):
			return logins, skipped, fmt.Errorf("line %d: %w", n, perr)
		case perr != nil:
			skipped++
		default:
			if !strings.HasPrefix(line, "\t") && strings.TrimSpace(line) != "" {
				read++
			}
			if ok {
				logins++
				if err := fn(&l); err != nil {
					return logins, skipped, err
				}
			}
		}
		if rerr == io.EOF {
			break
		}
	}
	if read == 0 && skipped > 0 {
		return logins, skipped, fmt.Errorf("none of %d lines is a PostgreSQL log line with a time and a [pid] in its prefix (log_line_prefix '%%m [%%p] %%u@%%d ' or RDS's): %w", skipped, ErrNotLog)
	}
	return logins, skipped, nil
}

// readLine reads one line without its line ending; complete is false for a last line
// that has no newline (still being written). A line longer than maxLine comes back empty.
func readLine(br *bufio.Reader) (line string, complete bool, err error) {
	var buf []byte
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong && len(buf)+len(chunk) <= maxLine {
			buf = append(buf, chunk...)
		} else {
			tooLong, buf = true, buf[:0]
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == nil:
			return strings.TrimRight(string(buf), "\r\n"), true, nil
		default:
			return strings.TrimRight(string(buf), "\r\n"), false, err
		}
	}
}

// Envelope is the CloudWatch Logs subscription payload once decoded.
type Envelope struct {
	MessageType string `json:"messageType"`
	Owner       string `json:"owner"`
	LogGroup    string `json:"logGroup"`
	LogStream   string `json:"logStream"`
	LogEvents   []struct {
		ID        string `json:"id"`
		Timestamp int64  `json:"timestamp"`
		Message   string `json:"message"`
	} `json:"logEvents"`
}

// maxEnvelope bounds the decompressed payload (CloudWatch sends at most 1 MB compressed;
// anything decompressing past this is not a log batch).
const maxEnvelope = 64 << 20

// IsSubscription reports whether a Lambda event is a CloudWatch Logs subscription
// delivery ({"awslogs":{"data":"..."}}), and returns its data.
func IsSubscription(raw []byte) (string, bool) {
	if !bytes.Contains(raw, []byte(`"awslogs"`)) {
		return "", false
	}
	var ev struct {
		AWSLogs *struct {
			Data string `json:"data"`
		} `json:"awslogs"`
	}
	if json.Unmarshal(raw, &ev) != nil || ev.AWSLogs == nil {
		return "", false
	}
	return ev.AWSLogs.Data, true
}

// DecodeSubscription decodes the base64 gzip JSON of a subscription delivery.
func DecodeSubscription(data string) (*Envelope, error) {
	gz, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, fmt.Errorf("awslogs data: not base64: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("awslogs data: not gzip: %w", err)
	}
	body, err := io.ReadAll(io.LimitReader(zr, maxEnvelope+1))
	if err != nil {
		return nil, fmt.Errorf("awslogs data: %w", err)
	}
	if len(body) > maxEnvelope {
		return nil, fmt.Errorf("awslogs data: over %d bytes decompressed", maxEnvelope)
	}
	var env Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("awslogs data: %w", err)
	}
	switch env.MessageType {
	case "DATA_MESSAGE", "CONTROL_MESSAGE":
	default:
		return nil, fmt.Errorf("awslogs data: messageType %q is neither DATA_MESSAGE nor CONTROL_MESSAGE", env.MessageType)
	}
	return &env, nil
}

// Logins returns the Logins of a decoded envelope (none for CONTROL_MESSAGE) and how many
// of its events were not log lines.
func (env *Envelope) Logins() (out []Login, skipped int) {
	if env.MessageType != "DATA_MESSAGE" {
		return nil, 0
	}
	p := NewParser()
	for _, e := range env.LogEvents {
		for _, line := range strings.Split(e.Message, "\n") {
			l, ok, err := p.Line(line, time.UnixMilli(e.Timestamp).UTC())
			if err != nil {
				skipped++
				continue
			}
			if ok {
				out = append(out, l)
			}
		}
	}
	return out, skipped
}
