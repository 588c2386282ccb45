package rotation_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/pgrole"
	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/rotation/driver"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// adversarialCases are the hostile secrets of TestAdversarialSecrets: issue 18's three
// ways around the guard with their variants, a masterarn outside MASTER_SECRET_ARNS and a
// server asking for the password in clear, then every earlier attack.
func adversarialCases() []hostileSecret {
	var cases []hostileSecret
	cases = append(cases, replicaImpostors()...)
	cases = append(cases, partnerAttacks()...)
	cases = append(cases, wayBackAttacks()...)
	cases = append(cases, pinnedAndInsecureAttacks()...)
	cases = append(cases, earlierAttacks()...)
	cases = append(cases, pendingAttacks()...)
	cases = append(cases, elsewhereRow("host: the attacker's server asking SCRAM (single user)", single, authSCRAM, (*advWorld).attackerHost, false, rotation.ErrDBAuth))
	return cases
}

// pendingAttacks: the writer puts a pending value with a password of its choice under the
// rotation's token, before createSecret runs or by moving AWSPENDING to it; the rotator
// refuses it (its check value cannot be made without a password of the database,
// provenance.go), before anything changes.
func pendingAttacks() []hostileSecret {
	withCheck := func(c hostileSecret) hostileSecret {
		c.check = (*advWorld).chosenNeverWorks
		return c
	}
	return []hostileSecret{
		withCheck(pendingRow("pending pre-seeded with the attacker's password (single user)", single, func(w *advWorld) dbsecret.Secret {
			return w.chosenPending(w.f.User)
		}, true, rotation.ErrPendingNotMade)),
		withCheck(pendingRow("pending pre-seeded with the attacker's password (alternating)", alternating, func(w *advWorld) dbsecret.Secret {
			return w.chosenPending(w.f.User + rotation.CloneSuffix)
		}, true, rotation.ErrPendingNotMade)),
		{name: "the rotation's own version filled by the attacker first (single user)", strategy: single, untouched: true, masterUnused: true,
			want:   []error{rotation.ErrPendingNotMade},
			attack: func(w *advWorld) { w.fillPending(w.chosenPending(w.f.User)) },
			run:    func(w *advWorld) error { return driver.Run(context.Background(), w.r, w.f.SecretARN, w.token, nil) },
			check:  (*advWorld).chosenNeverWorks},
		{name: "the rotation's own version filled by the attacker first (alternating)", strategy: alternating, untouched: true, masterUnused: true,
			want:   []error{rotation.ErrPendingNotMade},
			attack: func(w *advWorld) { w.fillPending(w.chosenPending(w.f.User + rotation.CloneSuffix)) },
			run:    func(w *advWorld) error { return driver.Run(context.Background(), w.r, w.f.SecretARN, w.token, nil) },
			check:  (*advWorld).chosenNeverWorks},
	}
}

const (
	single      = rotation.SingleUser
	alternating = rotation.AlternatingUsers
)

// payroll makes a victim with data of its own: SELECT on a salaries table the master
// made, as an application's migrations would (so the master could copy the grant).
func (w *advWorld) payroll() string {
	p := w.victim(testenv.Unique("adv_payroll"), "")
	w.asMaster("CREATE TABLE IF NOT EXISTS salaries (who text, amount int)", "GRANT SELECT ON salaries TO "+pgrole.Ident(p))
	return p
}

// asMaster runs statements as the master in the fixture's database.
func (w *advWorld) asMaster(stmts ...string) {
	w.t.Helper()
	m := w.masterSecret()
	testenv.Exec(w.t, w.f.As(w.t, m.Username, m.Password), stmts...)
}

// group makes a role without login, watched and dropped at cleanup.
func (w *advWorld) group(prefix, clauses string) string {
	g := testenv.Unique(prefix)
	w.dropAtCleanup(g)
	w.exec("CREATE ROLE " + pgrole.Ident(g) + " NOLOGIN " + clauses)
	w.watch = append(w.watch, g)
	return g
}

func grant(group, member string) string {
	return "GRANT " + pgrole.Ident(group) + " TO " + pgrole.Ident(member)
}

