package rotation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/pgrole"
)

// Staging labels of the rotation contract.
const (
	StageCurrent  = "AWSCURRENT"
	StagePending  = "AWSPENDING"
	StagePrevious = "AWSPREVIOUS"
)

// ConnectTimeout bounds each database login.
const ConnectTimeout = 5 * time.Second

// deadlineMargin is kept back from the Lambda deadline so a step returns its own error
// instead of being killed mid-sentence.
const deadlineMargin = 300 * time.Millisecond

// SecretsManager is exactly the set of Secrets Manager calls the rotator makes.
type SecretsManager interface {
	DescribeSecret(ctx context.Context, in *sm.DescribeSecretInput, opts ...func(*sm.Options)) (*sm.DescribeSecretOutput, error)
	GetSecretValue(ctx context.Context, in *sm.GetSecretValueInput, opts ...func(*sm.Options)) (*sm.GetSecretValueOutput, error)
	PutSecretValue(ctx context.Context, in *sm.PutSecretValueInput, opts ...func(*sm.Options)) (*sm.PutSecretValueOutput, error)
	UpdateSecretVersionStage(ctx context.Context, in *sm.UpdateSecretVersionStageInput, opts ...func(*sm.Options)) (*sm.UpdateSecretVersionStageOutput, error)
	GetRandomPassword(ctx context.Context, in *sm.GetRandomPasswordInput, opts ...func(*sm.Options)) (*sm.GetRandomPasswordOutput, error)
}

// DB is the part of a database session the rotator uses.
type DB interface {
	pgrole.Querier
	Close(ctx context.Context) error
}

// Dialer opens a database session.
type Dialer func(ctx context.Context, cfg *pgx.ConnConfig) (DB, error)

// PgxDialer opens a real pgx connection.
func PgxDialer(ctx context.Context, cfg *pgx.ConnConfig) (DB, error) {
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Meter records one step: its name ("invalid" for an event that did not parse), how long
// it took and whether it failed. The Lambda writes CloudWatch embedded metrics
// (functions/rotator).
type Meter interface {
	Step(ctx context.Context, step string, d time.Duration, failed bool)
}

// Rotator runs the four rotation steps. It holds only its dependencies and
// configuration, never state of a rotation: every step reads what it needs from Secrets
// Manager, so any step can run again, or after a crash, on any instance.
type Rotator struct {
	SM SecretsManager
	// RDS finds an RDS-managed master's endpoint and recognises replicas; nil when the
	// secrets name their hosts and user and master share one.
	RDS    RDS
	Dial   Dialer
	Config Config
	// Log receives one JSON record per step; nil discards.
	Log *slog.Logger
	// Metrics records every step's duration and outcome; nil records nothing.
	Metrics Meter
	// AllowDisabled lets an operator rotate a secret whose automatic rotation is off.
	// The Lambda never sets it.
	AllowDisabled bool
}

// HandleRaw decodes a Lambda payload and runs the step: the Lambda handler.
func (r *Rotator) HandleRaw(ctx context.Context, payload json.RawMessage) error {
	ev, err := ParseEvent(payload)
	if err != nil {
		r.logger().ErrorContext(ctx, "rejected event", "outcome", "error", "error", err.Error())
		r.meter(ctx, "invalid", 0, true)
		return err
	}
	return r.Handle(ctx, ev)
}

// Handle runs one step, bounded by ctx's deadline (less a margin), and logs and meters it.
func (r *Rotator) Handle(ctx context.Context, ev Event) error {
	if err := ev.Validate(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-deadlineMargin))
		defer cancel()
	}
	start := time.Now()
	arn, outcome, err := r.step(ctx, ev)
	d := time.Since(start)
	if arn == "" {
		arn = ev.SecretID
	}
	attrs := []any{
		"secret_arn", arn, "step", ev.Step, "token", ev.ClientRequestToken,
		"duration_ms", float64(d.Microseconds()) / 1000, "outcome", outcome,
	}
	if err != nil {
		r.logger().ErrorContext(ctx, "rotation step failed", append(attrs, "error", err.Error())...)
	} else {
		r.logger().InfoContext(ctx, "rotation step", attrs...)
	}
	r.meter(ctx, ev.Step, d, err != nil)
	return err
}

