package rotation_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/pgrole"
	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/rotation/driver"
	"github.com/rotaudit/rotaudit/internal/rotation/rotationtest"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// The adversarial suite: hostile secrets, each written by someone who may write the
// application's secret (PutSecretValue, UpdateSecretVersionStage) but knows no database
// password and cannot read a secret, and each rotated by the real rotator on the real
// PostgreSQL and emulator. A row passes on what happened, not on what the error says:
//
//   - no role gained or lost anything (attributes, memberships either way, settings,
//     object privileges, ownership, password) and no role appeared;
//   - the attacker's server (attacker_test.go) got no password and no SCRAM proof of a
//     password the attacker did not write itself;
//   - the master's secret and the application's own credentials still log in, and every
//     role whose password the test knows still logs in with it;
//   - the rotation failed with the sentinel that says why, and AWSCURRENT stayed where the
//     attacker left it.
//
// The rows live in adversarial_cases_test.go, what is compared in
// adversarial_observe_test.go, and the attacker's server in attacker_test.go.

// hostileSecret is one row of the suite.
type hostileSecret struct {
	name     string
	strategy rotation.Strategy
	// auth is how the attacker's server asks for a password (default cleartext).
	auth string
	// attack sets the world up as the attacker (and, where the attack needs it, the
	// operator before them) would leave it.
	attack func(w *advWorld)
	// run rotates; nil runs the four steps as Secrets Manager does.
	run func(w *advWorld) error
	// want lists the sentinels the error may wrap (one of them; several where an earlier
	// check may refuse first, which is as good); empty accepts any failure. msg, when set,
	// must appear in the error.
	want []error
	msg  string
	// untouched: the attacker's server must see no connection at all.
	untouched bool
	// masterUnused: the refusal comes before the master is used, so the server's log
	// must show no login as the master during the rotation.
	masterUnused bool
	// check adds outcome checks of the row.
	check func(w *advWorld, err error)
}

// advWorld is one row's set-up: a fixture of its own, the superuser in its database, the
// attacker's server, and what the checks compare.
type advWorld struct {
	t        *testing.T
	f        *rotationtest.Fixture
	super    *pgx.Conn
	attacker *attackerServer
	rds      *rds.Client
	r        *rotation.Rotator
	// known maps roles to the passwords the test knows: each must still log in with it.
	known map[string]string
	// attackerPasswords are the passwords the attacker wrote into the secret.
	attackerPasswords []string
	// watch lists every role the row involves; absent the names that must not exist after.
	watch, absent []string
	// written is the version the attacker left AWSCURRENT on; token the rotation's.
	written, token string
	// logs holds the rotator's log, shown when a row fails.
	logs testenv.Buffer
	// noLoginAs lists roles the server's log must show no login of during the rotation.
	noLoginAs []string
	// stash keeps a version id between a row's attack and its run.
	stash string
	// userPasswordMoves: the row's rotation may legitimately change the application user's
	// password (single user, set step passed), so it is checked by the row itself.
	userPasswordMoves bool
}

// TestAdversarialSecrets runs every hostile secret of adversarialCases.
func TestAdversarialSecrets(t *testing.T) {
	testenv.Integration(t) // every row needs the stack
	names := map[string]bool{}
	for _, c := range adversarialCases() {
		if names[c.name] {
			t.Fatalf("two rows named %q", c.name)
		}
		names[c.name] = true
		t.Run(c.name, func(t *testing.T) { runHostile(t, c) })
	}
	if len(names) < 30 {
		t.Errorf("%d hostile secrets: the suite promises at least 30", len(names))
	}
}

