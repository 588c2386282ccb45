// Package rotationtest builds isolated rotation fixtures on the local stack for tests: a
// scratch database owned by a CREATEROLE (not superuser) master, like RDS's; an
// application login role with awkward characters in its name; their secrets in the
// emulator's Secrets Manager; and rotation enabled through a placeholder Lambda, so
// RotateSecret leaves the secret exactly as AWS does before it calls createSecret.
// Everything has a unique name and is removed at cleanup.
package rotationtest

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/pgrole"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// Options shapes a fixture.
type Options struct {
	// UserPrefix starts the application role's name; default has a quote, a double
	// quote, a space, a semicolon and non-ASCII letters.
	UserPrefix string
	// LogStatements sets log_statement = 'all' on the master role, and LogUserStatements
	// on the user too. (Only a superuser may set it, so an alternating rotation, whose
	// master copies the user's settings to the clone, leaves it out with a warning.)
	LogStatements, LogUserStatements bool
	// UserByOtherAdmin leaves the user as another administrator (here the superuser) made
	// it: on PostgreSQL 16+ the master then lacks ADMIN OPTION on it. By default the
	// fixture grants the master that option, as a user the master created would have.
	UserByOtherAdmin bool
}

// DefaultUserPrefix is a role name prefix that breaks naive SQL quoting.
const DefaultUserPrefix = `app "o'q"; é`

// Fixture is one isolated rotation set-up.
type Fixture struct {
	Env *testenv.Env
	SM  *secretsmanager.Client
	// DB is the scratch database; Table a table in it the user may SELECT.
	DB, Table string
	// Master and User are role names; UserPassword the user's first password.
	Master, User, UserPassword string
	// MasterARN and SecretARN are the secrets of the master and of the user.
	MasterARN, SecretARN string
	// LambdaARN is the placeholder function RotateSecret is configured with.
	LambdaARN string
	// Major is the server's major version (13 for 13.22).
	Major int
}

// New makes a fixture; see the package doc.
func New(t testing.TB, o Options) *Fixture {
	t.Helper()
	env := testenv.Stack(t)
	ctx := context.Background()
	if o.UserPrefix == "" {
		o.UserPrefix = DefaultUserPrefix
	}
	f := &Fixture{Env: env, SM: secretsmanager.NewFromConfig(env.AWS(t))}
	f.Master = testenv.Unique("rot_master")
	f.User = testenv.Unique(o.UserPrefix)
	masterPW, userPW := testenv.Unique("pw"), testenv.Unique("pw")
	f.UserPassword = userPW
	super := env.Super(t, "")
	env.DropRolesAtCleanup(t, f.User, f.User+"_clone", f.Master)
	testenv.Exec(t, super,
		"CREATE ROLE "+pgrole.Ident(f.Master)+" LOGIN CREATEROLE PASSWORD "+testenv.Literal(masterPW),
		"CREATE ROLE "+pgrole.Ident(f.User)+" LOGIN PASSWORD "+testenv.Literal(userPW),
	)
	if err := super.QueryRow(ctx, "SELECT current_setting('server_version_num')::int / 10000").Scan(&f.Major); err != nil {
		t.Fatalf("server version: %v", err)
	}
	if f.Major >= 16 && !o.UserByOtherAdmin {
		testenv.Exec(t, super, "GRANT "+pgrole.Ident(f.User)+" TO "+pgrole.Ident(f.Master)+" WITH ADMIN OPTION, INHERIT FALSE, SET FALSE")
	}
	if o.LogStatements {
		testenv.Exec(t, super, "ALTER ROLE "+pgrole.Ident(f.Master)+" SET log_statement = 'all'")
	}
	if o.LogUserStatements {
		testenv.Exec(t, super, "ALTER ROLE "+pgrole.Ident(f.User)+" SET log_statement = 'all'")
	}
	f.DB = env.CreateDatabase(t, "rot")
	testenv.Exec(t, super, "ALTER DATABASE "+pgrole.Ident(f.DB)+" OWNER TO "+pgrole.Ident(f.Master))
	// Objects are made by the master, as an application's migrations would be.
	f.Table = "rates"
	m := f.As(t, f.Master, masterPW)
	testenv.Exec(t, m,
		"CREATE TABLE "+pgrole.Ident(f.Table)+" (id int PRIMARY KEY, v text)",
		"INSERT INTO "+pgrole.Ident(f.Table)+" VALUES (1, 'one')",
		"GRANT SELECT ON "+pgrole.Ident(f.Table)+" TO "+pgrole.Ident(f.User),
		"GRANT CONNECT ON DATABASE "+pgrole.Ident(f.DB)+" TO "+pgrole.Ident(f.User),
	)

	host := "127.0.0.1"
	port := env.PGPort
	f.MasterARN = f.createSecret(t, fmt.Sprintf(`{"engine":"postgres","host":%q,"port":%d,"username":%s,"password":%q,"dbname":%q,"ssl":false}`,
		host, port, jsonString(f.Master), masterPW, f.DB))
	f.SecretARN = f.createSecret(t, fmt.Sprintf(`{"engine":"postgres","host":%q,"port":"%d","username":%s,"password":%q,"dbname":%q,"ssl":false,"masterarn":%q,"owner_note":{"kept":true}}`,
		host, port, jsonString(f.User), userPW, f.DB, f.MasterARN))
	f.LambdaARN = PlaceholderLambda(t, env)
	return f
}

