package fleet

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// fakeSM is a Secrets Manager client made of functions; a nil function fails the test
// when called.
type fakeSM struct {
	t        *testing.T
	list     func(*secretsmanager.ListSecretsInput) (*secretsmanager.ListSecretsOutput, error)
	describe func(*secretsmanager.DescribeSecretInput) (*secretsmanager.DescribeSecretOutput, error)
	versions func(*secretsmanager.ListSecretVersionIdsInput) (*secretsmanager.ListSecretVersionIdsOutput, error)
	value    func(*secretsmanager.GetSecretValueInput) (*secretsmanager.GetSecretValueOutput, error)
}

func (f fakeSM) ListSecrets(_ context.Context, in *secretsmanager.ListSecretsInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error) {
	return f.list(in)
}

func (f fakeSM) DescribeSecret(_ context.Context, in *secretsmanager.DescribeSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	return f.describe(in)
}

func (f fakeSM) ListSecretVersionIds(_ context.Context, in *secretsmanager.ListSecretVersionIdsInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretVersionIdsOutput, error) {
	if f.versions == nil {
		f.t.Fatalf("ListSecretVersionIds(%s) called: no version is pending", aws.ToString(in.SecretId))
	}
	return f.versions(in)
}

func (f fakeSM) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	if f.value == nil {
		f.t.Fatalf("GetSecretValue(%s) called without ReadValues", aws.ToString(in.SecretId))
	}
	return f.value(in)
}

// fakeScan answers Scan with items.
type fakeScan struct {
	scan func(*dynamodb.ScanInput) (*dynamodb.ScanOutput, error)
}

func (f fakeScan) Scan(_ context.Context, in *dynamodb.ScanInput, _ ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	return f.scan(in)
}

var now = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

const fn = "arn:aws:lambda:us-east-1:111122223333:function:rotaudit-dev-rotator-"

// secret is a healthy managed secret: rotated 10 days ago on a 30-day schedule.
func secret(name string) *secretsmanager.DescribeSecretOutput {
	last := now.AddDate(0, 0, -10)
	return &secretsmanager.DescribeSecretOutput{
		Name: aws.String(name), ARN: aws.String("arn:aws:secretsmanager:us-east-1:111122223333:secret:" + name + "-AbCdEf"),
		RotationEnabled: aws.Bool(true), RotationLambdaARN: aws.String(fn + "alternating-users"),
		RotationRules:   &smtypes.RotationRulesType{ScheduleExpression: aws.String("rate(30 days)")},
		LastRotatedDate: aws.Time(last), NextRotationDate: aws.Time(last.AddDate(0, 0, 30)),
		VersionIdsToStages: map[string][]string{"v1": {"AWSCURRENT"}, "v0": {"AWSPREVIOUS"}},
	}
}

// world serves one target from described secrets, with the versions each lists.
func world(t *testing.T, secrets []*secretsmanager.DescribeSecretOutput, versions map[string][]smtypes.SecretVersionsListEntry) fakeSM {
	byARN := map[string]*secretsmanager.DescribeSecretOutput{}
	var list []smtypes.SecretListEntry
	for _, d := range secrets {
		byARN[aws.ToString(d.ARN)] = d
		list = append(list, smtypes.SecretListEntry{Name: d.Name, ARN: d.ARN})
	}
	list = append(list, smtypes.SecretListEntry{Name: aws.String("other/rotaudit/x"), ARN: aws.String("arn:other")})
	return fakeSM{t: t,
		list: func(in *secretsmanager.ListSecretsInput) (*secretsmanager.ListSecretsOutput, error) {
			return &secretsmanager.ListSecretsOutput{SecretList: list}, nil
		},
		describe: func(in *secretsmanager.DescribeSecretInput) (*secretsmanager.DescribeSecretOutput, error) {
			if d, ok := byARN[aws.ToString(in.SecretId)]; ok {
				return d, nil
			}
			t.Fatalf("DescribeSecret(%s): not a managed secret", aws.ToString(in.SecretId))
			return nil, nil
		},
		versions: func(in *secretsmanager.ListSecretVersionIdsInput) (*secretsmanager.ListSecretVersionIdsOutput, error) {
			return &secretsmanager.ListSecretVersionIdsOutput{Versions: versions[aws.ToString(in.SecretId)]}, nil
		},
	}
}

