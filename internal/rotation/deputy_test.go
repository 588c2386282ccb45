package rotation_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/pgrole"
	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/rotation/driver"
	"github.com/rotaudit/rotaudit/internal/rotation/rotationtest"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// TestConfusedDeputy replays, on the real database and emulator, what someone who may
// write the application's secret but knows no database password would try: name another
// role ("payroll", with data of its own) or the master itself, with a guessed password,
// and let the alternating rotation make a clone of it whose password lands in the secret.
// Each attempt must fail, create no role, store no pending value, and leave the secret as
// the writer left it; doctor must report the same failure beforehand.
func TestConfusedDeputy(t *testing.T) {
	testenv.Integration(t) // every subtest needs the stack
	for _, attack := range []string{"another role", "the master"} {
		t.Run(attack, func(t *testing.T) {
			// A fixture each: one forged secret per attack, as a writer would leave it.
			f := rotationtest.New(t, rotationtest.Options{UserPrefix: "deputy_app"})
			ctx := context.Background()
			super := f.Env.Super(t, f.DB)
			victim := f.Master
			if attack == "another role" {
				victim = payrollRole(t, f, super)
			}
			forged := f.Get(t, "", "AWSCURRENT")
			forged.Username, forged.Password = victim, "guess-"+testenv.Unique("pw")
			body, _ := forged.Marshal()
			if _, err := f.SM.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
				SecretId: aws.String(f.SecretARN), SecretString: aws.String(string(body)), VersionStages: []string{"AWSCURRENT"},
			}); err != nil {
				t.Fatal(err)
			}
			written := f.CurrentVersion(t)
			r := newRotator(f, rotation.AlternatingUsers, nil)

			checks := r.Doctor(ctx, f.SecretARN)
			if !rotation.Failed(checks) || !slices.ContainsFunc(checks, func(c rotation.Check) bool {
				return c.Name == "database login" && c.Status == rotation.CheckFail
			}) {
				t.Errorf("doctor did not fail the login: %+v", checks)
			}

			token := f.StartRotation(t)
			err := driver.Run(ctx, r, f.SecretARN, token, nil)
			if !errors.Is(err, rotation.ErrDBAuth) || !strings.Contains(err.Error(), "must log in as") {
				t.Fatalf("rotation of a forged secret: err = %v, want ErrDBAuth from the guard", err)
			}
			var exists bool
			if err := super.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)", victim+"_clone").Scan(&exists); err != nil {
				t.Fatal(err)
			}
			if exists {
				t.Fatalf("%s_clone was created", victim)
			}
			// createSecret contacts no database (as AWS's function): its pending value may
			// be stored, but it names the victim's clone and a password set nowhere.
			if p, err := f.SM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
				SecretId: aws.String(f.SecretARN), VersionId: aws.String(token), VersionStage: aws.String("AWSPENDING"),
			}); err == nil {
				var pending struct{ Username, Password string }
				json.Unmarshal([]byte(aws.ToString(p.SecretString)), &pending)
				if c, err := f.Connect(pending.Username, pending.Password); err == nil {
					c.Close(ctx)
					t.Fatalf("the pending value stored for the forged secret logs in as %s", pending.Username)
				}
			}
			if now := f.CurrentVersion(t); now != written {
				t.Fatalf("AWSCURRENT moved from %s to %s", written, now)
			}
		})
	}
}

