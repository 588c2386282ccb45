package rotation

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
	"github.com/rotaudit/rotaudit/internal/pgrole"
)

// Check statuses.
const (
	CheckOK   = "ok"
	CheckWarn = "warn"
	CheckFail = "FAIL"
)

// Check is one verdict of Doctor.
type Check struct {
	Name, Status, Detail string
}

// Doctor checks, without changing anything, that a rotation of secretID with this
// rotator's configuration would succeed: secret shape, rotation settings, TLS, the
// database reachable with the current credentials, the permission to change the
// password, and for alternating users the master secret, its privileges and the clone
// name. It stops at the first failure that makes later checks meaningless.
func (r *Rotator) Doctor(ctx context.Context, secretID string) []Check {
	var out []Check
	add := func(name, status, format string, a ...any) {
		out = append(out, Check{Name: name, Status: status, Detail: fmt.Sprintf(format, a...)})
	}
	d, err := r.SM.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(secretID)})
	if err != nil {
		add("secret", CheckFail, "%v", smError("describe secret", err))
		return out
	}
	arn := aws.ToString(d.ARN)
	add("secret", CheckOK, "%s", arn)
	switch {
	case aws.ToBool(d.RotationEnabled):
		add("rotation settings", CheckOK, "enabled, function %s", aws.ToString(d.RotationLambdaARN))
	default:
		add("rotation settings", CheckWarn, "rotation is not enabled: Secrets Manager will not rotate it (rotaudit rotate --allow-disabled can)")
	}
	for v, st := range d.VersionIdsToStages {
		if slices.Contains(st, StagePending) && !slices.Contains(st, StageCurrent) {
			add("rotation in progress", CheckWarn, "version %s holds AWSPENDING: the next rotation resumes it%s", v, pendingElsewhere(d, arn))
		}
	}
	current, err := r.getSecret(ctx, arn, "", StageCurrent)
	if err != nil {
		add("secret shape", CheckFail, "%v", err)
		return out
	}
	add("secret shape", CheckOK, "%s %s@%s:%d/%s", current.Engine, current.Username, current.Host, current.Port, current.DBName)
	r.checkTLS(current, add)
	if r.Config.Strategy == AlternatingUsers {
		r.doctorAlternating(ctx, arn, current, add)
		return out
	}
	db, err := r.connect(ctx, current)
	if err != nil {
		add("database login", CheckFail, "with AWSCURRENT: %v", err)
		return out
	}
	defer db.Close(context.WithoutCancel(ctx))
	add("database login", CheckOK, "%s logs in with the secret's own credentials", current.Username)
	if err := r.probe(ctx, db, current.Username); err != nil {
		add("test query", CheckFail, "%s with AWSCURRENT: %v", EnvTestQuery, err)
	} else {
		add("test query", CheckOK, "%s passes with AWSCURRENT", EnvTestQuery)
	}
	var super bool
	if err := db.QueryRow(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&super); err != nil {
		add("password change", CheckFail, "%v", dbError("read own role", current.Username, err))
	} else {
		add("password change", CheckOK, "single user: %s may change its own password (every login role can)", current.Username)
	}
	return out
}

func (r *Rotator) checkTLS(s dbsecret.Secret, add func(string, string, string, ...any)) {
	o := r.Config.ConnOptions(s)
	if o.SSLMode == "disable" {
		add("TLS", CheckWarn, `plaintext connection asked for by "ssl": false in the secret: use only on a private network`)
		return
	}
	fallback := ""
	if r.Config.PlaintextFallback(s) {
		fallback = "; plaintext only if the server refuses TLS (" + EnvDBAllowPlaintext + "=true)"
	}
	switch {
	case o.RootCAs != nil:
		add("TLS", CheckOK, "verify-full with the embedded RDS authorities (%s is empty, %s is an RDS endpoint)%s", EnvDBCABundle, s.Host, fallback)
		return
	case o.RootCert == "":
		add("TLS", CheckOK, "verify-full against the system roots (%s is empty)%s", EnvDBCABundle, fallback)
		return
	}
	pem, err := os.ReadFile(o.RootCert)
	if err != nil {
		add("TLS", CheckFail, "%s=%s: %v", EnvDBCABundle, o.RootCert, err)
		return
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		add("TLS", CheckFail, "%s=%s holds no PEM certificate", EnvDBCABundle, o.RootCert)
		return
	}
	add("TLS", CheckOK, "verify-full with %s%s", o.RootCert, fallback)
}

