package rotation

import (
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Bounds of a rotator's memo: the secrets it remembers, and the versions of each.
const (
	memoSecrets  = 64
	memoVersions = 3
)

// memo remembers the values of the secret versions a rotator has read, for the next
// steps on the same instance: Secrets Manager invokes a rotation's four steps one after
// another, and a warm instance gets them all, so without it setSecret reads again what
// createSecret read, testSecret what setSecret read, and the next rotation's createSecret
// the version the last one made current (three GetSecretValue calls of a rotation's
// twelve, and as many CloudTrail events).
//
// What makes it safe: a version's value never changes on AWS (another value under a
// version id is ResourceExistsException; UpdateSecret makes a new version), and the
// memo never says which version holds a stage: a remembered value is used only for the
// version the step's own DescribeSecret names for that stage, of the secret that
// DescribeSecret describes (its ARN and creation date: a secret deleted and made again
// under the same name is another secret). Only values read back from Secrets Manager are
// remembered, never one as the rotator put it: an emulator that accepts a second put
// under one token (../shared/EMULATOR.md) keeps the last value, which then differs from
// one of the two puts. Every step still reads what the memo does not hold, so any step
// runs the same on a fresh instance.
type memo struct {
	mu      sync.Mutex
	secrets map[string]*memoSecret // by the secret id of the rotation event
}

// memoSecret is what the memo knows of one secret.
type memoSecret struct {
	arn     string
	created time.Time
	// current is the version last seen holding AWSCURRENT: the one a step predicts.
	current string
	values  map[string]string // SecretString by version id
	order   []string          // the versions of values, oldest first
	// guarded are the versions of values whose server the guard proved (guard.go):
	// alternating users' setSecret passed for them on this instance.
	guarded map[string]bool
}

// predict returns the version whose value a step would read for stage (AWSPENDING: the
// token's version; AWSCURRENT: the one last seen current), and whether the memo holds its
// value, in which case the step waits for DescribeSecret instead of reading.
func (m *memo) predict(id, token, stage string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.secrets[id]
	if s == nil {
		return "", false
	}
	v := token
	if stage == StageCurrent {
		v = s.current
	}
	_, ok := s.values[v]
	return v, ok
}

// lookup returns version's remembered value when d, the step's DescribeSecret, describes
// the secret the memo knows and names version with stage.
func (m *memo) lookup(id, version, stage string, d *sm.DescribeSecretOutput) (string, bool) {
	if d == nil || !slices.Contains(d.VersionIdsToStages[version], stage) {
		return "", false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.secrets[id]
	if s == nil || s.arn != aws.ToString(d.ARN) || !s.created.Equal(aws.ToTime(d.CreatedDate)) {
		return "", false
	}
	body, ok := s.values[version]
	return body, ok
}

// peek returns version's remembered value without a DescribeSecret to confirm it: only
// for a login started early (early.go), which the step takes only once it has confirmed
// the same value itself.
func (m *memo) peek(id, version string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.secrets[id]
	if s == nil {
		return "", false
	}
	body, ok := s.values[version]
	return body, ok
}

// learn remembers body, read from Secrets Manager as version of the secret d describes,
// which held stage when read.
func (m *memo) learn(id, version, stage, body string, d *sm.DescribeSecretOutput) {
	if d == nil || version == "" {
		return
	}
	arn, created := aws.ToString(d.ARN), aws.ToTime(d.CreatedDate)
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.secrets[id]
	if s == nil || s.arn != arn || !s.created.Equal(created) {
		if m.secrets == nil {
			m.secrets = map[string]*memoSecret{}
		}
		if len(m.secrets) >= memoSecrets {
			for k := range m.secrets {
				delete(m.secrets, k)
				break
			}
		}
		s = &memoSecret{arn: arn, created: created, values: map[string]string{}}
		m.secrets[id] = s
	}
	if stage == StageCurrent {
		s.current = version
	}
	if _, ok := s.values[version]; !ok {
		s.order = append(s.order, version)
	}
	s.values[version] = body
	for len(s.order) > memoVersions {
		i := 0
		if s.order[0] == s.current {
			i = 1
		}
		delete(s.values, s.order[i])
		delete(s.guarded, s.order[i])
		s.order = slices.Delete(s.order, i, i+1)
	}
}

// madeCurrent records that finishSecret moved AWSCURRENT to version.
func (m *memo) madeCurrent(id, version string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.secrets[id]; s != nil {
		s.current = version
	}
}

// markGuarded records that alternating users' setSecret passed the guard and finished for
// version: its value names the server the guard proved (checkPending keeps host, port and
// database those of AWSCURRENT, which logged in on the master's server), and the master
// gave it its password there. Only a value the memo holds is marked.
func (m *memo) markGuarded(id, version string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.secrets[id]
	if s == nil {
		return
	}
	if _, ok := s.values[version]; !ok {
		return
	}
	if s.guarded == nil {
		s.guarded = map[string]bool{}
	}
	s.guarded[version] = true
}

// isGuarded reports whether markGuarded marked version.
func (m *memo) isGuarded(id, version string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.secrets[id]
	return s != nil && s.guarded[version]
}
