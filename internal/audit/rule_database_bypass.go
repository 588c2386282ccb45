package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
)

// ruleDatabaseBypass is RA-09: AWS calls that reach the database without the password.
func ruleDatabaseBypass() *Rule {
	return &Rule{
		ID: "RA-09", Name: "Database-level AWS calls that bypass the credentials",
		Rationale: "The database can be reached without the rotated password: by resetting the master " +
			"password through the RDS API, by sharing or copying a snapshot to another account or region, by " +
			"exporting it to S3, by restoring a copy or making it publicly accessible, or by running SQL through " +
			"the RDS Data API; deleting the configured database (any database, when none is configured) destroys " +
			"it. A restore is public when its request or, where the request left it to the subnet group's default, " +
			"its response says so. Each is routine for almost nobody.",
		calls: merge(on(srcRDS, "ModifyDBInstance", "ModifyDBCluster", "ModifyDBSnapshotAttribute", "ModifyDBClusterSnapshotAttribute",
			"CopyDBSnapshot", "CopyDBClusterSnapshot", "StartExportTask", "RestoreDBInstanceFromDBSnapshot", "RestoreDBInstanceToPointInTime",
			"RestoreDBClusterFromSnapshot", "RestoreDBClusterToPointInTime", "DeleteDBInstance", "DeleteDBCluster"),
			on(srcRDSData, "ExecuteStatement", "BatchExecuteStatement", "ExecuteSql", "BeginTransaction")),
		eval: evalDatabaseBypass,
	}
}

type rdsParams struct {
	DBInstanceIdentifier              string          `json:"dBInstanceIdentifier"`
	DBClusterIdentifier               string          `json:"dBClusterIdentifier"`
	MasterUserPassword                json.RawMessage `json:"masterUserPassword"`
	AttributeName                     string          `json:"attributeName"`
	ValuesToAdd                       []string        `json:"valuesToAdd"`
	DBSnapshotIdentifier              string          `json:"dBSnapshotIdentifier"`
	DBClusterSnapshotIdentifier       string          `json:"dBClusterSnapshotIdentifier"`
	SourceDBSnapshotIdentifier        string          `json:"sourceDBSnapshotIdentifier"`
	SourceDBClusterSnapshotIdentifier string          `json:"sourceDBClusterSnapshotIdentifier"`
	KMSKeyID                          string          `json:"kmsKeyId"`
	SourceArn                         string          `json:"sourceArn"`
	ExportTaskIdentifier              string          `json:"exportTaskIdentifier"`
	ResourceArn                       string          `json:"resourceArn"`
	PubliclyAccessible                *bool           `json:"publiclyAccessible"`
	SourceDBInstanceIdentifier        string          `json:"sourceDBInstanceIdentifier"`
	SourceDBClusterIdentifier         string          `json:"sourceDBClusterIdentifier"`
	SnapshotIdentifier                string          `json:"snapshotIdentifier"`
	SourceRegion                      string          `json:"sourceRegion"`
	SkipFinalSnapshot                 bool            `json:"skipFinalSnapshot"`
}