// payrollRole makes a login role with data of its own that the application must never
// reach, dropped at cleanup.
func payrollRole(t *testing.T, f *rotationtest.Fixture, super *pgx.Conn) string {
	ctx := context.Background()
	payroll := testenv.Unique("payroll")
	// super is still open here (cleanups run last-in first-out); DROP OWNED, in the
	// scratch database, also revokes the role's grants there and on the database itself.
	t.Cleanup(func() {
		for _, r := range []string{payroll + "_clone", payroll} {
			super.Exec(context.Background(), "DROP OWNED BY "+pgrole.Ident(r))
			super.Exec(context.Background(), "DROP ROLE IF EXISTS "+pgrole.Ident(r))
		}
	})
	for _, s := range []string{
		"CREATE ROLE " + pgrole.Ident(payroll) + " LOGIN PASSWORD " + quote(testenv.Unique("secret")),
		"CREATE TABLE salaries (who text, amount int)",
		"GRANT SELECT ON salaries TO " + pgrole.Ident(payroll),
		"GRANT CONNECT ON DATABASE " + pgrole.Ident(f.DB) + " TO " + pgrole.Ident(payroll),
	} {
		if _, err := super.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return payroll
}

// TestPrivilegedUserRefused: a user whose own credentials log in but who holds CREATEROLE
// (here given after createSecret passed, so the master's own check in setSecret is what
// refuses) gets no clone; ALLOW_PRIVILEGED_USERS=true lets the operator rotate it.
func TestPrivilegedUserRefused(t *testing.T) {
	f := rotationtest.New(t, rotationtest.Options{UserPrefix: "priv_app"})
	ctx := context.Background()
	super := f.Env.Super(t, f.DB)
	r := newRotator(f, rotation.AlternatingUsers, nil)
	token := f.StartRotation(t)
	if err := r.Handle(ctx, rotation.Event{Step: rotation.StepCreate, SecretID: f.SecretARN, ClientRequestToken: token}); err != nil {
		t.Fatal(err)
	}
	if _, err := super.Exec(ctx, "ALTER ROLE "+pgrole.Ident(f.User)+" CREATEROLE"); err != nil {
		t.Fatal(err)
	}
	err := r.Handle(ctx, rotation.Event{Step: rotation.StepSet, SecretID: f.SecretARN, ClientRequestToken: token})
	if !errors.Is(err, rotation.ErrUnsafeUser) || !strings.Contains(err.Error(), "CREATEROLE") {
		t.Fatalf("setSecret for a CREATEROLE user: err = %v, want ErrUnsafeUser", err)
	}
	var exists bool
	if err := super.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)", f.User+"_clone").Scan(&exists); err != nil || exists {
		t.Fatalf("clone exists = %v (%v) after the refusal", exists, err)
	}
	checks := r.Doctor(ctx, f.SecretARN)
	if !slices.ContainsFunc(checks, func(c rotation.Check) bool { return c.Name == "user safety" && c.Status == rotation.CheckFail }) {
		t.Errorf("doctor did not flag the user: %+v", checks)
	}
	r.Config.AllowPrivilegedUsers = true
	if err := driver.Run(ctx, r, f.SecretARN, token, nil); err != nil {
		t.Fatalf("with %s=true: %v", rotation.EnvAllowPrivilegedUsers, err)
	}
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// TestPartnerIsChecked replays the way around the guard through the other user of the
// pair: the writer names a role whose password they know (they made it, or were given it)
// and whose partner is a role they must not get: the master itself (<master>_clone), or
// a payroll role X with data of its own (X_clone). The secret's own credentials log in,
// so only the check of the partner stands between the writer and the partner's password.
// Each attempt must fail, leave the partner's password and powers as they were, and give
// the writer's role nothing.
func TestPartnerIsChecked(t *testing.T) {
	testenv.Integration(t) // every subtest needs the stack
	for _, victim := range []string{"the master", "a payroll role"} {
		t.Run(victim, func(t *testing.T) {
			f := rotationtest.New(t, rotationtest.Options{UserPrefix: "partner_app"})
			ctx := context.Background()
			super := f.Env.Super(t, f.DB)
			target, targetSecret := f.Master, f.Get(t, "", "AWSCURRENT")
			if victim == "the master" {
				m, err := dbsecret.Parse([]byte(rawVersion(t, f.SM, f.MasterARN, "AWSCURRENT")))
				if err != nil {
					t.Fatal(err)
				}
				m.DBName = f.DB
				targetSecret = m
			} else {
				target = payrollRole(t, f, super)
				targetSecret.Username, targetSecret.Password = target, testenv.Unique("secret")
				testenv.Exec(t, super, "ALTER ROLE "+pgrole.Ident(target)+" PASSWORD "+quote(targetSecret.Password))
			}
			mine := target + rotation.CloneSuffix
			minePassword := testenv.Unique("known")
			f.Env.DropRolesAtCleanup(t, mine)
			testenv.Exec(t, super,
				"CREATE ROLE "+pgrole.Ident(mine)+" LOGIN PASSWORD "+quote(minePassword),
				"GRANT CONNECT ON DATABASE "+pgrole.Ident(f.DB)+" TO "+pgrole.Ident(mine))
			forged := f.Get(t, "", "AWSCURRENT")
			forged.Username, forged.Password = mine, minePassword
			body, _ := forged.Marshal()
			if _, err := f.SM.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
				SecretId: aws.String(f.SecretARN), SecretString: aws.String(string(body)), VersionStages: []string{"AWSCURRENT"},
			}); err != nil {
				t.Fatal(err)
			}
			before, err := pgrole.Compare(ctx, super, target, mine)
			if err != nil {
				t.Fatal(err)
			}
			r := newRotator(f, rotation.AlternatingUsers, nil)
			err = driver.Run(ctx, r, f.SecretARN, f.StartRotation(t), nil)
			if !errors.Is(err, rotation.ErrUnsafeUser) || !strings.Contains(err.Error(), target) {
				t.Fatalf("rotation naming %s: err = %v, want ErrUnsafeUser naming %s", mine, err, target)
			}
			if !rotationtest.LogsIn(targetSecret) {
				t.Fatalf("%s's password changed", target)
			}
			after, err := pgrole.Compare(ctx, super, target, mine)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(before) != fmt.Sprint(after) {
				t.Fatalf("grants moved between %s and %s:\nbefore %v\nafter  %v", target, mine, before, after)
			}
			if victim == "the master" {
				var createRole bool
				if err := super.QueryRow(ctx, "SELECT rolcreaterole FROM pg_roles WHERE rolname = $1", target).Scan(&createRole); err != nil || !createRole {
					t.Fatalf("the master lost CREATEROLE (%v)", err)
				}
			}
		})
	}
}
