package rotation

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
)

// createSecret makes the pending version.
//
// Cases it handles:
//   - first call: the token's version has no value: generate a password, put the value.
//   - retry after a put that succeeded (the function died, or its answer was lost): the
//     value is there: validate it and keep it; never generate a second password.
//   - a twin invocation racing this one: AWS refuses the second put of a different value
//     for one token (ResourceExistsException); re-read and keep the stored value. (An
//     emulator that accepts the second put leaves the last value, which later steps read.)
//   - AWSCURRENT malformed, or the stored pending value malformed or inconsistent with
//     AWSCURRENT: fail, changing nothing.
//   - alternating users: masterarn is missing or not a master this function may use, or
//     the pair's names do not fit PostgreSQL: fail before anything is stored. Neither
//     strategy contacts the database here, as AWS's functions do not: setSecret runs the
//     guard (guard.go) and the test query before it changes anything.
func (r *Rotator) createSecret(ctx context.Context, arn string, ev Event, rd reads) error {
	current, err := rd.current()
	if err != nil {
		return err
	}
	p, err := rd.maybe()
	if err != nil {
		return err
	}
	if p.found {
		if err := r.checkPending(current, p.s); err != nil {
			return err
		}
		// Kept only when this rotator made it, from AWSCURRENT (provenance.go); setSecret
		// checks again against the password that logs in.
		if !madeFrom(r.Config.Password, p.s.Password, current.Password, ev.ClientRequestToken) {
			return notMade("AWSCURRENT")
		}
		return nil
	}
	if err := r.strategy().prepare(ctx, arn, current, rd); err != nil {
		return err
	}
	next, err := r.NewPending(ctx, current, ev.ClientRequestToken)
	if err != nil {
		return err
	}
	return r.putPending(ctx, arn, ev.ClientRequestToken, ev.RotationToken, next)
}

// SeedPending stores under token, with AWSPENDING, the value createSecret would make from
// AWSCURRENT (NewPending), without createSecret's checks, which run when it is called.
// Secrets Manager's API makes an empty pending version only through RotateSecret, which
// also invokes the configured function: a caller that drives the steps itself (package
// driver) seeds the version instead, and createSecret finds and keeps it.
func (r *Rotator) SeedPending(ctx context.Context, arn, token string) error {
	current, err := r.getSecret(ctx, arn, "", StageCurrent)
	if err != nil {
		return err
	}
	next, err := r.NewPending(ctx, current, token)
	if err != nil {
		return err
	}
	return r.putPending(ctx, arn, token, "", next)
}

// putPending stores the pending value under token with AWSPENDING.
func (r *Rotator) putPending(ctx context.Context, arn, token, rotationToken string, s dbsecret.Secret) error {
	body, err := s.Marshal()
	if err != nil {
		return fmt.Errorf("%w: encode pending secret: %w", ErrInvalidSecret, err)
	}
	in := &sm.PutSecretValueInput{
		SecretId:           aws.String(arn),
		ClientRequestToken: aws.String(token),
		SecretString:       aws.String(string(body)),
		VersionStages:      []string{StagePending},
	}
	if rotationToken != "" {
		in.RotationToken = aws.String(rotationToken)
	}
	if _, err := r.SM.PutSecretValue(ctx, in); err != nil {
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == "ResourceExistsException" {
			if _, found, gerr := r.getPending(ctx, arn, token); gerr == nil && found {
				return nil
			}
		}
		return smError("put pending secret", err)
	}
	return nil
}

// NewPending returns the next version of current for the rotation under token: a fresh
// password under the configured policy (password.go), ending in the check value that
// current's password and token give it (provenance.go), and, for alternating users, the
// other user of the pair.
func (r *Rotator) NewPending(_ context.Context, current dbsecret.Secret, token string) (dbsecret.Secret, error) {
	next := current
	if r.Config.Strategy == AlternatingUsers && current.MasterARN == "" {
		return dbsecret.Secret{}, fmt.Errorf("%w: key \"masterarn\" is missing: alternating users needs the master user's secret ARN", ErrInvalidSecret)
	}
	u, err := r.strategy().pendingUser(current.Username)
	if err != nil {
		return dbsecret.Secret{}, err
	}
	next.Username = u
	next.Password, err = drawWithCheck(r.Config.Password, rand.Reader, func(rest, alphabet string, n int) string {
		return checkValue(current.Password, token, rest, alphabet, n)
	})
	if err != nil {
		return dbsecret.Secret{}, err
	}
	return next, nil
}

// checkPending refuses a pending version that does not belong with current: another
// server, or another user than the strategy's next one.
func (r *Rotator) checkPending(current, pending dbsecret.Secret) error {
	if !current.SameServer(pending) {
		return fmt.Errorf("%w: AWSPENDING names %s:%d/%s, AWSCURRENT %s:%d/%s: a rotation never moves a secret to another server",
			ErrInvalidSecret, pending.Host, pending.Port, pending.DBName, current.Host, current.Port, current.DBName)
	}
	want, err := r.strategy().pendingUser(current.Username)
	if err != nil {
		return err
	}
	if pending.Username != want {
		return fmt.Errorf("%w: AWSPENDING has username %q, want %q for %s rotation of %q", ErrInvalidSecret, pending.Username, want, r.Config.Strategy, current.Username)
	}
	return nil
}
