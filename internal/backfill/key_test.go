package backfill

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseKey(t *testing.T) {
	const good = "AWSLogs/o-abcdef1234/111122223333/CloudTrail/eu-west-1/2026/03/04/111122223333_CloudTrail_eu-west-1_20260304T2355Z_AbC123xyz.json.gz"
	tests := []struct {
		name, key       string
		notLog          bool
		wantErr         string
		org, acct, regn string
	}{
		{name: "organization trail", key: good, org: "o-abcdef1234", acct: "111122223333", regn: "eu-west-1"},
		{name: "account trail under a prefix", key: "trails/AWSLogs/111122223333/CloudTrail/us-gov-west-1/2026/03/04/111122223333_CloudTrail_us-gov-west-1_20260304T0000Z_x.json.gz", acct: "111122223333", regn: "us-gov-west-1"},
		{name: "digest", key: "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/03/04/111122223333_CloudTrail-Digest_us-east-1_t_20260304T0000Z.json.gz", notLog: true},
		{name: "insights", key: "AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2026/03/04/x.json.gz", notLog: true},
		{name: "write check", key: "AWSLogs/111122223333/CloudTrail/ConfigWritabilityCheckFile", notLog: true},
		{name: "no AWSLogs", key: "logs/111122223333/CloudTrail/us-east-1/2026/03/04/x.json.gz", notLog: true},
		{name: "AWSLogs inside a word", key: "myAWSLogs/111122223333/CloudTrail/us-east-1/2026/03/04/111122223333_CloudTrail_us-east-1_20260304T0000Z_x.json.gz", notLog: true},
		{name: "not gzip", key: "AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/04/111122223333_CloudTrail_us-east-1_20260304T0000Z_x.json", notLog: true},
		{name: "short account", key: "AWSLogs/11112222333/CloudTrail/us-east-1/2026/03/04/11112222333_CloudTrail_us-east-1_20260304T0000Z_x.json.gz", wantErr: "not 12 digits"},
		{name: "bad organization", key: "AWSLogs/o-ABC/111122223333/CloudTrail/us-east-1/2026/03/04/111122223333_CloudTrail_us-east-1_20260304T0000Z_x.json.gz", wantErr: "organization id"},
		{name: "bad region", key: "AWSLogs/111122223333/CloudTrail/useast1/2026/03/04/111122223333_CloudTrail_useast1_20260304T0000Z_x.json.gz", wantErr: "not a region"},
		{name: "bad day", key: "AWSLogs/111122223333/CloudTrail/us-east-1/2026/13/04/111122223333_CloudTrail_us-east-1_20261304T0000Z_x.json.gz", wantErr: "not a date"},
		{name: "name of another account", key: "AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/04/444455556666_CloudTrail_us-east-1_20260304T0000Z_x.json.gz", wantErr: "differ from the folder"},
		{name: "name of another region", key: "AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/04/111122223333_CloudTrail_us-west-2_20260304T0000Z_x.json.gz", wantErr: "differ from the folder"},
		{name: "time stamp of another day", key: "AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/04/111122223333_CloudTrail_us-east-1_20260305T0000Z_x.json.gz", wantErr: "not on the folder's day"},
		{name: "bad time stamp", key: "AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/04/111122223333_CloudTrail_us-east-1_20260304-0000_x.json.gz", wantErr: "not YYYYMMDDTHHmmZ"},
		{name: "no random part", key: "AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/04/111122223333_CloudTrail_us-east-1_20260304T0000Z_.json.gz", wantErr: "is not ACCOUNT_CloudTrail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKey(tt.key)
			switch {
			case tt.notLog:
				if !errors.Is(err, ErrNotLogFile) {
					t.Fatalf("want ErrNotLogFile, got %v", err)
				}
			case tt.wantErr != "":
				if err == nil || errors.Is(err, ErrNotLogFile) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("want an error with %q, got %v", tt.wantErr, err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if k.Org != tt.org || k.Account != tt.acct || k.Region != tt.regn || k.Stream() != tt.acct+"/"+tt.regn {
					t.Fatalf("got %+v", k)
				}
			}
		})
	}
	k, _ := ParseKey(good)
	if want := time.Date(2026, 3, 4, 23, 55, 0, 0, time.UTC); !k.Delivered.Equal(want) {
		t.Fatalf("delivered %v, want %v", k.Delivered, want)
	}
}

// FuzzParseKey: keys come from a bucket anyone in the organization may write to.
func FuzzParseKey(f *testing.F) {
	f.Add("AWSLogs/o-abcdef1234/111122223333/CloudTrail/eu-west-1/2026/03/04/111122223333_CloudTrail_eu-west-1_20260304T2355Z_AbC123xyz.json.gz")
	f.Add("AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/03/04/x.json.gz")
	f.Add("AWSLogs/")
	f.Fuzz(func(t *testing.T, key string) {
		k, err := ParseKey(key)
		if err != nil {
			return
		}
		if !isAccount(k.Account) || !isRegion(k.Region) || k.Delivered.IsZero() || !strings.HasSuffix(key, ".json.gz") {
			t.Fatalf("accepted %q as %+v", key, k)
		}
	})
}

func parseDayForTest(s string) (time.Time, error) { return time.Parse(time.DateOnly, s) }
