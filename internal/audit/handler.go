package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
	"github.com/rotaudit/rotaudit/internal/audit/pglog"
)

// Sink receives findings: SNS in the Lambda, stdout in replay.
type Sink interface {
	Emit(ctx context.Context, f *Finding) error
}

// Summary counts what one invocation or replay did.
type Summary struct {
	Records  int `json:"records"`
	Findings int `json:"findings"`
	// Updates counts events added to findings already open (dedup), sent or not.
	Updates   int `json:"updates"`
	Malformed int `json:"malformed"`
	Files     int `json:"files"`
	// Audited counts the records some rule looks at.
	Audited int `json:"audited"`
	// Delivered counts, when the handler is asked to (CountDelivered), the records the
	// EventBridge patterns would deliver to the Lambda live: what its invocations and
	// state writes are paid per.
	Delivered int `json:"delivered"`
	// Unwatched counts the records of accounts the configuration does not watch (an
	// organization trail delivers every member's), skipped without evaluation.
	Unwatched int `json:"unwatched,omitempty"`
	// BatchItemFailures lists the messages of an SQS batch of backfill messages that were
	// not processed: the event source mapping (ReportBatchItemFailures) returns only
	// these to the queue.
	BatchItemFailures []BatchItemFailure `json:"batchItemFailures,omitempty"`
}

// Handler is what the Lambda runs for each invocation: it tells the event shapes apart,
// streams S3 log files, evaluates every record and hands the findings to the sink.
type Handler struct {
	Engine *Engine
	S3     S3API
	// Trails lists the account's trails at start (LearnTrails); nil learns nothing.
	Trails TrailsAPI
	Sink   Sink
	Log    *slog.Logger
	// CountDelivered makes the Summary count what EventBridge would deliver live (replay).
	CountDelivered bool
}

// Handle processes one invocation. Malformed input is logged and skipped (retrying cannot
// fix it); failures of the state table, S3 or SNS are returned so that Lambda retries,
// and dedup keeps a retry from repeating an alert already sent. An SQS batch of backfill
// messages (internal/backfill) is answered per message instead: Summary.BatchItemFailures.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (Summary, error) {
	var sum Summary
	if data, ok := pglog.IsSubscription(raw); ok {
		return sum, h.subscription(ctx, data, &sum)
	}
	if batch, ok := backfillBatch(raw); ok {
		h.backfill(ctx, batch, &sum) // failures are per message, in sum
		return sum, nil
	}
	inv, err := cloudtrail.ParseInvocation(raw)
	if err != nil {
		h.Log.ErrorContext(ctx, "event skipped", "error", err.Error(), "event_bytes", len(raw))
		sum.Malformed++
		return sum, nil
	}
	for _, p := range inv.Problems {
		h.Log.WarnContext(ctx, "malformed input skipped", "error", p.Error())
		sum.Malformed++
	}
	for _, rec := range inv.Records {
		sum.Records++
		if err := h.evaluate(ctx, rec, &sum); err != nil {
			return sum, err
		}
	}
	for _, obj := range inv.Objects {
		if err := h.object(ctx, obj, &sum); err != nil {
			return sum, err
		}
	}
	h.Log.InfoContext(ctx, "invocation done", "records", sum.Records, "findings", sum.Findings, "updates", sum.Updates, "malformed", sum.Malformed, "files", sum.Files, "unwatched", sum.Unwatched)
	return sum, nil
}

// subscription handles a CloudWatch Logs delivery of PostgreSQL's log (the DB-xx rules).
func (h *Handler) subscription(ctx context.Context, data string, sum *Summary) error {
	env, err := pglog.DecodeSubscription(data)
	if err != nil {
		h.Log.ErrorContext(ctx, "log subscription skipped", "error", err.Error())
		sum.Malformed++
		return nil
	}
	logins, skipped := env.Logins()
	sum.Malformed += skipped
	for i := range logins {
		sum.Records++
		if err := h.login(ctx, &logins[i], sum); err != nil {
			return err
		}
	}
	h.Log.InfoContext(ctx, "invocation done", "log_group", env.LogGroup, "log_events", len(env.LogEvents), "logins", len(logins), "findings", sum.Findings, "updates", sum.Updates, "malformed", sum.Malformed)
	return nil
}

func (h *Handler) login(ctx context.Context, l *pglog.Login, sum *Summary) error {
	sum.Audited++
	sum.Delivered++ // the log subscription delivers every line
	findings, err := h.Engine.EvaluateLogin(ctx, l)
	if err != nil {
		return fmt.Errorf("evaluate login: %w", err)
	}
	return h.emit(ctx, findings, sum)
}

func (h *Handler) evaluate(ctx context.Context, rec *cloudtrail.Record, sum *Summary) error {
	if !h.Engine.Watches(rec) {
		sum.Unwatched++
		return nil
	}
	findings, audited, err := h.Engine.evaluate(ctx, rec)
	if audited {
		sum.Audited++
		if h.CountDelivered && h.Engine.Delivered(rec) {
			sum.Delivered++
		}
	}
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	return h.emit(ctx, findings, sum)
}