func runHostile(t *testing.T, c hostileSecret) {
	w := newAdvWorld(t, c)
	c.attack(w)
	if w.written == "" {
		w.written = w.f.CurrentVersion(t)
	}
	before, beforeRoles := w.snapshot(), w.rolesOfRow()
	masterPW := w.masterSecret().Password
	if c.masterUnused {
		w.noLoginAs = append(w.noLoginAs, w.f.Master)
	}
	logFrom := w.logOffset()
	var err error
	if c.run != nil {
		err = c.run(w)
	} else {
		err = w.rotate()
	}

	// The refusal, and why.
	if err == nil {
		t.Errorf("the rotation succeeded; want it refused (%v)", c.want)
	} else if len(c.want) > 0 && !slices.ContainsFunc(c.want, func(s error) bool { return errors.Is(err, s) }) {
		t.Errorf("err = %v\nwant one of %v", err, c.want)
	} else if c.msg != "" && !strings.Contains(err.Error(), c.msg) {
		t.Errorf("err = %v\nwant it to mention %q", err, c.msg)
	}
	// Counted first: the checks below log in themselves.
	if len(w.noLoginAs) > 0 {
		logins := w.loginsSince(logFrom)
		for _, role := range w.noLoginAs {
			if n := logins[role]; n > 0 {
				t.Errorf("the server's log shows %d login(s) as %s during the rotation", n, role)
			}
		}
	}
	// Nothing gained, lost or created.
	after, afterRoles := w.snapshot(), w.rolesOfRow()
	for _, d := range diffLines(before, after) {
		t.Errorf("role catalog changed: %s", d)
	}
	for _, d := range diffLines(beforeRoles, afterRoles) {
		t.Errorf("roles of the row changed: %s", d)
	}
	for _, name := range w.absent {
		if w.roleExists(name) {
			t.Errorf("role %q exists after the attack", name)
		}
	}
	// No password reached the attacker.
	rec := w.attacker.Record()
	if len(rec.Passwords) > 0 {
		t.Errorf("the attacker's server received %d password message(s) (as %v)", len(rec.Passwords), rec.Startups)
	}
	for _, p := range rec.Passwords {
		if !slices.Contains(w.attackerPasswords, p.Password) && w.logsInAs(p.User, p.Password) {
			t.Errorf("with the password its server captured, the attacker logs in to the real database as %s", p.User)
		}
	}
	for _, x := range rec.ClientFinals {
		if !slices.ContainsFunc(w.attackerPasswords, x.computedFrom) {
			t.Errorf("the attacker's server received a SCRAM proof for %q computed from a password the attacker did not write (%s)", x.User, w.whosePassword(x))
		}
	}
	if c.untouched && len(rec.Startups) > 0 {
		t.Errorf("the attacker's server was reached %d time(s) (as %v)", len(rec.Startups), rec.Startups)
	}
	// Every legitimate login still works. The master's is tried on the real server,
	// whatever host its secret names.
	if m := w.masterSecret(); m.Password != masterPW || !w.logsInAs(m.Username, m.Password) {
		t.Errorf("the master's secret no longer logs in (its password changed: %v)", m.Password != masterPW)
	}
	if !w.userPasswordMoves && !w.logsInAs(w.f.User, w.f.UserPassword) {
		t.Errorf("the application's own credentials no longer log in")
	}
	for role, pw := range w.known {
		if !w.logsInAs(role, pw) {
			t.Errorf("role %q no longer logs in with its password", role)
		}
	}
	if now := w.f.CurrentVersion(t); now != w.written {
		t.Errorf("AWSCURRENT moved from %s (where the attacker left it) to %s", w.written, now)
	}
	if c.check != nil {
		c.check(w, err)
	}
	if t.Failed() {
		t.Logf("the rotator's log:\n%s", w.logs.String())
	}
}

func newAdvWorld(t *testing.T, c hostileSecret) *advWorld {
	f := rotationtest.New(t, rotationtest.Options{UserPrefix: "adv_app"})
	auth := c.auth
	if auth == "" {
		auth = authCleartext
	}
	w := &advWorld{
		t: t, f: f, super: f.Env.Super(t, f.DB), attacker: startAttacker(t, auth),
		rds: rds.NewFromConfig(f.Env.AWS(t)), known: map[string]string{},
	}
	w.r = newRotator(f, c.strategy, &w.logs)
	w.r.RDS, w.r.Dial = w.rds, advDial
	w.watch = []string{f.Master, f.User, f.User + rotation.CloneSuffix}
	w.absent = []string{f.User + rotation.CloneSuffix}
	return w
}

// advDial resolves names as attackerResolver does (RDS endpoints to the local server,
// *.attacker.test to the attacker's) and logs in with pgx.
func advDial(ctx context.Context, cfg *pgx.ConnConfig) (rotation.DB, error) {
	cfg.LookupFunc = attackerResolver
	return rotation.PgxDialer(ctx, cfg)
}

func (w *advWorld) logsInAs(role, password string) bool {
	c, err := w.f.Connect(role, password)
	if err != nil {
		return false
	}
	c.Close(context.Background())
	return true
}

// rotate runs the four steps of a rotation Secrets Manager started.
func (w *advWorld) rotate() error {
	w.token = w.f.StartRotation(w.t)
	return driver.Run(context.Background(), w.r, w.f.SecretARN, w.token, nil)
}

// step runs one step of the rotation w.token.
func (w *advWorld) step(step string) error {
	return w.r.Handle(context.Background(), rotation.Event{Step: step, SecretID: w.f.SecretARN, ClientRequestToken: w.token})
}

func (w *advWorld) masterSecret() dbsecret.Secret {
	return testenv.CurrentSecret(w.t, w.f.SM, w.f.MasterARN)
}

// role creates a login role with password (none when empty) and the extra clauses,
// able to connect to the fixture's database, dropped at cleanup. It is watched.
func (w *advWorld) role(name, password, clauses string) string {
	w.t.Helper()
	stmt := "CREATE ROLE " + pgrole.Ident(name) + " LOGIN " + clauses
	if password != "" {
		stmt += " PASSWORD " + testenv.Literal(password)
	}
	w.dropAtCleanup(name)
	testenv.Exec(w.t, w.super, stmt, "GRANT CONNECT ON DATABASE "+pgrole.Ident(w.f.DB)+" TO "+pgrole.Ident(name))
	w.watch = append(w.watch, name)
	return name
}

