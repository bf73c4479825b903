// Package app wires Ringo together in standalone mode: the homeserver client's sync
// feeds one call manager per room, the managers' reports become the UI's model, and the
// user's commands go to the right manager. It builds natively and for js/wasm; the
// browser-only parts (peer connections, getUserMedia, the DOM) come in as ports, so the
// native end-to-end suite runs this same code with native pion.
package app

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/pion/webrtc/v3"
	"maunium.net/go/mautrix/id"

	"ringo/matrixclient"
	"ringo/signalling"
)

// Deps are the ports and settings of a Controller.
type Deps struct {
	NewPeer    signalling.PeerFactory
	Media      signalling.Media
	Clock      signalling.Clock
	ForceRelay func() bool // iceTransportPolicy relay for new calls; nil: never
	// Tuning passed to every manager (zero values take the engine's defaults).
	InviteLifetime time.Duration
	MinRingTime    time.Duration
	Logf           func(format string, args ...any)
	// OnChange is called (from any goroutine, never concurrently) with a fresh snapshot.
	OnChange func(State)
}

// State is everything the UI shows, as plain data.
type State struct {
	Me      id.UserID
	Online  bool
	Offline string // why the homeserver cannot be reached ("" when online)
	Rooms   []matrixclient.Room
	Calls   []signalling.CallInfo // newest last; ended calls stay until dismissed
	Ignored []IgnoredInvite
	Notice  string // the latest problem worth telling the user
	TURN    bool   // TURN servers are available
}

// IgnoredInvite is an invite that did not ring, shown as such (spec: annotate ignored invites).
type IgnoredInvite struct {
	Room   id.RoomID
	CallID string
	From   id.UserID
	Why    signalling.IgnoreReason
}

// Backend is where calls are signalled: the homeserver (standalone mode,
// *matrixclient.Client) or the widget host (widget mode).
type Backend interface {
	// Run delivers room batches, room lists and status to h until ctx ends.
	Run(ctx context.Context, h matrixclient.Handler) error
	Sender() signalling.Sender
	// TURN returns ICE servers and how long they stay valid; matrixclient.ErrNoTURN when
	// there are none.
	TURN(ctx context.Context) ([]webrtc.ICEServer, time.Duration, error)
	Whoami() (id.UserID, id.DeviceID)
}

// ErrNoRoom means a command named a room we are not in.
var ErrNoRoom = errors.New("app: not in that room")

// Controller runs a standalone session.
type Controller struct {
	client Backend
	me     id.UserID
	device id.DeviceID
	deps   Deps
	ctx    context.Context

	mu       sync.Mutex
	managers map[id.RoomID]*signalling.Manager
	state    State
	ice      []webrtc.ICEServer
	notify   sync.Mutex // serializes OnChange
	group    *groupState
}

// Start begins syncing and returns at once. Everything stops when ctx ends.
func Start(ctx context.Context, client Backend, deps Deps) *Controller {
	if deps.Logf == nil {
		deps.Logf = func(string, ...any) {}
	}
	if deps.OnChange == nil {
		deps.OnChange = func(State) {}
	}
	c := &Controller{client: client, deps: deps, ctx: ctx, managers: map[id.RoomID]*signalling.Manager{}}
	c.me, c.device = client.Whoami()
	c.state.Me = c.me
	go c.refreshTURN(ctx)
	go func() { _ = client.Run(ctx, handler{c}) }()
	return c
}

// refreshTURN fetches TURN servers now and again before they expire.
func (c *Controller) refreshTURN(ctx context.Context) {
	delay := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		servers, ttl, err := c.client.TURN(rctx)
		cancel()
		switch {
		case errors.Is(err, matrixclient.ErrNoTURN):
			c.deps.Logf("no TURN server from the homeserver; calls use direct paths only")
			return
		case err != nil:
			c.deps.Logf("fetching TURN servers: %v", err)
			delay = 30 * time.Second
			continue
		}
		c.mu.Lock()
		c.ice = servers
		c.state.TURN = true
		c.mu.Unlock()
		c.changed()
		delay = ttl * 9 / 10
		if delay < time.Minute {
			delay = time.Minute
		}
	}
}

func (c *Controller) iceServers() []webrtc.ICEServer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]webrtc.ICEServer(nil), c.ice...)
}

// manager returns the room's manager, creating and starting it on first use.
func (c *Controller) manager(room id.RoomID) *signalling.Manager {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok := c.managers[room]; ok {
		return m
	}
	m, err := signalling.NewManager(signalling.Config{
		Room: room, UserID: c.me, DeviceID: c.device,
		Sender: c.client.Sender(), Media: c.deps.Media, NewPeer: c.deps.NewPeer, Clock: c.deps.Clock,
		Observer:       observer{c, room},
		ICEServers:     c.iceServers,
		ForceRelay:     c.deps.ForceRelay,
		InviteLifetime: c.deps.InviteLifetime, MinRingTime: c.deps.MinRingTime,
		Logf: c.deps.Logf,
	})
	if err != nil {
		c.deps.Logf("room %s: %v", room, err)
		return nil
	}
	c.managers[room] = m
	go m.Run(c.ctx)
	return m
}

// Snapshot returns the current state.
func (c *Controller) Snapshot() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.state
	s.Rooms = append([]matrixclient.Room(nil), s.Rooms...)
	s.Calls = append([]signalling.CallInfo(nil), s.Calls...)
	s.Ignored = append([]IgnoredInvite(nil), s.Ignored...)
	return s
}

func (c *Controller) changed() {
	c.notify.Lock()
	defer c.notify.Unlock()
	c.deps.OnChange(c.Snapshot())
}