// step returns the secret's ARN once known and the outcome: "done", "skipped" (the token
// is already AWSCURRENT), or "error".
func (r *Rotator) step(ctx context.Context, ev Event) (string, string, error) {
	d, err := r.SM.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(ev.SecretID)})
	if err != nil {
		return "", "error", fmt.Errorf("%s: %w", ev.Step, smError("describe secret", err))
	}
	arn := aws.ToString(d.ARN)
	if !aws.ToBool(d.RotationEnabled) && !r.AllowDisabled {
		return arn, "error", fmt.Errorf("%s: %w: %s: enable rotation on the secret (rotate-secret with a rotation Lambda and schedule)", ev.Step, ErrRotationDisabled, arn)
	}
	stages, ok := d.VersionIdsToStages[ev.ClientRequestToken]
	if !ok {
		return arn, "error", fmt.Errorf("%s: %w: version %s is not a version of %s", ev.Step, ErrNotPending, ev.ClientRequestToken, arn)
	}
	if slices.Contains(stages, StageCurrent) {
		if ev.Step == StepFinish && slices.Contains(stages, StagePending) {
			if err := r.clearPending(ctx, arn, ev.ClientRequestToken); err != nil {
				return arn, "error", fmt.Errorf("%s: %w", ev.Step, err)
			}
			return arn, "done", nil
		}
		return arn, "skipped", nil
	}
	if !slices.Contains(stages, StagePending) {
		return arn, "error", fmt.Errorf("%s: %w: version %s of %s is not AWSPENDING%s", ev.Step, ErrNotPending, ev.ClientRequestToken, arn, pendingElsewhere(d, arn))
	}
	switch ev.Step {
	case StepCreate:
		err = r.createSecret(ctx, arn, ev)
	case StepSet:
		err = r.setSecret(ctx, arn, ev)
	case StepTest:
		err = r.testSecret(ctx, arn, ev)
	case StepFinish:
		err = r.finishSecret(ctx, arn, ev, d)
	}
	if err != nil {
		return arn, "error", fmt.Errorf("%s: %w", ev.Step, err)
	}
	return arn, "done", nil
}

// pendingElsewhere names the version holding AWSPENDING, if any, and how to clear it.
func pendingElsewhere(d *sm.DescribeSecretOutput, arn string) string {
	if v := pendingVersion(d); v != "" {
		return fmt.Sprintf("; version %s holds AWSPENDING: finish or retry that rotation, or clear it with "+
			"`aws secretsmanager update-secret-version-stage --secret-id %s --version-stage AWSPENDING --remove-from-version-id %s`", v, arn, v)
	}
	return ""
}

// pendingVersion returns the version of a rotation in progress: the one labelled
// AWSPENDING and not AWSCURRENT, or "".
func pendingVersion(d *sm.DescribeSecretOutput) string {
	for v, st := range d.VersionIdsToStages {
		if slices.Contains(st, StagePending) && !slices.Contains(st, StageCurrent) {
			return v
		}
	}
	return ""
}

// PendingVersion returns the secret's ARN and the version of its rotation in progress
// ("" when none is): what a caller that starts rotations itself (package driver) resumes.
func (r *Rotator) PendingVersion(ctx context.Context, secretID string) (arn, version string, err error) {
	d, err := r.SM.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(secretID)})
	if err != nil {
		return "", "", smError("describe secret", err)
	}
	return aws.ToString(d.ARN), pendingVersion(d), nil
}