// attackerRole creates a role the attacker made or knows the password of.
func (w *advWorld) attackerRole(name, clauses string) (string, string) {
	pw := testenv.Unique("attacker-pw")
	w.role(name, pw, clauses)
	w.known[name] = pw
	w.attackerPasswords = append(w.attackerPasswords, pw)
	return name, pw
}

// victim creates a role whose password only the test knows.
func (w *advWorld) victim(name, clauses string) string {
	pw := testenv.Unique("victim-pw")
	w.role(name, pw, clauses)
	w.known[name] = pw
	return name
}

func (w *advWorld) dropAtCleanup(names ...string) {
	for _, n := range names {
		w.t.Cleanup(func() {
			ctx := context.Background()
			w.super.Exec(ctx, "DROP OWNED BY "+pgrole.Ident(n))
			w.super.Exec(ctx, "DROP ROLE IF EXISTS "+pgrole.Ident(n))
		})
	}
}

func (w *advWorld) exec(stmts ...string) { w.t.Helper(); testenv.Exec(w.t, w.super, stmts...) }

// forged is the application's secret as the attacker writes it: same document, the
// username and a password of their choosing. The attacker cannot read the secret; the
// test reads it only to keep the fields the attacker knows anyway (host, database).
func (w *advWorld) forged(username, password string) dbsecret.Secret {
	s := w.f.Get(w.t, "", "AWSCURRENT")
	s.Username, s.Password = username, password
	return s
}

// write puts s as a new version of the application's secret with stages, as the attacker,
// and returns its version id. The user it names, and that user's partner, are watched,
// and the partner must not appear.
func (w *advWorld) write(s dbsecret.Secret, stages ...string) string {
	w.t.Helper()
	if slices.Contains(stages, "AWSCURRENT") && w.token != "" {
		// During a rotation the emulator (moto) takes AWSPENDING off the rotation's version
		// when another is put with AWSCURRENT (AWS leaves it): the attacker writes the
		// version under a label of its own and moves AWSCURRENT to it, which both do alike.
		v := w.write(s, "ATTACKER")
		w.moveCurrent(v)
		return v
	}
	body, err := s.Marshal()
	if err != nil {
		w.t.Fatal(err)
	}
	out, err := w.f.SM.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(w.f.SecretARN), SecretString: aws.String(string(body)), VersionStages: stages,
	})
	if err != nil {
		w.t.Fatalf("attacker's PutSecretValue: %v", err)
	}
	if s.Password != "" && !slices.Contains(w.attackerPasswords, s.Password) {
		w.attackerPasswords = append(w.attackerPasswords, s.Password)
	}
	if strings.ContainsRune(s.Username, 0) {
		// No role can have this name; the catalog queries could not even ask.
		return aws.ToString(out.VersionId)
	}
	w.watch = append(w.watch, s.Username)
	if p, err := rotation.Partner(s.Username); err == nil {
		w.watch = append(w.watch, p)
		if !w.roleExists(p) {
			w.absent = append(w.absent, p)
			w.dropAtCleanup(p)
		}
	}
	if slices.Contains(stages, "AWSCURRENT") {
		w.written = aws.ToString(out.VersionId)
	}
	return aws.ToString(out.VersionId)
}

// writeCurrent writes AWSCURRENT naming username with a guessed password.
func (w *advWorld) writeCurrent(username string) dbsecret.Secret {
	s := w.forged(username, testenv.Unique("guess"))
	w.write(s, "AWSCURRENT")
	return s
}

// moveCurrent labels version AWSCURRENT, as the attacker may with
// UpdateSecretVersionStage.
func (w *advWorld) moveCurrent(version string) {
	w.t.Helper()
	if _, err := w.f.SM.UpdateSecretVersionStage(context.Background(), &secretsmanager.UpdateSecretVersionStageInput{
		SecretId: aws.String(w.f.SecretARN), VersionStage: aws.String("AWSCURRENT"),
		MoveToVersionId: aws.String(version), RemoveFromVersionId: aws.String(w.f.CurrentVersion(w.t)),
	}); err != nil {
		w.t.Fatalf("attacker's UpdateSecretVersionStage: %v", err)
	}
	w.written = version
}

func (w *advWorld) roleExists(name string) bool {
	w.t.Helper()
	var ok bool
	if err := w.super.QueryRow(context.Background(), "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1::text)", name).Scan(&ok); err != nil {
		w.t.Fatal(err)
	}
	return ok
}

// putSecret puts body as the new AWSCURRENT of secret id.
func putSecret(t *testing.T, sm *secretsmanager.Client, id, body string) {
	t.Helper()
	if _, err := sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(id), SecretString: aws.String(body), VersionStages: []string{"AWSCURRENT"},
	}); err != nil {
		t.Fatal(err)
	}
}