func TestAssess(t *testing.T) {
	tests := []struct {
		name     string
		change   func(d *secretsmanager.DescribeSecretOutput)
		versions []smtypes.SecretVersionsListEntry
		status   Status
		want     []string // substrings of the reasons
		overdue  bool
		stale    bool
		nextDue  string
		strategy string // "" to skip; "-" for unknown
	}{
		{name: "healthy", status: OK, nextDue: "2026-12-27", strategy: "alternating-users"},
		{name: "rotation off", change: func(d *secretsmanager.DescribeSecretOutput) { d.RotationEnabled = aws.Bool(false) },
			status: Fail, want: []string{"rotation is off"}},
		{name: "overdue past the grace", change: func(d *secretsmanager.DescribeSecretOutput) {
			d.NextRotationDate = aws.Time(now.Add(-25 * time.Hour))
		}, status: Fail, want: []string{"rotation overdue since 2026-12-06T11:00:00Z"}, overdue: true},
		{name: "due within the grace", change: func(d *secretsmanager.DescribeSecretOutput) {
			d.NextRotationDate = aws.Time(now.Add(-23 * time.Hour))
		}, status: OK},
		{name: "next due computed from the last rotation", change: func(d *secretsmanager.DescribeSecretOutput) {
			d.NextRotationDate = nil
			d.LastRotatedDate = aws.Time(now.AddDate(0, 0, -40))
		}, status: Fail, want: []string{"overdue since 2026-11-27"}, overdue: true, nextDue: "2026-11-27"},
		{name: "stale pending", change: func(d *secretsmanager.DescribeSecretOutput) { d.VersionIdsToStages["v2"] = []string{"AWSPENDING"} },
			versions: []smtypes.SecretVersionsListEntry{{VersionId: aws.String("v2"), VersionStages: []string{"AWSPENDING"}, CreatedDate: aws.Time(now.Add(-3 * time.Hour))}},
			status:   Fail, want: []string{"version v2 has held AWSPENDING for 3h0m0s"}, stale: true},
		{name: "rotation in progress", change: func(d *secretsmanager.DescribeSecretOutput) { d.VersionIdsToStages["v2"] = []string{"AWSPENDING"} },
			versions: []smtypes.SecretVersionsListEntry{{VersionId: aws.String("v2"), VersionStages: []string{"AWSPENDING"}, CreatedDate: aws.Time(now.Add(-time.Minute))}},
			status:   Warn, want: []string{"a rotation is in progress"}},
		{name: "pending on the current version is no rotation", change: func(d *secretsmanager.DescribeSecretOutput) {
			d.VersionIdsToStages["v1"] = []string{"AWSCURRENT", "AWSPENDING"}
		}, status: OK},
		{name: "never rotated", change: func(d *secretsmanager.DescribeSecretOutput) { d.LastRotatedDate, d.NextRotationDate = nil, nil },
			status: Warn, want: []string{"never rotated"}},
		{name: "strategy from the tag over the function", change: func(d *secretsmanager.DescribeSecretOutput) {
			d.Tags = []smtypes.Tag{{Key: aws.String(TagStrategy), Value: aws.String("single-user")}}
		}, status: OK, strategy: "single-user"},
		{name: "function of another name: strategy unknown", change: func(d *secretsmanager.DescribeSecretOutput) {
			d.RotationLambdaARN = aws.String("arn:aws:lambda:us-east-1:1:function:SecretsManagerRDSPostgreSQLRotation")
		}, status: OK, strategy: "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := secret("rotaudit/dev/app")
			if tt.change != nil {
				tt.change(d)
			}
			sm := world(t, []*secretsmanager.DescribeSecretOutput{d}, map[string][]smtypes.SecretVersionsListEntry{aws.ToString(d.ARN): tt.versions})
			r, err := Collect(context.Background(), []Target{{Account: "111122223333", Region: "us-east-1", SM: sm}}, Options{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Secrets) != 1 {
				t.Fatalf("%d rows, want the one managed secret: %+v", len(r.Secrets), r.Secrets)
			}
			row := r.Secrets[0]
			if row.Status != tt.status || row.Overdue != tt.overdue || row.StalePending != tt.stale {
				t.Errorf("status %s overdue %v stale %v, want %s %v %v; reasons %q", row.Status, row.Overdue, row.StalePending, tt.status, tt.overdue, tt.stale, row.Reasons)
			}
			all := strings.Join(row.Reasons, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("reasons lack %q: %q", w, row.Reasons)
				}
			}
			if tt.status == OK && len(row.Reasons) > 0 {
				t.Errorf("ok with reasons %q", row.Reasons)
			}
			if tt.nextDue != "" && (row.NextDue == nil || row.NextDue.Format("2006-01-02") != tt.nextDue) {
				t.Errorf("next due %v, want %s", row.NextDue, tt.nextDue)
			}
			if tt.strategy != "" && dash(row.Strategy) != tt.strategy {
				t.Errorf("strategy %q, want %q", row.Strategy, tt.strategy)
			}
			if got := r.NeedsPerson(); got != (tt.status == Fail) {
				t.Errorf("NeedsPerson = %v with status %s", got, tt.status)
			}
		})
	}
}

