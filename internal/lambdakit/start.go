package lambdakit

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

// Start is a function's main: it builds the handler (configuration, clients) with build,
// then serves it with lambda.Start, which never returns. When build fails, at cold start,
// it prints the error after name to stderr and exits 1, so Lambda reports an init error
// and the log says what to fix. handler is any handler lambda.Start accepts.
func Start(name string, build func(ctx context.Context) (handler any, err error)) {
	h, err := build(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
	lambda.Start(h)
}
