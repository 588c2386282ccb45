package audit

import (
	"encoding/json"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/rotaudit/rotaudit/internal/audit/cloudtrail"
)

// The parameters the busiest rules read (every Secrets Manager call, every KMS Decrypt,
// every AssumeRole), decoded with cloudtrail.Fields rather than encoding/json: a replay
// spent a quarter of its rule time in json.Unmarshal of these small objects. Each decoder
// gives what json.Unmarshal gives into the same struct (FuzzParamsMatchEncodingJSON): keys
// match exactly or ignoring ASCII case, the last of a repeated key wins, null leaves a
// field as it was. A key that is not plain ASCII (encoding/json would fold it with Unicode
// rules), a value of an unexpected type, or malformed JSON takes encoding/json itself.

// decodeFields fills v through set, called with each member; set reports false when the
// value needs encoding/json. It reports whether raw was an object, as Record.Params does.
func decodeFields(raw json.RawMessage, v any, set func(key string, value json.RawMessage) bool) bool {
	if len(raw) == 0 || raw[0] != '{' {
		return false
	}
	slow := false
	ok, err := cloudtrail.Fields(raw, func(key string, value json.RawMessage) {
		if slow {
			return
		}
		for i := 0; i < len(key); i++ {
			if key[i] >= 0x80 {
				slow = true
				return
			}
		}
		if !set(key, value) {
			slow = true
		}
	})
	if err != nil || slow {
		// Start again from nothing: members before a syntax error were already set.
		reflect.ValueOf(v).Elem().SetZero()
		return json.Unmarshal(raw, v) == nil
	}
	return ok
}

// setStr sets dst from a JSON string; null leaves it, as encoding/json does; another type
// needs encoding/json (which reports the type error and leaves dst).
func setStr(dst *string, value json.RawMessage) bool {
	if s, ok := cloudtrail.Str(value); ok {
		*dst = s
		return true
	}
	return string(value) == "null"
}

// setJSON decodes the member with encoding/json: for the rarer, richer types.
func setJSON(dst any, value json.RawMessage) bool { return json.Unmarshal(value, dst) == nil }

func decodeSecretParams(raw json.RawMessage, p *secretParams) bool {
	return decodeFields(raw, p, func(key string, value json.RawMessage) bool {
		switch is := func(name string) bool { return strings.EqualFold(key, name) }; {
		case is("secretId"):
			return setStr(&p.SecretID, value)
		case is("secretIdList"):
			return setJSON(&p.SecretIDList, value)
		case is("filters"):
			return setJSON(&p.Filters, value)
		case is("forceDeleteWithoutRecovery"):
			return setJSON(&p.ForceDeleteWithoutRecovery, value)
		case is("resourcePolicy"):
			return setStr(&p.ResourcePolicy, value)
		case is("rotationRules"):
			p.RotationRules = append(json.RawMessage(nil), value...)
		case is("rotationLambdaARN"):
			return setStr(&p.RotationLambdaARN, value)
		case is("kmsKeyId"):
			return setStr(&p.KMSKeyID, value)
		}
		return true
	})
}

func decodeKMSParams(raw json.RawMessage, p *kmsParams) bool {
	return decodeFields(raw, p, func(key string, value json.RawMessage) bool {
		switch is := func(name string) bool { return strings.EqualFold(key, name) }; {
		case is("keyId"):
			return setStr(&p.KeyID, value)
		case is("policy"):
			return setStr(&p.Policy, value)
		case is("granteePrincipal"):
			return setStr(&p.GranteePrincipal, value)
		case is("operations"):
			return setJSON(&p.Operations, value)
		case is("encryptionContext"):
			return setStringMap(&p.EncryptionContext, value)
		}
		return true
	})
}

// setStringMap merges a JSON object of strings into *dst, as encoding/json does (a null
// object leaves it; its keys are taken as they are); a member of another type, null
// included, needs encoding/json.
func setStringMap(dst *map[string]string, value json.RawMessage) bool {
	if string(value) == "null" {
		return true
	}
	plain := true
	var m map[string]string
	ok, err := cloudtrail.Fields(value, func(k string, v json.RawMessage) {
		s, isStr := cloudtrail.Str(v)
		plain = plain && isStr && utf8.ValidString(k) // encoding/json turns bad UTF-8 in keys into U+FFFD
		if m == nil {
			m = map[string]string{}
		}
		m[k] = s
	})
	if err != nil || !ok || !plain {
		return false
	}
	if *dst == nil {
		*dst = map[string]string{}
	}
	for k, v := range m {
		(*dst)[k] = v
	}
	return true
}

// assumeRoleParams are AssumeRole's request parameters the rules read.
type assumeRoleParams struct {
	RoleArn     string `json:"roleArn"`
	SessionName string `json:"roleSessionName"`
}

func decodeAssumeRoleParams(raw json.RawMessage, p *assumeRoleParams) bool {
	return decodeFields(raw, p, func(key string, value json.RawMessage) bool {
		switch {
		case strings.EqualFold(key, "roleArn"):
			return setStr(&p.RoleArn, value)
		case strings.EqualFold(key, "roleSessionName"):
			return setStr(&p.SessionName, value)
		}
		return true
	})
}