func TestRateDays(t *testing.T) {
	for expr, want := range map[string]int{"rate(30 days)": 30, "rate(1 day)": 1, " rate( 7 days ) ": 7, "rate(4 hours)": 0,
		"cron(0 16 1,15 * ? *)": 0, "rate(0 days)": 0, "rate(-3 days)": 0, "rate(x days)": 0, "": 0} {
		if got := rateDays(expr); got != want {
			t.Errorf("rateDays(%q) = %d, want %d", expr, got, want)
		}
	}
}

// TestTargets: every target is listed, one that fails is reported and the others go on;
// a secret deleted after the listing is left out without failing the target.
func TestTargets(t *testing.T) {
	good := world(t, []*secretsmanager.DescribeSecretOutput{secret("rotaudit/dev/app"), secret("rotaudit/dev/admin")}, nil)
	gone := world(t, []*secretsmanager.DescribeSecretOutput{secret("rotaudit/stage/app")}, nil)
	gone.describe = func(*secretsmanager.DescribeSecretInput) (*secretsmanager.DescribeSecretOutput, error) {
		return nil, &smtypes.ResourceNotFoundException{Message: aws.String("deleted")}
	}
	denied := fakeSM{t: t, list: func(*secretsmanager.ListSecretsInput) (*secretsmanager.ListSecretsOutput, error) {
		return nil, errors.New("AccessDeniedException: not authorized to perform secretsmanager:ListSecrets")
	}}
	r, err := Collect(context.Background(), []Target{
		{Account: "222233334444", Region: "eu-west-1", SM: denied},
		{Account: "111122223333", Region: "us-east-1", SM: good},
		{Account: "111122223333", Region: "us-west-2", SM: gone},
	}, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Secrets) != 2 || r.Secrets[0].Name != "rotaudit/dev/admin" || r.Secrets[1].Name != "rotaudit/dev/app" {
		t.Fatalf("secrets %+v, want dev's admin and app in order", r.Secrets)
	}
	if !r.Incomplete() || r.Targets[0].Error == "" || r.Targets[1].Error != "" || r.Targets[2].Error != "" {
		t.Fatalf("targets %+v: want only the denied one failed", r.Targets)
	}
	if _, err := Collect(context.Background(), nil, Options{}); !errors.Is(err, ErrNoTargets) {
		t.Fatalf("no targets: err %v", err)
	}
}

