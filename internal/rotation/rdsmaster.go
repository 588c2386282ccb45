package rotation

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/rotaudit/rotaudit/internal/dbsecret"
)

// RDS is the part of the RDS API the rotator uses, as AWS's multi-user function does: to
// find where a master whose secret RDS manages lives, and to recognise a user's host as a
// read replica or Aurora reader of the master's database.
//
// go.mod pins aws-sdk-go-v2/service/rds at v1.132.2, the last release before its
// schema-based serialization: v1.133.0's schemas package costs every cold start of the
// function 8.8 ms and 1.3 MB in 7,008 allocations of package init (GODEBUG=inittrace=1 on
// the bootstrap), v1.132.2 0.24 ms.
type RDS interface {
	DescribeDBInstances(ctx context.Context, in *rds.DescribeDBInstancesInput, opts ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error)
	DescribeDBClusters(ctx context.Context, in *rds.DescribeDBClustersInput, opts ...func(*rds.Options)) (*rds.DescribeDBClustersOutput, error)
}

// ErrRDS: an RDS API call failed or named no database.
var ErrRDS = errors.New("rds call failed")

// The system tags RDS puts on a master secret it manages (manage_master_user_password),
// compared without case as AWS's function does.
const (
	TagPrimaryDBInstanceARN = "aws:rds:primaryDBInstanceArn"
	TagPrimaryDBClusterARN  = "aws:rds:primaryDBClusterArn"
)

// maxDBARNLength is the longest DB instance or cluster ARN AWS's function accepts.
const maxDBARNLength = 256

// rdsManagedMaster completes a master secret of only username and password with the
// host, port and engine of the RDS instance or cluster named by its system tag.
func (r *Rotator) rdsManagedMaster(ctx context.Context, id string, m dbsecret.Secret) (dbsecret.Secret, error) {
	d, err := r.SM.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		return dbsecret.Secret{}, smError("describe master secret", err)
	}
	var tag, arn string
	for _, t := range d.Tags {
		k := strings.ToLower(aws.ToString(t.Key))
		if k == strings.ToLower(TagPrimaryDBInstanceARN) || k == strings.ToLower(TagPrimaryDBClusterARN) {
			tag, arn = k, aws.ToString(t.Value)
		}
	}
	if tag == "" {
		return dbsecret.Secret{}, fmt.Errorf("%w: %s holds only \"username\" and \"password\" and has no %s or %s tag (the secret of an RDS-managed master password has one): add \"engine\", \"host\" and \"port\" to it",
			ErrInvalidSecret, id, TagPrimaryDBInstanceARN, TagPrimaryDBClusterARN)
	}
	if len(arn) > maxDBARNLength || !strings.HasPrefix(arn, "arn:") {
		return dbsecret.Secret{}, fmt.Errorf("%w: tag %s of %s is not a DB ARN of at most %d characters", ErrInvalidSecret, tag, id, maxDBARNLength)
	}
	if r.RDS == nil {
		return dbsecret.Secret{}, fmt.Errorf("%w: the master secret is managed by RDS, and this rotator has no RDS client", ErrRDS)
	}
	var host, engine string
	var port int32
	if tag == strings.ToLower(TagPrimaryDBInstanceARN) {
		inst, err := r.instance(ctx, arn)
		if err != nil {
			return dbsecret.Secret{}, err
		}
		if inst.Endpoint == nil {
			return dbsecret.Secret{}, fmt.Errorf("%w: DB instance %s has no endpoint yet", ErrRDS, arn)
		}
		host, port, engine = aws.ToString(inst.Endpoint.Address), aws.ToInt32(inst.Endpoint.Port), aws.ToString(inst.Engine)
	} else {
		c, err := r.cluster(ctx, arn)
		if err != nil {
			return dbsecret.Secret{}, err
		}
		host, port, engine = aws.ToString(c.Endpoint), aws.ToInt32(c.Port), aws.ToString(c.Engine)
	}
	if host == "" || port < 1 || port > 65535 {
		return dbsecret.Secret{}, fmt.Errorf("%w: %s has no endpoint yet", ErrRDS, arn)
	}
	if engine != "postgres" && engine != "aurora-postgresql" {
		return dbsecret.Secret{}, fmt.Errorf("%w: %s runs engine %q, not postgres or aurora-postgresql", ErrInvalidSecret, arn, engine)
	}
	m.Engine, m.Host, m.Port = engine, host, int(port)
	r.logger().InfoContext(ctx, "master secret managed by RDS: endpoint from RDS", "secret_arn", id, "db_arn", arn, "host", host, "port", port)
	return m, nil
}

