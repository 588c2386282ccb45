package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
)

// RA-09: AWS calls that reach the database without the rotated credentials.

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
}

func ruleDatabase(_ context.Context, e *Engine, ev *event) error {
	rec := ev.rec
	var p rdsParams
	var sev Severity
	var why, res string
	switch rec.EventName {
	case "ModifyDBInstance", "ModifyDBCluster":
		rec.Params(&p)
		if len(p.MasterUserPassword) == 0 || string(p.MasterUserPassword) == "null" || e.cfg.isRotator(ev.norm) {
			return nil
		}
		res = firstNonEmpty(p.DBInstanceIdentifier, p.DBClusterIdentifier)
		sev, why = High, "the master password was reset through the RDS API, outside rotation"
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
		rule: e.rule("RA-09"), severity: e.failedSeverity(ev, sev), dedup: res + "|" + rec.EventName,
		title:     fmt.Sprintf("%s on %s by %s%s", rec.EventName, firstNonEmpty(res, "database"), ev.principal, attempt(ev)),
		desc:      fmt.Sprintf("%s called %s on %s: %s.", ev.principal, rec.EventName, firstNonEmpty(res, "(unnamed)"), why),
		resources: []Resource{{UID: res, Type: "AWS::RDS::DBInstance"}},
	})
	return nil
}