// ---- commands ----

// PlaceCall calls the one other joined member of room. It returns the call id.
func (c *Controller) PlaceCall(room id.RoomID, kind signalling.MediaKind) (string, error) {
	var peer id.UserID
	c.mu.Lock()
	for _, r := range c.state.Rooms {
		if r.ID == room {
			if j := r.Joined(c.me); len(j) == 1 {
				peer = j[0]
			}
		}
	}
	c.mu.Unlock()
	if peer == "" {
		return "", ErrNoPeer
	}
	m := c.manager(room)
	if m == nil {
		return "", ErrNoRoom
	}
	return m.PlaceCall(peer, kind), nil
}

// ErrNoPeer means the room does not have exactly one other joined member.
var ErrNoPeer = errors.New("app: a 1:1 call needs a room with exactly one other member")

func (c *Controller) callRoom(callID string) *signalling.Manager {
	c.mu.Lock()
	var room id.RoomID
	for _, ci := range c.state.Calls {
		if ci.CallID == callID {
			room = ci.Room
		}
	}
	c.mu.Unlock()
	if room == "" {
		return nil
	}
	return c.manager(room)
}

// Answer, Reject, Hangup, SetHold, SetMuted, SendDTMF and UpgradeToVideo act on a call.
func (c *Controller) Answer(callID string, kind signalling.MediaKind) {
	if m := c.callRoom(callID); m != nil {
		m.Answer(callID, kind)
	}
}

func (c *Controller) Reject(callID string) {
	if m := c.callRoom(callID); m != nil {
		m.Reject(callID)
	}
}

func (c *Controller) Hangup(callID string) {
	if m := c.callRoom(callID); m != nil {
		m.Hangup(callID)
	}
}

func (c *Controller) SetHold(callID string, hold bool) {
	if m := c.callRoom(callID); m != nil {
		m.SetHold(callID, hold)
	}
}

func (c *Controller) SetMuted(callID string, audio, video bool) {
	if m := c.callRoom(callID); m != nil {
		m.SetMuted(callID, audio, video)
	}
}

func (c *Controller) SendDTMF(callID, tones string) {
	if m := c.callRoom(callID); m != nil {
		m.SendDTMF(callID, tones)
	}
}

func (c *Controller) UpgradeToVideo(callID string) {
	if m := c.callRoom(callID); m != nil {
		m.UpgradeToVideo(callID)
	}
}

// Dismiss removes an ended call from the list.
func (c *Controller) Dismiss(callID string) {
	c.mu.Lock()
	calls := c.state.Calls[:0]
	for _, ci := range c.state.Calls {
		if ci.CallID != callID || ci.State != signalling.StateEnded {
			calls = append(calls, ci)
		}
	}
	c.state.Calls = calls
	c.mu.Unlock()
	c.changed()
}

// HangupAll ends every call (page unload).
func (c *Controller) HangupAll() {
	c.mu.Lock()
	ms := make([]*signalling.Manager, 0, len(c.managers))
	for _, m := range c.managers {
		ms = append(ms, m)
	}
	c.mu.Unlock()
	for _, m := range ms {
		m.HangupAll()
	}
}

// ---- ports the controller implements ----

type handler struct{ c *Controller }

func (h handler) RoomBatch(room id.RoomID, b signalling.Batch) {
	if m := h.c.manager(room); m != nil {
		m.HandleBatch(b)
	}
}

func (h handler) RoomsChanged(rooms []matrixclient.Room) {
	h.c.mu.Lock()
	h.c.state.Rooms = rooms
	h.c.mu.Unlock()
	for _, r := range rooms {
		if m := h.c.manager(r.ID); m != nil {
			m.SetMembers(r.Members)
			m.SetPublic(r.Public)
		}
	}
	h.c.updateGroup()
	h.c.changed()
}

// ToDevice routes to-device call messages to the group call (it drops other conferences).
func (h handler) ToDevice(evs []signalling.RoomEvent) {
	h.c.mu.Lock()
	g := h.c.group
	h.c.mu.Unlock()
	if g == nil {
		return
	}
	for _, ev := range evs {
		g.session.HandleToDevice(ev.Type.Type, ev.Sender, ev.Content)
	}
}

func (h handler) Status(err error) {
	h.c.mu.Lock()
	was := h.c.state.Online
	h.c.state.Online = err == nil
	h.c.state.Offline = ""
	if err != nil {
		h.c.state.Offline = err.Error()
	}
	h.c.mu.Unlock()
	if was != (err == nil) || err != nil {
		h.c.changed()
	}
}

type observer struct {
	c    *Controller
	room id.RoomID
}

func (o observer) CallUpdated(info signalling.CallInfo) {
	o.c.mu.Lock()
	found := false
	for i := range o.c.state.Calls {
		if o.c.state.Calls[i].CallID == info.CallID {
			o.c.state.Calls[i] = info
			found = true
		}
	}
	if !found {
		o.c.state.Calls = append(o.c.state.Calls, info)
	}
	o.c.mu.Unlock()
	o.c.changed()
}

func (o observer) InviteIgnored(callID string, from id.UserID, why signalling.IgnoreReason) {
	o.c.mu.Lock()
	o.c.state.Ignored = append(o.c.state.Ignored, IgnoredInvite{Room: o.room, CallID: callID, From: from, Why: why})
	o.c.mu.Unlock()
	o.c.changed()
}

func (o observer) Problem(callID string, err error) {
	o.c.deps.Logf("call %s: %v", callID, err)
	o.c.mu.Lock()
	o.c.state.Notice = err.Error()
	o.c.mu.Unlock()
	o.c.changed()
}
