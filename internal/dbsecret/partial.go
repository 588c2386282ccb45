package dbsecret

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// ParseUnbootstrapped parses a secret that may not have a password yet: the app secret as
// Terraform writes it before the first deployment's bootstrap (engine, host, port, dbname,
// username, masterarn, and a "password" that is missing, empty or null). Every other key is
// checked as Parse checks it. The returned Secret has an empty Password when there was none.
//
// Only the bootstrap, which sets the first password, reads secrets this way; everything
// else uses Parse, which keeps rejecting a secret without a password.
func ParseUnbootstrapped(data []byte) (Secret, error) {
	raw, err := decodeObject(data)
	if err != nil {
		return Secret{}, err
	}
	if pw, ok := raw["password"]; ok {
		var s *string
		if err := json.Unmarshal(pw, &s); err != nil {
			return Secret{}, fmt.Errorf("%w: key \"password\" must be a string", ErrInvalid)
		}
		if s != nil && *s != "" {
			return Parse(data)
		}
	}
	// Parse with a stand-in password, then take it out again: one set of rules for the rest.
	raw["password"] = json.RawMessage(`"-"`)
	b, err := json.Marshal(raw)
	if err != nil {
		return Secret{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	s, err := Parse(b)
	if err != nil {
		return Secret{}, err
	}
	s.Password = ""
	return s, nil
}

// ParseCredentials parses a master user's secret, which may be a full database secret or,
// for a master password that RDS manages (manage_master_user_password), only
// {"username": ..., "password": ...}: then Engine, Host, Port and DBName are left empty
// (zero) for the caller to take from another secret of the same database. Username and
// password are required either way.
func ParseCredentials(data []byte) (s Secret, credentialsOnly bool, err error) {
	raw, err := decodeObject(data)
	if err != nil {
		return Secret{}, false, err
	}
	for _, k := range []string{"engine", "host", "port", "dbname"} {
		if _, ok := raw[k]; ok {
			s, err := Parse(data)
			return s, false, err
		}
	}
	if s.Username, err = requiredString(raw, "username"); err != nil {
		return Secret{}, false, err
	}
	if s.Password, err = requiredString(raw, "password"); err != nil {
		return Secret{}, false, err
	}
	return s, true, nil
}

func decodeObject(data []byte) (map[string]json.RawMessage, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object: %v", ErrInvalid, syntaxOnly(err))
	}
	if raw == nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrInvalid)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON object", ErrInvalid)
	}
	return raw, nil
}
