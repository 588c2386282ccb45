package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// stages is an in-memory secret's version labels, for PutCurrent's unit tests. lostAnswers
// makes that many UpdateSecretVersionStage calls apply and then fail, as a call does whose
// answer the network lost before the SDK's retry was refused.
type stages struct {
	versions    map[string][]string
	next        int
	lostAnswers int
	refuse      bool
}

func (s *stages) DescribeSecret(context.Context, *secretsmanager.DescribeSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	out := map[string][]string{}
	for v, st := range s.versions {
		out[v] = slices.Clone(st)
	}
	return &secretsmanager.DescribeSecretOutput{VersionIdsToStages: out}, nil
}

func (s *stages) PutSecretValue(_ context.Context, in *secretsmanager.PutSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	s.next++
	v := fmt.Sprintf("v%d", s.next)
	s.versions[v] = slices.Clone(in.VersionStages)
	return &secretsmanager.PutSecretValueOutput{VersionId: aws.String(v)}, nil
}

func (s *stages) UpdateSecretVersionStage(_ context.Context, in *secretsmanager.UpdateSecretVersionStageInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error) {
	if s.refuse {
		return nil, errors.New("InvalidParameterException: refused")
	}
	stage := aws.ToString(in.VersionStage)
	if from := aws.ToString(in.RemoveFromVersionId); from != "" {
		if !slices.Contains(s.versions[from], stage) {
			return nil, fmt.Errorf("InvalidParameterException: Version stage %s not found in version %s", stage, from)
		}
		s.versions[from] = slices.DeleteFunc(s.versions[from], func(x string) bool { return x == stage })
	}
	if to := aws.ToString(in.MoveToVersionId); to != "" {
		s.versions[to] = append(s.versions[to], stage)
	}
	if s.lostAnswers > 0 {
		s.lostAnswers--
		return nil, errors.New("InvalidParameterException: the retry after a lost answer")
	}
	return &secretsmanager.UpdateSecretVersionStageOutput{}, nil
}

func TestPutCurrentAfterLostAnswers(t *testing.T) {
	for _, lost := range []int{0, 1, 2} {
		s := &stages{versions: map[string][]string{"v0": {"AWSCURRENT"}}, lostAnswers: lost}
		if err := PutCurrent(context.Background(), s, "arn", "{}"); err != nil {
			t.Fatalf("%d lost answers: %v", lost, err)
		}
		if !slices.Equal(s.versions["v1"], []string{"AWSCURRENT"}) || slices.Contains(s.versions["v0"], "AWSCURRENT") {
			t.Fatalf("%d lost answers: stages %v, want AWSCURRENT on v1 alone and no %s", lost, s.versions, stagingLabel)
		}
	}
}

func TestPutCurrentReportsARefusedMove(t *testing.T) {
	s := &stages{versions: map[string][]string{"v0": {"AWSCURRENT"}}, refuse: true}
	err := PutCurrent(context.Background(), s, "arn", "{}")
	if err == nil || !strings.Contains(err.Error(), "move AWSCURRENT to version v1") {
		t.Fatalf("err = %v, want the refused move", err)
	}
}
