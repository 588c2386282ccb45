package rotation_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
)

// attackerServer is a PostgreSQL server run by someone who may write the application's
// secret: it answers on 127.0.0.1, refuses TLS, asks the client for its password the way
// the test chooses (cleartext, MD5 or SCRAM), records every message the client sends, and
// then lets the client in and answers every query as a willing accomplice would, so a
// rotator that trusts it goes on as if it had reached the real database. It refuses the
// first login of each user named like the second of an alternating pair (*_clone), as the
// real server would before the clone exists: a rotator that checks whether the pending
// credentials already work then goes on to have the master create the clone. What it records
// is what the adversarial suite counts: a rotator must never hand it a password.
type attackerServer struct {
	// Port is the TCP port it listens on at 127.0.0.1.
	Port int
	auth string
	ln   net.Listener
	wg   sync.WaitGroup

	mu      sync.Mutex
	conns   map[net.Conn]bool
	refused map[string]bool
	record  attackerRecord
}

// attackerRecord is what the server saw.
type attackerRecord struct {
	// Startups are the user names of the startup messages received.
	Startups []string
	// Passwords are the password messages (cleartext or MD5 hashes).
	Passwords []capturedPassword
	// ClientFinals are SCRAM client-final messages, each with the exchange it ends, so a
	// test can tell which password computed it.
	ClientFinals []scramExchange
	// Queries are the SQL texts received (simple and extended protocol).
	Queries []string
}

// capturedPassword is a password message and the user it logged in as.
type capturedPassword struct{ User, Password string }

// scramExchange is one SCRAM-SHA-256 exchange up to the client's proof.
type scramExchange struct {
	User                                      string
	ClientFirstBare, ServerFirst, ClientFinal string
}

// attackerSalt and attackerIterations are what the server announces in SCRAM: fixed, so
// a test can recompute a proof from a candidate password.
var attackerSalt = []byte("attacker-salt-16")

const attackerIterations = 4096

// The ways the attacker's server asks for a password.
const (
	authCleartext = "cleartext"
	authMD5       = "md5"
	authSCRAM     = "scram"
)

// startAttacker starts an attacker's server asking for auth; it stops at cleanup, closing
// every connection it holds, and the test waits (bounded) for its goroutines.
func startAttacker(t *testing.T, auth string) *attackerServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("attacker server: %v", err)
	}
	s := &attackerServer{Port: ln.Addr().(*net.TCPAddr).Port, auth: auth, ln: ln, conns: map[net.Conn]bool{}, refused: map[string]bool{}}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		done := make(chan struct{})
		go func() { s.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("attacker server: connections still open 10s after cleanup")
		}
	})
	return s
}

// Record returns a copy of what the server saw so far.
func (s *attackerServer) Record() attackerRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.record
	r.Startups = append([]string(nil), r.Startups...)
	r.Passwords = append([]capturedPassword(nil), r.Passwords...)
	r.ClientFinals = append([]scramExchange(nil), r.ClientFinals...)
	r.Queries = append([]string(nil), r.Queries...)
	return r
}

func (s *attackerServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			// A client that stalls must not hold the test: every connection has a bound.
			c.SetDeadline(time.Now().Add(30 * time.Second))
			s.session(c)
		}()
	}
}

func (s *attackerServer) note(f func(r *attackerRecord)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.record)
}

// session runs one connection: startup, authentication, then queries until the client
// leaves.
func (s *attackerServer) session(c net.Conn) {
	be := pgproto3.NewBackend(c, c)
	var startup *pgproto3.StartupMessage
	for startup == nil {
		msg, err := be.ReceiveStartupMessage()
		if err != nil {
			return
		}
		switch m := msg.(type) {
		case *pgproto3.SSLRequest, *pgproto3.GSSEncRequest:
			if _, err := c.Write([]byte{'N'}); err != nil {
				return
			}
		case *pgproto3.StartupMessage:
			startup = m
		default:
			return
		}
	}
	user := startup.Parameters["user"]
	s.note(func(r *attackerRecord) { r.Startups = append(r.Startups, user) })
	if !s.authenticate(be, user) || s.refuseFirst(user) {
		be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: "28P01", Message: "password authentication failed for user " + user})
		be.Flush()
		return
	}
	be.Send(&pgproto3.AuthenticationOk{})
	for k, v := range map[string]string{
		"server_version": "15.0", "client_encoding": "UTF8", "server_encoding": "UTF8",
		"standard_conforming_strings": "on", "DateStyle": "ISO, MDY", "integer_datetimes": "on", "TimeZone": "UTC",
	} {
		be.Send(&pgproto3.ParameterStatus{Name: k, Value: v})
	}
	be.Send(&pgproto3.BackendKeyData{ProcessID: 4242, SecretKey: []byte{0, 0, 0, 1}})
	be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
	if be.Flush() != nil {
		return
	}
	s.answer(be, user)
}

