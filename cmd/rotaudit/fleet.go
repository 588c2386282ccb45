package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rotaudit/rotaudit/internal/awsclient"
	"github.com/rotaudit/rotaudit/internal/fleet"
)

// fleetCommand reports on every managed secret across accounts and regions.
func fleetCommand() command {
	return command{summary: "every managed secret across accounts and regions in one table (text, JSON, HTML calendar)", run: runFleet}
}

var (
	roleARNPattern    = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$`)
	regionPattern     = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d{1,2}$`)
	tableNamePattern  = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)
	namePrefixPattern = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]{1,512}$`)
)

// fleetAccount is one --role-arn: the role to assume and, when given, its own regions.
type fleetAccount struct {
	roleARN, account string
	regions          []string
}

// parseRegions reads a comma-separated list of region names.
func parseRegions(flagName, v string) ([]string, error) {
	var out []string
	for _, r := range strings.Split(v, ",") {
		r = strings.TrimSpace(r)
		if !regionPattern.MatchString(r) {
			return nil, fmt.Errorf("%s %q: %q is not a region name (us-east-1, eu-west-2, ...)", flagName, v, r)
		}
		out = append(out, r)
	}
	return out, nil
}

// parseRoleARN reads --role-arn ARN[#region,region...].
func parseRoleARN(v string) (fleetAccount, error) {
	arn, regions, hasRegions := strings.Cut(strings.TrimSpace(v), "#")
	m := roleARNPattern.FindStringSubmatch(arn)
	if m == nil {
		return fleetAccount{}, fmt.Errorf("--role-arn %q: want arn:aws:iam::<12-digit account>:role/<name>, optionally followed by #region,region", v)
	}
	a := fleetAccount{roleARN: arn, account: m[1]}
	if hasRegions {
		r, err := parseRegions("--role-arn", regions)
		if err != nil {
			return fleetAccount{}, err
		}
		a.regions = r
	}
	return a, nil
}

// fleetFlags are the validated flags of `rotaudit fleet`.
type fleetFlags struct {
	format, out, stateTable string
	roles                   []fleetAccount
	regions, prefixes       []string
	opts                    fleet.Options
}

func parseFleetFlags(args []string, stderr io.Writer) (fleetFlags, error) {
	var f fleetFlags
	fs := flag.NewFlagSet("fleet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.format, "format", "text", "text, json or html (one page: the table and a rotation calendar)")
	fs.StringVar(&f.out, "out", "", "write the report to this file instead of standard output")
	fs.Func("role-arn", "also list the account of this role, assumed with STS; ARN#region,region gives it its own regions (repeatable)", func(v string) error {
		a, err := parseRoleARN(v)
		if err == nil {
			f.roles = append(f.roles, a)
		}
		return err
	})
	regions := fs.String("regions", "", "comma-separated regions to list in every account (default: the SDK's region, $AWS_REGION)")
	prefixes := fs.String("name-prefix", fleet.DefaultNamePrefix, "comma-separated name prefixes of the managed secrets")
	fs.StringVar(&f.stateTable, "state-table", "", "the auditor's state table (DynamoDB, default account and first region): adds the rotation failures the audit reported and previous users still logging in")
	fs.BoolVar(&f.opts.ReadValues, "read-values", false, "read each secret's value to show its database and user (GetSecretValue: the audit sees the read and the secrets' policy may deny it; the password is never shown)")
	fs.DurationVar(&f.opts.StalePending, "stale-pending", fleet.DefaultStalePending, "how old an AWSPENDING version may be before its rotation counts as failed")
	fs.DurationVar(&f.opts.Grace, "grace", fleet.DefaultGrace, "how long past its due date a rotation may be missing before it is overdue")
	fs.DurationVar(&f.opts.StaleAfter, "stale-after", 24*time.Hour, "how long after a rotation the previous user of a pair may still log in (the auditor's db_logins.stale_after)")
	now := fs.String("now", "", "judge as of this RFC 3339 time instead of the clock (for tests and what-ifs)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: rotaudit fleet [--format text|json|html] [--out FILE] [--role-arn ARN[#regions] ...] [--regions R,R] [--state-table NAME]\n\n"+
			"Lists every managed secret (name prefix rotaudit/ by default) in the default credentials'\n"+
			"account and in each --role-arn's, in every region, with Describe/List calls only: rotation\n"+
			"on, last success, next due, and what needs a person (rotation off, overdue, a stale\n"+
			"AWSPENDING; with --state-table, a failure the audit reported or a previous user of an\n"+
			"alternating pair still logging in). Exit status: 0 all fine, 1 something needs a person,\n"+
			"2 a usage error or an account, region or the state table could not be read.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return f, errUsage
	}
	bad := func(format string, a ...any) (fleetFlags, error) {
		fmt.Fprintf(stderr, "rotaudit fleet: "+format+"\n", a...)
		return f, errUsage
	}
	if fs.NArg() > 0 {
		return bad("unexpected argument %q (flags only)", fs.Arg(0))
	}
	switch f.format {
	case "text", "json", "html":
	default:
		return bad("--format %q: want text, json or html", f.format)
	}
	if *regions != "" {
		r, err := parseRegions("--regions", *regions)
		if err != nil {
			return bad("%v", err)
		}
		f.regions = r
	}
	for _, p := range strings.Split(*prefixes, ",") {
		if p = strings.TrimSpace(p); !namePrefixPattern.MatchString(p) {
			return bad("--name-prefix %q: a prefix is 1-512 of A-Z a-z 0-9 / _ + = . @ -", p)
		}
		f.prefixes = append(f.prefixes, p)
	}
	if f.stateTable != "" && !tableNamePattern.MatchString(f.stateTable) {
		return bad("--state-table %q: a DynamoDB table name is 3-255 of A-Z a-z 0-9 _ . -", f.stateTable)
	}
	for name, d := range map[string]time.Duration{"--stale-pending": f.opts.StalePending, "--grace": f.opts.Grace, "--stale-after": f.opts.StaleAfter} {
		if d <= 0 {
			return bad("%s %s: want a positive duration (90m, 24h)", name, d)
		}
	}
	if *now != "" {
		t, err := time.Parse(time.RFC3339, *now)
		if err != nil {
			return bad("--now %q: want an RFC 3339 time such as 2026-12-07T12:00:00Z", *now)
		}
		f.opts.Now = t
	}
	if f.out != "" {
		if st, err := os.Stat(f.out); err == nil && st.IsDir() {
			return bad("--out %s is a folder: give a file name", f.out)
		}
	}
	return f, nil
}

// exitStatus is an error with an exit status other than 1: `rotaudit fleet` exits 2 when
// an account, a region or the state table could not be read.
type exitStatus struct {
	code int
	err  error
}

func (e *exitStatus) Error() string { return e.err.Error() }
func (e *exitStatus) Unwrap() error { return e.err }

func runFleet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseFleetFlags(args, stderr)
	if err != nil {
		return err
	}
	cfg, err := awsclient.Load(ctx)
	if err != nil {
		return &exitStatus{2, err}
	}
	regions := f.regions
	if len(regions) == 0 {
		if cfg.Region == "" {
			fmt.Fprintln(stderr, "rotaudit fleet: no region: set AWS_REGION or give --regions")
			return errUsage
		}
		regions = []string{cfg.Region}
	}
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return &exitStatus{2, fmt.Errorf("fleet: who are the default credentials (sts get-caller-identity): %w", err)}
	}
	var targets []fleet.Target
	add := func(account string, c aws.Config, rs []string) {
		for _, r := range rs {
			rc := c.Copy()
			rc.Region = r
			targets = append(targets, fleet.Target{Account: account, Region: r, SM: awsclient.SecretsManager(rc, "")})
		}
	}
	add(aws.ToString(who.Account), cfg, regions)
	for _, a := range f.roles {
		rc := cfg.Copy()
		rc.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), a.roleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "rotaudit-fleet"
		}))
		rs := a.regions
		if len(rs) == 0 {
			rs = regions
		}
		add(a.account, rc, rs)
	}
	f.opts.NamePrefixes = f.prefixes
	f.opts.Log = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if f.stateTable != "" {
		sc := cfg.Copy()
		sc.Region = regions[0]
		f.opts.State, f.opts.StateTable = dynamodb.NewFromConfig(sc), f.stateTable
	}
	report, err := fleet.Collect(ctx, targets, f.opts)
	if err != nil {
		return &exitStatus{2, err}
	}
	if err := writeReport(f, report, stdout); err != nil {
		return &exitStatus{2, err}
	}
	switch {
	case report.Incomplete():
		return &exitStatus{2, errors.New("fleet: the report is incomplete: an account, a region or the state table could not be read (see the ERROR lines)")}
	case report.NeedsPerson():
		return fmt.Errorf("fleet: %d secret(s) need a person", report.Counts()[fleet.Fail]+len(report.Logins.Unattributed))
	}
	return nil
}

// writeReport renders the report in the asked format to --out or stdout.
func writeReport(f fleetFlags, r *fleet.Report, stdout io.Writer) error {
	w := stdout
	var file *os.File
	if f.out != "" {
		var err error
		if file, err = os.Create(f.out); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		w = file
	}
	var err error
	switch f.format {
	case "json":
		err = fleet.WriteJSON(w, r)
	case "html":
		err = fleet.WriteHTML(w, r)
	default:
		err = fleet.WriteText(w, r)
	}
	if file != nil {
		if cerr := file.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("--out: %w", cerr)
		}
	}
	return err
}