// isReplica reports whether user's host and port are RDS's endpoint of a read replica of
// master's instance (RDS for PostgreSQL), or the reader endpoint or a reader instance's
// endpoint of master's cluster (Aurora). RDS endpoints start with the instance or cluster
// identifier, which finds the candidate; the whole address and the port must then be the
// ones RDS gives it, so a name that merely starts with a replica's identifier
// ("replica.attacker.example") is no replica.
func (r *Rotator) isReplica(ctx context.Context, user, master dbsecret.Secret) (bool, error) {
	if r.RDS == nil {
		return false, nil
	}
	userID, masterID := firstLabel(user.Host), firstLabel(master.Host)
	atEndpoint := func(inst rdstypes.DBInstance) bool {
		return inst.Endpoint != nil && strings.EqualFold(aws.ToString(inst.Endpoint.Address), user.Host) &&
			int(aws.ToInt32(inst.Endpoint.Port)) == user.Port
	}
	switch master.Engine {
	case "postgres":
		inst, err := r.instance(ctx, userID)
		if errors.Is(err, errNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		src := aws.ToString(inst.ReadReplicaSourceDBInstanceIdentifier)
		// Within a region RDS names the source by identifier, across regions by ARN.
		return atEndpoint(inst) && src != "" && (src == masterID || strings.HasSuffix(src, ":db:"+masterID)), nil
	case "aurora-postgresql":
		clusterID := masterID
		if labels := strings.Split(master.Host, "."); len(labels) < 2 || !strings.Contains(labels[1], "cluster") {
			// An instance endpoint: its cluster, if any.
			inst, err := r.instance(ctx, masterID)
			if errors.Is(err, errNotFound) {
				return false, nil
			}
			if err != nil {
				return false, err
			}
			if clusterID = aws.ToString(inst.DBClusterIdentifier); clusterID == "" {
				return false, nil
			}
		}
		c, err := r.cluster(ctx, clusterID)
		if errors.Is(err, errNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if strings.EqualFold(user.Host, aws.ToString(c.ReaderEndpoint)) && int(aws.ToInt32(c.Port)) == user.Port {
			return true, nil
		}
		for _, m := range c.DBClusterMembers {
			if !strings.EqualFold(aws.ToString(m.DBInstanceIdentifier), userID) || aws.ToBool(m.IsClusterWriter) {
				continue
			}
			inst, err := r.instance(ctx, aws.ToString(m.DBInstanceIdentifier))
			if errors.Is(err, errNotFound) {
				return false, nil
			}
			if err != nil {
				return false, err
			}
			// An Aurora instance listens on its cluster's port.
			return inst.Endpoint != nil && strings.EqualFold(aws.ToString(inst.Endpoint.Address), user.Host) &&
				int(aws.ToInt32(c.Port)) == user.Port, nil
		}
	}
	return false, nil
}

var errNotFound = errors.New("not found")

// instance describes one DB instance by identifier or ARN.
func (r *Rotator) instance(ctx context.Context, id string) (rdstypes.DBInstance, error) {
	out, err := r.RDS.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	if err != nil {
		return rdstypes.DBInstance{}, rdsError("describe DB instance "+id, err)
	}
	if len(out.DBInstances) == 0 {
		return rdstypes.DBInstance{}, fmt.Errorf("%w: DB instance %s: %w", ErrRDS, id, errNotFound)
	}
	return out.DBInstances[0], nil
}

// cluster describes one DB cluster by identifier or ARN.
func (r *Rotator) cluster(ctx context.Context, id string) (rdstypes.DBCluster, error) {
	out, err := r.RDS.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(id)})
	if err != nil {
		return rdstypes.DBCluster{}, rdsError("describe DB cluster "+id, err)
	}
	if len(out.DBClusters) == 0 {
		return rdstypes.DBCluster{}, fmt.Errorf("%w: DB cluster %s: %w", ErrRDS, id, errNotFound)
	}
	return out.DBClusters[0], nil
}

func rdsError(op string, err error) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "DBInstanceNotFound", "DBInstanceNotFoundFault", "DBClusterNotFoundFault", "DBClusterNotFound":
			return fmt.Errorf("%s: %w: %s: %w", op, ErrRDS, api.ErrorCode(), errNotFound)
		case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation":
			return fmt.Errorf("%s: %w: %s: the function's role needs rds:DescribeDBInstances and rds:DescribeDBClusters", op, ErrRDS, api.ErrorCode())
		}
		return fmt.Errorf("%s: %w: %s", op, ErrRDS, api.ErrorCode())
	}
	return fmt.Errorf("%s: %w: RDS unreachable (%w): check the function's network path (VPC endpoint or NAT)", op, ErrRDS, err)
}

func firstLabel(host string) string {
	id, _, _ := strings.Cut(host, ".")
	return id
}
