package rotation_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/jackc/pgx/v5"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/rotation/driver"
	"github.com/rotaudit/rotaudit/internal/rotation/rotationtest"
	"github.com/rotaudit/rotaudit/internal/testenv"
)

// The drop-in tests: secrets as AWS's own functions accept them, rotated on the real
// PostgreSQL and emulator. Each is named in functions/rotator/README.md's table.

func putCurrent(t *testing.T, f *rotationtest.Fixture, body string) {
	t.Helper()
	if _, err := f.SM.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(f.SecretARN), SecretString: aws.String(body), VersionStages: []string{"AWSCURRENT"},
	}); err != nil {
		t.Fatal(err)
	}
}

func rawVersion(t *testing.T, sm *secretsmanager.Client, id, stage string) string {
	t.Helper()
	out, err := sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(id), VersionStage: aws.String(stage)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.SecretString)
}

func jsonStr(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// masterLogin returns the fixture master's user name and password.
func masterLogin(t *testing.T, f *rotationtest.Fixture) (string, string) {
	t.Helper()
	m, err := dbsecret.Parse([]byte(rawVersion(t, f.SM, f.MasterARN, "AWSCURRENT")))
	if err != nil {
		t.Fatal(err)
	}
	return m.Username, m.Password
}

func rotateOnce(t *testing.T, f *rotationtest.Fixture, r *rotation.Rotator) error {
	t.Helper()
	return driver.Run(context.Background(), r, f.SecretARN, f.StartRotation(t), nil)
}

// TestPendingKeepsTheOwnersJSON: the pending secret is the owner's document with a new
// password: key order, a float port, a string "ssl", an unknown key, and no dbname added.
func TestPendingKeepsTheOwnersJSON(t *testing.T) {
	f := rotationtest.New(t, rotationtest.Options{UserPrefix: "dropin_json"})
	body := `{"password":` + jsonStr(f.UserPassword) + `,"username":` + jsonStr(f.User) + `,"host":"127.0.0.1","port":` +
		fmtInt(f.Env.PGPort) + `.0,"ssl":"FALSE","engine":"postgres","team":["a",1]}`
	putCurrent(t, f, body)
	if err := rotateOnce(t, f, newRotator(f, rotation.SingleUser, nil)); err != nil {
		t.Fatal(err)
	}
	now := rawVersion(t, f.SM, f.SecretARN, "AWSCURRENT")
	cur := f.Get(t, "", "AWSCURRENT")
	want := strings.Replace(body, jsonStr(f.UserPassword), jsonStr(cur.Password), 1)
	if cur.Password == f.UserPassword || now != want {
		t.Fatalf("AWSCURRENT after rotation\n got %s\nwant %s", now, want)
	}
	if !rotationtest.LogsIn(cur) {
		t.Fatal("the new password does not log in")
	}
}

func fmtInt(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestMasterByNameAndLenientSSL: alternating users with "masterarn" holding the master
// secret's name (not its ARN), "port" as a string and "ssl": "yes" (AWS: try TLS, fall
// back). The local server has no TLS: with DB_ALLOW_PLAINTEXT=true the rotator tries TLS,
// is refused, uses plaintext and logs it; the pending JSON keeps the owner's key order
// and types.
func TestMasterByNameAndLenientSSL(t *testing.T) {
	f := rotationtest.New(t, rotationtest.Options{UserPrefix: "dropin_name"})
	ctx := context.Background()
	d, err := f.SM.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(f.MasterARN)})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"masterarn":` + jsonStr(aws.ToString(d.Name)) + `,"dbname":` + jsonStr(f.DB) + `,"username":` + jsonStr(f.User) +
		`,"password":` + jsonStr(f.UserPassword) + `,"port":"` + fmtInt(f.Env.PGPort) + `","host":"127.0.0.1","engine":"postgres","ssl":"yes"}`
	putCurrent(t, f, body)
	var logs testenv.Buffer
	r := newRotator(f, rotation.AlternatingUsers, &logs)
	if err := rotateOnce(t, f, r); err == nil || !errors.Is(err, rotation.ErrDBTLS) {
		t.Fatalf("without DB_ALLOW_PLAINTEXT: err = %v, want ErrDBTLS (no silent downgrade)", err)
	}
	// That attempt left its pending version: clear it as an operator would.
	clearPending(t, f)
	r.Config.AllowPlaintext = true
	if err := rotateOnce(t, f, r); err != nil {
		t.Fatal(err)
	}
	now := rawVersion(t, f.SM, f.SecretARN, "AWSCURRENT")
	cur := f.Get(t, "", "AWSCURRENT")
	want := strings.Replace(strings.Replace(body, jsonStr(f.UserPassword), jsonStr(cur.Password), 1),
		`"username":`+jsonStr(f.User), `"username":`+jsonStr(f.User+"_clone"), 1)
	if now != want {
		t.Fatalf("AWSCURRENT after rotation\n got %s\nwant %s", now, want)
	}
	if !rotationtest.LogsIn(cur) {
		t.Fatal("the clone does not log in")
	}
	if !strings.Contains(logs.String(), `"tls":false`) || !strings.Contains(logs.String(), "server refused TLS") {
		t.Fatalf("the log does not say plaintext was used:\n%s", logs.String())
	}
}

func clearPending(t *testing.T, f *rotationtest.Fixture) {
	t.Helper()
	for v, labels := range f.Stages(t) {
		for _, l := range labels {
			if l == "AWSPENDING" {
				// A retry of this call after its answer was lost finds the label gone and
				// is refused: the label being gone is what was asked for.
				if _, err := f.SM.UpdateSecretVersionStage(context.Background(), &secretsmanager.UpdateSecretVersionStageInput{
					SecretId: aws.String(f.SecretARN), VersionStage: aws.String("AWSPENDING"), RemoveFromVersionId: aws.String(v),
				}); err != nil && slices.Contains(f.Stages(t)[v], "AWSPENDING") {
					t.Fatal(err)
				}
			}
		}
	}
}

// rdsDial resolves every RDS endpoint name to the local server, as DNS resolves it to
// the instance on AWS: the emulator's RDS has endpoints but no database behind them.
func rdsDial(ctx context.Context, cfg *pgx.ConnConfig) (rotation.DB, error) {
	cfg.LookupFunc = func(ctx context.Context, host string) ([]string, error) {
		if strings.HasSuffix(host, ".rds.amazonaws.com") {
			return []string{"127.0.0.1"}, nil
		}
		return net.DefaultResolver.LookupHost(ctx, host)
	}
	return rotation.PgxDialer(ctx, cfg)
}

type rdsWorld struct {
	rds *rds.Client
	f   *rotationtest.Fixture
	// made are the secrets the world made, pinned as masters by rotator.
	made []string
}

func newRDSWorld(t *testing.T, prefix string) *rdsWorld {
	f := rotationtest.New(t, rotationtest.Options{UserPrefix: prefix})
	return &rdsWorld{rds: rds.NewFromConfig(f.Env.AWS(t)), f: f}
}

func (w *rdsWorld) instance(t *testing.T, id, source, cluster string) (arn, host string) {
	t.Helper()
	id = rdsID(id)
	create := func(ctx context.Context) (*rdstypes.DBInstance, error) {
		if source != "" {
			out, err := w.rds.CreateDBInstanceReadReplica(ctx, &rds.CreateDBInstanceReadReplicaInput{
				DBInstanceIdentifier: aws.String(id), SourceDBInstanceIdentifier: aws.String(source), DBInstanceClass: aws.String("db.t3.micro"),
			})
			if err != nil {
				return nil, err
			}
			return out.DBInstance, nil
		}
		in := &rds.CreateDBInstanceInput{
			DBInstanceIdentifier: aws.String(id), DBInstanceClass: aws.String("db.t3.micro"), Engine: aws.String("postgres"),
			AllocatedStorage: aws.Int32(20), MasterUsername: aws.String("postgres"), MasterUserPassword: aws.String("unused-123456"),
			Port: aws.Int32(int32(w.f.Env.PGPort)),
		}
		if cluster != "" {
			in = &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String(id), DBInstanceClass: aws.String("db.r6g.large"),
				Engine: aws.String("aurora-postgresql"), DBClusterIdentifier: aws.String(cluster)}
		}
		out, err := w.rds.CreateDBInstance(ctx, in)
		if err != nil {
			return nil, err
		}
		return out.DBInstance, nil
	}
	readBack := func(ctx context.Context) (*rdstypes.DBInstance, error) {
		out, err := w.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
		if err != nil {
			return nil, err
		}
		if len(out.DBInstances) != 1 {
			return nil, fmt.Errorf("describe DB instance %s: %d instances", id, len(out.DBInstances))
		}
		return &out.DBInstances[0], nil
	}
	in, err := testenv.CreateOnce(context.Background(), id, create, readBack)
	if err != nil {
		t.Fatalf("create DB instance %s: %v", id, err)
	}
	t.Cleanup(func() {
		w.rds.DeleteDBInstance(context.Background(), &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(id), SkipFinalSnapshot: aws.Bool(true)})
	})
	return aws.ToString(in.DBInstanceArn), aws.ToString(in.Endpoint.Address)
}

func (w *rdsWorld) cluster(t *testing.T, id string) (arn, writer, reader string) {
	t.Helper()
	id = rdsID(id)
	c, err := testenv.CreateOnce(context.Background(), id,
		func(ctx context.Context) (*rdstypes.DBCluster, error) {
			out, err := w.rds.CreateDBCluster(ctx, &rds.CreateDBClusterInput{
				DBClusterIdentifier: aws.String(id), Engine: aws.String("aurora-postgresql"), MasterUsername: aws.String("postgres"),
				MasterUserPassword: aws.String("unused-123456"), Port: aws.Int32(int32(w.f.Env.PGPort)),
			})
			if err != nil {
				return nil, err
			}
			return out.DBCluster, nil
		},
		func(ctx context.Context) (*rdstypes.DBCluster, error) {
			out, err := w.rds.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(id)})
			if err != nil {
				return nil, err
			}
			if len(out.DBClusters) != 1 {
				return nil, fmt.Errorf("describe DB cluster %s: %d clusters", id, len(out.DBClusters))
			}
			return &out.DBClusters[0], nil
		})
	if err != nil {
		t.Fatalf("create DB cluster %s: %v", id, err)
	}
	t.Cleanup(func() {
		w.rds.DeleteDBCluster(context.Background(), &rds.DeleteDBClusterInput{DBClusterIdentifier: aws.String(id), SkipFinalSnapshot: aws.Bool(true)})
	})
	return aws.ToString(c.DBClusterArn), aws.ToString(c.Endpoint), aws.ToString(c.ReaderEndpoint)
}

// rdsID makes a unique name a valid RDS identifier (letters, digits, hyphens).
func rdsID(s string) string { return strings.ReplaceAll(s, "_", "-") }

// secret makes a secret with tags, deleted at cleanup.
func (w *rdsWorld) secret(t *testing.T, value string, tags map[string]string) string {
	t.Helper()
	in := &secretsmanager.CreateSecretInput{Name: aws.String(testenv.Unique("rotaudit-test/rds")), SecretString: aws.String(value)}
	for k, v := range tags {
		in.Tags = append(in.Tags, smtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	out, err := testenv.CreateSecret(context.Background(), w.f.SM, in)
	if err != nil {
		t.Fatalf("create secret: %v", err)
	}
	t.Cleanup(func() {
		w.f.SM.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: out.ARN, ForceDeleteWithoutRecovery: aws.Bool(true)})
	})
	w.made = append(w.made, aws.ToString(out.ARN))
	return aws.ToString(out.ARN)
}

// userSecret gives the fixture a new user secret (a fresh one, so a failed attempt
// leaves nothing behind) naming host and master.
func (w *rdsWorld) userSecret(t *testing.T, host, master string) {
	f := w.f
	f.SecretARN = w.secret(t, `{"engine":"postgres","host":`+jsonStr(host)+`,"port":`+fmtInt(f.Env.PGPort)+`,"username":`+jsonStr(f.User)+
		`,"password":`+jsonStr(f.UserPassword)+`,"dbname":`+jsonStr(f.DB)+`,"ssl":false,"masterarn":`+jsonStr(master)+`}`, nil)
}

func (w *rdsWorld) rotator() *rotation.Rotator {
	r := newRotator(w.f, rotation.AlternatingUsers, nil)
	r.RDS = w.rds
	r.Dial = rdsDial
	r.Config.MasterSecretARNs = append(r.Config.MasterSecretARNs, w.made...)
	// The master secret has no "ssl": TLS first (with the embedded RDS authorities), and
	// plaintext only because the local server refuses TLS.
	r.Config.AllowPlaintext = true
	return r
}

// TestRDSManagedMasterSecret: a master secret of only username and password, tagged by
// RDS with its instance's or cluster's ARN: the rotator asks RDS for the host and port,
// as AWS's function does. Without the tag it says what is missing and changes nothing.
func TestRDSManagedMasterSecret(t *testing.T) {
	testenv.Integration(t) // every subtest needs the stack
	for _, kind := range []string{"instance", "cluster"} {
		t.Run(kind, func(t *testing.T) {
			w := newRDSWorld(t, "dropin_rds_"+kind)
			user, pw := masterLogin(t, w.f)
			var dbARN, host, tag string
			if kind == "instance" {
				dbARN, host = w.instance(t, testenv.Unique("pg"), "", "")
				tag = rotation.TagPrimaryDBInstanceARN
			} else {
				dbARN, host, _ = w.cluster(t, testenv.Unique("aurora"))
				tag = rotation.TagPrimaryDBClusterARN
			}
			creds := `{"username":` + jsonStr(user) + `,"password":` + jsonStr(pw) + `}`
			untagged := w.secret(t, creds, nil)
			w.userSecret(t, host, untagged)
			before := w.f.CurrentVersion(t)
			err := rotateOnce(t, w.f, w.rotator())
			if !errors.Is(err, rotation.ErrInvalidSecret) || !strings.Contains(err.Error(), rotation.TagPrimaryDBInstanceARN) {
				t.Fatalf("untagged master: err = %v, want ErrInvalidSecret naming the tag", err)
			}
			if w.f.CurrentVersion(t) != before {
				t.Fatal("AWSCURRENT moved after a failed rotation")
			}
			managed := w.secret(t, creds, map[string]string{tag: dbARN})
			w.userSecret(t, host, managed)
			if err := rotateOnce(t, w.f, w.rotator()); err != nil {
				d, _ := w.f.SM.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(managed)})
				t.Fatalf("%v\nmanaged %s tags %v\ncurrent %s", err, managed, d.Tags, rawVersion(t, w.f.SM, w.f.SecretARN, "AWSCURRENT"))
			}
			cur := w.f.Get(t, "", "AWSCURRENT")
			if cur.Username != w.f.User+"_clone" || !logsInVia(cur) {
				t.Fatalf("after rotation AWSCURRENT is %v and logs in: %v", cur, logsInVia(cur))
			}
		})
	}
}

// TestMasterOnPrimaryUserOnReplica: the user's secret names a read replica (RDS for
// PostgreSQL) or the Aurora reader endpoint, the master's the primary (writer): accepted
// because RDS lists the one as a replica of the other, and the master acts on the primary.
// A host RDS does not relate to the master's is refused before anything changes.
func TestMasterOnPrimaryUserOnReplica(t *testing.T) {
	testenv.Integration(t) // every subtest needs the stack
	t.Run("read replica", func(t *testing.T) {
		w := newRDSWorld(t, "dropin_replica")
		user, pw := masterLogin(t, w.f)
		primary := rdsID(testenv.Unique("pg"))
		_, primaryHost := w.instance(t, primary, "", "")
		_, replicaHost := w.instance(t, testenv.Unique("pgrr"), primary, "")
		_, otherHost := w.instance(t, testenv.Unique("other"), "", "")
		master := w.secret(t, `{"engine":"postgres","host":`+jsonStr(primaryHost)+`,"port":`+fmtInt(w.f.Env.PGPort)+
			`,"username":`+jsonStr(user)+`,"password":`+jsonStr(pw)+`,"ssl":false}`, nil)
		w.userSecret(t, otherHost, master)
		if err := rotateOnce(t, w.f, w.rotator()); !errors.Is(err, rotation.ErrInvalidSecret) || !strings.Contains(err.Error(), "read replica") {
			t.Fatalf("unrelated host: err = %v, want ErrInvalidSecret", err)
		}
		// A name that starts with the replica's identifier but is not RDS's endpoint
		// address for it (the guard once compared only the first label), or the endpoint
		// with another port: refused before anything logs in anywhere.
		replicaID, _, _ := strings.Cut(replicaHost, ".")
		for _, impostor := range []struct {
			host string
			port int
		}{{replicaID + ".attacker.test", w.f.Env.PGPort}, {replicaHost, w.f.Env.PGPort + 1}} {
			w.userSecret(t, impostor.host, master)
			if impostor.port != w.f.Env.PGPort {
				cur := w.f.Get(t, "", "AWSCURRENT")
				cur.Port = impostor.port
				body, _ := cur.Marshal()
				putCurrent(t, w.f, string(body))
			}
			if err := rotateOnce(t, w.f, w.rotator()); !errors.Is(err, rotation.ErrInvalidSecret) || !strings.Contains(err.Error(), "endpoint address") {
				t.Fatalf("impostor %s:%d: err = %v, want ErrInvalidSecret", impostor.host, impostor.port, err)
			}
		}
		w.userSecret(t, replicaHost, master)
		if err := rotateOnce(t, w.f, w.rotator()); err != nil {
			t.Fatal(err)
		}
		if cur := w.f.Get(t, "", "AWSCURRENT"); cur.Host != replicaHost || !logsInVia(cur) {
			t.Fatalf("after rotation: %v", cur)
		}
	})
	t.Run("aurora reader", func(t *testing.T) {
		w := newRDSWorld(t, "dropin_reader")
		user, pw := masterLogin(t, w.f)
		cluster := rdsID(testenv.Unique("aurora"))
		_, writer, reader := w.cluster(t, cluster)
		w.instance(t, testenv.Unique("aw"), "", cluster)
		_, readerInstance := w.instance(t, testenv.Unique("ar"), "", cluster)
		master := w.secret(t, `{"engine":"aurora-postgresql","host":`+jsonStr(writer)+`,"port":`+fmtInt(w.f.Env.PGPort)+
			`,"username":`+jsonStr(user)+`,"password":`+jsonStr(pw)+`,"ssl":false}`, nil)
		for _, host := range []string{reader, readerInstance} {
			w.userSecret(t, host, master)
			if err := rotateOnce(t, w.f, w.rotator()); err != nil {
				t.Fatalf("user on %s: %v", host, err)
			}
			if cur := w.f.Get(t, "", "AWSCURRENT"); cur.Host != host || !logsInVia(cur) {
				t.Fatalf("after rotation: %v", cur)
			}
		}
	})
}

// logsInVia logs in with s, its RDS host resolved to the local server.
func logsInVia(s dbsecret.Secret) bool {
	cfg, err := s.ConnConfig(dbsecret.ConnOptions{SSLMode: "disable"})
	if err != nil {
		return false
	}
	db, err := rdsDial(context.Background(), cfg)
	if err != nil {
		return false
	}
	db.Close(context.Background())
	return true
}
