package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/rotaudit/rotaudit/internal/rotation"
)

// doctorCommand checks, without changing anything, that a rotation would succeed.
func doctorCommand() command {
	return command{summary: "check that a rotation of a secret would succeed, changing nothing", run: runDoctor}
}

func runDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var rf rotationFlags
	rf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: rotaudit doctor --secret-id ID [--strategy S]\n\n"+
			"Checks secret shape, rotation settings, TLS, the database login with the current\n"+
			"credentials, the permission to change the password and, for alternating users, the\n"+
			"master secret, its privileges and the clone name. One line per check.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if rf.secretID == "" || fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	r, err := newRotator(ctx, rf)
	if err != nil {
		return err
	}
	checks := r.Doctor(ctx, rf.secretID)
	for _, c := range checks {
		fmt.Fprintf(stdout, "%-4s  %-20s %s\n", c.Status, c.Name, c.Detail)
	}
	if rotation.Failed(checks) {
		fmt.Fprintf(stdout, "verdict: rotating %s (%s) would FAIL (see the FAIL lines)\n", rf.secretID, r.Config.Strategy)
		return errors.New("doctor found problems")
	}
	fmt.Fprintf(stdout, "verdict: rotating %s (%s) would succeed\n", rf.secretID, r.Config.Strategy)
	return nil
}
