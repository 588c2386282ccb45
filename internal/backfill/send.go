package backfill

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// S3API is the one S3 call the backfill makes: listing the trail's bucket.
type S3API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// SQSAPI is the one SQS call the backfill makes.
type SQSAPI interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// Options say what to backfill and where to send it.
type Options struct {
	Bucket string
	// Prefix narrows the listing (AWSLogs/, AWSLogs/o-ORG/ACCOUNT/, ...); "" lists the bucket.
	Prefix string
	// QueueURL is the FIFO queue the auditor's event source mapping reads.
	QueueURL string
	// From and To bound the files by the day CloudTrail delivered them (UTC, both days
	// included); zero values leave that side open.
	From, To time.Time
	// Restart forgets the progress of an earlier run with the same options.
	Restart bool
}

// maxBatch is SendMessageBatch's limit of entries.
const maxBatch = 10

// saveTimeout bounds the save of a mark after an interruption.
const saveTimeout = 10 * time.Second

// Validate checks the options, naming the flag at fault.
func (o Options) Validate() error {
	if err := ValidateBucket(o.Bucket); err != nil {
		return fmt.Errorf("-bucket: %w", err)
	}
	if o.Prefix != "" && !strings.Contains(o.Prefix, "AWSLogs") && !strings.HasSuffix(o.Prefix, "/") {
		return fmt.Errorf("-prefix %q: a trail's files are under [PREFIX/]AWSLogs/...; give a folder ending in / or a path under AWSLogs/", o.Prefix)
	}
	if !strings.HasPrefix(o.QueueURL, "https://") && !strings.HasPrefix(o.QueueURL, "http://") {
		return fmt.Errorf("-queue %q: want the queue's URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME.fifo)", o.QueueURL)
	}
	if !strings.HasSuffix(o.QueueURL, ".fifo") {
		return fmt.Errorf("-queue %q: the backfill needs a FIFO queue (its name ends in .fifo), which keeps each stream's files in order", o.QueueURL)
	}
	if !o.From.IsZero() && !o.To.IsZero() && o.To.Before(o.From) {
		return fmt.Errorf("-to %s is before -from %s", o.To.Format(time.DateOnly), o.From.Format(time.DateOnly))
	}
	return nil
}

// RunID names a backfill in the progress store: the same options continue the same run.
func (o Options) RunID() string {
	day := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.Format(time.DateOnly)
	}
	return strings.Join([]string{"backfill", o.Bucket, o.Prefix, day(o.From), day(o.To), o.QueueURL}, "|")
}

// Result counts what a run did.
type Result struct {
	// ResumedAfter is the key an earlier run had sent last ("" for a fresh run).
	ResumedAfter string `json:"resumed_after,omitempty"`
	Listed       int    `json:"listed"`
	Sent         int    `json:"sent"`
	// NotLogFiles counts digests and other files beside the logs, skipped.
	NotLogFiles int `json:"not_log_files"`
	// Invalid counts keys under AWSLogs/ that look like log files but do not agree with
	// themselves, skipped with a warning each.
	Invalid    int    `json:"invalid"`
	OutOfRange int    `json:"out_of_range"`
	Groups     int    `json:"groups"`
	LastKey    string `json:"last_key,omitempty"`
}

// Backfill lists the bucket and sends every log file in range to the queue, one message
// per file, in key order. A trail's keys sort by account, region and then delivery time,
// so each message group receives its files in the order CloudTrail wrote them.
//
// It is resumable: after each batch the last key sent is saved in progress, and a run
// with the same options lists from there (ListObjectsV2's StartAfter). An interruption
// between a batch and its save re-sends at most that batch: SQS drops the copies sent within
// its five-minute deduplication window, and the auditor's finding deduplication (its state
// table) keeps a later copy from alerting twice (its events count twice in open findings).
type Backfill struct {
	S3       S3API
	SQS      SQSAPI
	Progress Progress
	Log      *slog.Logger
}

