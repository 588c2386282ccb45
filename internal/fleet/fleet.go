// Package fleet reports on every secret rotaudit manages, across databases, accounts and
// regions, in one table: whether rotation is on, when it last succeeded, when it is next
// due, and what needs a person (rotation off, overdue, a rotation left half-way with a stale
// AWSPENDING, a failure the auditor reported, a previous user of an alternating pair still
// logging in long after the rotation that retired it).
//
// It reads with Describe/List calls only. A secret's value is read only when asked
// (Options.ReadValues), to show its database and user, through dbsecret's parser, and its
// password is dropped at once: it never reaches a Row, a log or the output. The auditor's
// state table, when given, adds what only the audit knows (RA-06's open failures, DB-06's
// previous users and the last logins).
//
// The package knows nothing of the CLI or of how clients are built: `rotaudit fleet`
// (cmd/rotaudit) builds one Target per account and region and renders the Report as text,
// JSON or an HTML page with a rotation calendar.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/rotaudit/rotaudit/internal/audit"
	"github.com/rotaudit/rotaudit/internal/audit/state"
	"github.com/rotaudit/rotaudit/internal/dbsecret"
)

// SecretsAPI is the part of the Secrets Manager client the report uses. GetSecretValue is
// called only with Options.ReadValues.
type SecretsAPI interface {
	ListSecrets(ctx context.Context, in *secretsmanager.ListSecretsInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error)
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	ListSecretVersionIds(ctx context.Context, in *secretsmanager.ListSecretVersionIdsInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretVersionIdsOutput, error)
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Target is one account and region to list, with a client signed for it.
type Target struct {
	// Account is the account id (or a label when it is not known).
	Account string
	// Region is the client's region.
	Region string
	// SM is a Secrets Manager client for Account in Region.
	SM SecretsAPI
}

// Tags a managed secret may carry to say what the report cannot see without reading its
// value. Every one is optional.
const (
	// TagDatabase holds "host:port/dbname".
	TagDatabase = "rotaudit:database"
	// TagUsername holds the login role of the secret (the first user of an alternating pair).
	TagUsername = "rotaudit:username"
	// TagStrategy holds single-user or alternating-users.
	TagStrategy = "rotaudit:strategy"
)

// DefaultNamePrefix is the prefix of every secret the project's Terraform makes
// (modules/rotaudit: rotaudit/<environment>/app and /admin) and the local stack's.
const DefaultNamePrefix = "rotaudit/"

// Defaults of Options.
const (
	DefaultStalePending = time.Hour
	DefaultGrace        = 24 * time.Hour
	DefaultConcurrency  = 8
)

// Options tune what the report reads and how it judges.
type Options struct {
	// Now is the time the report judges against (time.Now when zero).
	Now time.Time
	// NamePrefixes select the managed secrets by name (default DefaultNamePrefix).
	NamePrefixes []string
	// StalePending is how old an AWSPENDING version on a version that is not AWSCURRENT may
	// be before its rotation counts as failed (default DefaultStalePending).
	StalePending time.Duration
	// Grace is how long after its due date a rotation may still be missing before it is
	// overdue: Secrets Manager rotates within the schedule's window (default DefaultGrace).
	Grace time.Duration
	// StaleAfter is how long after a rotation the previous user of a pair may still log in
	// (default audit.DefaultStaleAfter, the auditor's db_logins.stale_after).
	StaleAfter time.Duration
	// ReadValues reads each secret's AWSCURRENT value to show its database and user
	// (GetSecretValue: the audit sees the read, and the secrets' policy may deny it).
	ReadValues bool
	// State is the auditor's state table, read when StateTable is not empty.
	State state.ScanAPI
	// StateTable names the auditor's state table ("": the audit's view is left out).
	StateTable string
	// Concurrency is how many secrets are described at once per target (default
	// DefaultConcurrency).
	Concurrency int
	// Log receives progress at debug level and skipped items at warn (slog.Default when nil).
	Log *slog.Logger
}

func (o *Options) defaults() {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	o.Now = o.Now.UTC()
	if len(o.NamePrefixes) == 0 {
		o.NamePrefixes = []string{DefaultNamePrefix}
	}
	if o.StalePending <= 0 {
		o.StalePending = DefaultStalePending
	}
	if o.Grace <= 0 {
		o.Grace = DefaultGrace
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = audit.DefaultStaleAfter
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
}

// Report is the whole fleet at one time.
type Report struct {
	// GeneratedAt is the time the report judged against.
	GeneratedAt time.Time `json:"generated_at"`
	// Targets are the accounts and regions listed, each with its error if it failed.
	Targets []TargetResult `json:"targets"`
	// Secrets are the managed secrets, sorted by account, region and name.
	Secrets []Row `json:"secrets"`
	// Logins says where the login facts come from and what could not be tied to a secret.
	Logins LoginView `json:"logins"`
}

// TargetResult is how listing one target went.
type TargetResult struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Secrets int    `json:"secrets"`
	Error   string `json:"error,omitempty"`
}

// LoginView is what the report knows of the database logins.
type LoginView struct {
	// Source names the state table read, or says that none was given.
	Source string `json:"source"`
	// Read reports whether the state table was read.
	Read bool `json:"read"`
	// Error is why the state table could not be read.
	Error string `json:"error,omitempty"`
	// Unattributed are previous users still logging in whose pair no listed secret names
	// (the secrets' users are unknown without TagUsername or ReadValues).
	Unattributed []StaleUser `json:"unattributed,omitempty"`
}

// StaleUser is the previous user of an alternating pair still logging in after StaleAfter.
type StaleUser struct {
	Pair      [2]string `json:"pair"`
	User      string    `json:"user"`
	Rotated   time.Time `json:"rotated"`
	LastLogin time.Time `json:"last_login"`
}

func (s StaleUser) String() string {
	return fmt.Sprintf("previous user %s still logs in %s after the rotation of %s (last login %s): a client never refreshed its secret, and the next rotation will lock it out",
		s.User, s.LastLogin.Sub(s.Rotated).Round(time.Minute), s.Rotated.Format(time.RFC3339), s.LastLogin.Format(time.RFC3339))
}

// NeedsPerson reports whether anything in the report needs a person: a secret that failed
// its checks, or a previous user still logging in that no secret took.
func (r *Report) NeedsPerson() bool {
	return len(r.Logins.Unattributed) > 0 || slices.ContainsFunc(r.Secrets, func(s Row) bool { return s.Status == Fail })
}

// Incomplete reports whether a target or the state table could not be read: the report
// may then miss secrets.
func (r *Report) Incomplete() bool {
	return r.Logins.Error != "" || slices.ContainsFunc(r.Targets, func(t TargetResult) bool { return t.Error != "" })
}

// Counts returns how many secrets have each status.
func (r *Report) Counts() map[Status]int {
	c := map[Status]int{}
	for _, s := range r.Secrets {
		c[s.Status]++
	}
	return c
}

// ErrNoTargets is returned by Collect when it is given nothing to list.
var ErrNoTargets = errors.New("fleet: no account or region to list")

// Collect lists the managed secrets of every target and judges each. A target that fails
// is reported in Report.Targets and the others go on; so does a state table that cannot be
// read (Report.Logins.Error).
func Collect(ctx context.Context, targets []Target, o Options) (*Report, error) {
	if len(targets) == 0 {
		return nil, ErrNoTargets
	}
	o.defaults()
	r := &Report{GeneratedAt: o.Now}
	for _, t := range targets {
		rows, err := collectTarget(ctx, t, o)
		tr := TargetResult{Account: t.Account, Region: t.Region, Secrets: len(rows)}
		if err != nil {
			tr.Error = err.Error()
			o.Log.Warn("fleet: target failed", "account", t.Account, "region", t.Region, "err", err)
		}
		r.Targets = append(r.Targets, tr)
		r.Secrets = append(r.Secrets, rows...)
	}
	sort.Slice(r.Secrets, func(i, j int) bool {
		a, b := r.Secrets[i], r.Secrets[j]
		if a.Account != b.Account {
			return a.Account < b.Account
		}
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		return a.Name < b.Name
	})
	r.Logins = LoginView{Source: "not given: pass the auditor's state table (--state-table) to see rotation failures the audit reported and previous users still logging in"}
	if o.StateTable != "" {
		r.Logins.Source = "state table " + o.StateTable
		v, err := readAuditState(ctx, o)
		if err != nil {
			r.Logins.Error = err.Error()
		} else {
			r.Logins.Read = true
			r.Logins.Unattributed = v.apply(r.Secrets, o)
		}
	}
	return r, nil
}

// collectTarget lists one target's managed secrets and judges them.
func collectTarget(ctx context.Context, t Target, o Options) ([]Row, error) {
	names, err := listManaged(ctx, t.SM, o.NamePrefixes)
	if err != nil {
		return nil, err
	}
	rows := make([]Row, len(names))
	errs := make([]error, len(names))
	sem := make(chan struct{}, o.Concurrency)
	var wg sync.WaitGroup
	for i, arn := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			rows[i], errs[i] = describe(ctx, t, arn, o)
		}()
	}
	wg.Wait()
	out := rows[:0]
	for i, r := range rows {
		var nf *smtypes.ResourceNotFoundException
		switch {
		case errors.As(errs[i], &nf):
			// Deleted between the listing and the description: not a fleet member any more.
			o.Log.Warn("fleet: secret gone", "secret_arn", names[i])
			errs[i] = nil
		case errs[i] == nil:
			out = append(out, r)
		}
	}
	return out, errors.Join(errs...)
}