// TestReadValues: the database and user come from the value; the password goes nowhere.
func TestReadValues(t *testing.T) {
	const pw = "s3cr3t-Pa55word-never-shown"
	sm := world(t, []*secretsmanager.DescribeSecretOutput{secret("rotaudit/dev/app"), secret("rotaudit/dev/admin")}, nil)
	sm.value = func(in *secretsmanager.GetSecretValueInput) (*secretsmanager.GetSecretValueOutput, error) {
		if strings.Contains(aws.ToString(in.SecretId), "admin") {
			return nil, errors.New("AccessDeniedException: explicit deny in a resource-based policy")
		}
		return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(`{"engine":"postgres","host":"db.internal","port":5432,"username":"rates_app","password":"` + pw + `","dbname":"rates"}`)}, nil
	}
	r, err := Collect(context.Background(), []Target{{Account: "1", Region: "us-east-1", SM: sm}}, Options{Now: now, ReadValues: true})
	if err != nil {
		t.Fatal(err)
	}
	admin, app := r.Secrets[0], r.Secrets[1]
	if app.Database != "db.internal:5432/rates" || app.Username != "rates_app" {
		t.Errorf("app: database %q user %q", app.Database, app.Username)
	}
	if admin.Database != "" || len(admin.Notes) != 1 || !strings.Contains(admin.Notes[0], "value not read") || admin.Status != OK {
		t.Errorf("admin: database %q notes %q status %s", admin.Database, admin.Notes, admin.Status)
	}
	for _, render := range []func(*bytes.Buffer) error{
		func(b *bytes.Buffer) error { return WriteText(b, r) },
		func(b *bytes.Buffer) error { return WriteJSON(b, r) },
		func(b *bytes.Buffer) error { return WriteHTML(b, r) },
	} {
		var b bytes.Buffer
		if err := render(&b); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), pw) || !strings.Contains(b.String(), "db.internal:5432/rates") {
			t.Fatalf("output shows the password or lacks the database:\n%s", b.String())
		}
	}
}