// Run backfills what o names.
func (b *Backfill) Run(ctx context.Context, o Options) (Result, error) {
	var res Result
	if err := o.Validate(); err != nil {
		return res, err
	}
	run := o.RunID()
	if o.Restart {
		if err := b.Progress.Reset(ctx, run); err != nil {
			return res, fmt.Errorf("restart: %w", err)
		}
	}
	p, err := b.Progress.Load(ctx, run)
	if err != nil {
		return res, fmt.Errorf("load progress: %w", err)
	}
	res.ResumedAfter = p.LastKey
	sent := p.Files
	if p.LastKey != "" {
		b.Log.InfoContext(ctx, "resuming", "after_key", p.LastKey, "files_sent_before", p.Files)
	}
	groups := map[string]bool{}
	var batch []sqstypes.SendMessageBatchRequestEntry
	var batchLast string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		out, err := b.SQS.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(o.QueueURL), Entries: batch})
		if err != nil {
			return fmt.Errorf("send to %s: %w", o.QueueURL, err)
		}
		if len(out.Failed) > 0 {
			f := out.Failed[0]
			// Nothing of this batch counts as sent: the next run sends it again, and SQS
			// or the auditor's deduplication absorbs the entries that did get through.
			return fmt.Errorf("send to %s: %d of %d messages refused, first %s: %s %s (run again to resume)",
				o.QueueURL, len(out.Failed), len(batch), aws.ToString(f.Id), aws.ToString(f.Code), aws.ToString(f.Message))
		}
		sent += len(batch)
		res.Sent += len(batch)
		// A batch SQS accepted is recorded even when the run is being interrupted (Ctrl-C
		// between the send and its save): otherwise the next run would send it again.
		saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
		defer cancel()
		if err := b.Progress.Save(saveCtx, run, Mark{LastKey: batchLast, Files: sent}); err != nil {
			return fmt.Errorf("save progress after %s: %w", batchLast, err)
		}
		res.LastKey = batchLast
		batch = batch[:0]
		return nil
	}
	pages := s3.NewListObjectsV2Paginator(b.S3, &s3.ListObjectsV2Input{
		Bucket:     aws.String(o.Bucket),
		Prefix:     aws.String(o.Prefix),
		StartAfter: aws.String(p.LastKey),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return res, fmt.Errorf("list s3://%s/%s: %w", o.Bucket, o.Prefix, errors.Join(err, flush()))
		}
		for _, obj := range page.Contents {
			res.Listed++
			key := aws.ToString(obj.Key)
			k, err := ParseKey(key)
			switch {
			case errors.Is(err, ErrNotLogFile):
				res.NotLogFiles++
				continue
			case err != nil:
				res.Invalid++
				b.Log.WarnContext(ctx, "key skipped", "key", key, "error", err.Error())
				continue
			}
			if day := k.Delivered.Truncate(24 * time.Hour); (!o.From.IsZero() && day.Before(o.From)) || (!o.To.IsZero() && day.After(o.To)) {
				res.OutOfRange++
				continue
			}
			m := Message{Version: Version, Bucket: o.Bucket, Key: key, ETag: aws.ToString(obj.ETag)}
			if m.ETag == "" {
				m.ETag = "-" // listings always carry one; a stand-in keeps the message valid
			}
			group := GroupID(k)
			groups[group] = true
			batch = append(batch, sqstypes.SendMessageBatchRequestEntry{
				Id:                     aws.String(fmt.Sprint(len(batch))),
				MessageBody:            aws.String(m.Body()),
				MessageGroupId:         aws.String(group),
				MessageDeduplicationId: aws.String(m.DedupID()),
			})
			batchLast = key
			if len(batch) == maxBatch {
				if err := flush(); err != nil {
					return res, err
				}
			}
		}
		if page.IsTruncated != nil && *page.IsTruncated {
			b.Log.InfoContext(ctx, "listing", "listed", res.Listed, "sent", res.Sent, "at_key", batchLast)
		}
	}
	if err := flush(); err != nil {
		return res, err
	}
	res.Groups = len(groups)
	return res, nil
}
