package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"time"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
	"github.com/rotaudit/rotaudit/internal/audit/pglog"
)

// Item is one event of a replay source: a CloudTrail record or a PostgreSQL login. The
// pointer it carries is valid until the source produces its next item.
type Item struct {
	Time   time.Time
	Record *cloudtrail.Record
	Login  *pglog.Login
}

// Source produces a replay input's events, in its own order, to emit; an error from emit
// stops it and comes back.
type Source func(emit func(Item) error) error

// CloudTrailSource reads every log file that input names (a file, a directory or
// s3://bucket/prefix, see EachLogFile), counting records, files and malformed input in sum.
func (h *Handler) CloudTrailSource(ctx context.Context, api S3ListAPI, input string, sum *Summary) Source {
	return func(emit func(Item) error) error {
		return EachLogFile(ctx, api, []string{input}, func(name string, r io.Reader) error {
			sum.Files++
			return h.streamFile(ctx, name, r, sum, func(rec *cloudtrail.Record) error {
				return emit(Item{Time: rec.Time, Record: rec})
			})
		})
	}
}

// PostgresSource reads the logins of one PostgreSQL server log.
func (h *Handler) PostgresSource(ctx context.Context, name string, r io.Reader, sum *Summary) Source {
	return func(emit func(Item) error) error {
		sum.Files++
		n, skipped, err := pglog.Stream(r, func(l *pglog.Login) error { return emit(Item{Time: l.Time, Login: l}) })
		sum.Records += n
		if skipped > 0 {
			h.Log.WarnContext(ctx, "lines that are not PostgreSQL log lines skipped", "file", name, "lines", skipped)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
}

// errStopped ends a source whose consumer stopped early.
var errStopped = errors.New("replay stopped")

// Replay evaluates the sources merged into one stream ordered by event time, as the
// Lambda meets them live: each step takes the earliest next event of any source (the
// earlier source on a tie). Within a source the order is the source's own. A login is
// judged against the rotations before it, not the last one in the whole input, and a
// rotation sees the logins that preceded it. Memory stays that of one event per source.
func (h *Handler) Replay(ctx context.Context, sources []Source, sum *Summary) error {
	if len(sources) == 1 { // nothing to merge: no coroutine per event
		return sources[0](func(it Item) error { return h.item(ctx, it, sum) })
	}
	type head struct {
		next func() (Item, bool)
		stop func()
		item Item
		ok   bool
		err  error
	}
	heads := make([]*head, len(sources))
	for i, src := range sources {
		hd := &head{}
		seq := func(yield func(Item) bool) {
			hd.err = src(func(it Item) error {
				if !yield(it) {
					return errStopped
				}
				return nil
			})
			if errors.Is(hd.err, errStopped) {
				hd.err = nil
			}
		}
		hd.next, hd.stop = iter.Pull(iter.Seq[Item](seq))
		defer hd.stop()
		hd.item, hd.ok = hd.next()
		if hd.err != nil {
			return hd.err
		}
		heads[i] = hd
	}
	for {
		var first *head
		for _, hd := range heads {
			if hd.ok && (first == nil || hd.item.Time.Before(first.item.Time)) {
				first = hd
			}
		}
		if first == nil {
			return nil
		}
		if err := h.item(ctx, first.item, sum); err != nil {
			return err
		}
		first.item, first.ok = first.next()
		if first.err != nil {
			return first.err
		}
	}
}

func (h *Handler) item(ctx context.Context, it Item, sum *Summary) error {
	if it.Login != nil {
		return h.login(ctx, it.Login, sum)
	}
	return h.evaluate(ctx, it.Record, sum)
}
