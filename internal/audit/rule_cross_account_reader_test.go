package audit

import (
	"testing"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
)

// TestReaderIdentity: what makes two reads in two accounts the same reader's.
func TestReaderIdentity(t *testing.T) {
	sso := "AWSReservedSSO_ReadOnly_0123456789abcdef"
	tests := []struct {
		name string
		u    cloudtrail.UserIdentity
		norm string
		want string
	}{
		{"source identity wins", cloudtrail.UserIdentity{Type: "AssumedRole", ARN: "arn:aws:sts::1:assumed-role/ops/x",
			SessionContext: cloudtrail.SessionContext{SourceIdentity: "alice", SessionIssuer: cloudtrail.SessionIssuer{UserName: "ops"}}}, "arn:aws:iam::1:role/ops", "source|alice"},
		{"identity center user", cloudtrail.UserIdentity{Type: "AssumedRole", ARN: "arn:aws:sts::1:assumed-role/" + sso + "/bob@example.com",
			SessionContext: cloudtrail.SessionContext{SessionIssuer: cloudtrail.SessionIssuer{UserName: sso}}}, "arn:aws:iam::1:role/" + sso, "sso|bob@example.com"},
		// A session name the caller chose proves nothing: the role is the reader.
		{"other role session", cloudtrail.UserIdentity{Type: "AssumedRole", ARN: "arn:aws:sts::1:assumed-role/ops/bob@example.com",
			SessionContext: cloudtrail.SessionContext{SessionIssuer: cloudtrail.SessionIssuer{UserName: "ops"}}}, "arn:aws:iam::1:role/ops", "principal|arn:aws:iam::1:role/ops"},
		{"iam user", cloudtrail.UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::1:user/jenkins"}, "arn:aws:iam::1:user/jenkins", "principal|arn:aws:iam::1:user/jenkins"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := readerIdentity(&cloudtrail.Record{UserIdentity: tc.u}, tc.norm); got != tc.want {
				t.Errorf("readerIdentity = %q, want %q", got, tc.want)
			}
		})
	}
}
