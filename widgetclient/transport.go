package widgetclient

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/pion/webrtc/v3"
	"maunium.net/go/mautrix/id"

	"ringo/matrixclient"
	"ringo/signalling"
)

// QuietPeriod ends a batch in widget mode: the host pushes events one by one, so an
// invite rings only after this long without further call events (PROTOCOL.md §7).
const QuietPeriod = 250 * time.Millisecond

// ErrCannotCall is reported when the host denied what calling needs.
var ErrCannotCall = errors.New("the Matrix client did not allow Ringo to send and receive call events in this room; allow them in the widget's permissions")

// Transport is the app's Backend in widget mode: the host client signals for us.
type Transport struct {
	c     *Client
	p     Params
	clock signalling.Clock

	mu       sync.Mutex
	h        matrixclient.Handler
	members  map[id.UserID]signalling.Membership
	names    map[id.UserID]string
	public   bool
	batch    []signalling.RoomEvent
	quiet    signalling.Timer
	turn     []webrtc.ICEServer
	state    map[string]matrixclient.StateEvent // group call state by type + "|" + state key
	turnCh   chan struct{}
	ready    chan struct{}
	readyErr error
}

// NewTransport wires a Client to the engine.
func NewTransport(c *Client, p Params, clock signalling.Clock) *Transport {
	t := &Transport{c: c, p: p, clock: clock, members: map[id.UserID]signalling.Membership{}, names: map[id.UserID]string{}, state: map[string]matrixclient.StateEvent{},
		turnCh: make(chan struct{}), ready: make(chan struct{})}
	c.SetHandler(t)
	return t
}

// Whoami implements app.Backend.
func (t *Transport) Whoami() (id.UserID, id.DeviceID) { return t.p.UserID, t.p.DeviceID }

// Sender implements app.Backend.
func (t *Transport) Sender() signalling.Sender { return t }

// Send implements signalling.Sender through send_event / send_to_device.
func (t *Transport) Send(msg signalling.OutgoingMessage, done func(error)) {
	if len(msg.Target.Devices) > 0 {
		messages := msg.Target.Messages(msg.Content)
		t.c.SendToDevice(msg.Type.Type, messages, func(err error) { done(sendErr(err)) })
		return
	}
	t.c.SendEvent(msg.Type.Type, msg.Content, func(_ string, err error) { done(sendErr(err)) })
}

// permanent marks errors retrying cannot fix (a denied capability).
type permanent struct{ error }

func (permanent) Permanent() bool { return true }
func (p permanent) Unwrap() error { return p.error }

func sendErr(err error) error {
	if errors.Is(err, ErrCapabilityDenied) {
		return permanent{err}
	}
	return err
}