// rdsPrimary points the fixture's master secret (the operator's doing) at a primary RDS
// for PostgreSQL instance and gives it a read replica: it returns the replica's
// identifier and endpoint address.
func (w *advWorld) rdsPrimary() (replicaID, replicaHost string) {
	rw := &rdsWorld{rds: w.rds, f: w.f}
	primary := rdsID(testenv.Unique("advpg"))
	_, primaryHost := rw.instance(w.t, primary, "", "")
	replicaID = rdsID(testenv.Unique("advrr"))
	_, replicaHost = rw.instance(w.t, replicaID, primary, "")
	w.masterAt("postgres", primaryHost)
	return replicaID, replicaHost
}

// auroraWriter points the master secret at an Aurora cluster's writer endpoint and gives
// the cluster a writer and a reader instance: it returns the reader instance's identifier.
func (w *advWorld) auroraWriter() (readerID string) {
	rw := &rdsWorld{rds: w.rds, f: w.f}
	cluster := rdsID(testenv.Unique("advaur"))
	_, writer, _ := rw.cluster(w.t, cluster)
	rw.instance(w.t, testenv.Unique("advaw"), "", cluster)
	readerID = rdsID(testenv.Unique("advar"))
	rw.instance(w.t, readerID, "", cluster)
	w.masterAt("aurora-postgresql", writer)
	return readerID
}

// masterAt rewrites the master's secret to name engine and host, as its operator would.
func (w *advWorld) masterAt(engine, host string) {
	m := w.masterSecret()
	m.Engine, m.Host = engine, host
	body, err := m.Marshal()
	if err != nil {
		w.t.Fatal(err)
	}
	putSecret(w.t, w.f.SM, w.f.MasterARN, string(body))
}

// impostor writes AWSCURRENT naming a payroll victim, with a guessed password, on host and
// port.
func (w *advWorld) impostor(host string, port int) {
	s := w.forged(w.payroll(), testenv.Unique("guess"))
	s.Host, s.Port = host, port
	w.write(s, "AWSCURRENT")
}

// replicaImpostors: issue 18's first attack. The user's host passes for a read replica
// of the master's because its first label is a replica's identifier, so the guard's proof
// login and the new password go to the attacker's server while the master acts on the
// primary.
func replicaImpostors() []hostileSecret {
	return []hostileSecret{
		{name: "replica impostor: replica id as first label", strategy: alternating, untouched: true, masterUnused: true,
			attack: func(w *advWorld) {
				id, _ := w.rdsPrimary()
				w.impostor(id+".attacker.test", w.attacker.Port)
			}, want: []error{rotation.ErrInvalidSecret}},
		{name: "replica impostor: replica id label, attacker asks for SCRAM", strategy: alternating, auth: authSCRAM, untouched: true, masterUnused: true,
			attack: func(w *advWorld) {
				id, _ := w.rdsPrimary()
				w.impostor(id+".attacker.test", w.attacker.Port)
			}, want: []error{rotation.ErrInvalidSecret}},
		{name: "replica impostor: Aurora reader instance id as first label", strategy: alternating, untouched: true, masterUnused: true,
			attack: func(w *advWorld) {
				w.impostor(w.auroraWriter()+".attacker.test", w.attacker.Port)
			}, want: []error{rotation.ErrInvalidSecret}},
		{name: "replica impostor: the replica's endpoint on the attacker's port", strategy: alternating, untouched: true, masterUnused: true,
			attack: func(w *advWorld) {
				_, host := w.rdsPrimary()
				w.impostor(host, w.attacker.Port)
			}, want: []error{rotation.ErrInvalidSecret, rotation.ErrDBAuth}},
		{name: "replica impostor: a real replica of another primary", strategy: alternating, untouched: true, masterUnused: true,
			attack: func(w *advWorld) {
				w.rdsPrimary()
				rw := &rdsWorld{rds: w.rds, f: w.f}
				other := rdsID(testenv.Unique("advpg2"))
				rw.instance(w.t, other, "", "")
				_, host := rw.instance(w.t, testenv.Unique("advrr2"), other, "")
				w.impostor(host, w.f.Env.PGPort)
			}, want: []error{rotation.ErrInvalidSecret}},
		{name: "replica impostor: the reader endpoint of another Aurora cluster", strategy: alternating, untouched: true, masterUnused: true,
			attack: func(w *advWorld) {
				w.auroraWriter()
				_, _, reader := (&rdsWorld{rds: w.rds, f: w.f}).cluster(w.t, rdsID(testenv.Unique("advaur2")))
				w.impostor(reader, w.f.Env.PGPort)
			}, want: []error{rotation.ErrInvalidSecret}},
		{name: "replica impostor: the replica's endpoint in upper case", strategy: alternating, untouched: true, masterUnused: true,
			attack: func(w *advWorld) {
				_, host := w.rdsPrimary()
				w.impostor(strings.ToUpper(host), w.f.Env.PGPort)
			}, want: []error{rotation.ErrInvalidSecret, rotation.ErrDBAuth}},
	}
}