// authenticate asks for the password in the server's way and records the answer. It
// lets cleartext and MD5 clients in; a SCRAM client is refused after its proof, since a
// server that does not know the password cannot sign the last message.
func (s *attackerServer) authenticate(be *pgproto3.Backend, user string) bool {
	switch s.auth {
	case authCleartext, authMD5:
		if s.auth == authMD5 {
			be.Send(&pgproto3.AuthenticationMD5Password{Salt: [4]byte{1, 2, 3, 4}})
			be.SetAuthType(pgproto3.AuthTypeMD5Password)
		} else {
			be.Send(&pgproto3.AuthenticationCleartextPassword{})
			be.SetAuthType(pgproto3.AuthTypeCleartextPassword)
		}
		if be.Flush() != nil {
			return false
		}
		msg, err := be.Receive()
		if err != nil {
			return false
		}
		pm, ok := msg.(*pgproto3.PasswordMessage)
		if !ok {
			return false
		}
		s.note(func(r *attackerRecord) { r.Passwords = append(r.Passwords, capturedPassword{user, pm.Password}) })
		return true
	case authSCRAM:
		be.Send(&pgproto3.AuthenticationSASL{AuthMechanisms: []string{"SCRAM-SHA-256"}})
		be.SetAuthType(pgproto3.AuthTypeSASL)
		if be.Flush() != nil {
			return false
		}
		msg, err := be.Receive()
		if err != nil {
			return false
		}
		first, ok := msg.(*pgproto3.SASLInitialResponse)
		if !ok {
			return false
		}
		bare := string(first.Data)
		if i := strings.Index(bare, "n="); i >= 0 {
			bare = bare[i:]
		}
		nonce := scramAttr(bare, "r")
		serverFirst := "r=" + nonce + "attackernonce,s=" + base64.StdEncoding.EncodeToString(attackerSalt) + ",i=" + strconv.Itoa(attackerIterations)
		be.Send(&pgproto3.AuthenticationSASLContinue{Data: []byte(serverFirst)})
		be.SetAuthType(pgproto3.AuthTypeSASLContinue)
		if be.Flush() != nil {
			return false
		}
		msg, err = be.Receive()
		if err != nil {
			return false
		}
		final, ok := msg.(*pgproto3.SASLResponse)
		if !ok {
			return false
		}
		x := scramExchange{User: user, ClientFirstBare: bare, ServerFirst: serverFirst, ClientFinal: string(final.Data)}
		s.note(func(r *attackerRecord) { r.ClientFinals = append(r.ClientFinals, x) })
		return false
	}
	return false
}

// refuseFirst reports whether this login of user is the first of a *_clone user, which
// the server refuses.
func (s *attackerServer) refuseFirst(user string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !strings.HasSuffix(user, "_clone") || s.refused[user] {
		return false
	}
	s.refused[user] = true
	return true
}

func scramAttr(msg, key string) string {
	for _, part := range strings.Split(msg, ",") {
		if v, ok := strings.CutPrefix(part, key+"="); ok {
			return v
		}
	}
	return ""
}