// As connects to the fixture's database as role with password, closed at cleanup.
func (f *Fixture) As(t testing.TB, role, password string) *pgx.Conn {
	t.Helper()
	c, err := f.Connect(role, password)
	if err != nil {
		t.Fatalf("connect as %s: %v", role, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// Connect logs in to the fixture's database over TCP.
func (f *Fixture) Connect(role, password string) (*pgx.Conn, error) {
	return testenv.Connect(dbsecret.Secret{Engine: "postgres", Host: "127.0.0.1", Port: f.Env.PGPort, Username: role, Password: password, DBName: f.DB})
}

// LogsIn reports whether s's credentials log in to its database.
func LogsIn(s dbsecret.Secret) bool {
	c, err := testenv.Connect(s)
	if err != nil {
		return false
	}
	c.Close(context.Background())
	return true
}

func (f *Fixture) createSecret(t testing.TB, value string) string {
	t.Helper()
	name := testenv.Unique("rotaudit-test/rotation")
	out, err := testenv.CreateSecret(context.Background(), f.SM, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
	if err != nil {
		t.Fatalf("create secret %s: %v", name, err)
	}
	t.Cleanup(func() {
		f.SM.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: out.ARN, ForceDeleteWithoutRecovery: aws.Bool(true)})
	})
	return aws.ToString(out.ARN)
}

// StartRotation calls RotateSecret as a schedule would: rotation becomes enabled and a
// new empty version labelled AWSPENDING appears. It returns that version's id.
func (f *Fixture) StartRotation(t testing.TB) string {
	t.Helper()
	out, err := f.SM.RotateSecret(context.Background(), &secretsmanager.RotateSecretInput{
		SecretId:          aws.String(f.SecretARN),
		RotationLambdaARN: aws.String(f.LambdaARN),
		RotationRules:     &smtypes.RotationRulesType{AutomaticallyAfterDays: aws.Int64(30)},
	})
	if err != nil {
		t.Fatalf("rotate secret: %v", err)
	}
	return aws.ToString(out.VersionId)
}

// Stages returns the secret's version id -> staging labels.
func (f *Fixture) Stages(t testing.TB) map[string][]string {
	t.Helper()
	d, err := f.SM.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(f.SecretARN)})
	if err != nil {
		t.Fatalf("describe secret: %v", err)
	}
	return d.VersionIdsToStages
}