// partnerAttacks: issue 18's second attack. The attacker knows the password of X_clone
// (made it, or learnt it) and names it: alternating rotation then acts on X, the partner.
func partnerAttacks() []hostileSecret {
	// viaClone writes AWSCURRENT naming partner's clone, a role the attacker knows.
	viaClone := func(w *advWorld, partner string) {
		clone, pw := w.attackerRole(partner+rotation.CloneSuffix, "")
		w.write(w.forged(clone, pw), "AWSCURRENT")
	}
	partner := func(name, clauses string, more func(w *advWorld, p string)) hostileSecret {
		return hostileSecret{name: name, strategy: alternating, want: []error{rotation.ErrUnsafeUser},
			attack: func(w *advWorld) {
				p := w.victim(testenv.Unique("adv_partner"), clauses)
				if more != nil {
					more(w, p)
				}
				viaClone(w, p)
			}}
	}
	return []hostileSecret{
		{name: "partner is the master", strategy: alternating, want: []error{rotation.ErrUnsafeUser},
			attack: func(w *advWorld) { viaClone(w, w.f.Master) }},
		partner("partner is a superuser", "SUPERUSER", nil),
		partner("partner is a member of the master", "", func(w *advWorld, p string) { w.exec(grant(w.f.Master, p)) }),
		partner("partner has CREATEROLE", "CREATEROLE", nil),
		partner("partner has BYPASSRLS", "BYPASSRLS", nil),
		partner("partner has REPLICATION", "REPLICATION", nil),
		partner("partner is a member of pg_read_server_files", "", func(w *advWorld, p string) { w.exec(grant("pg_read_server_files", p)) }),
		partner("partner reaches the master through a chain", "", func(w *advWorld, p string) {
			mid := w.group("adv_mid", "")
			w.exec(grant(mid, p), grant(w.f.Master, mid))
		}),
		{name: "partner holds a privilege its clone lacks", strategy: alternating, want: []error{rotation.ErrUnsafeUser}, msg: "salaries",
			attack: func(w *advWorld) { viaClone(w, w.payroll()) },
			check: func(w *advWorld, _ error) {
				for role, pw := range w.known {
					if strings.HasSuffix(role, rotation.CloneSuffix) {
						w.cannotRead(role, pw, "salaries")
					}
				}
			}},
		{name: "partner has a membership its clone lacks", strategy: alternating, want: []error{rotation.ErrUnsafeUser},
			attack: func(w *advWorld) {
				p := w.victim(testenv.Unique("adv_partner"), "")
				g := w.group("adv_ledger_readers", "")
				w.asMaster("CREATE TABLE ledger (x int)", "GRANT SELECT ON ledger TO "+pgrole.Ident(g))
				w.exec(grant(g, p))
				viaClone(w, p)
			},
			check: func(w *advWorld, err error) {
				for role, pw := range w.known {
					if strings.HasSuffix(role, rotation.CloneSuffix) {
						w.cannotRead(role, pw, "ledger")
					}
				}
				if err != nil && !strings.Contains(err.Error(), "adv_ledger_readers") {
					w.t.Errorf("the refusal does not name the group the partner is in: %v", err)
				}
			}},
	}
}