// computedFrom reports whether the exchange's client proof was computed from password
// (RFC 5802: ClientProof = ClientKey XOR HMAC(H(ClientKey), AuthMessage)).
func (x scramExchange) computedFrom(password string) bool {
	proof, err := base64.StdEncoding.DecodeString(scramAttr(x.ClientFinal, "p"))
	if err != nil || len(proof) != sha256.Size {
		return false
	}
	salted, err := pbkdf2.Key(sha256.New, password, attackerSalt, attackerIterations, sha256.Size)
	if err != nil {
		return false
	}
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	withoutProof, _, _ := strings.Cut(x.ClientFinal, ",p=")
	sig := mac(stored[:], x.ClientFirstBare+","+x.ServerFirst+","+withoutProof)
	for i := range sig {
		sig[i] ^= clientKey[i]
	}
	return bytes.Equal(sig, proof)
}

// attackerColumn is a column of a canned answer.
type attackerColumn struct {
	name string
	oid  uint32
}

const (
	oidBool = 16
	oidText = 25
	oidInt4 = 23
)

// cannedAnswer is what the accomplice answers to sql for user: the columns and rows of a
// query (values in text form), or no columns for anything else. It knows the rotator's
// questions about the user: the user exists and holds nothing dangerous.
func cannedAnswer(sql, user string) ([]attackerColumn, [][]string) {
	switch {
	case strings.Contains(sql, "pg_roles") && strings.Contains(sql, "rolsuper"):
		return []attackerColumn{{"rolname", oidText}, {"rolsuper", oidBool}, {"rolcreaterole", oidBool}, {"rolreplication", oidBool}, {"rolbypassrls", oidBool}},
			[][]string{{user, "f", "f", "f", "f"}}
	case strings.Contains(sql, "server_version_num"):
		return []attackerColumn{{"v", oidInt4}}, [][]string{{"15"}}
	case strings.HasPrefix(strings.ToUpper(strings.TrimSpace(sql)), "SELECT"):
		return []attackerColumn{{"?column?", oidInt4}}, [][]string{{"1"}}
	}
	return nil, nil
}

var paramRef = regexp.MustCompile(`\$([0-9]+)`)

// answer serves queries, simple and extended, until the client leaves.
func (s *attackerServer) answer(be *pgproto3.Backend, user string) {
	statements := map[string]string{}
	type portal struct {
		sql     string
		formats []int16
	}
	portals := map[string]portal{}
	describe := func(sql string) {
		cols, _ := cannedAnswer(sql, user)
		if len(cols) == 0 {
			be.Send(&pgproto3.NoData{})
			return
		}
		fields := make([]pgproto3.FieldDescription, len(cols))
		for i, c := range cols {
			fields[i] = pgproto3.FieldDescription{Name: []byte(c.name), DataTypeOID: c.oid, DataTypeSize: -1, TypeModifier: -1}
		}
		be.Send(&pgproto3.RowDescription{Fields: fields})
	}
	rows := func(sql string, formats []int16) {
		cols, values := cannedAnswer(sql, user)
		for _, row := range values {
			dr := &pgproto3.DataRow{}
			for i, v := range row {
				f := int16(0)
				switch {
				case len(formats) == 1:
					f = formats[0]
				case i < len(formats):
					f = formats[i]
				}
				dr.Values = append(dr.Values, encodeValue(cols[i].oid, v, f))
			}
			be.Send(dr)
		}
		tag, _, _ := strings.Cut(strings.TrimSpace(sql), " ")
		tag = strings.ToUpper(tag)
		if len(cols) > 0 {
			tag = fmt.Sprintf("SELECT %d", len(values))
		}
		be.Send(&pgproto3.CommandComplete{CommandTag: []byte(tag)})
	}
	for {
		msg, err := be.Receive()
		if err != nil {
			return
		}
		switch m := msg.(type) {
		case *pgproto3.Query:
			s.note(func(r *attackerRecord) { r.Queries = append(r.Queries, m.String) })
			if cols, _ := cannedAnswer(m.String, user); len(cols) > 0 {
				describe(m.String)
			}
			rows(m.String, nil)
			be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
		case *pgproto3.Parse:
			s.note(func(r *attackerRecord) { r.Queries = append(r.Queries, m.Query) })
			statements[m.Name] = m.Query
			be.Send(&pgproto3.ParseComplete{})
		case *pgproto3.Describe:
			if m.ObjectType == 'S' {
				sql := statements[m.Name]
				n := 0
				for _, ref := range paramRef.FindAllStringSubmatch(sql, -1) {
					if k, _ := strconv.Atoi(ref[1]); k > n {
						n = k
					}
				}
				oids := make([]uint32, n)
				for i := range oids {
					oids[i] = oidText
				}
				be.Send(&pgproto3.ParameterDescription{ParameterOIDs: oids})
				describe(sql)
			} else {
				describe(portals[m.Name].sql)
			}
		case *pgproto3.Bind:
			portals[m.DestinationPortal] = portal{sql: statements[m.PreparedStatement], formats: append([]int16(nil), m.ResultFormatCodes...)}
			be.Send(&pgproto3.BindComplete{})
		case *pgproto3.Execute:
			p := portals[m.Portal]
			rows(p.sql, p.formats)
		case *pgproto3.Close:
			be.Send(&pgproto3.CloseComplete{})
		case *pgproto3.Sync:
			be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
		case *pgproto3.Flush:
		case *pgproto3.Terminate:
			return
		default:
			be.Send(&pgproto3.ErrorResponse{Severity: "ERROR", Code: "0A000", Message: fmt.Sprintf("%T not served", m)})
			be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
		}
		if be.Flush() != nil {
			return
		}
	}
}

