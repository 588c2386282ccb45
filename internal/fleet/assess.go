package fleet

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/rotaudit/rotaudit/internal/rotation"
)

// Status is a secret's verdict.
type Status string

// Statuses, in the words `rotaudit check` and `doctor` use.
const (
	// OK: rotation on, on schedule, nothing pending.
	OK Status = "ok"
	// Warn: worth knowing, nothing to do yet (never rotated, a rotation in progress).
	Warn Status = "warn"
	// Fail: needs a person.
	Fail Status = "FAIL"
)

// Row is one managed secret. It holds no secret value.
type Row struct {
	Account string `json:"account"`
	Region  string `json:"region"`
	Name    string `json:"name"`
	ARN     string `json:"arn"`
	// Database is "host:port/dbname" from TagDatabase or the value; "" when unknown.
	Database string `json:"database,omitempty"`
	// Username is the secret's login role from TagUsername or the value; "" when unknown.
	Username string `json:"username,omitempty"`
	// Strategy is single-user or alternating-users, from TagStrategy or the rotation
	// function's name; "" when unknown.
	Strategy        string `json:"strategy,omitempty"`
	RotationEnabled bool   `json:"rotation_enabled"`
	// RotationFunction is the ARN of the function that rotates the secret.
	RotationFunction string `json:"rotation_function,omitempty"`
	// Schedule is the rotation rule as configured ("30 days", "rate(7 days)", a cron).
	Schedule string `json:"schedule,omitempty"`
	// IntervalDays is the schedule's period in days when it has one (0 for a cron).
	IntervalDays int `json:"interval_days,omitempty"`
	// LastRotated is the last successful rotation; nil when it never rotated.
	LastRotated *time.Time `json:"last_rotated,omitempty"`
	// NextDue is when the next rotation is due; nil when unknown.
	NextDue *time.Time `json:"next_due,omitempty"`
	// Overdue: NextDue plus the grace has passed.
	Overdue bool `json:"overdue"`
	// StalePending: a version other than AWSCURRENT has held AWSPENDING longer than allowed.
	StalePending bool `json:"stale_pending"`
	// PreviousUserLoggingIn: the auditor saw the previous user of the pair log in after
	// StaleAfter (only with the state table).
	PreviousUserLoggingIn bool   `json:"previous_user_logging_in"`
	Status                Status `json:"status"`
	// Reasons say why the status is not ok, each with what to do.
	Reasons []string `json:"reasons,omitempty"`
	// Notes are facts that change no status (what could not be read).
	Notes []string `json:"notes,omitempty"`
}

// fail and warn add a reason and raise the status.
func (r *Row) fail(format string, a ...any) {
	r.Status = Fail
	r.Reasons = append(r.Reasons, fmt.Sprintf(format, a...))
}

func (r *Row) warn(format string, a ...any) {
	if r.Status != Fail {
		r.Status = Warn
	}
	r.Reasons = append(r.Reasons, fmt.Sprintf(format, a...))
}

// facts are the calls' answers about one secret.
type facts struct {
	describe    *secretsmanager.DescribeSecretOutput
	versions    []smtypes.SecretVersionsListEntry
	versionsErr error
}

// newRow takes from DescribeSecret what needs no judgement.
func newRow(d *secretsmanager.DescribeSecretOutput) Row {
	r := Row{
		Name: aws.ToString(d.Name), ARN: aws.ToString(d.ARN),
		RotationEnabled: aws.ToBool(d.RotationEnabled), RotationFunction: aws.ToString(d.RotationLambdaARN),
		Status: OK,
	}
	for _, tag := range d.Tags {
		switch v := strings.TrimSpace(aws.ToString(tag.Value)); aws.ToString(tag.Key) {
		case TagDatabase:
			r.Database = v
		case TagUsername:
			r.Username = v
		case TagStrategy:
			r.Strategy = v
		}
	}
	if r.Strategy == "" {
		r.Strategy = strategyOfFunction(r.RotationFunction)
	}
	if t := aws.ToTime(d.LastRotatedDate); !t.IsZero() {
		t = t.UTC()
		r.LastRotated = &t
	}
	r.Schedule, r.IntervalDays = schedule(d.RotationRules)
	return r
}

