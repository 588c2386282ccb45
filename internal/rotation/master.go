package rotation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
)

// ErrMasterNotAllowed: the secret's masterarn is not one of the master secrets this
// function is configured to use (MASTER_SECRET_ARNS).
var ErrMasterNotAllowed = errors.New("master secret not allowed for this function")

// master reads the master user's secret and points it at the database the master acts
// on: the user's database on the master's host.
//
// The master is pinned: masterarn must name a secret of MASTER_SECRET_ARNS, checked
// before the secret is read and again on the ARN Secrets Manager resolves, so a writer of
// the user's secret cannot choose another master the function's role may read. A master
// secret that RDS manages holds only username and password: its host, port and engine
// come from RDS (rdsmaster.go). The master's host must be the user's, or RDS must list
// the user's host, by its endpoint address, as a read replica or Aurora reader of it;
// then the master acts on its own (primary) host, as in AWS's function, and the change
// reaches the user's host by replication. Nothing here logs in anywhere.
func (r *Rotator) master(ctx context.Context, current dbsecret.Secret) (dbsecret.Secret, error) {
	return r.masterFrom(ctx, current, r.readMaster(ctx, current))
}

// masterRead is the master secret's value and the ARN Secrets Manager resolved.
type masterRead struct{ body, arn string }

// readMaster returns the read of current's master secret, refused before it is sent
// when masterarn is missing or not pinned.
func (r *Rotator) readMaster(ctx context.Context, current dbsecret.Secret) func() (masterRead, error) {
	return func() (masterRead, error) {
		if err := r.Config.checkMasterARN(current.MasterARN); err != nil {
			return masterRead{}, err
		}
		body, arn, err := r.readSecret(ctx, current.MasterARN, "", StageCurrent)
		if err != nil {
			return masterRead{}, fmt.Errorf("master secret: %w", err)
		}
		return masterRead{body, arn}, nil
	}
}

// masterFrom is master with the master secret's read given (a step prefetches it).
func (r *Rotator) masterFrom(ctx context.Context, current dbsecret.Secret, read func() (masterRead, error)) (dbsecret.Secret, error) {
	mr, err := read()
	if err != nil {
		return dbsecret.Secret{}, err
	}
	body, arn := mr.body, mr.arn
	if !slices.Contains(r.Config.MasterSecretARNs, arn) {
		return dbsecret.Secret{}, r.Config.masterNotAllowed(arn)
	}
	m, credentialsOnly, err := dbsecret.ParseCredentials([]byte(body))
	if err != nil {
		return dbsecret.Secret{}, fmt.Errorf("%w: master secret %s: %w", ErrInvalidSecret, arn, err)
	}
	if credentialsOnly {
		if m, err = r.rdsManagedMaster(ctx, arn, m); err != nil {
			return dbsecret.Secret{}, fmt.Errorf("master secret: %w", err)
		}
	}
	switch {
	case strings.EqualFold(m.Host, current.Host):
		if m.Port != current.Port {
			return dbsecret.Secret{}, fmt.Errorf("%w: master secret points at %s:%d, the user's at %s:%d", ErrInvalidSecret, m.Host, m.Port, current.Host, current.Port)
		}
	default:
		ok, err := r.isReplica(ctx, current, m)
		if err != nil {
			return dbsecret.Secret{}, fmt.Errorf("master secret points at %s, the user's at %s: is it a replica? %w", m.Host, current.Host, err)
		}
		if !ok {
			return dbsecret.Secret{}, fmt.Errorf("%w: master secret points at %s:%d, the user's at %s:%d, which RDS does not list (by endpoint address and port) as a read replica or Aurora reader of it",
				ErrInvalidSecret, m.Host, m.Port, current.Host, current.Port)
		}
		r.logger().InfoContext(ctx, "user's host is a replica: the guard and the master act on the primary", "host", current.Host, "primary_host", m.Host)
	}
	// Object privileges live in the user's database: the master works there.
	m.DBName = current.DBName
	return m, nil
}

// checkMasterARN refuses a masterarn that is missing or not one this function may use.
func (c Config) checkMasterARN(id string) error {
	if id == "" {
		return fmt.Errorf("%w: key \"masterarn\" is missing: alternating users needs the master user's secret ARN or name", ErrInvalidSecret)
	}
	if !c.mayUseMaster(id) {
		return c.masterNotAllowed(id)
	}
	return nil
}

// mayUseMaster reports whether id (a masterarn: full ARN, partial ARN or name) names a
// secret of MASTER_SECRET_ARNS.
func (c Config) mayUseMaster(id string) bool {
	for _, pinned := range c.MasterSecretARNs {
		full, partial, name := pinned, strings.TrimSuffix(pinned, secretSuffix(pinned)), secretName(pinned)
		if id == full || id == partial || (!strings.HasPrefix(id, "arn:") && id == name) {
			return true
		}
	}
	return false
}

func (c Config) masterNotAllowed(id string) error {
	if len(c.MasterSecretARNs) == 0 {
		return fmt.Errorf("%w: masterarn %s: %s is empty: set it to the ARNs of the master secrets this function may use (the Terraform module sets it)",
			ErrMasterNotAllowed, id, EnvMasterSecretARNs)
	}
	return fmt.Errorf("%w: masterarn %s is not in %s (%s): point the secret at a pinned master, or add it to the function's configuration",
		ErrMasterNotAllowed, id, EnvMasterSecretARNs, strings.Join(c.MasterSecretARNs, ", "))
}

// secretName returns the name in a secret ARN (arn:...:secret:NAME-AbCdEf), without the
// six-character suffix Secrets Manager adds.
func secretName(arn string) string {
	_, rest, ok := strings.Cut(arn, ":secret:")
	if !ok {
		return ""
	}
	return strings.TrimSuffix(rest, secretSuffix(arn))
}

// secretSuffix returns the "-AbCdEf" Secrets Manager appends to a secret's name in its ARN.
func secretSuffix(arn string) string {
	i := strings.LastIndexByte(arn, '-')
	if i < 0 || len(arn)-i != 7 || !strings.Contains(arn, ":secret:") {
		return ""
	}
	return arn[i:]
}