// SeedPending stores under token, with AWSPENDING, the value createSecret would make from
// AWSCURRENT (NewPending), without createSecret's checks, which run when it is called.
// Secrets Manager's API makes an empty pending version only through RotateSecret, which
// also invokes the configured function: a caller that drives the steps itself (package
// driver) seeds the version instead, and createSecret finds and keeps it.
func (r *Rotator) SeedPending(ctx context.Context, arn, token string) error {
	current, err := r.getSecret(ctx, arn, "", StageCurrent)
	if err != nil {
		return err
	}
	next, err := r.NewPending(ctx, current)
	if err != nil {
		return err
	}
	return r.putPending(ctx, arn, token, "", next)
}

// createSecret makes the pending version.
//
// Cases it handles:
//   - first call: the token's version has no value: generate a password, put the value.
//   - retry after a put that succeeded (the function died, or its answer was lost): the
//     value is there: validate it and keep it; never generate a second password.
//   - a twin invocation racing this one: AWS refuses the second put of a different value
//     for one token (ResourceExistsException); re-read and keep the stored value. (An
//     emulator that accepts the second put leaves the last value, which later steps read.)
//   - AWSCURRENT malformed, or the stored pending value malformed or inconsistent with
//     AWSCURRENT: fail, changing nothing.
//   - AWSCURRENT (or AWSPREVIOUS for the same user) does not log in, the test query fails
//     with it, or, for alternating users, the user is one the master must not act for
//     (guard.go): fail before anything is stored.
func (r *Rotator) createSecret(ctx context.Context, arn string, ev Event) error {
	current, err := r.getSecret(ctx, arn, "", StageCurrent)
	if err != nil {
		return err
	}
	pending, found, err := r.getPending(ctx, arn, ev.ClientRequestToken)
	if err != nil {
		return err
	}
	if found {
		return r.checkPending(current, pending)
	}
	// The new password depends on nothing the checks find: it is asked for while they log
	// in, which takes one Secrets Manager round trip off the step.
	type made struct {
		s   dbsecret.Secret
		err error
	}
	asked := make(chan made, 1)
	go func() {
		s, err := r.NewPending(ctx, current)
		asked <- made{s, err}
	}()
	err = r.preflight(ctx, arn, current)
	next := <-asked
	if err != nil {
		return err
	}
	if next.err != nil {
		return next.err
	}
	return r.putPending(ctx, arn, ev.ClientRequestToken, ev.RotationToken, next.s)
}

// preflight checks, before a rotation stores anything, that it can end well: the secret's
// own credentials log in (the confused-deputy guard), the test query passes with them (so
// a bad TEST_QUERY fails here, not after the password changed), and for alternating users
// the user is safe to clone.
func (r *Rotator) preflight(ctx context.Context, arn string, current dbsecret.Secret) error {
	if r.Config.Strategy == AlternatingUsers {
		if _, err := Partner(current.Username); err != nil {
			return err
		}
	}
	db, err := r.proveCurrent(ctx, arn, current)
	if err != nil {
		return fmt.Errorf("log in with AWSCURRENT: %w", err)
	}
	defer db.Close(context.WithoutCancel(ctx))
	if r.Config.Strategy == AlternatingUsers {
		if err := r.checkUser(ctx, db, current.Username, ""); err != nil {
			return err
		}
	}
	if err := r.probe(ctx, db, current.Username); err != nil {
		return fmt.Errorf("%w: %s with the current credentials, before any change: %w", ErrProbe, EnvTestQuery, err)
	}
	return nil
}

// putPending stores the pending value under token with AWSPENDING.
func (r *Rotator) putPending(ctx context.Context, arn, token, rotationToken string, s dbsecret.Secret) error {
	body, err := s.Marshal()
	if err != nil {
		return fmt.Errorf("encode pending secret: %w", err)
	}
	in := &sm.PutSecretValueInput{
		SecretId:           aws.String(arn),
		ClientRequestToken: aws.String(token),
		SecretString:       aws.String(string(body)),
		VersionStages:      []string{StagePending},
	}
	if rotationToken != "" {
		in.RotationToken = aws.String(rotationToken)
	}
	if _, err := r.SM.PutSecretValue(ctx, in); err != nil {
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == "ResourceExistsException" {
			if _, found, gerr := r.getPending(ctx, arn, token); gerr == nil && found {
				return nil
			}
		}
		return smError("put pending secret", err)
	}
	return nil
}

