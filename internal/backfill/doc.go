// Package backfill sends a trail bucket's log files to the auditor through SQS, so that a
// year of an organization's CloudTrail history is audited by the same Lambda, with the
// same rules and state, that audits the live events (rotaudit audit backfill).
//
// The work is spread by services already in the design, not by a scheduler of our own:
// ListObjectsV2 over the bucket, one SQS FIFO message per log file, and the auditor
// Lambda reading the queue through an event source mapping whose maximum concurrency
// bounds the workers (modules/audit-alerts backfill_enabled). What this package does is
// the part only the operator's side can do: list, validate, order and resume.
//
// Order. The rules keep per-principal and per-secret state (first sightings, bursts,
// open findings) keyed by event time, so what they need is each principal's and each
// secret's events in time order. CloudTrail writes one stream of files per account and
// region, and a stream's keys sort in delivery order. A secret is a regional resource, so
// its events are all in one stream; so are a principal's calls in that region. The message
// group is therefore the stream (GroupID): a FIFO queue hands a group's messages to one
// invocation at a time, in the order they were sent, while different streams run side by
// side, as many at once as there are streams (up to the mapping's maximum concurrency).
// Between streams there is no order, and the engine's state is not indifferent to it: a
// dedup key or first sighting stored by a later event of one stream decides for an earlier
// event of another stream read after it (one merged finding where replay, in time order,
// makes two). Where a principal acts in several regions or accounts the backfill can
// therefore report fewer findings than replay; make bench-backfill measures the worst case
// (docs/backfill.md). A coarser group would not help: an account's keys sort region by
// region, not in time.
//
// Resuming. SQS's deduplication (MessageDeduplicationId = hash of bucket, key and ETag)
// lasts five minutes, too short to make a re-run idempotent on its own. The run's mark,
// the last key it sent, is saved after every batch of ten in the auditor's state table,
// and a run with the same options lists from there with StartAfter. An interruption
// between a send and its save re-sends at most one batch: dropped by SQS within five
// minutes, and after that kept from alerting twice by the auditor's finding deduplication
// (its events then add to the open findings' counts a second time).
//
// The auditor's side (reading SQS batches of these messages and reporting per-message
// failures) is in internal/audit; the delivery from the queue to the function is AWS's
// event source mapping, which internal/testkit/esm stands in for on the emulator.
package backfill
