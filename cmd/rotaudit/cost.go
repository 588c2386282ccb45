package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rotaudit/rotaudit/internal/cost"
)

// costCommand estimates what a Terraform plan costs a month and what the audit pipeline
// costs as CloudTrail grows.
func costCommand() command {
	return command{summary: "monthly cost of a Terraform plan, or of the audit pipeline by CloudTrail volume", run: runCost}
}

type costFlags struct {
	plan, env, assumptions, format string
	auditVolume, plot              string
	readme, plansDir, readmePlot   string
	check                          bool
	rps, events, logGB, rotations  float64
	fraction                       float64
}

func runCost(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cost", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f costFlags
	fs.StringVar(&f.plan, "plan", "", "`file` with the output of `terraform show -json PLANFILE` (- for stdin)")
	fs.StringVar(&f.env, "env", "", "assumption set to use (default: the plan's environment variable, else \"default\")")
	fs.StringVar(&f.assumptions, "assumptions", "", "assumptions `file` (default: the repository's internal/cost/assumptions.json)")
	fs.StringVar(&f.format, "format", "text", "text or markdown")
	fs.Float64Var(&f.rps, "rps", 0, "API requests per second (overrides the assumption)")
	fs.Float64Var(&f.events, "cloudtrail-events-per-day", 0, "CloudTrail management events per day (overrides the assumption)")
	fs.Float64Var(&f.logGB, "log-gb-per-day", 0, "GB a day ingested per application log group (overrides the assumption)")
	fs.Float64Var(&f.rotations, "rotations-per-month", 0, "secret rotations per month (overrides the assumption)")
	fs.Float64Var(&f.fraction, "audit-fraction", 0, "share of CloudTrail events the deployed patterns let through (overrides the measured default)")
	fs.StringVar(&f.auditVolume, "audit-volume", "", "comma-separated CloudTrail `events` per month (1e6,1e7,1e8): print the audit pipeline's cost")
	fs.StringVar(&f.plot, "plot", "", "with --audit-volume: also draw it into this PNG `file`")
	fs.StringVar(&f.readme, "readme", "", "regenerate the cost sections of this README (envs/README.md) from the plans in --plans")
	fs.StringVar(&f.plansDir, "plans", "internal/cost/testdata", "with --readme: folder of plan-<env>.json files")
	fs.StringVar(&f.readmePlot, "readme-plot", "", "with --readme: also write the audit plot to this PNG file")
	fs.BoolVar(&f.check, "check", false, "with --readme: change nothing, fail when the README is not current")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: rotaudit cost --plan FILE [--env ENV] [flags]\n"+
			"       rotaudit cost --audit-volume 1e6,1e7,1e8 [--plot out.png]\n"+
			"       rotaudit cost --readme envs/README.md [--check]\n\n"+
			"Prices every resource of a Terraform plan from the repository's price table\n"+
			"(internal/cost/prices.json, us-east-1 list prices) and prints the monthly cost per\n"+
			"resource and in total. Usage costs come from stated assumptions; a resource type the\n"+
			"table does not know is listed as NOT PRICED, never counted as zero.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	modes := 0
	for _, s := range []string{f.plan, f.auditVolume, f.readme} {
		if s != "" {
			modes++
		}
	}
	if modes != 1 {
		fmt.Fprintln(stderr, "rotaudit cost: give exactly one of --plan, --audit-volume or --readme")
		fs.Usage()
		return errUsage
	}
	table, err := cost.DefaultTable()
	if err != nil {
		return err
	}
	data := cost.AssumptionsData()
	if f.assumptions != "" {
		if data, err = os.ReadFile(f.assumptions); err != nil {
			return fmt.Errorf("cost: %w", err)
		}
	}
	switch {
	case f.readme != "":
		return costReadme(f, table, data, stdout)
	case f.auditVolume != "":
		return costAudit(fs, f, table, data, stdout)
	}

	var in io.Reader = os.Stdin
	if f.plan != "-" {
		fh, err := os.Open(f.plan)
		if err != nil {
			return fmt.Errorf("cost: %w", err)
		}
		defer fh.Close()
		in = fh
	}
	plan, err := cost.ReadPlan(in)
	if err != nil {
		return fmt.Errorf("cost: %s: %w", f.plan, err)
	}
	env := f.env
	if env == "" {
		env = plan.Var("environment")
	}
	a, err := assumptionsFor(fs, f, data, env)
	if err != nil {
		return err
	}
	r, err := cost.Estimate(table, plan, a)
	if err != nil {
		return err
	}
	switch f.format {
	case "text":
		return r.WriteText(stdout)
	case "markdown":
		_, err := io.WriteString(stdout, r.Markdown())
		return err
	default:
		return fmt.Errorf("cost: --format %q: text or markdown", f.format)
	}
}