func item(pk, v string, first time.Time, ttl time.Time) map[string]ddbtypes.AttributeValue {
	it := map[string]ddbtypes.AttributeValue{
		"pk": &ddbtypes.AttributeValueMemberS{Value: pk}, "sk": &ddbtypes.AttributeValueMemberS{Value: "#"},
		"first": &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(first.UnixMilli(), 10)},
		"ttl":   &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(ttl.Unix(), 10)},
	}
	if v != "" {
		it["v"] = &ddbtypes.AttributeValueMemberS{Value: v}
	}
	return it
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// TestAuditState: what the auditor keeps turns into reasons on the right rows, and a
// stale user whose pair no row names is reported apart.
func TestAuditState(t *testing.T) {
	rotated := now.Add(-72 * time.Hour)
	items := []map[string]ddbtypes.AttributeValue{
		// DB-06: rates_app was retired 3 days ago and still logged in an hour ago.
		item("dbprev|rates_app|rates_app_clone", "rates_app|"+unix(rotated), rotated, now.Add(time.Hour)),
		item("dblast|rates_app", unix(now.Add(-time.Hour)), rotated, now.Add(time.Hour)),
		// Retired 3 days ago, last seen right after the rotation: fine.
		item("dbprev|ops|ops_clone", "ops|"+unix(rotated), rotated, now.Add(time.Hour)),
		item("dblast|ops", unix(rotated.Add(time.Minute)), rotated, now.Add(time.Hour)),
		// A pair no listed secret names.
		item("dbprev|etl|etl_clone", "etl_clone|"+unix(rotated), rotated, now.Add(time.Hour)),
		item("dblast|etl_clone", unix(now.Add(-2*time.Hour)), rotated, now.Add(time.Hour)),
		// RA-06: a failure of the admin secret, its dedup window open.
		item("dedup|RA-06|arn:aws:iam::1:role/x|rotaudit/dev/admin|RotationFailed", "", now.Add(-10*time.Minute), now.Add(50*time.Minute)),
	}
	var filter string
	scan := fakeScan{scan: func(in *dynamodb.ScanInput) (*dynamodb.ScanOutput, error) {
		if aws.ToString(in.TableName) != "audit-state" {
			t.Errorf("table %q", aws.ToString(in.TableName))
		}
		filter = aws.ToString(in.FilterExpression)
		return &dynamodb.ScanOutput{Items: items}, nil
	}}
	app, admin := secret("rotaudit/dev/app"), secret("rotaudit/dev/admin")
	app.Tags = []smtypes.Tag{{Key: aws.String(TagUsername), Value: aws.String("rates_app")}}
	sm := world(t, []*secretsmanager.DescribeSecretOutput{app, admin}, nil)
	r, err := Collect(context.Background(), []Target{{Account: "1", Region: "us-east-1", SM: sm}}, Options{Now: now, State: scan, StateTable: "audit-state"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(filter, "begins_with(pk, :p0)") || !strings.Contains(filter, "#ttl > :now") {
		t.Errorf("scan filter %q", filter)
	}
	gotAdmin, gotApp := r.Secrets[0], r.Secrets[1]
	if gotApp.Status != Fail || !gotApp.PreviousUserLoggingIn || !strings.Contains(strings.Join(gotApp.Reasons, ""), "previous user rates_app still logs in 71h0m0s after") {
		t.Errorf("app: %s %v %q", gotApp.Status, gotApp.PreviousUserLoggingIn, gotApp.Reasons)
	}
	if gotAdmin.Status != Fail || !strings.Contains(strings.Join(gotAdmin.Reasons, ""), "the auditor reported RotationFailed at 2026-12-07T11:50:00Z") {
		t.Errorf("admin: %s %q", gotAdmin.Status, gotAdmin.Reasons)
	}
	if len(r.Logins.Unattributed) != 1 || r.Logins.Unattributed[0].User != "etl_clone" || !r.Logins.Read {
		t.Errorf("unattributed %+v", r.Logins)
	}

	// Without the table the report says so, and judges the rest the same.
	r, err = Collect(context.Background(), []Target{{Account: "1", Region: "us-east-1", SM: sm}}, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	WriteText(&b, r)
	if r.Logins.Read || !strings.Contains(b.String(), "logins: not given") || r.NeedsPerson() {
		t.Errorf("without the state table:\n%s", b.String())
	}

	// A table that cannot be read makes the report incomplete, not wrong.
	broken := fakeScan{scan: func(*dynamodb.ScanInput) (*dynamodb.ScanOutput, error) {
		return nil, errors.New("ResourceNotFoundException: table not found")
	}}
	r, err = Collect(context.Background(), []Target{{Account: "1", Region: "us-east-1", SM: sm}}, Options{Now: now, State: broken, StateTable: "nope"})
	if err != nil || !r.Incomplete() || !strings.Contains(r.Logins.Error, "table not found") {
		t.Fatalf("broken table: %v %+v", err, r.Logins)
	}
}

func TestWriteText(t *testing.T) {
	ok, off := secret("rotaudit/dev/app"), secret("rotaudit/dev/admin")
	off.RotationEnabled = aws.Bool(false)
	sm := world(t, []*secretsmanager.DescribeSecretOutput{ok, off}, nil)
	r, err := Collect(context.Background(), []Target{{Account: "111122223333", Region: "us-east-1", SM: sm}}, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, w := range []string{
		"ACCOUNT       REGION     SECRET",
		"111122223333  us-east-1  rotaudit/dev/admin  -         alternating-users  OFF       2026-11-27 12:00  -                 FAIL",
		"111122223333  us-east-1  rotaudit/dev/app    -         alternating-users  on        2026-11-27 12:00  2026-12-27 12:00  ok",
		"  FAIL rotaudit/dev/admin: rotation is off",
		"verdict: 2 secrets in 1 account/region(s): 1 ok, 0 warn, 1 FAIL; needs a person",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("text lacks %q:\n%s", w, out)
		}
	}
}
