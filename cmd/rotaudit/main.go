// Command rotaudit is the operator's tool: it rotates secrets the way Secrets Manager does,
// checks that a rotation would succeed, reports on every managed secret of a fleet, and
// replays CloudTrail logs through the audit rules.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand: run gets the arguments after its name.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// errUsage marks an error already explained to the user; main exits 2 without more words.
var errUsage = errors.New("usage")

// errUnknown is errUsage for a command or subcommand that does not exist: a failure even
// when help was asked for with it (`rotaudit audit nonsense --help` exits 2).
var errUnknown = fmt.Errorf("%w: unknown command", errUsage)

func commands() map[string]command {
	return map[string]command{
		// Each subcommand lives in a file of its own and is listed here.
		"db":     dbCommand(),
		"audit":  auditCommand(),
		"rotate": rotateCommand(),
		"doctor": doctorCommand(),
		"check":  checkCommand(),
		"cost":   costCommand(),
		"fleet":  fleetCommand(),
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, errUsage) {
		fmt.Fprintln(os.Stderr, "rotaudit:", err)
	}
	os.Exit(exitCode(err))
}

// exitCode is the exit status of run's error: 0 for none, 2 for a usage error (already
// explained), an exitStatus's own code, else 1.
func exitCode(err error) int {
	var status *exitStatus
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.As(err, &status):
		return status.code
	default:
		return 1
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout, cmds)
		return nil
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "rotaudit: unknown command %q\n", args[0])
		usage(stderr, cmds)
		return errUsage
	}
	err := c.run(ctx, args[1:], stdout, stderr)
	if (errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp)) && !errors.Is(err, errUnknown) && helpRequested(args[1:]) {
		// The command printed its usage because it was asked to: that is a success (exit 0),
		// as with the flag package's own -h.
		return nil
	}
	return err
}

// helpRequested reports whether args ask for help: -h, -help or --help before a "--".
func helpRequested(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: rotaudit <command> [flags]   (rotaudit <command> -h for its flags)")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
}