// Get reads a version of the fixture's secret by stage (and id when not empty).
func (f *Fixture) Get(t testing.TB, version, stage string) dbsecret.Secret {
	t.Helper()
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(f.SecretARN), VersionStage: aws.String(stage)}
	if version != "" {
		in.VersionId = aws.String(version)
	}
	out, err := f.SM.GetSecretValue(context.Background(), in)
	if err != nil {
		t.Fatalf("get %s %s: %v", stage, version, err)
	}
	s, err := dbsecret.Parse([]byte(aws.ToString(out.SecretString)))
	if err != nil {
		t.Fatalf("parse %s: %v", stage, err)
	}
	return s
}

// CheckFinished asserts the end state of a completed rotation to token: token alone is
// AWSCURRENT, oldCurrent is AWSPREVIOUS, and no version holds AWSPENDING.
func (f *Fixture) CheckFinished(t testing.TB, token, oldCurrent string) {
	t.Helper()
	st := f.Stages(t)
	for v, labels := range st {
		if slices.Contains(labels, "AWSCURRENT") != (v == token) {
			t.Errorf("version %s labels %v: AWSCURRENT must be on %s alone", v, labels, token)
		}
		if slices.Contains(labels, "AWSPENDING") {
			t.Errorf("version %s still holds AWSPENDING (%v)", v, labels)
		}
		if oldCurrent != "" && slices.Contains(labels, "AWSPREVIOUS") != (v == oldCurrent) {
			t.Errorf("version %s labels %v: AWSPREVIOUS must be on %s alone", v, labels, oldCurrent)
		}
	}
}

// CurrentVersion returns the id of the version labelled AWSCURRENT.
func (f *Fixture) CurrentVersion(t testing.TB) string {
	t.Helper()
	for v, labels := range f.Stages(t) {
		if slices.Contains(labels, "AWSCURRENT") {
			return v
		}
	}
	t.Fatal("no version is AWSCURRENT")
	return ""
}

// PlaceholderLambda creates an IAM role and a Lambda function that is never run, both
// removed at cleanup: it only lets RotateSecret accept a RotationLambdaARN.
func PlaceholderLambda(t testing.TB, env *testenv.Env) string {
	t.Helper()
	ctx := context.Background()
	cfg := env.AWS(t)
	name := testenv.Unique("rotaudit-test-rotator")
	ic := iam.NewFromConfig(cfg)
	// Both creates may be sent twice by the SDK (an answer lost on a busy machine):
	// CreateOnce reads back what the first attempt made.
	roleARN, err := testenv.CreateOnce(ctx, name,
		func(ctx context.Context) (*string, error) {
			out, err := ic.CreateRole(ctx, &iam.CreateRoleInput{
				RoleName:                 aws.String(name),
				AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
			})
			if err != nil {
				return nil, err
			}
			return out.Role.Arn, nil
		},
		func(ctx context.Context) (*string, error) {
			out, err := ic.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
			if err != nil {
				return nil, err
			}
			return out.Role.Arn, nil
		})
	if err != nil {
		t.Fatalf("create placeholder role: %v", err)
	}
	t.Cleanup(func() { ic.DeleteRole(context.Background(), &iam.DeleteRoleInput{RoleName: aws.String(name)}) })
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("bootstrap")
	w.Write([]byte("#!/bin/sh\nexit 1\n"))
	zw.Close()
	lc := lambda.NewFromConfig(cfg)
	fnARN, err := testenv.CreateOnce(ctx, name,
		func(ctx context.Context) (string, error) {
			out, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
				FunctionName: aws.String(name),
				Runtime:      ltypes.RuntimeProvidedal2023,
				Handler:      aws.String("bootstrap"),
				Role:         roleARN,
				Code:         &ltypes.FunctionCode{ZipFile: buf.Bytes()},
			})
			if err != nil {
				return "", err
			}
			return aws.ToString(out.FunctionArn), nil
		},
		func(ctx context.Context) (string, error) {
			out, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
			if err != nil {
				return "", err
			}
			return aws.ToString(out.Configuration.FunctionArn), nil
		})
	if err != nil {
		t.Fatalf("create placeholder function: %v", err)
	}
	t.Cleanup(func() {
		lc.DeleteFunction(context.Background(), &lambda.DeleteFunctionInput{FunctionName: aws.String(name)})
	})
	return fnARN
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
