// Package lambdakit is the glue every Lambda of the project shares, kept out of the
// packages that do the work: the JSON logger that carries the invocation's request id, and
// the writer of CloudWatch embedded-metric lines.
package lambdakit

import (
	"context"
	"io"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// NewLogger returns a JSON slog logger for a Lambda: Lambda's key names (timestamp,
// message) and the invocation's requestId from lambdacontext, always JSON whatever
// AWS_LAMBDA_LOG_FORMAT says, so log queries can rely on the fields. (lambdacontext's own
// NewLogger writes text unless that variable says JSON, and only to stdout.)
func NewLogger(w io.Writer) *slog.Logger {
	return slog.New(requestIDHandler{slog.NewJSONHandler(w, &slog.HandlerOptions{ReplaceAttr: lambdacontext.ReplaceAttr})})
}

// requestIDHandler wraps a JSON handler, adding lambdacontext's request id.
type requestIDHandler struct{ slog.Handler }

// Handle adds the invocation's requestId, when there is one, to the record.
func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		r.AddAttrs(slog.String("requestId", lc.AwsRequestID))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the requestId injection on the derived handler.
func (h requestIDHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(a)}
}

// WithGroup keeps the requestId injection on the derived handler.
func (h requestIDHandler) WithGroup(n string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(n)}
}
