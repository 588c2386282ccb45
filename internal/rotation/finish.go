package rotation

import (
	"context"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// finishSecret makes the pending version current.
//
// Cases it handles:
//   - normal: move AWSCURRENT from the current version to the token (Secrets Manager puts
//     AWSPREVIOUS on the old one), then remove AWSPENDING from the token.
//   - retry after the move succeeded: the token is already AWSCURRENT, so only AWSPENDING
//     is removed (see step).
//   - a twin that moved AWSCURRENT first: the move fails; re-read, and when the token is
//     now current just clear AWSPENDING.
func (r *Rotator) finishSecret(ctx context.Context, arn string, ev Event, d *sm.DescribeSecretOutput) error {
	var from string
	for v, st := range d.VersionIdsToStages {
		if slices.Contains(st, StageCurrent) {
			from = v
		}
	}
	_, err := r.SM.UpdateSecretVersionStage(ctx, &sm.UpdateSecretVersionStageInput{
		SecretId:            aws.String(arn),
		VersionStage:        aws.String(StageCurrent),
		MoveToVersionId:     aws.String(ev.ClientRequestToken),
		RemoveFromVersionId: aws.String(from),
	})
	if err != nil {
		d2, derr := r.SM.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(arn)})
		if derr != nil || !slices.Contains(d2.VersionIdsToStages[ev.ClientRequestToken], StageCurrent) {
			return smError("move AWSCURRENT", err)
		}
	}
	r.memo.madeCurrent(ev.SecretID, ev.ClientRequestToken)
	return r.clearPending(ctx, arn, ev.ClientRequestToken)
}

func (r *Rotator) clearPending(ctx context.Context, arn, token string) error {
	_, err := r.SM.UpdateSecretVersionStage(ctx, &sm.UpdateSecretVersionStageInput{
		SecretId:            aws.String(arn),
		VersionStage:        aws.String(StagePending),
		RemoveFromVersionId: aws.String(token),
	})
	if err != nil {
		// A twin may have removed it first; what matters is that it is gone.
		d, derr := r.SM.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(arn)})
		if derr == nil && !slices.Contains(d.VersionIdsToStages[token], StagePending) {
			return nil
		}
		return smError("remove AWSPENDING from the new current version", err)
	}
	return nil
}
