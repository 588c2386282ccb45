package cloudtrail

import (
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// ErrNotPlain: Fields reads only objects without escapes or control characters; the
// caller decodes such an object with encoding/json.
var ErrNotPlain = errors.New("object has escapes or control characters")

// Fields calls field with each member of the JSON object raw (requestParameters,
// responseElements): its key and its value's bytes. It reports false, calling nothing,
// when raw is empty, null or not an object. It reads only plain JSON, as AWS writes it
// (no backslash, no byte below 0x20 anywhere: ErrNotPlain before any call), and stops at
// malformed JSON with an error, possibly after some calls. It is the rules' way to read
// the few parameters they need without decoding the whole object through encoding/json.
func Fields(raw json.RawMessage, field func(key string, value json.RawMessage)) (bool, error) {
	for _, c := range raw {
		if c < 0x20 || c == '\\' {
			return false, ErrNotPlain
		}
	}
	p := parser{b: raw}
	if p.peek() != '{' {
		return false, nil
	}
	err := p.object("", func(key []byte) error {
		start, err := p.skip()
		if err != nil {
			return err
		}
		field(string(key), json.RawMessage(p.b[start:p.i]))
		return nil
	})
	if err == nil && p.peek() != 0 {
		err = p.fail("data after the object")
	}
	return err == nil, err
}

// Str returns the JSON string value unquoted, as encoding/json would (invalid UTF-8
// becomes U+FFFD); false for any other value, null included.
func Str(value json.RawMessage) (string, bool) {
	p := parser{b: value}
	if p.peek() != '"' {
		return "", false
	}
	start := p.i
	raw, esc, err := p.rawString()
	if err != nil || p.peek() != 0 {
		return "", false
	}
	if !esc && utf8.Valid(raw) {
		return string(raw), true
	}
	var s string
	if json.Unmarshal(p.b[start:p.i], &s) != nil {
		return "", false
	}
	return s, true
}