// wayBackAttacks: issue 18's third attack. A single-user rotation whose test query then
// fails for good puts a password back; the attacker changes AWSCURRENT in between, so
// "the AWSCURRENT password" would be theirs.
func wayBackAttacks() []hostileSecret {
	// setUp makes the test query read a table every role may read, rotates to after
	// setSecret, lets the attacker act, and then breaks the query for good.
	wayBack := func(attack func(w *advWorld, chosen string), breakQuery func(w *advWorld)) func(w *advWorld) error {
		return func(w *advWorld) error {
			w.token = w.f.StartRotation(w.t)
			for _, step := range []string{rotation.StepCreate, rotation.StepSet} {
				if err := w.step(step); err != nil {
					w.t.Fatalf("%s before the attack: %v", step, err)
				}
			}
			chosen := testenv.Unique("chosen")
			w.attackerPasswords = append(w.attackerPasswords, chosen)
			attack(w, chosen)
			breakQuery(w)
			return w.step(rotation.StepTest)
		}
	}
	public := func(w *advWorld) {
		w.userPasswordMoves = true
		w.exec("CREATE TABLE probe_t (x int)", "GRANT SELECT ON probe_t TO PUBLIC")
		w.r.Config.TestQuery = "SELECT * FROM probe_t"
	}
	revokePublic := func(w *advWorld) { w.exec("REVOKE SELECT ON probe_t FROM PUBLIC") }
	chosenRefused := func(w *advWorld, _ error) {
		for _, pw := range w.attackerPasswords {
			if w.logsInAs(w.f.User, pw) {
				w.t.Errorf("the attacker's chosen password is now the user's database password")
			}
		}
		pending := w.f.Get(w.t, w.token, "AWSPENDING")
		if !w.logsInAs(w.f.User, pending.Password) && !w.logsInAs(w.f.User, w.f.UserPassword) {
			w.t.Errorf("the user logs in with neither the pending nor its first password")
		}
	}
	return []hostileSecret{
		{name: "way back inside setSecret: AWSCURRENT rewritten before the rotation", strategy: single, want: []error{rotation.ErrPendingNotMade},
			attack: func(w *advWorld) {
				// The test query would pass in the session setSecret logged in with, which then
				// holds a session advisory lock, and fail (division by zero, not transient)
				// in the one that tries the new password, so the way back would run; but
				// setSecret logs in with AWSPREVIOUS (the attacker's AWSCURRENT is refused),
				// and the pending password's check value was made from the attacker's
				// password: refused before any change (provenance.go).
				key := time.Now().UnixNano()
				w.r.Config.TestQuery = fmt.Sprintf("SELECT 1 / pg_try_advisory_lock(%d)::int", key)
				w.write(w.forged(w.f.User, testenv.Unique("chosen")), "AWSCURRENT")
				// Putting a password back writes a new verifier (a new salt): the user's
				// password is checked by logging in instead.
				w.userPasswordMoves = true
			},
			check: func(w *advWorld, _ error) {
				for _, pw := range w.attackerPasswords {
					if w.logsInAs(w.f.User, pw) {
						w.t.Errorf("the way back put the attacker's password in place")
					}
				}
				if !w.logsInAs(w.f.User, w.f.UserPassword) {
					w.t.Errorf("the way back did not put the user's own password back")
				}
			}},
		{name: "way back: AWSCURRENT rewritten after setSecret", strategy: single, want: []error{rotation.ErrProbe},
			attack: public, check: chosenRefused,
			run: wayBack(func(w *advWorld, chosen string) { w.write(w.forged(w.f.User, chosen), "AWSCURRENT") }, revokePublic)},
		{name: "way back: AWSCURRENT moved to a version written earlier", strategy: single, want: []error{rotation.ErrProbe},
			check: chosenRefused,
			attack: func(w *advWorld) {
				public(w)
				// Written before the rotation under a label of the attacker's, moved later.
				w.stash = w.write(w.forged(w.f.User, testenv.Unique("chosen")), "ATTACKER")
			},
			run: wayBack(func(w *advWorld, _ string) { w.moveCurrent(w.stash) }, revokePublic)},
		{name: "way back: AWSCURRENT rewritten, test query refused permission", strategy: single, want: []error{rotation.ErrProbe},
			check: chosenRefused,
			attack: func(w *advWorld) {
				w.userPasswordMoves = true
				w.exec("CREATE TABLE forbidden (x int)")
			},
			run: wayBack(func(w *advWorld, chosen string) { w.write(w.forged(w.f.User, chosen), "AWSCURRENT") },
				func(w *advWorld) { w.r.Config.TestQuery = "SELECT * FROM forbidden" })},
	}
}