// strategyOfFunction reads the strategy from the name modules/secret-rotation gives its
// rotators ("<name>-rotator-<strategy>"); "" for a function named otherwise.
func strategyOfFunction(arn string) string {
	name := arn[strings.LastIndexByte(arn, ':')+1:]
	for _, s := range []rotation.Strategy{rotation.AlternatingUsers, rotation.SingleUser} {
		if strings.HasSuffix(name, "-rotator-"+string(s)) {
			return string(s)
		}
	}
	return ""
}

// schedule describes the rotation rule and its period in days (0 when it has none: a
// cron expression, or no rule).
func schedule(rules *smtypes.RotationRulesType) (string, int) {
	if rules == nil {
		return "", 0
	}
	if expr := aws.ToString(rules.ScheduleExpression); expr != "" {
		return expr, rateDays(expr)
	}
	if n := aws.ToInt64(rules.AutomaticallyAfterDays); n > 0 {
		return fmt.Sprintf("%d days", n), int(n)
	}
	return "", 0
}

// rateDays reads "rate(N days)" or "rate(1 day)"; 0 for anything else (Secrets Manager
// accepts rates in hours too, which the calendar does not place).
func rateDays(expr string) int {
	inner, ok := strings.CutPrefix(strings.TrimSpace(expr), "rate(")
	if inner, ok = strings.CutSuffix(inner, ")"); !ok {
		return 0
	}
	num, unit, _ := strings.Cut(strings.TrimSpace(inner), " ")
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 || (unit != "days" && unit != "day") {
		return 0
	}
	return n
}

// hasPendingApart reports whether a version holds AWSPENDING without AWSCURRENT: a
// rotation in progress, or one left half-way.
func hasPendingApart(stages map[string][]string) bool {
	for _, s := range stages {
		if slices.Contains(s, "AWSPENDING") && !slices.Contains(s, "AWSCURRENT") {
			return true
		}
	}
	return false
}

// assess judges a row from its facts: rotation off, overdue and a stale pending version
// need a person; never rotated and a rotation in progress are warnings.
func assess(r *Row, f facts, o Options) {
	d := f.describe
	if !r.RotationEnabled {
		r.fail("rotation is off: turn it on (aws secretsmanager rotate-secret --secret-id %s --rotation-lambda-arn ... --rotation-rules ...) or stop managing this secret", r.Name)
	}
	next := aws.ToTime(d.NextRotationDate)
	if next.IsZero() && r.LastRotated != nil && r.IntervalDays > 0 {
		next = r.LastRotated.AddDate(0, 0, r.IntervalDays)
	}
	if !next.IsZero() && r.RotationEnabled {
		next = next.UTC()
		r.NextDue = &next
		if o.Now.Sub(next) > o.Grace {
			r.Overdue = true
			r.fail("rotation overdue since %s: see the rotator's log, then `rotaudit doctor --secret-id %s`", next.Format(time.RFC3339), r.Name)
		}
	}
	switch {
	case f.versionsErr != nil:
		r.warn("versions not listed (%s): a stale AWSPENDING would go unseen", errorCode(f.versionsErr))
	default:
		for _, v := range f.versions {
			if !slices.Contains(v.VersionStages, "AWSPENDING") || slices.Contains(v.VersionStages, "AWSCURRENT") {
				continue
			}
			if age := o.Now.Sub(aws.ToTime(v.CreatedDate)); age > o.StalePending {
				r.StalePending = true
				r.fail("version %s has held AWSPENDING for %s: its rotation failed (see the rotator's log); retry it with `rotaudit rotate --secret-id %s` or clear the label", aws.ToString(v.VersionId), age.Round(time.Minute), r.Name)
			} else {
				r.warn("a rotation is in progress (version %s)", aws.ToString(v.VersionId))
			}
		}
	}
	if r.LastRotated == nil && r.RotationEnabled {
		r.warn("never rotated")
	}
}
