package callevent

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// Sentinel errors. Parse and Validate wrap ErrInvalidContent in a *FieldError.
var (
	ErrInvalidContent   = errors.New("invalid call event content")
	ErrUnknownEventType = errors.New("not a call event type")
)

// FieldError says which field of which event is wrong and why.
type FieldError struct {
	EventType string
	Field     string // JSON path, e.g. "offer.sdp" or "candidates[2].candidate"; "" = the whole content
	Reason    string
	Err       error
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: content %s", e.EventType, e.Reason)
	}
	return fmt.Sprintf("%s: field %s %s", e.EventType, e.Field, e.Reason)
}

func (e *FieldError) Unwrap() error { return e.Err }

// IsCallEventType reports whether evType is one of the VoIP event types this package reads.
func IsCallEventType(evType string) bool {
	_, ok := newContent(evType)
	return ok
}

func newContent(evType string) (Content, bool) {
	switch evType {
	case event.CallInvite.Type:
		return &Invite{}, true
	case event.CallCandidates.Type:
		return &Candidates{}, true
	case event.CallAnswer.Type:
		return &Answer{}, true
	case event.CallSelectAnswer.Type:
		return &SelectAnswer{}, true
	case event.CallReject.Type:
		return &Reject{}, true
	case event.CallNegotiate.Type:
		return &Negotiate{}, true
	case event.CallHangup.Type:
		return &Hangup{}, true
	case TypeSDPStreamMetadataChanged.Type, TypeSDPStreamMetadataChangedUnstable.Type:
		return &StreamMetadataChanged{}, true
	}
	return nil, false
}

// aliases are the alternative field names other clients use.
type aliases struct {
	UnstableMetadata StreamMetadataMap `json:"org.matrix.msc3077.sdp_stream_metadata"`
	Offer            *Description      `json:"offer"` // negotiate per seed 001's schema
}

// Parse decodes and validates the content of a VoIP event. It never panics; a content it
// cannot use gives a *FieldError wrapping ErrInvalidContent.
func Parse(evType string, content []byte) (Content, error) {
	c, ok := newContent(evType)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownEventType, evType)
	}
	if err := json.Unmarshal(content, c); err != nil {
		return nil, jsonError(evType, err)
	}
	if isNull(content) {
		return nil, &FieldError{EventType: evType, Reason: "is null, want an object", Err: ErrInvalidContent}
	}
	var alt aliases
	_ = json.Unmarshal(content, &alt) // the first Unmarshal proved content is an object
	switch x := c.(type) {
	case *Invite:
		if x.StreamMetadata == nil {
			x.StreamMetadata = alt.UnstableMetadata
		}
		if x.Offer.Type == "" {
			x.Offer.Type = "offer" // receivers must not validate type, just use it
		}
	case *Answer:
		if x.StreamMetadata == nil {
			x.StreamMetadata = alt.UnstableMetadata
		}
		if x.Answer.Type == "" {
			x.Answer.Type = "answer"
		}
	case *Negotiate:
		if x.StreamMetadata == nil {
			x.StreamMetadata = alt.UnstableMetadata
		}
		if x.Description == (Description{}) && alt.Offer != nil {
			x.Description = *alt.Offer
		}
	case *StreamMetadataChanged:
		if x.StreamMetadata == nil {
			x.StreamMetadata = alt.UnstableMetadata
		}
	case *Hangup:
		if x.Reason == "" {
			x.Reason = ReasonUserHangup // "a missing value should be treated as user_hangup"
		}
	}
	if err := validate(evType, c); err != nil {
		return nil, err
	}
	return c, nil
}

func isNull(b []byte) bool {
	var v any
	return json.Unmarshal(b, &v) == nil && v == nil
}

func jsonError(evType string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := strings.TrimPrefix(te.Field, "Base.") // the embedded common fields
		return &FieldError{EventType: evType, Field: field, Reason: fmt.Sprintf("has the wrong JSON type (%s, want %s)", te.Value, te.Type), Err: ErrInvalidContent}
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe
	}
	return &FieldError{EventType: evType, Reason: "is not valid JSON: " + err.Error(), Err: ErrInvalidContent}
}

// Validate checks a content against the rules a sender must follow and a receiver needs
// to use it. Ringo validates what it sends too (strict writing).
func Validate(c Content) error {
	return validate(c.EventType().Type, c)
}

func validate(evType string, c Content) error {
	bad := func(field, reason string) error {
		return &FieldError{EventType: evType, Field: field, Reason: reason, Err: ErrInvalidContent}
	}
	b := c.CallBase()
	if b.CallID == "" {
		return bad("call_id", "is required")
	}
	if !ValidID(b.CallID) {
		return bad("call_id", "must be 1-255 characters of [0-9a-zA-Z._~-]")
	}
	if b.PartyID != "" && !ValidID(b.PartyID) {
		return bad("party_id", "must be 1-255 characters of [0-9a-zA-Z._~-]")
	}
	switch x := c.(type) {
	case *Invite:
		if x.Offer.SDP == "" {
			return bad("offer.sdp", "is required")
		}
		if x.Lifetime < 0 {
			return bad("lifetime", "must not be negative")
		}
		if x.Invitee != "" {
			if _, _, err := id.UserID(x.Invitee).Parse(); err != nil {
				return bad("invitee", "is not a Matrix user id")
			}
		}
	case *Answer:
		if x.Answer.SDP == "" {
			return bad("answer.sdp", "is required")
		}
	case *Candidates:
		if x.Candidates == nil {
			return bad("candidates", "is required")
		}
		for i, cand := range x.Candidates {
			if cand.missing {
				return bad(fmt.Sprintf("candidates[%d].candidate", i), "is required")
			}
		}
	case *SelectAnswer:
		if !ValidID(x.SelectedPartyID) {
			return bad("selected_party_id", "must be 1-255 characters of [0-9a-zA-Z._~-]")
		}
	case *Negotiate:
		if x.Description.SDP == "" {
			return bad("description.sdp", "is required")
		}
		if x.Description.Type != "offer" && x.Description.Type != "answer" {
			return bad("description.type", `must be "offer" or "answer"`)
		}
		if x.Lifetime < 0 {
			return bad("lifetime", "must not be negative")
		}
	}
	return nil
}