// longMaster gives the master a name of PostgreSQL's full 63 bytes (its operator's
// choice), in the database and in its secret, and returns it: a longer name the server
// truncates is then the master's. The old name comes back at cleanup, for the fixture's.
func (w *advWorld) longMaster() string {
	w.t.Helper()
	old, long := w.f.Master, longName()
	w.exec("ALTER ROLE " + pgrole.Ident(old) + " RENAME TO " + pgrole.Ident(long))
	w.t.Cleanup(func() {
		w.super.Exec(context.Background(), "ALTER ROLE "+pgrole.Ident(long)+" RENAME TO "+pgrole.Ident(old))
	})
	m := w.masterSecret()
	m.Username = long
	body, err := m.Marshal()
	if err != nil {
		w.t.Fatal(err)
	}
	putSecret(w.t, w.f.SM, w.f.MasterARN, string(body))
	w.f.Master = long
	w.watch = append(w.watch, long)
	return long
}

// longName returns a unique role name of exactly 63 bytes, PostgreSQL's limit.
func longName() string {
	const prefix = "adv_long"
	return testenv.Unique(prefix + strings.Repeat("x", pgrole.MaxNameLen-len(prefix)-11))
}

// seedPending starts a rotation and moves its AWSPENDING label to a version the attacker
// wrote: what a resumed rotation (driver, `rotaudit rotate`) then works on.
func (w *advWorld) seedPending(s dbsecret.Secret) {
	w.f.StartRotation(w.t)
	w.token = w.write(s, "AWSPENDING")
}

func (w *advWorld) resume() error {
	_, token, err := w.r.PendingVersion(context.Background(), w.f.SecretARN)
	if err != nil {
		return err
	}
	if token != w.token {
		w.t.Fatalf("the pending version is %s, not the attacker's %s", token, w.token)
	}
	return driver.Run(context.Background(), w.r, w.f.SecretARN, token, nil)
}

// elsewhereRow: AWSCURRENT names the application's user, with a guessed password, on
// the host and port where returns.
func elsewhereRow(name string, strategy rotation.Strategy, auth string, where func(w *advWorld) (string, int), untouched bool, want ...error) hostileSecret {
	return hostileSecret{name: name, strategy: strategy, auth: auth, untouched: untouched, want: want, masterUnused: true,
		attack: func(w *advWorld) {
			s := w.forged(w.f.User, testenv.Unique("guess"))
			s.Host, s.Port = where(w)
			w.write(s, "AWSCURRENT")
		}}
}

// pendingRow: the attacker moves AWSPENDING to a version it wrote (make's), which the
// rotation then resumes.
func pendingRow(name string, strategy rotation.Strategy, make func(w *advWorld) dbsecret.Secret, untouched bool, want ...error) hostileSecret {
	return hostileSecret{name: name, strategy: strategy, untouched: untouched, want: want, masterUnused: true,
		attack: func(w *advWorld) { w.seedPending(make(w)) }, run: (*advWorld).resume}
}

// attackerHost is a name that resolves to the attacker's server, and its port.
func (w *advWorld) attackerHost() (string, int) { return "db.attacker.test", w.attacker.Port }

// chosenPending is a pending value naming user with a password the attacker chose.
func (w *advWorld) chosenPending(user string) dbsecret.Secret {
	return w.forged(user, testenv.Unique("chosen"))
}

