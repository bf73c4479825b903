package callevent

import (
	"encoding/json"

	"github.com/pion/webrtc/v3"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// Event types beyond mautrix's: the mute-state change of MSC3077, under its stable name
// (what Ringo sends) and the unstable one matrix-js-sdk also reads and older clients send.
var (
	TypeSDPStreamMetadataChanged         = event.Type{Type: "m.call.sdp_stream_metadata_changed", Class: event.MessageEventType}
	TypeSDPStreamMetadataChangedUnstable = event.Type{Type: "org.matrix.call.sdp_stream_metadata_changed", Class: event.MessageEventType}
)

// Base holds the fields every VoIP event carries (spec "Common Fields"), plus the
// MSC3401 fields that group calls add to to-device messages.
type Base struct {
	CallID  string  `json:"call_id"`
	PartyID string  `json:"party_id,omitempty"`
	Version Version `json:"version"`

	// MSC3401 (group calls, to-device signalling).
	ConfID          string  `json:"conf_id,omitempty"`
	DeviceID        string  `json:"device_id,omitempty"`
	SenderSessionID string  `json:"sender_session_id,omitempty"`
	DestSessionID   string  `json:"dest_session_id,omitempty"`
	Seq             *uint64 `json:"seq,omitempty"`
}

// CallBase gives access to the common fields of any content.
func (b *Base) CallBase() *Base { return b }

// Content is any VoIP event content.
type Content interface {
	CallBase() *Base
	EventType() event.Type
}

// Description is an RTCSessionDescriptionInit: the offer of an invite, the answer of an
// answer, either in a negotiate.
type Description struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

// ToWebRTC converts to pion's session description.
func (d Description) ToWebRTC() webrtc.SessionDescription {
	return webrtc.SessionDescription{Type: webrtc.NewSDPType(d.Type), SDP: d.SDP}
}

// FromWebRTC converts from pion's session description.
func FromWebRTC(d webrtc.SessionDescription) Description {
	return Description{Type: d.Type.String(), SDP: d.SDP}
}

// Candidate is one ICE candidate (an RTCIceCandidateInit). An empty Candidate string is
// the end-of-candidates marker (spec "End-of-candidates"); it may come without sdpMid
// and sdpMLineIndex.
type Candidate struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`

	missing bool // the candidate field was absent (so this is not an end marker)
}

// UnmarshalJSON remembers whether the candidate field was present, so that a missing
// field is not mistaken for the end-of-candidates marker.
func (c *Candidate) UnmarshalJSON(b []byte) error {
	type plain struct {
		Candidate        *string `json:"candidate"`
		SDPMid           *string `json:"sdpMid"`
		SDPMLineIndex    *uint16 `json:"sdpMLineIndex"`
		UsernameFragment *string `json:"usernameFragment"`
	}
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*c = Candidate{SDPMid: p.SDPMid, SDPMLineIndex: p.SDPMLineIndex, UsernameFragment: p.UsernameFragment}
	if p.Candidate == nil {
		c.missing = true
	} else {
		c.Candidate = *p.Candidate
	}
	return nil
}

// IsEndOfCandidates reports whether this is the end-of-candidates marker.
func (c Candidate) IsEndOfCandidates() bool { return c.Candidate == "" }

// ToICE converts to pion's candidate init.
func (c Candidate) ToICE() webrtc.ICECandidateInit {
	return webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
}

// CandidateFromICE converts from pion's candidate init.
func CandidateFromICE(c webrtc.ICECandidateInit) Candidate {
	return Candidate{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
}

// Purpose says what a stream carries (MSC3077).
type Purpose string

// Stream purposes.
const (
	PurposeUserMedia   Purpose = "m.usermedia"
	PurposeScreenshare Purpose = "m.screenshare"
)

// StreamMetadata describes one stream of the sender (MSC3077).
type StreamMetadata struct {
	Purpose    Purpose `json:"purpose"`
	AudioMuted bool    `json:"audio_muted"`
	VideoMuted bool    `json:"video_muted"`
}

// StreamMetadataMap maps stream ids (MediaStream.id) to their metadata.
type StreamMetadataMap map[string]StreamMetadata

// Capabilities are what the sender supports (matrix-js-sdk's invite/answer field).
type Capabilities struct {
	Transferee bool `json:"m.call.transferee"`
	DTMF       bool `json:"m.call.dtmf"`
}

// HangupReason is the reason field of m.call.hangup.
type HangupReason string

// Hangup reasons: the spec's (m.call.hangup schema) and those other clients send.
// Unknown reasons are kept as given.
const (
	ReasonICEFailed         HangupReason = "ice_failed"
	ReasonICETimeout        HangupReason = "ice_timeout"
	ReasonInviteTimeout     HangupReason = "invite_timeout"
	ReasonUserHangup        HangupReason = "user_hangup"
	ReasonUserMediaFailed   HangupReason = "user_media_failed"
	ReasonUserBusy          HangupReason = "user_busy"
	ReasonUnknownError      HangupReason = "unknown_error"
	ReasonReplaced          HangupReason = "replaced"
	ReasonNewSession        HangupReason = "new_session"
	ReasonSignallingTimeout HangupReason = "signalling_timeout"
)

// Invite is m.call.invite.
type Invite struct {
	Base
	Offer          Description       `json:"offer"`
	Lifetime       int64             `json:"lifetime"` // milliseconds
	Invitee        id.UserID         `json:"invitee,omitempty"`
	Capabilities   *Capabilities     `json:"capabilities,omitempty"`
	StreamMetadata StreamMetadataMap `json:"sdp_stream_metadata,omitempty"`
}

// Candidates is m.call.candidates.
type Candidates struct {
	Base
	Candidates []Candidate `json:"candidates"`
}

// Answer is m.call.answer.
type Answer struct {
	Base
	Answer         Description       `json:"answer"`
	Capabilities   *Capabilities     `json:"capabilities,omitempty"`
	StreamMetadata StreamMetadataMap `json:"sdp_stream_metadata,omitempty"`
}

// SelectAnswer is m.call.select_answer.
type SelectAnswer struct {
	Base
	SelectedPartyID string `json:"selected_party_id"`
}

// Reject is m.call.reject. It has no reason: a rejection is always the user's choice.
type Reject struct {
	Base
}

// Negotiate is m.call.negotiate. Its SDP is read from "description" (spec prose) or
// "offer" (seed 001's schema and example) and always written as "description".
type Negotiate struct {
	Base
	Description    Description       `json:"description"`
	Lifetime       int64             `json:"lifetime,omitempty"` // milliseconds
	StreamMetadata StreamMetadataMap `json:"sdp_stream_metadata,omitempty"`
}

// Hangup is m.call.hangup. A missing reason reads as user_hangup.
type Hangup struct {
	Base
	Reason HangupReason `json:"reason"`
}

// StreamMetadataChanged is m.call.sdp_stream_metadata_changed (MSC3077).
type StreamMetadataChanged struct {
	Base
	StreamMetadata StreamMetadataMap `json:"sdp_stream_metadata"`
}

// EventType methods name each content's event type.
func (*Invite) EventType() event.Type                { return event.CallInvite }
func (*Candidates) EventType() event.Type            { return event.CallCandidates }
func (*Answer) EventType() event.Type                { return event.CallAnswer }
func (*SelectAnswer) EventType() event.Type          { return event.CallSelectAnswer }
func (*Reject) EventType() event.Type                { return event.CallReject }
func (*Negotiate) EventType() event.Type             { return event.CallNegotiate }
func (*Hangup) EventType() event.Type                { return event.CallHangup }
func (*StreamMetadataChanged) EventType() event.Type { return TypeSDPStreamMetadataChanged }