// assumptionsFor loads the set of env ("default" when env is empty or has no set of its
// own) and applies the flags the user set.
func assumptionsFor(fs *flag.FlagSet, f costFlags, data []byte, env string) (cost.Assumptions, error) {
	a, err := cost.ForEnvironment(data, env)
	if err != nil && env != "" && strings.Contains(err.Error(), "no set named") {
		a, err = cost.ForEnvironment(data, "")
	}
	if err != nil {
		return a, fmt.Errorf("cost: %w", err)
	}
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "rps":
			a.RequestsPerSecond = f.rps
		case "cloudtrail-events-per-day":
			a.CloudTrailEventsPerDay = f.events
		case "log-gb-per-day":
			a.LogGBPerDay = f.logGB
		case "rotations-per-month":
			a.RotationsPerMonth = f.rotations
		case "audit-fraction":
			a.AuditFraction = f.fraction
		}
	})
	if err := a.Validate(); err != nil {
		return a, fmt.Errorf("cost: %w", err)
	}
	return a, nil
}

func parseVolumes(s string) ([]float64, error) {
	var out []float64
	for _, part := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("cost: --audit-volume %q: want comma-separated non-negative numbers such as 1e6,1e7,1e8", s)
		}
		out = append(out, v)
	}
	return out, nil
}

func costAudit(fs *flag.FlagSet, f costFlags, t *cost.Table, data []byte, stdout io.Writer) error {
	vols, err := parseVolumes(f.auditVolume)
	if err != nil {
		return err
	}
	a, err := assumptionsFor(fs, f, data, f.env)
	if err != nil {
		return err
	}
	rows, err := cost.AuditVolume(t, a, cost.DefaultAuditParams(), vols)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Audit pipeline, monthly, at audit_fraction %v (%s)\n\n", a.AuditFraction,
		map[bool]string{true: "the measured default", false: "set by you"}[a.AuditFraction == cost.DefaultAuditFraction])
	if _, err := io.WriteString(stdout, cost.AuditMarkdown(rows)); err != nil {
		return err
	}
	if f.plot != "" {
		return writePlot(f.plot, rows, a.AuditFraction)
	}
	return nil
}

func writePlot(path string, rows []cost.AuditRow, fraction float64) error {
	fh, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("cost: plot: %w", err)
	}
	if err := cost.PlotAuditVolume(fh, rows, fraction); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

func costReadme(f costFlags, t *cost.Table, data []byte, stdout io.Writer) error {
	plans := map[string]*cost.Plan{}
	names := append([]string{}, cost.Environments...)
	for _, v := range cost.DevVariants[1:] {
		names = append(names, v.Name)
	}
	for _, env := range names {
		path := filepath.Join(f.plansDir, "plan-"+env+".json")
		fh, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("cost: %w (scripts/cost-plan.sh %s writes it)", err, env)
		}
		p, err := cost.ReadPlan(fh)
		fh.Close()
		if err != nil {
			return fmt.Errorf("cost: %s: %w", path, err)
		}
		plans[env] = p
	}
	doc, err := os.ReadFile(f.readme)
	if err != nil {
		return fmt.Errorf("cost: %w", err)
	}
	out, err := cost.Readme(doc, t, plans, data)
	if err != nil {
		return fmt.Errorf("cost: %s: %w", f.readme, err)
	}
	if f.check {
		if string(out) != string(doc) {
			return errors.New("cost: " + f.readme + " is not current: run make cost-readme")
		}
		fmt.Fprintf(stdout, "%s is current\n", f.readme)
		return nil
	}
	if f.readmePlot != "" {
		a, err := cost.ForEnvironment(data, "")
		if err != nil {
			return err
		}
		rows, err := cost.AuditVolume(t, a, cost.DefaultAuditParams(), cost.AuditVolumes)
		if err != nil {
			return err
		}
		if err := writePlot(f.readmePlot, rows, a.AuditFraction); err != nil {
			return err
		}
	}
	if err := os.WriteFile(f.readme, out, 0o644); err != nil {
		return fmt.Errorf("cost: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s\n", f.readme)
	return nil
}