// earlierAttacks: the attacks the guard already held against before issue 18, kept.
func earlierAttacks() []hostileSecret {
	guessed := func(name string, strategy rotation.Strategy, who func(w *advWorld) string, want ...error) hostileSecret {
		return hostileSecret{name: name, strategy: strategy, want: want, masterUnused: true, attack: func(w *advWorld) { w.writeCurrent(who(w)) }}
	}
	master := func(w *advWorld) string { return w.f.Master }
	payroll := func(w *advWorld) string { return w.payroll() }
	chain := func(name, clauses string, toMaster bool) hostileSecret {
		return hostileSecret{name: name, strategy: alternating, want: []error{rotation.ErrUnsafeUser},
			attack: func(w *advWorld) {
				a, pw := w.attackerRole(testenv.Unique("adv_member"), "")
				mid := w.group("adv_mid", clauses)
				w.exec(grant(mid, a))
				if toMaster {
					w.exec(grant(w.f.Master, mid))
				}
				w.write(w.forged(a, pw), "AWSCURRENT")
			}}
	}
	previous := func(name string, strategy rotation.Strategy) hostileSecret {
		return hostileSecret{name: name, strategy: strategy, want: []error{rotation.ErrDBAuth}, masterUnused: true,
			attack: func(w *advWorld) {
				w.writeCurrent(w.payroll())
				if prev := w.f.Get(w.t, "", "AWSPREVIOUS"); prev.Username != w.f.User || prev.Password != w.f.UserPassword {
					w.t.Fatalf("AWSPREVIOUS is not the application's own version: %v", prev)
				}
			}}
	}
	localPort := func(w *advWorld) (string, int) { return "127.0.0.1", int(closedPort(w.t)) }
	attackerHost := (*advWorld).attackerHost
	return []hostileSecret{
		guessed("another role, guessed password (alternating)", alternating, payroll, rotation.ErrDBAuth),
		guessed("another role, guessed password (single user)", single, payroll, rotation.ErrDBAuth),
		guessed("the master, guessed password (alternating)", alternating, master, rotation.ErrDBAuth, rotation.ErrUnsafeUser),
		guessed("the master, guessed password (single user)", single, master, rotation.ErrDBAuth),
		chain("member of a role that is a member of the master", "", true),
		chain("member of a role with CREATEROLE", "CREATEROLE", false),
		guessed("the master's name with a Cyrillic homoglyph", alternating, func(w *advWorld) string {
			return strings.Replace(w.f.Master, "o", "\u043e", 1)
		}, rotation.ErrDBAuth),
		guessed("the master's name in upper case", alternating, func(w *advWorld) string { return strings.ToUpper(w.f.Master) }, rotation.ErrDBAuth),
		guessed("the master's name with a trailing space", alternating, func(w *advWorld) string { return w.f.Master + " " }, rotation.ErrDBAuth),
		guessed("the master's name, a NUL and more", alternating, func(w *advWorld) string { return w.f.Master + "\x00x" },
			rotation.ErrInvalidSecret, rotation.ErrDBAuth),
		guessed("a name PostgreSQL truncates to the master's name (alternating)", alternating, func(w *advWorld) string {
			return w.longMaster() + "x"
		}, rotation.ErrInvalidSecret, rotation.ErrDBAuth),
		guessed("a name PostgreSQL truncates to the master's name (single user)", single, func(w *advWorld) string {
			return w.longMaster() + "_clone"
		}, rotation.ErrInvalidSecret, rotation.ErrDBAuth),
		guessed("a name PostgreSQL truncates to a privileged role (alternating)", alternating, func(w *advWorld) string {
			return w.victim(longName(), "CREATEROLE") + rotation.CloneSuffix
		}, rotation.ErrInvalidSecret, rotation.ErrDBAuth),
		guessed("a name PostgreSQL truncates to a privileged role (single user)", single, func(w *advWorld) string {
			return w.victim(longName(), "CREATEROLE") + "zzzz"
		}, rotation.ErrInvalidSecret, rotation.ErrDBAuth),
		previous("AWSPREVIOUS holds another user's real password (alternating)", alternating),
		previous("AWSPREVIOUS holds another user's real password (single user)", single),
		elsewhereRow("host: another port on localhost (single user)", single, "", localPort, true, rotation.ErrDBUnreachable),
		// Alternating: the user's host is not the master's, nor a replica of it, so nothing
		// is sent anywhere.
		elsewhereRow("host: another port on localhost (alternating)", alternating, "", localPort, true, rotation.ErrInvalidSecret),
		elsewhereRow("host: the attacker's server asking SCRAM (alternating)", alternating, authSCRAM, attackerHost, true, rotation.ErrInvalidSecret),
		pendingRow("pending pre-seeded naming the master (alternating)", alternating, func(w *advWorld) dbsecret.Secret {
			return w.chosenPending(w.f.Master)
		}, true, rotation.ErrInvalidSecret),
		pendingRow("pending pre-seeded naming another user (single user)", single, func(w *advWorld) dbsecret.Secret {
			return w.chosenPending(w.payroll())
		}, true, rotation.ErrInvalidSecret),
		pendingRow("pending pre-seeded on the attacker's host (single user)", single, func(w *advWorld) dbsecret.Secret {
			s := w.chosenPending(w.f.User)
			s.Host, s.Port = attackerHost(w)
			return s
		}, true, rotation.ErrInvalidSecret),
		pendingRow("pending pre-seeded on the attacker's host (alternating)", alternating, func(w *advWorld) dbsecret.Secret {
			s := w.chosenPending(w.f.User + rotation.CloneSuffix)
			s.Host, s.Port = attackerHost(w)
			return s
		}, true, rotation.ErrInvalidSecret),
		{name: "dbname pointed at another database", strategy: alternating, want: []error{rotation.ErrDBAuth}, masterUnused: true,
			attack: func(w *advWorld) {
				s := w.forged(w.f.Master, testenv.Unique("guess"))
				s.DBName = "postgres"
				w.write(s, "AWSCURRENT")
			}},
	}
}