func (h *Handler) emit(ctx context.Context, findings []Finding, sum *Summary) error {
	for i := range findings {
		if findings[i].IsUpdate() {
			sum.Updates++
			if !notifyUpdate(findings[i].Count) {
				continue
			}
		}
		if err := h.Sink.Emit(ctx, &findings[i]); err != nil {
			// Undo the dedup of this and the findings not yet sent, so a retry alerts.
			for j := i; j < len(findings); j++ {
				if rerr := h.Engine.Release(ctx, &findings[j]); rerr != nil {
					h.Log.ErrorContext(ctx, "release dedup key", "rule_id", findings[j].FindingInfo.Analytic.UID, "error", rerr.Error())
				}
			}
			return fmt.Errorf("emit %s: %w", findings[i].FindingInfo.Analytic.UID, err)
		}
		if !findings[i].IsUpdate() {
			sum.Findings++
		}
	}
	return nil
}

// notifyUpdate says which updates of an open finding are sent: when its count reaches 2,
// 4, 8, ... An attack that repeats itself is heard of again without one alert per event;
// the state table keeps every count and the first event ids in between.
func notifyUpdate(count int) bool { return count >= 2 && count&(count-1) == 0 }

func (h *Handler) object(ctx context.Context, obj cloudtrail.Object, sum *Summary) error {
	if IsDigest(obj.Key) {
		h.Log.DebugContext(ctx, "digest file skipped", "file", "s3://"+obj.Bucket+"/"+obj.Key)
		return nil
	}
	if h.S3 == nil {
		return fmt.Errorf("s3://%s/%s: no S3 client configured", obj.Bucket, obj.Key)
	}
	return readS3Object(ctx, h.S3, obj.Bucket, obj.Key, func(name string, r io.Reader) error {
		sum.Files++
		return h.StreamFile(ctx, name, r, sum)
	})
}

// StreamFile evaluates every record of one CloudTrail log file as it is read. A trail's
// delivery (s3://BUCKET/.../CloudTrail/...) also teaches the engine that BUCKET holds a
// trail's logs, so RA-07 watches it without configuration.
func (h *Handler) StreamFile(ctx context.Context, name string, r io.Reader, sum *Summary) error {
	return h.streamFile(ctx, name, r, sum, func(rec *cloudtrail.Record) error { return h.evaluate(ctx, rec, sum) })
}

// streamFile reads one CloudTrail log file record by record into each, counting records
// and malformed ones in sum, and notes the trail bucket the file came from.
func (h *Handler) streamFile(ctx context.Context, name string, r io.Reader, sum *Summary, each func(*cloudtrail.Record) error) error {
	var last time.Time
	n, err := cloudtrail.Stream(r, func(rec *cloudtrail.Record) error {
		last = rec.Time
		return each(rec)
	}, func(bad error) {
		sum.Malformed++
		h.Log.WarnContext(ctx, "malformed record skipped", "file", name, "error", bad.Error())
	})
	sum.Records += n
	if errors.Is(err, cloudtrail.ErrMalformed) {
		sum.Malformed++
		h.Log.WarnContext(ctx, "malformed file: rest skipped", "file", name, "records", n, "error", err.Error())
		err = nil
	}
	if b := deliveryBucket(name); err == nil && b != "" && !last.IsZero() {
		err = h.Engine.NoteTrailBucket(ctx, b, "", last)
	}
	return err
}

// deliveryBucket returns the bucket of a trail's log file named s3://BUCKET/KEY, "" for
// any other name.
func deliveryBucket(name string) string {
	rest, ok := strings.CutPrefix(name, "s3://")
	bucket, key, _ := strings.Cut(rest, "/")
	if !ok || !strings.Contains("/"+key, "/AWSLogs/") || !strings.Contains(key, "/CloudTrail/") {
		return ""
	}
	return bucket
}

// SNSAPI is the one SNS call the alert sink makes.
type SNSAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// SNSSink publishes each finding to the alert topic (message attributes severity and
// rule_id, a readable subject) and logs it.
type SNSSink struct {
	API   SNSAPI
	Topic string
	Log   *slog.Logger
}

// Emit publishes and logs f.
func (s *SNSSink) Emit(ctx context.Context, f *Finding) error {
	body, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("encode finding: %w", err)
	}
	out, err := s.API.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(s.Topic),
		Subject:  aws.String(f.Subject()),
		Message:  aws.String(string(body)),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"severity": {DataType: aws.String("String"), StringValue: aws.String(f.Severity)},
			"rule_id":  {DataType: aws.String("String"), StringValue: aws.String(f.FindingInfo.Analytic.UID)},
		},
	})
	if err != nil {
		return fmt.Errorf("sns publish: %w", err)
	}
	s.Log.InfoContext(ctx, "finding", "rule_id", f.FindingInfo.Analytic.UID, "severity", f.Severity,
		"title", f.FindingInfo.Title, "finding_uid", f.FindingInfo.UID, "principal", f.Actor.User.UID,
		"event_ids", relatedIDs(f), "message_id", aws.ToString(out.MessageId))
	return nil
}

func relatedIDs(f *Finding) []string {
	ids := make([]string, len(f.FindingInfo.RelatedEvents))
	for i, r := range f.FindingInfo.RelatedEvents {
		ids[i] = r.UID
	}
	return ids
}

// JSONLinesSink writes one finding per line (replay's output).
type JSONLinesSink struct {
	enc *json.Encoder
}

// NewJSONLinesSink writes findings to w.
func NewJSONLinesSink(w io.Writer) *JSONLinesSink { return &JSONLinesSink{enc: json.NewEncoder(w)} }

// Emit writes f as one line.
func (s *JSONLinesSink) Emit(_ context.Context, f *Finding) error { return s.enc.Encode(f) }