// listManaged returns the ARNs of the secrets whose name begins with one of prefixes. The
// service's name filter is a hint (it matches words, case-insensitively); the prefix is
// checked here exactly.
func listManaged(ctx context.Context, sm SecretsAPI, prefixes []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, p := range prefixes {
		in := &secretsmanager.ListSecretsInput{
			Filters:    []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{p}}},
			MaxResults: aws.Int32(100),
		}
		for {
			page, err := sm.ListSecrets(ctx, in)
			if err != nil {
				return nil, fmt.Errorf("list secrets (name prefix %q): %w", p, err)
			}
			for _, s := range page.SecretList {
				arn := aws.ToString(s.ARN)
				if strings.HasPrefix(aws.ToString(s.Name), p) && !seen[arn] {
					seen[arn] = true
					out = append(out, arn)
				}
			}
			if aws.ToString(page.NextToken) == "" {
				break
			}
			in.NextToken = page.NextToken
		}
	}
	return out, nil
}

// describe reads one secret's settings (and, with ReadValues, its database and user) and
// judges it.
func describe(ctx context.Context, t Target, arn string, o Options) (Row, error) {
	d, err := t.SM.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)})
	if err != nil {
		return Row{}, fmt.Errorf("describe %s: %w", arn, err)
	}
	row := Judge(ctx, t.SM, d, o)
	row.Account, row.Region = t.Account, t.Region
	if o.ReadValues {
		readValue(ctx, t.SM, arn, &row)
	}
	return row, nil
}

