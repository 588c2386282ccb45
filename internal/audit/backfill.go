package audit

import (
	"context"
	"encoding/json"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
	"github.com/rotaudit/rotaudit/internal/backfill"
)

// BatchItemFailure names an SQS message that an invocation did not process: with the event
// source mapping's ReportBatchItemFailures, only these return to the queue.
type BatchItemFailure struct {
	ItemIdentifier string `json:"itemIdentifier"`
}

// sqsBatch is an SQS event source mapping's invocation.
type sqsBatch struct {
	Records []struct {
		MessageID   string `json:"messageId"`
		EventSource string `json:"eventSource"`
		Body        string `json:"body"`
	} `json:"Records"`
}

// backfillBatch returns the SQS batch in raw when one of its messages is a backfill
// message (internal/backfill): such batches are answered per message.
func backfillBatch(raw []byte) (*sqsBatch, bool) {
	var b sqsBatch
	if json.Unmarshal(raw, &b) != nil {
		return nil, false
	}
	for _, r := range b.Records {
		if r.EventSource == "aws:sqs" && backfill.IsMessage([]byte(r.Body)) {
			return &b, true
		}
	}
	return nil, false
}

// backfill reads the log file each message names, in the batch's order, and reports the
// messages it did not finish in sum.BatchItemFailures. The queue is FIFO: after the first
// failure the rest of the batch is not read but reported too, so that the group's files
// come back in their order (AWS's rule for FIFO batches). A malformed message is logged
// and dropped (retrying cannot fix it); another kind of event in the batch is handled as
// its own invocation.
func (h *Handler) backfill(ctx context.Context, b *sqsBatch, sum *Summary) {
	failed := false
	for _, r := range b.Records {
		if failed {
			sum.BatchItemFailures = append(sum.BatchItemFailures, BatchItemFailure{ItemIdentifier: r.MessageID})
			continue
		}
		var err error
		if backfill.IsMessage([]byte(r.Body)) {
			m, perr := backfill.ParseMessage([]byte(r.Body))
			if perr != nil {
				h.Log.ErrorContext(ctx, "backfill message skipped", "message_id", r.MessageID, "error", perr.Error())
				sum.Malformed++
				continue
			}
			err = h.object(ctx, cloudtrail.Object{Bucket: m.Bucket, Key: m.Key}, sum)
		} else {
			var sub Summary
			sub, err = h.Handle(ctx, json.RawMessage(r.Body))
			sum.add(sub)
		}
		if err != nil {
			h.Log.ErrorContext(ctx, "message failed: it and the rest of the batch return to the queue", "message_id", r.MessageID, "error", err.Error())
			sum.BatchItemFailures = append(sum.BatchItemFailures, BatchItemFailure{ItemIdentifier: r.MessageID})
			failed = true
		}
	}
	h.Log.InfoContext(ctx, "invocation done", "messages", len(b.Records), "failed_messages", len(sum.BatchItemFailures),
		"records", sum.Records, "findings", sum.Findings, "updates", sum.Updates, "malformed", sum.Malformed, "files", sum.Files, "unwatched", sum.Unwatched)
}

// add counts what another invocation's summary counted.
func (s *Summary) add(o Summary) {
	s.Records += o.Records
	s.Findings += o.Findings
	s.Updates += o.Updates
	s.Malformed += o.Malformed
	s.Files += o.Files
	s.Audited += o.Audited
	s.Delivered += o.Delivered
	s.Unwatched += o.Unwatched
}
