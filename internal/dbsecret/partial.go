package dbsecret

import (
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
	d, err := decodeOrdered(data)
	if err != nil {
		return Secret{}, err
	}
	if pw, ok := d.raw["password"]; ok {
		var s *string
		if err := json.Unmarshal(pw, &s); err != nil {
			return Secret{}, fmt.Errorf("%w: key \"password\" must be a string", ErrInvalid)
		}
		if s != nil && *s != "" {
			return parseDocument(d, true)
		}
	}
	// Marshal writes the password where the owner's document had the key (or last).
	return parseDocument(d, false)
}

// ParseCredentials parses a master user's secret, which may be a full database secret or,
// for a master password that RDS manages (manage_master_user_password), only
// {"username": ..., "password": ...}: then Engine, Host, Port and DBName are left empty
// (zero) for the caller to take from another secret of the same database. Username and
// password are required either way.
func ParseCredentials(data []byte) (s Secret, credentialsOnly bool, err error) {
	d, err := decodeOrdered(data)
	if err != nil {
		return Secret{}, false, err
	}
	raw := d.raw
	for _, k := range []string{"engine", "host", "port", "dbname"} {
		if _, ok := raw[k]; ok {
			s, err := parseDocument(d, true)
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