// VersionsAPI is the call Judge makes beyond the description it is given.
type VersionsAPI interface {
	ListSecretVersionIds(ctx context.Context, in *secretsmanager.ListSecretVersionIdsInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretVersionIdsOutput, error)
}

// Judge judges one described secret as the report does (rotation off, overdue, a stale
// AWSPENDING need a person; never rotated and a rotation in progress are warnings), for
// `rotaudit fleet` and `rotaudit check` alike. It lists the versions, for their ages, when
// the description shows AWSPENDING on a version that is not AWSCURRENT, or shows no stages.
// The row's Account and Region are left for the caller.
func Judge(ctx context.Context, api VersionsAPI, d *secretsmanager.DescribeSecretOutput, o Options) Row {
	o.defaults()
	f := facts{describe: d}
	if len(d.VersionIdsToStages) == 0 || hasPendingApart(d.VersionIdsToStages) {
		v, err := api.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: d.ARN})
		if err != nil {
			f.versionsErr = err
		} else {
			f.versions = v.Versions
		}
	}
	row := newRow(d)
	assess(&row, f, o)
	return row
}

// readValue fills the row's database and user from the secret's AWSCURRENT value. The
// password is parsed by dbsecret, whose Secret never prints it, and goes no further than
// this function; a value that cannot be read or parsed is a note, not a failure.
func readValue(ctx context.Context, sm SecretsAPI, arn string, row *Row) {
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn), VersionStage: aws.String("AWSCURRENT")})
	if err != nil {
		row.Notes = append(row.Notes, "value not read: "+errorCode(err))
		return
	}
	s, err := dbsecret.ParseUnbootstrapped([]byte(aws.ToString(out.SecretString)))
	if err != nil {
		row.Notes = append(row.Notes, "value not a database secret: "+err.Error())
		return
	}
	if row.Database == "" {
		row.Database = fmt.Sprintf("%s:%d/%s", s.Host, s.Port, s.DBName)
	}
	if row.Username == "" {
		row.Username = s.Username
	}
}

// errorCode shortens an AWS error to its code and message, leaving out the request details.
func errorCode(err error) string {
	var ae interface {
		ErrorCode() string
		ErrorMessage() string
	}
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	return err.Error()
}
