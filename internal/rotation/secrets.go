package rotation

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	"github.com/rotaudit/rotaudit/internal/dbsecret"
)

// getSecretString reads one version (by id and/or stage).
func (r *Rotator) getSecretString(ctx context.Context, id, version, stage string) (string, error) {
	v, err := r.readValue(ctx, id, version, stage)
	return v.body, err
}

// readSecret reads one version (by id and/or stage) and the secret's full ARN, which
// Secrets Manager resolves from a name or partial ARN.
func (r *Rotator) readSecret(ctx context.Context, id, version, stage string) (body, arn string, err error) {
	v, err := r.readValue(ctx, id, version, stage)
	return v.body, v.arn, err
}

// value is one version's SecretString as GetSecretValue answered it.
type value struct{ body, arn, version string }

// readValue reads one version (by id and/or stage).
func (r *Rotator) readValue(ctx context.Context, id, version, stage string) (value, error) {
	in := &sm.GetSecretValueInput{SecretId: aws.String(id), VersionStage: aws.String(stage)}
	if version != "" {
		in.VersionId = aws.String(version)
	}
	out, err := r.SM.GetSecretValue(ctx, in)
	if err != nil {
		return value{}, smError("get "+stage, err)
	}
	if out.SecretString == nil {
		return value{}, fmt.Errorf("%w: %s of %s has no SecretString (binary secrets are not database secrets)", ErrInvalidSecret, stage, id)
	}
	return value{*out.SecretString, aws.ToString(out.ARN), aws.ToString(out.VersionId)}, nil
}

// getSecret reads one version (by id and/or stage) and parses it.
func (r *Rotator) getSecret(ctx context.Context, id, version, stage string) (dbsecret.Secret, error) {
	body, err := r.getSecretString(ctx, id, version, stage)
	if err != nil {
		return dbsecret.Secret{}, err
	}
	return parseSecret(body, id, stage)
}

// parseSecret parses the value of id's version that holds stage.
func parseSecret(body, id, stage string) (dbsecret.Secret, error) {
	s, err := dbsecret.Parse([]byte(body))
	if err != nil {
		return dbsecret.Secret{}, fmt.Errorf("%w: %s of %s: %w", ErrInvalidSecret, stage, id, err)
	}
	return s, nil
}

// getPending reads the token's AWSPENDING value; found is false when it has none yet.
func (r *Rotator) getPending(ctx context.Context, arn, token string) (dbsecret.Secret, bool, error) {
	out, err := r.SM.GetSecretValue(ctx, &sm.GetSecretValueInput{
		SecretId: aws.String(arn), VersionId: aws.String(token), VersionStage: aws.String(StagePending),
	})
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "ResourceNotFoundException" {
		return dbsecret.Secret{}, false, nil
	}
	if err != nil {
		return dbsecret.Secret{}, false, smError("get AWSPENDING", err)
	}
	if out.SecretString == nil {
		return dbsecret.Secret{}, false, fmt.Errorf("%w: AWSPENDING of %s has no SecretString", ErrInvalidSecret, arn)
	}
	s, err := dbsecret.Parse([]byte(*out.SecretString))
	if err != nil {
		return dbsecret.Secret{}, false, fmt.Errorf("%w: AWSPENDING of %s: %w: remove the label from version %s and retry", ErrInvalidSecret, arn, err, token)
	}
	return s, true, nil
}