// NewPending returns the next version of current: a fresh password from
// GetRandomPassword and, for alternating users, the other user of the pair.
func (r *Rotator) NewPending(ctx context.Context, current dbsecret.Secret) (dbsecret.Secret, error) {
	next := current
	if r.Config.Strategy == AlternatingUsers {
		if current.MasterARN == "" {
			return dbsecret.Secret{}, fmt.Errorf("%w: key \"masterarn\" is missing: alternating users needs the master user's secret ARN", ErrInvalidSecret)
		}
		u, err := Partner(current.Username)
		if err != nil {
			return dbsecret.Secret{}, err
		}
		next.Username = u
	}
	p := r.Config.Password
	out, err := r.SM.GetRandomPassword(ctx, &sm.GetRandomPasswordInput{
		PasswordLength:          aws.Int64(p.Length),
		ExcludeCharacters:       aws.String(p.ExcludeCharacters),
		ExcludeNumbers:          aws.Bool(p.ExcludeNumbers),
		ExcludePunctuation:      aws.Bool(p.ExcludePunctuation),
		ExcludeUppercase:        aws.Bool(p.ExcludeUppercase),
		ExcludeLowercase:        aws.Bool(p.ExcludeLowercase),
		RequireEachIncludedType: aws.Bool(p.RequireEachIncludedType),
	})
	if err != nil {
		return dbsecret.Secret{}, smError("get random password", err)
	}
	next.Password = aws.ToString(out.RandomPassword)
	if next.Password == "" {
		return dbsecret.Secret{}, fmt.Errorf("get random password: %w: empty password returned", ErrSecretsManager)
	}
	return next, nil
}

// Partner returns the other user of an alternating pair: name <-> name_clone.
func Partner(user string) (string, error) {
	var p string
	if base, ok := cutSuffix(user, CloneSuffix); ok && base != "" {
		p = base
	} else {
		p = user + CloneSuffix
	}
	if len(p) > pgrole.MaxNameLen {
		return "", fmt.Errorf("%w: key \"username\": %q would need the partner user %q of %d bytes, over PostgreSQL's %d; shorten the username",
			ErrInvalidSecret, user, p, len(p), pgrole.MaxNameLen)
	}
	return p, nil
}

func cutSuffix(s, suffix string) (string, bool) {
	if len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix {
		return s[:len(s)-len(suffix)], true
	}
	return s, false
}

// checkPending refuses a pending version that does not belong with current.
func (r *Rotator) checkPending(current, pending dbsecret.Secret) error {
	if !current.SameServer(pending) {
		return fmt.Errorf("%w: AWSPENDING names %s:%d/%s, AWSCURRENT %s:%d/%s: a rotation never moves a secret to another server",
			ErrInvalidSecret, pending.Host, pending.Port, pending.DBName, current.Host, current.Port, current.DBName)
	}
	want := current.Username
	if r.Config.Strategy == AlternatingUsers {
		p, err := Partner(current.Username)
		if err != nil {
			return err
		}
		want = p
	}
	if pending.Username != want {
		return fmt.Errorf("%w: AWSPENDING has username %q, want %q for %s rotation of %q", ErrInvalidSecret, pending.Username, want, r.Config.Strategy, current.Username)
	}
	return nil
}

