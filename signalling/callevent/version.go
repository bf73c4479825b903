// Package callevent holds the contents of the Matrix VoIP events (spec VoIP module,
// version "1", MSC2746), with the group-call fields of MSC3401 ready for to-device use.
//
// Reading is tolerant and writing is strict (PROTOCOL.md §7): an event is rejected only
// when it cannot be used (bad call_id/party_id grammar, an invite or answer without SDP,
// wrong JSON types); everything else gets the spec's defaults. Errors say which field.
package callevent

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// Version is the VoIP spec version an event adheres to.
type Version int

const (
	// V0 is the original VoIP module: no party_id, select_answer, reject or negotiate.
	V0 Version = iota
	// V1 is MSC2746 (spec v1.7). Any version other than 0 or "0" is read as V1
	// ("If clients see events with version other than 0 or "1" ... treat these the same
	// as if they had version == "1"").
	V1
)

func (v Version) String() string {
	switch v {
	case V0:
		return "0"
	default:
		return "1"
	}
}

// MarshalJSON writes V1 as the string "1" (numeric 1 breaks strict peers) and V0 as 0.
func (v Version) MarshalJSON() ([]byte, error) {
	if v == V0 {
		return []byte("0"), nil
	}
	return []byte(`"1"`), nil
}

// UnmarshalJSON reads 0 and "0" as V0, null as V0 (a missing field), anything else as V1.
func (v *Version) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*v = V0
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = V1
		if s == "0" {
			*v = V0
		}
	default:
		*v = V1
		if f, err := strconv.ParseFloat(string(b), 64); err == nil && f == 0 {
			*v = V0
		}
	}
	return nil
}