// encodeValue writes v (text form) of type oid in format f (0 text, 1 binary).
func encodeValue(oid uint32, v string, f int16) []byte {
	if f == 0 {
		return []byte(v)
	}
	switch oid {
	case oidBool:
		if v == "t" {
			return []byte{1}
		}
		return []byte{0}
	case oidInt4:
		n, _ := strconv.Atoi(v)
		return []byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	}
	return []byte(v)
}

// attackerResolver resolves the names this suite uses the way DNS would for the
// rotator: RDS endpoints (any case) to the local PostgreSQL, as rdsDial does, and every
// name under attacker.test to the attacker's address (the port comes from the secret).
func attackerResolver(ctx context.Context, host string) ([]string, error) {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if strings.HasSuffix(h, ".rds.amazonaws.com") || strings.HasSuffix(h, ".attacker.test") {
		return []string{"127.0.0.1"}, nil
	}
	return net.DefaultResolver.LookupHost(ctx, host)
}

// TestAttackerServer: the fixture lets a trusting client in and records what it sent, in
// each way of asking for the password; a SCRAM proof is traced back to its password.
func TestAttackerServer(t *testing.T) {
	for _, auth := range []string{authCleartext, authMD5, authSCRAM} {
		t.Run(auth, func(t *testing.T) {
			s := startAttacker(t, auth)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cfg, err := pgx.ParseConfig(fmt.Sprintf("host=victim.attacker.test port=%d user=payroll password=hunter2 dbname=x sslmode=prefer", s.Port))
			if err != nil {
				t.Fatal(err)
			}
			cfg.LookupFunc = attackerResolver
			c, err := pgx.ConnectConfig(ctx, cfg)
			if auth == authSCRAM {
				rec := s.Record()
				if err == nil || len(rec.ClientFinals) != 1 || !rec.ClientFinals[0].computedFrom("hunter2") || rec.ClientFinals[0].computedFrom("hunter3") {
					t.Fatalf("SCRAM: err = %v, record %+v", err, rec)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(ctx)
			var name string
			var su, cr, rep, rls bool
			if err := c.QueryRow(ctx, "SELECT rolname, rolsuper, rolcreaterole, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = $1", "payroll").
				Scan(&name, &su, &cr, &rep, &rls); err != nil || name != "payroll" || su || cr || rep || rls {
				t.Fatalf("role query: %v %q %v", err, name, su)
			}
			if _, err := c.Exec(ctx, "BEGIN READ ONLY"); err != nil {
				t.Fatal(err)
			}
			rows, err := c.Query(ctx, "SELECT 1")
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			rec := s.Record()
			if len(rec.Passwords) != 1 || len(rec.Startups) != 1 || rec.Startups[0] != "payroll" || len(rec.Queries) < 3 {
				t.Fatalf("record %+v", rec)
			}
			if auth == authCleartext && rec.Passwords[0] != (capturedPassword{"payroll", "hunter2"}) {
				t.Fatalf("cleartext password recorded as %q", rec.Passwords[0])
			}
		})
	}
}