// setSecret makes the database accept the pending credentials.
//
// Cases it handles:
//   - the pending credentials already log in (an earlier attempt finished this step, or a
//     twin did): done, nothing changed.
//   - single user: AWSCURRENT logs in: change the password; AWSCURRENT no longer logs in
//     (an earlier attempt changed it and died): try AWSPREVIOUS; neither: fail and say so.
//   - alternating users: AWSCURRENT (or AWSPREVIOUS of the same user) must log in first,
//     and the user must be safe to clone (guard.go), checked again in the master's
//     transaction; then the master (secret at masterarn) creates or updates the other
//     user in that transaction, so a crash leaves either nothing or everything done.
//   - twin invocations: both change the password to the same value, or one creates the
//     clone and the other's transaction fails; then the pending login succeeds.
//   - database down: a clear error; nothing changed; AWSCURRENT still works.
//   - username, host or database differ between versions: refuse.
func (r *Rotator) setSecret(ctx context.Context, arn string, ev Event) error {
	current, err := r.getSecret(ctx, arn, "", StageCurrent)
	if err != nil {
		return err
	}
	pending, err := r.getSecret(ctx, arn, ev.ClientRequestToken, StagePending)
	if err != nil {
		return err
	}
	if err := r.checkPending(current, pending); err != nil {
		return err
	}
	ok, err := r.logsIn(ctx, pending)
	if err != nil || ok {
		return err
	}
	if r.Config.Strategy == AlternatingUsers {
		err = r.setAlternating(ctx, arn, current, pending)
	} else {
		err = r.setSingle(ctx, arn, current, pending)
	}
	if err != nil {
		// A twin may have done the work while this attempt failed.
		if ok, lerr := r.logsIn(ctx, pending); lerr == nil && ok {
			return nil
		}
		return err
	}
	return nil
}

func (r *Rotator) setSingle(ctx context.Context, arn string, current, pending dbsecret.Secret) error {
	db, err := r.connect(ctx, current)
	if errors.Is(err, ErrDBAuth) {
		prev, perr := r.getSecret(ctx, arn, "", StagePrevious)
		if perr != nil || prev.Username != pending.Username || !prev.SameServer(pending) {
			return fmt.Errorf("%w (AWSCURRENT) and no usable AWSPREVIOUS: set the user's password in the database to the AWSCURRENT value, then retry", err)
		}
		db, err = r.connect(ctx, prev)
		if err != nil {
			return fmt.Errorf("neither AWSCURRENT nor AWSPREVIOUS logs in: %w: set the user's password in the database to the AWSCURRENT value, then retry", err)
		}
	}
	if err != nil {
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))
	if err := pgrole.SetPassword(ctx, db, pending.Username, pending.Password); err != nil {
		return dbError("change password", pending.Username, err)
	}
	return nil
}

func (r *Rotator) setAlternating(ctx context.Context, arn string, current, pending dbsecret.Secret) error {
	// The confused-deputy guard: nothing is done with the master's authority for a user
	// whose own credentials the secret does not hold.
	own, err := r.proveCurrent(ctx, arn, current)
	if err != nil {
		return fmt.Errorf("log in with AWSCURRENT before using the master: %w", err)
	}
	own.Close(context.WithoutCancel(ctx))
	master, err := r.master(ctx, current)
	if err != nil {
		return err
	}
	db, err := r.connect(ctx, master)
	if err != nil {
		return fmt.Errorf("log in as master user %s: %w", master.Username, err)
	}
	defer db.Close(context.WithoutCancel(ctx))
	if _, err := db.Exec(ctx, "BEGIN"); err != nil {
		return dbError("begin", master.Username, err)
	}
	// Closing the session without COMMIT rolls back whatever was done.
	if err := r.checkUser(ctx, db, current.Username, master.Username); err != nil {
		return err
	}
	if err := r.mirror(ctx, db, current, pending); err != nil {
		return dbError("mirror "+current.Username+" to "+pending.Username, master.Username, err)
	}
	if err := pgrole.SetPassword(ctx, db, pending.Username, pending.Password); err != nil {
		return dbError("set password", master.Username, err)
	}
	if _, err := db.Exec(ctx, "COMMIT"); err != nil {
		return dbError("commit", master.Username, err)
	}
	return nil
}

