package rotation_test

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

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
