//go:build adversarial_unfixed

// An attack that still gets through the rotator (issue 18, found by the adversarial
// suite): a single-user setSecret whose AWSCURRENT is refused tries the pending password
// on the secret's host before anything was proved there. It is kept out of `make test`,
// which must pass, until the rotator refuses them; run them with
//
//	go test -tags adversarial_unfixed -run TestAdversarialUnfixed ./internal/rotation/
//
// where it fails today. When a row passes, move it to adversarial_cases_test.go.

package rotation_test

import (
	"testing"

	"github.com/rotaudit/rotaudit/internal/rotation"
)

// unfixedAttacks: a single-user setSecret whose AWSCURRENT is refused tries the pending
// password on the secret's host before anything was proved there. (The attacker's server
// gets a SCRAM proof of a fresh random password, set nowhere: material for an offline
// guess of 24 random characters, and a login to nothing real; the suite still counts any
// proof that leaves the proved server.)
func unfixedAttacks() []hostileSecret {
	attackerHost := (*advWorld).attackerHost
	return []hostileSecret{
		elsewhereRow("host: the attacker's server asking SCRAM (single user)", single, authSCRAM, attackerHost, false, rotation.ErrDBAuth),
	}
}

// TestAdversarialUnfixed runs the attacks of this file as TestAdversarialSecrets runs the
// others.
func TestAdversarialUnfixed(t *testing.T) {
	for _, c := range unfixedAttacks() {
		t.Run(c.name, func(t *testing.T) { runHostile(t, c) })
	}
}