// testSecret proves the pending credentials work.
//
// Cases it handles:
//   - any number of repeats: the probe changes nothing (it runs in a read-only
//     transaction that is rolled back); a probe that fails names the user and the error.
//   - the database unreachable, or a transient error: fail, change nothing; the retry
//     tests again.
//   - single user, the test query refused for a reason a retry will not change (syntax,
//     permission): the database holds the pending password while AWSCURRENT still has
//     the old one, so every new connection of the application would fail. Put the
//     AWSCURRENT password back (logged in as the user, with the pending password) and
//     fail: the application keeps working, and a retry of the rotation sets the pending
//     password again.
func (r *Rotator) testSecret(ctx context.Context, arn string, ev Event) error {
	pending, err := r.getSecret(ctx, arn, ev.ClientRequestToken, StagePending)
	if err != nil {
		return err
	}
	db, err := r.connect(ctx, pending)
	if err != nil {
		return fmt.Errorf("log in with AWSPENDING: %w", err)
	}
	defer db.Close(context.WithoutCancel(ctx))
	perr := r.probe(ctx, db, pending.Username)
	if perr == nil {
		return nil
	}
	perr = fmt.Errorf("%w: %s with the pending credentials: %w", ErrProbe, EnvTestQuery, perr)
	if r.Config.Strategy != SingleUser || transient(perr) {
		return perr
	}
	current, err := r.getSecret(ctx, arn, "", StageCurrent)
	if err != nil || current.Username != pending.Username {
		return fmt.Errorf("%w; could not put the AWSCURRENT password back (%v): the database holds AWSPENDING's password", perr, err)
	}
	if err := pgrole.SetPassword(ctx, db, current.Username, current.Password); err != nil {
		return fmt.Errorf("%w; putting the AWSCURRENT password back failed: %w: the database holds AWSPENDING's password", perr, dbError("restore password", current.Username, err))
	}
	r.logger().WarnContext(ctx, "test query failed: AWSCURRENT password put back", "secret_arn", arn, "username", current.Username)
	return fmt.Errorf("%w; the AWSCURRENT password was put back, so the application keeps working: fix %s and retry the rotation", perr, EnvTestQuery)
}

// probe runs the test query in a read-only transaction on db and reads all its rows.
func (r *Rotator) probe(ctx context.Context, db DB, user string) error {
	if _, err := db.Exec(ctx, "BEGIN READ ONLY"); err != nil {
		return dbError("begin", user, err)
	}
	// Query, unlike Exec without arguments, uses the extended protocol, which refuses
	// more than one statement: the probe cannot COMMIT its way out of READ ONLY.
	rows, err := db.Query(ctx, r.Config.TestQuery)
	if err == nil {
		for rows.Next() {
		}
		rows.Close()
		err = rows.Err()
	}
	if _, rerr := db.Exec(ctx, "ROLLBACK"); err == nil && rerr != nil {
		err = rerr
	}
	if err != nil {
		return dbError("probe", user, err)
	}
	return nil
}

// transient reports whether err may go away by itself: the database unreachable, TLS, a
// Secrets Manager failure, or a server error of the connection, resource or
// serialization classes.
func transient(err error) bool {
	if errors.Is(err, ErrDBPrivilege) || errors.Is(err, ErrDBInsecureAuth) {
		return false
	}
	if errors.Is(err, ErrDBUnreachable) || errors.Is(err, ErrDBTLS) || errors.Is(err, ErrSecretsManager) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) && len(pg.Code) == 5 {
		switch pg.Code[:2] {
		case "08", "40", "53", "55", "57", "58", "XX":
			return true
		}
		return false
	}
	// Not a server answer: the connection broke mid-query.
	return true
}