// doctorAlternating checks in the order setSecret acts: the master (pinned, on the user's
// server or its primary), the guard's login there, both users, then the master's powers.
func (r *Rotator) doctorAlternating(ctx context.Context, arn string, current dbsecret.Secret, add func(string, string, string, ...any)) {
	partner, err := Partner(current.Username)
	if err != nil {
		add("clone name", CheckFail, "%v", err)
		return
	}
	add("clone name", CheckOK, "%s (%d bytes, limit %d)", partner, len(partner), pgrole.MaxNameLen)
	master, err := r.master(ctx, current)
	if err != nil {
		add("master secret", CheckFail, "%v", err)
		return
	}
	add("master secret", CheckOK, "%s pinned and readable, user %s on %s:%d", current.MasterARN, master.Username, master.Host, master.Port)
	own, _, err := r.proveCurrent(ctx, arn, current, master, reads{})
	if err != nil {
		add("database login", CheckFail, "with AWSCURRENT: %v", err)
		return
	}
	add("database login", CheckOK, "%s logs in with the secret's own credentials on the master's server", current.Username)
	if err := r.checkPair(ctx, own, current.Username, partner, master.Username, false); err != nil {
		own.Close(context.WithoutCancel(ctx))
		add("user safety", CheckFail, "%v", err)
		return
	}
	if err := r.probe(ctx, own, current.Username); err != nil {
		add("test query", CheckFail, "%s with AWSCURRENT: %v", EnvTestQuery, err)
	} else {
		add("test query", CheckOK, "%s passes with AWSCURRENT", EnvTestQuery)
	}
	own.Close(context.WithoutCancel(ctx))
	db, err := r.connect(ctx, master)
	if err != nil {
		add("master login", CheckFail, "%v", err)
		return
	}
	defer db.Close(context.WithoutCancel(ctx))
	add("master login", CheckOK, "%s logs in to %s", master.Username, master.DBName)
	if err := r.checkPair(ctx, db, current.Username, partner, master.Username, true); err != nil {
		add("user safety", CheckFail, "%v", err)
		return
	}
	add("user safety", CheckOK, "neither %s nor %s is the master or holds CREATEROLE, REPLICATION, BYPASSRLS or a server-file role; %s holds nothing %s lacks",
		current.Username, partner, partner, current.Username)
	var createRole, super, userSuper bool
	err = db.QueryRow(ctx, `SELECT m.rolcreaterole, m.rolsuper, COALESCE(u.rolsuper, false)
		FROM pg_roles m LEFT JOIN pg_roles u ON u.rolname = $2 WHERE m.rolname = $1`, master.Username, current.Username).Scan(&createRole, &super, &userSuper)
	switch {
	case err != nil:
		add("master privileges", CheckFail, "%v", dbError("read roles", master.Username, err))
		return
	case userSuper:
		add("master privileges", CheckFail, "%s is a superuser: rotate a role that is not", current.Username)
		return
	case !createRole && !super:
		add("master privileges", CheckFail, "%s lacks CREATEROLE: ALTER ROLE %s CREATEROLE", master.Username, pgrole.Ident(master.Username))
		return
	}
	missing, err := pgrole.Ungrantable(ctx, db, master.Username, current.Username)
	if err != nil {
		add("master privileges", CheckFail, "%v", dbError("check grants", master.Username, err))
		return
	}
	if len(missing) > 0 {
		add("master privileges", CheckFail, "%s cannot grant to %s: %v (own the objects or hold them WITH GRANT OPTION)", master.Username, partner, missing)
		return
	}
	add("master privileges", CheckOK, "%s has CREATEROLE and can grant everything %s holds", master.Username, current.Username)
	for _, c := range r.pgChecks(ctx, db, master.Username, current.Username, partner) {
		add(c.Name, c.Status, "%s", c.Detail)
	}
}

// Failed reports whether any check failed.
func Failed(checks []Check) bool {
	return slices.ContainsFunc(checks, func(c Check) bool { return c.Status == CheckFail })
}