func evalDatabaseBypass(_ context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	var p rdsParams
	var sev Severity
	var why, res string
	switch rec.EventName {
	case "ModifyDBInstance", "ModifyDBCluster":
		rec.Params(&p)
		res = firstNonEmpty(p.DBInstanceIdentifier, p.DBClusterIdentifier)
		switch {
		case len(p.MasterUserPassword) > 0 && string(p.MasterUserPassword) != "null" && !e.cfg.isRotator(ev.norm):
			sev, why = High, "the master password was reset through the RDS API, outside rotation"
		case p.PubliclyAccessible != nil && *p.PubliclyAccessible:
			sev, why = High, "the database was made publicly accessible: its login is reachable from the internet"
		default:
			return nil
		}
	case "RestoreDBInstanceFromDBSnapshot", "RestoreDBInstanceToPointInTime", "RestoreDBClusterFromSnapshot", "RestoreDBClusterToPointInTime":
		rec.Params(&p)
		// A restore that does not say inherits the subnet group's default, public in a
		// default VPC: the response says what the copy became.
		var resp struct {
			PubliclyAccessible *bool `json:"publiclyAccessible"`
		}
		rec.Response(&resp)
		public := p.PubliclyAccessible
		if public == nil {
			public = resp.PubliclyAccessible
		}
		if public == nil || !*public {
			return nil
		}
		res = firstNonEmpty(p.DBSnapshotIdentifier, p.SnapshotIdentifier, p.SourceDBInstanceIdentifier, p.SourceDBClusterIdentifier)
		sev, why = High, "a copy of a database was restored as publicly accessible, with the data and logins of the source"
		if e.cfg.watchedDB(res) {
			sev = Critical
		}
	case "DeleteDBInstance", "DeleteDBCluster":
		rec.Params(&p)
		res = firstNonEmpty(p.DBInstanceIdentifier, p.DBClusterIdentifier)
		if !e.cfg.watchedDB(res) {
			return nil
		}
		sev, why = High, "the watched database was deleted"
		if p.SkipFinalSnapshot {
			sev, why = Critical, "the watched database was deleted without a final snapshot"
		}
		if e.cfg.isDeployer(ev.norm) {
			sev = sev.lower()
		}
	case "ModifyDBSnapshotAttribute", "ModifyDBClusterSnapshotAttribute":
		rec.Params(&p)
		if p.AttributeName != "restore" {
			return nil
		}
		res = firstNonEmpty(p.DBSnapshotIdentifier, p.DBClusterSnapshotIdentifier)
		for _, v := range p.ValuesToAdd {
			switch {
			case strings.EqualFold(v, "all"):
				sev, why = Critical, "the snapshot was made public (restore: all)"
			case v != rec.RecipientAccountID && !e.cfg.accounts[v] && sev < High:
				sev, why = High, "the snapshot was shared with account "+v
			}
		}
		if sev == 0 {
			return nil
		}
	case "CopyDBSnapshot", "CopyDBClusterSnapshot":
		rec.Params(&p)
		src := firstNonEmpty(p.SourceDBSnapshotIdentifier, p.SourceDBClusterSnapshotIdentifier)
		res = src
		if a := cloudtrail.ARNAccount(src); a != "" && a != rec.RecipientAccountID {
			sev, why = High, "a snapshot was copied from account "+a
		} else if a := cloudtrail.ARNAccount(p.KMSKeyID); a != "" && a != rec.RecipientAccountID && !e.cfg.accounts[a] {
			sev, why = High, "a snapshot copy was encrypted with a key of account "+a
		} else if r := firstNonEmpty(p.SourceRegion, arnRegion(src)); r != "" && r != rec.AWSRegion && !e.cfg.isDeployer(ev.norm) && rec.UserIdentity.InvokedBy == "" {
			// Cross-region copies are disaster recovery when the deployment or AWS Backup
			// makes them; from anyone else, the data leaves for a region nobody watches.
			sev, why = Medium, "a snapshot was copied from "+r+" to "+rec.AWSRegion
		} else {
			return nil
		}
	case "StartExportTask":
		rec.Params(&p)
		res = firstNonEmpty(p.SourceArn, p.ExportTaskIdentifier)
		sev, why = High, "a snapshot or cluster was exported to S3"
	case "ExecuteStatement", "BatchExecuteStatement", "ExecuteSql", "BeginTransaction":
		if rec.EventSource != srcRDSData || e.cfg.dataAPI[ev.norm] {
			return nil
		}
		rec.Params(&p)
		res = p.ResourceArn
		sev, why = High, "SQL was run through the RDS Data API by a principal not allowed to"
	default:
		return nil
	}
	ev.add(hit{
		severity: e.failedSeverity(ev, sev), dedup: res + "|" + rec.EventName,
		title:     fmt.Sprintf("%s on %s by %s%s", rec.EventName, firstNonEmpty(res, "database"), ev.principal, attempt(ev)),
		desc:      fmt.Sprintf("%s called %s on %s: %s.", ev.principal, rec.EventName, firstNonEmpty(res, "(unnamed)"), why),
		resources: []Resource{{UID: res, Type: "AWS::RDS::DBInstance"}},
	})
	return nil
}

// arnRegion returns the region field of an ARN, "" for anything else.
func arnRegion(arn string) string {
	parts := strings.SplitN(arn, ":", 5)
	if len(parts) < 5 || parts[0] != "arn" {
		return ""
	}
	return parts[3]
}

// watchedDB reports whether an identifier or ARN names a configured database (or a
// snapshot named after it: RDS names automated snapshots rds:ID-date). With no database
// configured every one is watched: an empty list must not switch the deletion alerts off.
func (c *Config) watchedDB(id string) bool {
	if id == "" {
		return false
	}
	if len(c.Databases) == 0 {
		return true
	}
	id = strings.TrimPrefix(id, "rds:")
	if i := strings.LastIndexByte(id, ':'); i >= 0 && strings.HasPrefix(id, "arn:") {
		id = id[i+1:]
	}
	for _, d := range c.Databases {
		if i := strings.LastIndexByte(d, ':'); i >= 0 && strings.HasPrefix(d, "arn:") {
			d = d[i+1:]
		}
		if id == d || strings.HasPrefix(id, d+"-") {
			return true
		}
	}
	return false
}