// finishSecret makes the pending version current.
//
// Cases it handles:
//   - normal: move AWSCURRENT from the current version to the token (Secrets Manager puts
//     AWSPREVIOUS on the old one), then remove AWSPENDING from the token.
//   - retry after the move succeeded: the token is already AWSCURRENT, so only AWSPENDING
//     is removed (see step).
//   - a twin that moved AWSCURRENT first: the move fails; re-read, and when the token is
//     now current just clear AWSPENDING.
func (r *Rotator) finishSecret(ctx context.Context, arn string, ev Event, d *sm.DescribeSecretOutput) error {
	var from string
	for v, st := range d.VersionIdsToStages {
		if slices.Contains(st, StageCurrent) {
			from = v
		}
	}
	_, err := r.SM.UpdateSecretVersionStage(ctx, &sm.UpdateSecretVersionStageInput{
		SecretId:            aws.String(arn),
		VersionStage:        aws.String(StageCurrent),
		MoveToVersionId:     aws.String(ev.ClientRequestToken),
		RemoveFromVersionId: aws.String(from),
	})
	if err != nil {
		d2, derr := r.SM.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(arn)})
		if derr != nil || !slices.Contains(d2.VersionIdsToStages[ev.ClientRequestToken], StageCurrent) {
			return smError("move AWSCURRENT", err)
		}
	}
	return r.clearPending(ctx, arn, ev.ClientRequestToken)
}

func (r *Rotator) clearPending(ctx context.Context, arn, token string) error {
	_, err := r.SM.UpdateSecretVersionStage(ctx, &sm.UpdateSecretVersionStageInput{
		SecretId:            aws.String(arn),
		VersionStage:        aws.String(StagePending),
		RemoveFromVersionId: aws.String(token),
	})
	if err != nil {
		// A twin may have removed it first; what matters is that it is gone.
		d, derr := r.SM.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(arn)})
		if derr == nil && !slices.Contains(d.VersionIdsToStages[token], StagePending) {
			return nil
		}
		return smError("remove AWSPENDING from the new current version", err)
	}
	return nil
}

// getSecretString reads one version (by id and/or stage).
func (r *Rotator) getSecretString(ctx context.Context, id, version, stage string) (string, error) {
	in := &sm.GetSecretValueInput{SecretId: aws.String(id), VersionStage: aws.String(stage)}
	if version != "" {
		in.VersionId = aws.String(version)
	}
	out, err := r.SM.GetSecretValue(ctx, in)
	if err != nil {
		return "", smError("get "+stage, err)
	}
	if out.SecretString == nil {
		return "", fmt.Errorf("%w: %s of %s has no SecretString (binary secrets are not database secrets)", ErrInvalidSecret, stage, id)
	}
	return *out.SecretString, nil
}

// getSecret reads one version (by id and/or stage) and parses it.
func (r *Rotator) getSecret(ctx context.Context, id, version, stage string) (dbsecret.Secret, error) {
	body, err := r.getSecretString(ctx, id, version, stage)
	if err != nil {
		return dbsecret.Secret{}, err
	}
	s, err := dbsecret.Parse([]byte(body))
	if err != nil {
		return dbsecret.Secret{}, fmt.Errorf("%w: %s of %s: %w", ErrInvalidSecret, stage, id, err)
	}
	return s, nil
}

// getPending reads the token's AWSPENDING value; found is false when it has none yet.
func (r *Rotator) getPending(ctx context.Context, arn, token string) (dbsecret.Secret, bool, error) {
	out, err := r.SM.GetSecretValue(ctx, &sm.GetSecretValueInput{
		SecretId: aws.String(arn), VersionId: aws.String(token), VersionStage: aws.String(StagePending),
	})
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "ResourceNotFoundException" {
		return dbsecret.Secret{}, false, nil
	}
	if err != nil {
		return dbsecret.Secret{}, false, smError("get AWSPENDING", err)
	}
	if out.SecretString == nil {
		return dbsecret.Secret{}, false, fmt.Errorf("%w: AWSPENDING of %s has no SecretString", ErrInvalidSecret, arn)
	}
	s, err := dbsecret.Parse([]byte(*out.SecretString))
	if err != nil {
		return dbsecret.Secret{}, false, fmt.Errorf("%w: AWSPENDING of %s: %w: remove the label from version %s and retry", ErrInvalidSecret, arn, err, token)
	}
	return s, true, nil
}

