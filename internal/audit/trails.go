package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

// TrailsAPI is the one CloudTrail call the auditor makes: at start, to learn where every
// trail delivers.
type TrailsAPI interface {
	DescribeTrails(ctx context.Context, in *cloudtrail.DescribeTrailsInput, opts ...func(*cloudtrail.Options)) (*cloudtrail.DescribeTrailsOutput, error)
}

// LearnTrails notes the bucket of every trail that logs this region (the region's own,
// multi-region trails of other home regions and the organization's trail, which
// DescribeTrails lists as shadow trails), so RA-07 watches each trail's bucket from the
// auditor's first event. Without it a bucket is watched only when the configuration names
// it, or once a CreateTrail, UpdateTrail or delivery has shown it: an intruder's first
// act could be on a bucket the audit had not met yet. It returns the buckets noted.
func (h *Handler) LearnTrails(ctx context.Context, now time.Time) ([]string, error) {
	if h.Trails == nil {
		return nil, nil
	}
	out, err := h.Trails.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("describe trails: %w", err)
	}
	var buckets []string
	for _, t := range out.TrailList {
		b := aws.ToString(t.S3BucketName)
		if !validBucket(b) {
			continue
		}
		if err := h.Engine.NoteTrailBucket(ctx, b, aws.ToString(t.Name), now); err != nil {
			return buckets, fmt.Errorf("note the bucket of trail %s: %w", aws.ToString(t.Name), err)
		}
		buckets = append(buckets, b)
	}
	return buckets, nil
}
