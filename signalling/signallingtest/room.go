package signallingtest

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"maunium.net/go/mautrix/id"

	"ringo/signalling"
)

// Room is an in-memory Matrix room joining several engines: what one sends is delivered
// to every member (its own devices too, so echo handling is exercised), one event per
// batch, optionally delayed or reordered.
type Room struct {
	mu      sync.Mutex
	ID      id.RoomID
	Clock   signalling.Clock
	members []roomMember
	n       int
	// Delay, when set, delays each delivery to one member (reordering happens when
	// delays differ). Deliveries go through Clock.AfterFunc.
	Delay func(ev signalling.RoomEvent, to id.UserID, toDevice string) time.Duration
	// Log receives every delivered event type, in send order.
	Log []signalling.RoomEvent
}

type roomMember struct {
	user   id.UserID
	device string
	mgr    *signalling.Manager
}

// NewRoom makes an empty room.
func NewRoom(roomID id.RoomID, clock signalling.Clock) *Room {
	return &Room{ID: roomID, Clock: clock}
}

// Join adds an engine (one device of user) to the room.
func (r *Room) Join(user id.UserID, device string, mgr *signalling.Manager) {
	r.mu.Lock()
	r.members = append(r.members, roomMember{user, device, mgr})
	r.mu.Unlock()
}

// Sender returns the signalling.Sender of user's device: every send succeeds and is
// delivered to all members.
func (r *Room) Sender(user id.UserID) signalling.Sender { return &roomSender{r: r, user: user} }

type roomSender struct {
	r    *Room
	user id.UserID
}

func (s *roomSender) Send(msg signalling.OutgoingMessage, done func(error)) {
	raw, err := json.Marshal(msg.Content)
	if err != nil {
		done(err)
		return
	}
	s.r.deliver(s.user, msg, raw)
	done(nil)
}

func (r *Room) deliver(sender id.UserID, msg signalling.OutgoingMessage, raw []byte) {
	r.mu.Lock()
	r.n++
	ev := signalling.RoomEvent{
		Type: msg.Type, Sender: sender, EventID: id.EventID(fmt.Sprintf("$ev%d", r.n)), RoomID: r.ID,
		OriginServerTS: r.Clock.Now().UnixMilli(), ReceivedAt: r.Clock.Now(), Content: raw,
	}
	r.Log = append(r.Log, ev)
	members := append([]roomMember(nil), r.members...)
	delay := r.Delay
	r.mu.Unlock()
	for _, m := range members {
		m := m
		if delay != nil {
			if d := delay(ev, m.user, m.device); d > 0 {
				r.Clock.AfterFunc(d, func() {
					e := ev
					e.ReceivedAt = r.Clock.Now()
					m.mgr.HandleBatch(signalling.Batch{Events: []signalling.RoomEvent{e}})
				})
				continue
			}
		}
		m.mgr.HandleBatch(signalling.Batch{Events: []signalling.RoomEvent{ev}})
	}
}

// Types lists the delivered event types sent by user, in order.
func (r *Room) Types(user id.UserID) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.Log {
		if ev.Sender == user {
			out = append(out, ev.Type.Type)
		}
	}
	return out
}

// Events returns everything delivered so far.
func (r *Room) Events() []signalling.RoomEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]signalling.RoomEvent(nil), r.Log...)
}
