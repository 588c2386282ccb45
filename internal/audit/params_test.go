package audit

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
)

// FuzzParamsMatchEncodingJSON: each fast decoder of params.go gives, for any input, what
// json.Unmarshal gives into the same struct, and the same object-or-not answer as
// Record.Params.
func FuzzParamsMatchEncodingJSON(f *testing.F) {
	for _, seed := range []string{
		`{"secretId":"arn:aws:secretsmanager:eu-west-1:1:secret:app-AbCdEf","versionStage":"AWSCURRENT"}`,
		`{"secretIdList":["a","b"],"filters":[{"key":"name"}],"forceDeleteWithoutRecovery":true,"rotationRules":{"automaticallyAfterDays":30}}`,
		`{"SecretId":"x","secretid":"y","SECRETID":null}`,
		`{"secretId":"caf\u00e9 \"q\"","kmsKeyId":"k","resourcePolicy":"{\"Version\":\"2012-10-17\"}","rotationLambdaARN":null}`,
		`{"keyId":"k","encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"SecretARN":"arn:s","SecretVersionId":"v"}}`,
		`{"encryptionContext":{"a":"1"},"encryptionContext":{"b":"2"}}`,
		`{"encryptionContext":{"a":null},"operations":["Decrypt"],"granteePrincipal":"p","policy":"{}"}`,
		`{"encryptionContext":{},"keyId":7}`,
		`{"roleArn":"arn:aws:iam::1:role/r","roleSessionName":"s","durationSeconds":900}`,
		`{"ro\u006ceArn":"x","ſecretId":"kelvin","K":"k"}`,
		`{"secretId":"a"`, `[]`, `null`, `"s"`, ` {"secretId":"a"}`, `{}`, `{"secretId":"\xff"}`,
	} {
		f.Add([]byte(seed))
	}
	// Real records' parameters.
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		var rec struct {
			RequestParameters json.RawMessage `json:"requestParameters"`
		}
		if json.Unmarshal(b, &rec) == nil && len(rec.RequestParameters) > 0 {
			f.Add([]byte(rec.RequestParameters))
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		rec := &cloudtrail.Record{RequestParameters: raw}
		check := func(name string, fast func() (any, bool), slow any) {
			got, gotOK := fast()
			wantOK := rec.Params(slow)
			if gotOK != wantOK || !reflect.DeepEqual(got, slow) {
				t.Fatalf("%s of %q: fast %+v (%v), encoding/json %+v (%v)", name, raw, got, gotOK, slow, wantOK)
			}
		}
		check("secret", func() (any, bool) { var p secretParams; ok := decodeSecretParams(raw, &p); return &p, ok }, &secretParams{})
		check("kms", func() (any, bool) { var p kmsParams; ok := decodeKMSParams(raw, &p); return &p, ok }, &kmsParams{})
		check("assume role", func() (any, bool) { var p assumeRoleParams; ok := decodeAssumeRoleParams(raw, &p); return &p, ok }, &assumeRoleParams{})
	})
}