// TURN implements app.Backend: the servers the host pushes after watch_turn_servers.
func (t *Transport) TURN(ctx context.Context) ([]webrtc.ICEServer, time.Duration, error) {
	select {
	case <-t.ready:
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	if !t.c.Approved(CapTURN) {
		return nil, 0, matrixclient.ErrNoTURN
	}
	select {
	case <-t.turnCh:
	case <-ctx.Done():
		return nil, 0, matrixclient.ErrNoTURN
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.turn) == 0 {
		return nil, 0, matrixclient.ErrNoTURN
	}
	// The host pushes updates itself; ask again in an hour.
	return append([]webrtc.ICEServer(nil), t.turn...), time.Hour, nil
}

// Run implements app.Backend: it says we are loaded, waits for the capability
// handshake, reads the room's members and recent call events, then feeds the engine
// until ctx ends.
func (t *Transport) Run(ctx context.Context, h matrixclient.Handler) error {
	t.mu.Lock()
	t.h = h
	t.mu.Unlock()
	t.c.ContentLoaded()
	select {
	case <-t.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	if t.readyErr != nil {
		h.Status(t.readyErr)
	} else {
		h.Status(nil)
	}
	t.c.ReadEvents("m.room.member", AllStateKeys, 100, func(evs []json.RawMessage, err error) {
		if err != nil {
			return
		}
		for _, ev := range evs {
			t.RoomEvent(ev)
		}
		t.roomsChanged()
	})
	for _, typ := range []string{"m.call", "org.matrix.msc3401.call", "m.call.member", "org.matrix.msc3401.call.member"} {
		t.c.ReadEvents(typ, AllStateKeys, 100, func(evs []json.RawMessage, err error) {
			for _, ev := range evs {
				t.RoomEvent(ev)
			}
		})
	}
	t.c.WatchTURN(func(error) {})
	// Recent call events, so an invite sent before the widget loaded can still ring.
	var initial []signalling.RoomEvent
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, typ := range []string{"m.call.invite", "m.call.answer", "m.call.hangup", "m.call.reject", "m.call.select_answer"} {
		wg.Add(1)
		t.c.ReadEvents(typ, nil, 10, func(evs []json.RawMessage, err error) {
			defer wg.Done()
			for _, raw := range evs {
				if ev, ok := t.toRoomEvent(raw); ok {
					mu.Lock()
					initial = append(initial, ev)
					mu.Unlock()
				}
			}
		})
	}
	go func() {
		wg.Wait()
		mu.Lock()
		evs := initial
		mu.Unlock()
		if len(evs) > 0 {
			sortByTS(evs)
			h.RoomBatch(t.p.RoomID, signalling.Batch{Events: evs, Initial: true})
		}
	}()
	<-ctx.Done()
	return ctx.Err()
}

func sortByTS(evs []signalling.RoomEvent) {
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && evs[j].OriginServerTS < evs[j-1].OriginServerTS; j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
}

// ---- Handler (host pushes) ----

// Capabilities ends the handshake.
func (t *Transport) Capabilities(approved []string) {
	ok := map[string]bool{}
	for _, a := range approved {
		ok[a] = true
	}
	var err error
	for _, need := range RequiredToCall() {
		if !ok[need] {
			err = ErrCannotCall
		}
	}
	t.mu.Lock()
	select {
	case <-t.ready:
	default:
		t.readyErr = err
		close(t.ready)
	}
	t.mu.Unlock()
}

// TURNServers stores TURN servers the host pushed. An empty URI list means no TURN.
func (t *Transport) TURNServers(s TURNServers) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.turn = nil
	if len(s.URIs) > 0 {
		t.turn = []webrtc.ICEServer{{URLs: s.URIs, Username: s.Username, Credential: s.Password}}
	}
	select {
	case <-t.turnCh:
	default:
		close(t.turnCh)
	}
}

// RoomEvent takes a pushed room event (timeline or state).
func (t *Transport) RoomEvent(raw json.RawMessage) {
	ev, ok := t.toRoomEvent(raw)
	if !ok {
		return
	}
	if ev.StateKey != nil {
		var c struct {
			Membership  string `json:"membership"`
			JoinRule    string `json:"join_rule"`
			DisplayName string `json:"displayname"`
		}
		_ = json.Unmarshal(ev.Content, &c)
		switch ev.Type.Type {
		case "m.room.member":
			t.mu.Lock()
			t.members[id.UserID(*ev.StateKey)] = signalling.Membership(c.Membership)
			t.names[id.UserID(*ev.StateKey)] = c.DisplayName
			t.mu.Unlock()
			t.roomsChanged()
		case "m.room.join_rules":
			t.mu.Lock()
			t.public = c.JoinRule == "public"
			t.mu.Unlock()
			t.roomsChanged()
		case "m.call", "org.matrix.msc3401.call", "m.call.member", "org.matrix.msc3401.call.member":
			t.mu.Lock()
			t.state[ev.Type.Type+"|"+*ev.StateKey] = matrixclient.StateEvent{Type: ev.Type.Type, StateKey: *ev.StateKey,
				Sender: ev.Sender, Timestamp: ev.OriginServerTS, Content: ev.Content}
			t.mu.Unlock()
			t.roomsChanged()
		}
	}
	t.mu.Lock()
	t.batch = append(t.batch, ev)
	if t.quiet != nil {
		t.quiet.Stop()
	}
	t.quiet = t.clock.AfterFunc(QuietPeriod, t.flush)
	t.mu.Unlock()
}

// flush hands the events of a quiet period to the engine as one batch.
func (t *Transport) flush() {
	t.mu.Lock()
	evs := t.batch
	t.batch = nil
	t.quiet = nil
	h := t.h
	t.mu.Unlock()
	if len(evs) > 0 && h != nil {
		h.RoomBatch(t.p.RoomID, signalling.Batch{Events: evs})
	}
}

func (t *Transport) roomsChanged() {
	t.mu.Lock()
	h := t.h
	members := make(map[id.UserID]signalling.Membership, len(t.members))
	for u, m := range t.members {
		members[u] = m
	}
	names := make(map[id.UserID]string, len(t.names))
	for u, n := range t.names {
		if n != "" {
			names[u] = n
		}
	}
	public := t.public
	var cs []matrixclient.StateEvent
	for _, e := range t.state {
		cs = append(cs, e)
	}
	t.mu.Unlock()
	if h != nil {
		h.RoomsChanged([]matrixclient.Room{{ID: t.p.RoomID, Name: "This room", Public: public, Members: members, Names: names, CallState: cs}})
	}
}

// ToDevice takes a to-device message the host pushed (group call signalling).
func (t *Transport) ToDevice(raw json.RawMessage) {
	var e matrixclient.RawEvent
	if err := json.Unmarshal(raw, &e); err != nil || e.Type == "" || e.Sender == "" {
		return
	}
	t.mu.Lock()
	h := t.h
	t.mu.Unlock()
	if h != nil {
		h.ToDevice([]signalling.RoomEvent{e.RoomEvent("", t.clock.Now())})
	}
}

// SendState sets a state event through the host (group calls: call and member events).
func (t *Transport) SendState(ctx context.Context, room id.RoomID, evType, stateKey string, content any) error {
	done := make(chan error, 1)
	t.c.SendStateEvent(evType, stateKey, content, func(err error) { done <- err })
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ElementAction handles Element's call-widget actions (acknowledged; nothing to do for 1:1).
func (t *Transport) ElementAction(string, json.RawMessage) {}

// toRoomEvent decodes a client-format event of our room.
func (t *Transport) toRoomEvent(raw json.RawMessage) (signalling.RoomEvent, bool) {
	var e matrixclient.RawEvent
	if err := json.Unmarshal(raw, &e); err != nil || e.Type == "" || e.Sender == "" {
		return signalling.RoomEvent{}, false
	}
	if e.RoomID != "" && e.RoomID != t.p.RoomID {
		return signalling.RoomEvent{}, false
	}
	return e.RoomEvent(t.p.RoomID, t.clock.Now()), true
}