// TLS is the configuration's TLS policy: DB_CA_BUNDLE and DB_ALLOW_PLAINTEXT, and the
// password rule that travels with it, DB_ALLOW_INSECURE_PASSWORD_AUTH.
func (c Config) TLS() dbsecret.TLSPolicy {
	return dbsecret.TLSPolicy{CABundle: c.CABundle, AllowPlaintext: c.AllowPlaintext, AllowInsecurePasswordAuth: c.AllowInsecurePasswordAuth}
}

// ConnOptions returns how the first connection attempt for s is made: no TLS when the
// secret says "ssl": false, otherwise verify-full, against DB_CA_BUNDLE when set, else
// the embedded RDS authorities for an RDS or Aurora endpoint, else the system roots.
// PlaintextFallback says whether a refusal of TLS may then be retried without it.
func (c Config) ConnOptions(s dbsecret.Secret) dbsecret.ConnOptions {
	o := c.TLS().ConnOptions(s)
	o.ConnectTimeout, o.ApplicationName = ConnectTimeout, "rotaudit-rotator"
	return o
}

// PlaintextFallback reports whether a connection for s that the server refuses to run
// over TLS may be made without it: DB_ALLOW_PLAINTEXT=true and a secret whose "ssl" is
// not an explicit true or false (AWS's functions try TLS and fall back on any failure in
// that case; this falls back only when the server says it has no TLS, so a failed
// certificate check stays an error).
func (c Config) PlaintextFallback(s dbsecret.Secret) bool {
	return c.TLS().PlaintextFallback(s)
}

// connect logs in with s.
func (r *Rotator) connect(ctx context.Context, s dbsecret.Secret) (DB, error) {
	fallback := r.Config.PlaintextFallback(s)
	db, tls, err := dbsecret.Connect(ctx, r.Config.ConnOptions(s), fallback, func(ctx context.Context, o dbsecret.ConnOptions) (DB, error) {
		return r.dial(ctx, s, o)
	})
	if err != nil {
		return nil, dbError("log in", s.Username, err)
	}
	if !fallback {
		return db, nil
	}
	if tls {
		r.logger().InfoContext(ctx, "database connection", "host", s.Host, "username", s.Username, "tls", true, "sslmode", "verify-full")
	} else {
		r.logger().WarnContext(ctx, "database connection without TLS: the server refused TLS", "host", s.Host, "username", s.Username,
			"tls", false, "reason", EnvDBAllowPlaintext+"=true")
	}
	return db, nil
}

func (r *Rotator) dial(ctx context.Context, s dbsecret.Secret, o dbsecret.ConnOptions) (DB, error) {
	o.Log = r.logger()
	cfg, err := s.ConnConfig(o)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSecret, err)
	}
	dial := r.Dial
	if dial == nil {
		dial = PgxDialer
	}
	return dial(ctx, cfg)
}

// logsIn reports whether s's credentials are accepted. Only a refused login is false;
// an unreachable database is an error.
func (r *Rotator) logsIn(ctx context.Context, s dbsecret.Secret) (bool, error) {
	db, err := r.connect(ctx, s)
	if errors.Is(err, ErrDBAuth) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	db.Close(context.WithoutCancel(ctx))
	return true, nil
}

func (r *Rotator) meter(ctx context.Context, step string, d time.Duration, failed bool) {
	if r.Metrics != nil {
		r.Metrics.Step(ctx, step, d, failed)
	}
}

func (r *Rotator) logger() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}
