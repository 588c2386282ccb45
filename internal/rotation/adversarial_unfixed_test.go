//go:build adversarial_unfixed

// Attacks that still get through the rotator (issue 18, found by the adversarial suite):
// a pending value that someone who may write the secret put under the rotation's token
// before createSecret ran is kept, and its password set in the database; and a
// single-user setSecret whose AWSCURRENT is refused tries the pending password on the
// secret's host before anything was proved there. They are kept out of `make test`,
// which must pass, until the rotator refuses them; run them with
//
//	go test -tags adversarial_unfixed -run TestAdversarialUnfixed ./internal/rotation/
//
// where every row fails today. When a row passes, move it to adversarial_cases_test.go.

package rotation_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/rotation"
	"github.com/rotaudit/rotaudit/internal/rotation/driver"
)

// unfixedAttacks: a pending value the attacker wrote is kept by createSecret, and a
// single-user setSecret tries the pending password on the secret's host before anything
// was proved there.
func unfixedAttacks() []hostileSecret {
	attackerHost := (*advWorld).attackerHost
	withCheck := func(c hostileSecret) hostileSecret {
		c.check = (*advWorld).chosenNeverWorks
		return c
	}
	return []hostileSecret{
		elsewhereRow("host: the attacker's server asking SCRAM (single user)", single, authSCRAM, attackerHost, false, rotation.ErrDBAuth),
		withCheck(pendingRow("pending pre-seeded with the attacker's password (single user)", single, func(w *advWorld) dbsecret.Secret {
			return w.chosenPending(w.f.User)
		}, true)),
		withCheck(pendingRow("pending pre-seeded with the attacker's password (alternating)", alternating, func(w *advWorld) dbsecret.Secret {
			return w.chosenPending(w.f.User + rotation.CloneSuffix)
		}, true)),
		{name: "the rotation's own version filled by the attacker first (single user)", strategy: single, untouched: true, masterUnused: true,
			attack: func(w *advWorld) { w.fillPending(w.chosenPending(w.f.User)) },
			run:    func(w *advWorld) error { return driver.Run(context.Background(), w.r, w.f.SecretARN, w.token, nil) },
			check:  (*advWorld).chosenNeverWorks},
		{name: "the rotation's own version filled by the attacker first (alternating)", strategy: alternating, untouched: true,
			attack: func(w *advWorld) { w.fillPending(w.chosenPending(w.f.User + rotation.CloneSuffix)) },
			run:    func(w *advWorld) error { return driver.Run(context.Background(), w.r, w.f.SecretARN, w.token, nil) },
			check:  (*advWorld).chosenNeverWorks},
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

// TestAdversarialUnfixed runs the attacks of this file as TestAdversarialSecrets runs the
// others.
func TestAdversarialUnfixed(t *testing.T) {
	for _, c := range unfixedAttacks() {
		t.Run(c.name, func(t *testing.T) { runHostile(t, c) })
	}
}
