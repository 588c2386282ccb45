// Command auditcorpus writes the synthetic CloudTrail traffic of internal/testkit/corpus to
// gzip log files for the audit benchmark (scripts/bench-audit.sh), prints the audit
// configuration that matches it, and measures which fraction of a benign corpus each set of
// EventBridge patterns would send to the auditor Lambda. It is a developer's tool: the
// operator CLI (cmd/rotaudit) carries no test-traffic generation.
//
//	auditcorpus -out DIR [-files 4] [-records 100000] [-seed 1]   mixed traffic, one file per -files
//	auditcorpus -out DIR -benign-days 8 [-seed 7]                 benign traffic only, one file
//	auditcorpus -print-config                                     the matching audit configuration
//	auditcorpus -measure-days 8 [-patterns DIR] [-compare DIR]    pattern sets against benign traffic
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rotaudit/rotaudit/internal/audit"
	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
	"github.com/rotaudit/rotaudit/internal/testkit/corpus"
)

// errUsage marks an error already explained on stderr; main exits 2.
var errUsage = errors.New("usage")

// start is the first day of every generated corpus, so that a seed always gives the same files.
var start = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "auditcorpus:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("auditcorpus", flag.ContinueOnError)
	fl.SetOutput(stderr)
	dir := fl.String("out", "", "directory to write the gzip log files into (created)")
	files := fl.Int("files", 4, "number of files")
	records := fl.Int("records", 100000, "records per file")
	seed := fl.Uint64("seed", 1, "random seed")
	printConfig := fl.Bool("print-config", false, "print the audit configuration that matches the corpus and exit")
	benign := fl.Int("benign-days", 0, "instead of the mixed corpus, write N days of benign traffic only (API reads, four rotations, Terraform deploys) as one file")
	days := fl.Int("measure-days", 0, "instead: generate this many days of benign traffic and print the fraction of events each pattern set (-patterns, then each -compare DIR) would send to the Lambda")
	patterns := fl.String("patterns", filepath.Join("modules", "audit-alerts", "patterns"), "with -measure-days: directory of the EventBridge pattern files")
	var compare []string
	fl.Func("compare", "with -measure-days: another pattern directory to measure (repeatable)", func(v string) error { compare = append(compare, v); return nil })
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "auditcorpus: unexpected argument %q\n", fl.Arg(0))
		return errUsage
	}
	switch {
	case *printConfig:
		fmt.Fprintln(stdout, corpus.Config())
		return nil
	case *days > 0:
		return measurePatterns(stdout, *days, append([]string{*patterns}, compare...))
	}
	if *dir == "" || *files < 1 || *records < 1 || *benign < 0 {
		fmt.Fprintln(stderr, "auditcorpus: -out is required; -files and -records must be positive, -benign-days not negative")
		return errUsage
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	if *benign > 0 {
		p := filepath.Join(*dir, fmt.Sprintf("benign-%dd.json.gz", *benign))
		if err := writeBenign(p, *seed, *benign); err != nil {
			return fmt.Errorf("benign corpus: %w", err)
		}
		fmt.Fprintln(stdout, p)
		return nil
	}
	paths, err := corpus.WriteMixed(*dir, *seed, *files, *records, start)
	if err != nil {
		return err
	}
	for _, p := range paths {
		fmt.Fprintln(stdout, p)
	}
	return nil
}

// writeBenign writes days of benign traffic as one gzip log file at path.
func writeBenign(path string, seed uint64, days int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = corpus.WriteLogFile(f, func(emit corpus.Emit) error {
		_, err := corpus.New(seed, emit).Benign(start, days)
		return err
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// measurePatterns prints, for each directory of EventBridge patterns, how many events of
// days of benign traffic at least one of its patterns matches: what would invoke the Lambda.
func measurePatterns(stdout io.Writer, days int, dirs []string) error {
	sets := make([][]*audit.Pattern, len(dirs))
	for i, d := range dirs {
		var err error
		if sets[i], err = audit.ReadPatterns(d); err != nil {
			return err
		}
	}
	total := 0
	matched := make([]int, len(dirs))
	_, err := corpus.New(7, func(r *cloudtrail.Record) error {
		total++
		ev, err := audit.EventOf(r)
		if err != nil {
			return err
		}
		for i, set := range sets {
			for _, p := range set {
				ok, err := p.Match(ev)
				if err != nil {
					return err
				}
				if ok {
					matched[i]++
					break
				}
			}
		}
		return nil
	}).Benign(start, days)
	if err != nil {
		return err
	}
	for i, d := range dirs {
		fmt.Fprintf(stdout, "%s: %d of %d events invoke the Lambda (%.2f%%)\n", d, matched[i], total, 100*float64(matched[i])/float64(total))
	}
	return nil
}