// pinnedAndInsecureAttacks: issue 18's last two ways around the guard: a masterarn the
// rotator was not given, and a server that asks for the password in clear.
func pinnedAndInsecureAttacks() []hostileSecret {
	return append(masterAttacks(), insecureAuthAttacks()...)
}

// otherMaster makes a second role able to act as a master (clauses), with a secret the
// rotator can read but that MASTER_SECRET_ARNS does not list; it returns the role and the
// secret's ARN and name. The server's log must show no login as that role.
func (w *advWorld) otherMaster(clauses string) (role, arn, name string) {
	role = w.victim(testenv.Unique("adv_master2"), clauses)
	rw := &rdsWorld{rds: w.rds, f: w.f}
	body := `{"engine":"postgres","host":"127.0.0.1","port":` + fmtInt(w.f.Env.PGPort) + `,"username":` + jsonStr(role) +
		`,"password":` + jsonStr(w.known[role]) + `,"dbname":` + jsonStr(w.f.DB) + `,"ssl":false}`
	arn = rw.secret(w.t, body, nil)
	d, err := w.f.SM.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)})
	if err != nil {
		w.t.Fatal(err)
	}
	w.noLoginAs = append(w.noLoginAs, role)
	return role, arn, aws.ToString(d.Name)
}

// masterAttacks: masterarn names a secret the rotator can read but is not configured
// with; the attacker names a role it knows, so the guard's own checks would pass.
func masterAttacks() []hostileSecret {
	unpinned := func(name, clauses string, ref func(arn, name string) string) hostileSecret {
		return hostileSecret{name: name, strategy: alternating, want: []error{rotation.ErrMasterNotAllowed}, untouched: true, masterUnused: true,
			attack: func(w *advWorld) {
				_, arn, secretName := w.otherMaster(clauses)
				a, pw := w.attackerRole(testenv.Unique("adv_member"), "")
				s := w.forged(a, pw)
				s.MasterARN = ref(arn, secretName)
				w.write(s, "AWSCURRENT")
			}}
	}
	byARN := func(arn, _ string) string { return arn }
	return []hostileSecret{
		unpinned("masterarn: another master of the database, by ARN", "CREATEROLE", byARN),
		unpinned("masterarn: another master, by name", "CREATEROLE", func(_, name string) string { return name }),
		unpinned("masterarn: another master, by partial ARN", "CREATEROLE", func(arn, _ string) string {
			// Secrets Manager adds "-" and six random characters to a secret's ARN; without
			// them the ARN still names the secret.
			return arn[:strings.LastIndex(arn, "-")]
		}),
		unpinned("masterarn: a superuser's secret", "SUPERUSER", byARN),
	}
}

