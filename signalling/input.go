package signalling

import (
	"encoding/json"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// RoomEvent is one timeline event as the engine needs it, from a sync batch (standalone
// mode) or from the widget host. Content is the raw JSON content; the engine decodes and
// validates it itself so that bad input is refused in one place.
type RoomEvent struct {
	Type           event.Type
	Sender         id.UserID
	EventID        id.EventID
	RoomID         id.RoomID
	OriginServerTS int64 // milliseconds since the epoch, the server's clock
	// Age is unsigned.age in milliseconds when the server sent it (Dendrite never does),
	// measured at ReceivedAt.
	Age        *int64
	ReceivedAt time.Time // local clock, when the batch arrived
	StateKey   *string
	Content    json.RawMessage
}

// Batch is everything one sync response (or one quiet period in widget mode) brought for
// one room. Incoming invites ring only after the whole batch has been seen.
type Batch struct {
	Events []RoomEvent
	// ServerClockOffset is the server's clock minus ours (from the Date header of the
	// sync response), used to judge an invite's age when there is no unsigned.age.
	ServerClockOffset time.Duration
	// Initial marks the first sync after start-up: still-live stored invites ring only
	// after it completes.
	Initial bool
}

// Membership is a member's state in the room, from m.room.member events.
type Membership string

const (
	MembershipJoin   Membership = "join"
	MembershipLeave  Membership = "leave"
	MembershipInvite Membership = "invite"
	MembershipBan    Membership = "ban"
	MembershipKnock  Membership = "knock"
)
