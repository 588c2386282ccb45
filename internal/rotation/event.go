package rotation

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// The four steps Secrets Manager invokes, in order.
const (
	StepCreate = "createSecret"
	StepSet    = "setSecret"
	StepTest   = "testSecret"
	StepFinish = "finishSecret"
)

// Steps lists the steps in the order Secrets Manager runs them.
func Steps() []string { return []string{StepCreate, StepSet, StepTest, StepFinish} }

// Event is one invocation of the rotation function by Secrets Manager.
type Event struct {
	Step               string `json:"Step"`
	SecretID           string `json:"SecretId"`
	ClientRequestToken string `json:"ClientRequestToken"`
	// RotationToken proves to Secrets Manager that the caller was invoked by it; it is
	// passed on to PutSecretValue and never logged.
	RotationToken string `json:"RotationToken,omitempty"`
}

// String leaves the RotationToken out, so an Event can never print it.
func (e Event) String() string {
	return fmt.Sprintf("rotation event{step=%s secret=%s token=%s}", e.Step, e.SecretID, e.ClientRequestToken)
}

// ParseEvent decodes and validates an invocation payload. Errors wrap ErrInvalidEvent
// and say which field is wrong; they never quote the RotationToken.
func ParseEvent(data []byte) (Event, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return Event{}, fmt.Errorf("%w: payload is not a JSON object", ErrInvalidEvent)
	}
	if dec.More() {
		return Event{}, fmt.Errorf("%w: trailing data after the JSON object", ErrInvalidEvent)
	}
	var e Event
	for _, f := range []struct {
		key      string
		dst      *string
		required bool
	}{
		{"Step", &e.Step, true},
		{"SecretId", &e.SecretID, true},
		{"ClientRequestToken", &e.ClientRequestToken, true},
		{"RotationToken", &e.RotationToken, false},
	} {
		v, ok := raw[f.key]
		if !ok || string(v) == "null" {
			if f.required {
				return Event{}, fmt.Errorf("%w: field %q is missing", ErrInvalidEvent, f.key)
			}
			continue
		}
		if err := json.Unmarshal(v, f.dst); err != nil {
			return Event{}, fmt.Errorf("%w: field %q must be a string", ErrInvalidEvent, f.key)
		}
	}
	return e, e.Validate()
}

// Validate checks the fields of an event built in code.
func (e Event) Validate() error {
	switch e.Step {
	case StepCreate, StepSet, StepTest, StepFinish:
	default:
		return fmt.Errorf("%w: field \"Step\": %q is not one of createSecret, setSecret, testSecret, finishSecret", ErrInvalidEvent, clip(e.Step))
	}
	if e.SecretID == "" || len(e.SecretID) > 2048 || !printable(e.SecretID) {
		return fmt.Errorf("%w: field \"SecretId\" must be 1 to 2048 printable characters", ErrInvalidEvent)
	}
	// Secrets Manager's version ids (ClientRequestToken) are 32 to 64 characters.
	if n := len(e.ClientRequestToken); n < 32 || n > 64 || !printable(e.ClientRequestToken) {
		return fmt.Errorf("%w: field \"ClientRequestToken\" must be 32 to 64 printable ASCII characters, got %d bytes", ErrInvalidEvent, n)
	}
	if len(e.RotationToken) > 4096 || !printable(e.RotationToken) {
		return fmt.Errorf("%w: field \"RotationToken\" must be printable ASCII of at most 4096 bytes", ErrInvalidEvent)
	}
	return nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// clip keeps error messages short when a field holds garbage.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