// masterOn rewrites the master's secret to name host and port (a DNS name taken over,
// say): its own password would go where they lead.
func (w *advWorld) masterOn(host string, port int) {
	m := w.masterSecret()
	m.Host, m.Port = host, port
	body, err := m.Marshal()
	if err != nil {
		w.t.Fatal(err)
	}
	putSecret(w.t, w.f.SM, w.f.MasterARN, string(body))
}

// insecureAuthAttacks: the user's host (and the master's) lead to the attacker's server,
// which asks for the password in clear or as MD5: the rotator must refuse before it sends
// anything.
func insecureAuthAttacks() []hostileSecret {
	at := func(name string, strategy rotation.Strategy, auth string, masterToo, noSSLKey bool) hostileSecret {
		want := []error{dbsecret.ErrInsecureAuth}
		if strategy == alternating && !masterToo {
			// The user's host is not the master's: refused before any login, which is
			// better still.
			want = append(want, rotation.ErrInvalidSecret)
		}
		return hostileSecret{name: name, strategy: strategy, auth: auth, want: want, masterUnused: true,
			attack: func(w *advWorld) {
				if masterToo {
					w.masterOn("db.attacker.test", w.attacker.Port)
				}
				s := w.forged(w.f.User, testenv.Unique("guess"))
				s.Host, s.Port = "db.attacker.test", w.attacker.Port
				if noSSLKey {
					// No "ssl": TLS first, and with DB_ALLOW_PLAINTEXT plaintext when the
					// server refuses it, as the attacker's does.
					s.SSL = nil
					w.r.Config.AllowPlaintext = true
				}
				w.write(s, "AWSCURRENT")
			}}
	}
	return []hostileSecret{
		at("cleartext request on the user's host (single user)", single, authCleartext, false, false),
		at("MD5 request on the user's host (single user)", single, authMD5, false, false),
		at("cleartext request on the user's host (alternating)", alternating, authCleartext, false, false),
		at("MD5 request on the user's host (alternating)", alternating, authMD5, false, false),
		at("cleartext request on the user's and the master's host (alternating)", alternating, authCleartext, true, false),
		at("cleartext request after TLS refused, DB_ALLOW_PLAINTEXT=true (single user)", single, authCleartext, false, true),
	}
}

// chosenNeverWorks: no password the attacker wrote logs in as the user or its clone.
func (w *advWorld) chosenNeverWorks(error) {
	for _, u := range []string{w.f.User, w.f.User + rotation.CloneSuffix} {
		for _, pw := range w.attackerPasswords {
			if w.logsInAs(u, pw) {
				w.t.Errorf("the attacker's chosen password logs in as %s", u)
			}
		}
	}
}

// fillPending starts a rotation and, before createSecret runs, puts s into the version
// RotateSecret made (the attacker watches DescribeSecret for it): Secrets Manager then
// invokes the rotation with that token, and createSecret finds a value already there.
func (w *advWorld) fillPending(s dbsecret.Secret) {
	w.t.Helper()
	w.token = w.f.StartRotation(w.t)
	body, err := s.Marshal()
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.f.SM.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(w.f.SecretARN), ClientRequestToken: aws.String(w.token), SecretString: aws.String(string(body)),
		VersionStages: []string{"AWSPENDING"},
	}); err != nil {
		w.t.Fatalf("attacker's PutSecretValue into the rotation's version: %v", err)
	}
	w.attackerPasswords = append(w.attackerPasswords, s.Password)
	if got := w.f.Get(w.t, w.token, "AWSPENDING"); got.Password != s.Password {
		w.t.Fatalf("the rotation's version does not hold the attacker's value")
	}
}
