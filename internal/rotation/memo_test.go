package rotation

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

func described(arn string, created time.Time, stages map[string][]string) *sm.DescribeSecretOutput {
	return &sm.DescribeSecretOutput{ARN: aws.String(arn), CreatedDate: aws.Time(created), VersionIdsToStages: stages}
}

// TestMemoAnswersOnlyWhatDescribeSecretConfirms: a remembered value is used only for the
// secret the step's DescribeSecret describes, and only for the version it names with the
// stage asked for.
func TestMemoAnswersOnlyWhatDescribeSecretConfirms(t *testing.T) {
	const arn = "arn:aws:secretsmanager:us-east-1:1:secret:app-AbCdEf"
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var m memo
	m.learn(arn, "v1", StageCurrent, "one", described(arn, t0, map[string][]string{"v1": {StageCurrent}}))
	if v, ok := m.predict(arn, "", StageCurrent); !ok || v != "v1" {
		t.Fatalf("predict = %q, %v; want v1", v, ok)
	}
	for _, c := range []struct {
		name    string
		version string
		stage   string
		d       *sm.DescribeSecretOutput
		want    bool
	}{
		{"confirmed", "v1", StageCurrent, described(arn, t0, map[string][]string{"v1": {StageCurrent}}), true},
		{"AWSCURRENT moved on", "v1", StageCurrent, described(arn, t0, map[string][]string{"v1": {StagePrevious}, "v2": {StageCurrent}}), false},
		{"another stage", "v1", StagePending, described(arn, t0, map[string][]string{"v1": {StageCurrent}}), false},
		{"made again under the same ARN", "v1", StageCurrent, described(arn, t0.Add(time.Second), map[string][]string{"v1": {StageCurrent}}), false},
		{"another secret", "v1", StageCurrent, described(arn+"x", t0, map[string][]string{"v1": {StageCurrent}}), false},
		{"no DescribeSecret", "v1", StageCurrent, nil, false},
	} {
		if _, ok := m.lookup(arn, c.version, c.stage, c.d); ok != c.want {
			t.Errorf("%s: lookup answered %v, want %v", c.name, ok, c.want)
		}
	}

	// A secret made again: what was remembered of the old one is forgotten.
	m.learn(arn, "v9", StagePending, "nine", described(arn, t0.Add(time.Hour), map[string][]string{"v9": {StagePending}}))
	if _, ok := m.predict(arn, "", StageCurrent); ok {
		t.Fatal("the old secret's current version is still predicted")
	}
}

// TestMemoIsBounded: at most memoVersions values per secret, keeping the current one,
// and at most memoSecrets secrets.
func TestMemoIsBounded(t *testing.T) {
	var m memo
	t0 := time.Now()
	const arn = "arn:s"
	m.learn(arn, "cur", StageCurrent, "c", described(arn, t0, nil))
	for i := range 10 {
		m.learn(arn, fmt.Sprint("p", i), StagePending, "p", described(arn, t0, nil))
	}
	s := m.secrets[arn]
	if len(s.values) != memoVersions || len(s.order) != memoVersions {
		t.Fatalf("%d values remembered, want %d", len(s.values), memoVersions)
	}
	if _, ok := s.values["cur"]; !ok {
		t.Fatal("the current version's value was dropped")
	}
	for i := range 3 * memoSecrets {
		id := fmt.Sprint("arn:", i)
		m.learn(id, "v", StageCurrent, "x", described(id, t0, nil))
	}
	if len(m.secrets) > memoSecrets {
		t.Fatalf("%d secrets remembered, want at most %d", len(m.secrets), memoSecrets)
	}
}
