// Command service is the rates API: GET /rates answers daily average prices between two
// ports from PostgreSQL, with the database credentials taken from a Secrets Manager secret
// (DB_SECRET_ID) that may rotate while it runs. See config.go for every variable it reads.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "rates api:", err)
		stop()
		os.Exit(1)
	}
}

// run starts the API and blocks until ctx ends (SIGTERM) and in-flight requests finished.
func run(ctx context.Context, getenv func(string) string, logOut io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, logOut)
}
