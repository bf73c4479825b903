package signalling

import (
	"time"

	"maunium.net/go/mautrix/id"
)

// Direction says who placed a call.
type Direction int

const (
	DirectionUnknown Direction = iota
	DirectionOutbound
	DirectionInbound
)

func (d Direction) String() string {
	switch d {
	case DirectionOutbound:
		return "outbound"
	case DirectionInbound:
		return "inbound"
	default:
		return "unknown"
	}
}

// EndReason says why a call ended: a hangup reason as sent on the wire (spec VoIP module:
// ice_failed, ice_timeout, invite_timeout, user_hangup, user_media_failed, user_busy,
// unknown_error, plus what other clients send, e.g. replaced) or one of the local reasons
// below.
type EndReason string

const (
	EndAnsweredElsewhere EndReason = "answered_elsewhere" // another device of ours answered, or the caller picked another party
	EndRejected          EndReason = "rejected"           // the callee rejected (or left before answering), or we did
	EndReplaced          EndReason = "replaced"           // glare: this call gave way to the other one
	EndUserHangup        EndReason = "user_hangup"
	EndInviteTimeout     EndReason = "invite_timeout"
	EndICEFailed         EndReason = "ice_failed"
	EndICETimeout        EndReason = "ice_timeout"
	EndUserMediaFailed   EndReason = "user_media_failed"
	EndUserBusy          EndReason = "user_busy"
	EndUnknownError      EndReason = "unknown_error"
)

// Party says which side did something.
type Party int

const (
	PartyUnknown Party = iota
	PartyLocal
	PartyRemote
)

func (p Party) String() string {
	switch p {
	case PartyLocal:
		return "local"
	case PartyRemote:
		return "remote"
	default:
		return "unknown"
	}
}

// CallInfo is a snapshot of one call for the UI. The engine sends a fresh one on every
// change; the UI never reads engine state any other way.
type CallInfo struct {
	CallID    string
	Room      id.RoomID
	Direction Direction
	State     CallState
	Peer      id.UserID // the other user
	Kind      MediaKind // what was offered: voice or video

	LocalHold  bool // we put the call on hold
	RemoteHold bool // the other side did

	AudioMuted       bool
	VideoMuted       bool
	RemoteAudioMuted bool
	RemoteVideoMuted bool
	RemoteStreamID   string // the first remote stream with tracks, "" until one arrives
	RemoteHasVideo   bool

	EndReason EndReason // set once State is StateEnded
	EndedBy   Party

	CreatedAt   time.Time
	ConnectedAt time.Time // zero until first connected
	EndedAt     time.Time
}

// IgnoreReason says why an incoming invite did not ring.
type IgnoreReason string

const (
	IgnoreNotForUs       IgnoreReason = "not_for_us"      // invitee is another user
	IgnoreExpired        IgnoreReason = "expired"         // not live long enough to answer
	IgnoreEndedInBatch   IgnoreReason = "ended_in_batch"  // answered, rejected or hung up in the same sync batch
	IgnorePolicy         IgnoreReason = "policy"          // the ring policy said no (e.g. a public room)
	IgnoreGlareLoser     IgnoreReason = "glare"           // crossed with our own call, which survives
	IgnoreAlreadyHandled IgnoreReason = "already_handled" // a call we know already
)

// Observer receives what the UI needs. It is called on the engine's loop goroutine and
// must not block.
type Observer interface {
	CallUpdated(info CallInfo)
	InviteIgnored(callID string, from id.UserID, why IgnoreReason)
	// Problem reports something the user should be told that does not end a call (a
	// message that could not be sent, a negotiation that failed).
	Problem(callID string, err error)
}
