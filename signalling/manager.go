package signalling

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/pion/webrtc/v3"
	"maunium.net/go/mautrix/id"

	"ringo/signalling/callevent"
)

// Defaults (spec VoIP module and its implementation notes).
const (
	DefaultInviteLifetime    = 90 * time.Second // the spec's minimal recommended lifetime
	DefaultMinRingTime       = 5 * time.Second  // ring only if the user has this long to answer
	DefaultInitialGatherWait = 200 * time.Millisecond
	DefaultCallerBatchDelay  = 2 * time.Second
	DefaultCalleeBatchDelay  = 500 * time.Millisecond
	DefaultNegotiateLifetime = 10 * time.Second
	DefaultICEDisconnectWait = 2 * time.Second
	DefaultICERestartTimeout = 10 * time.Second
)

// IncomingInvite is what a RingPolicy decides on.
type IncomingInvite struct {
	CallID     string
	From       id.UserID
	PublicRoom bool
	Video      bool
}

// DefaultRingPolicy does not ring for invites in public rooms (anyone could call
// everyone there); they are reported as ignored instead (spec VoIP module, "Security").
func DefaultRingPolicy(inv IncomingInvite) bool { return !inv.PublicRoom }

// Config wires a Manager to its ports and settings.
type Config struct {
	Room     id.RoomID
	UserID   id.UserID
	DeviceID id.DeviceID

	Sender   Sender
	Media    Media
	NewPeer  PeerFactory
	Clock    Clock
	Observer Observer

	ICEServers func() []webrtc.ICEServer // TURN from the homeserver or widget host; nil: none
	ForceRelay func() bool

	InviteLifetime     time.Duration
	MinRingTime        time.Duration
	InitialGatherWait  time.Duration
	CallerBatchDelay   time.Duration
	CalleeBatchDelay   time.Duration
	NegotiateLifetime  time.Duration
	ICEDisconnectGrace time.Duration
	ICERestartTimeout  time.Duration

	RingPolicy func(IncomingInvite) bool
	NewCallID  func() string
	Logf       func(format string, args ...any)
}

// ErrConfig reports a Config that lacks a port.
var ErrConfig = errors.New("signalling: incomplete config")

// Manager runs the 1:1 calls of one room: it routes incoming events to calls, filters our
// own echo, resolves glare, and reports to the UI. All of its state lives on its loop.
type Manager struct {
	cfg      Config
	loop     *Loop
	party    string
	calls    map[string]*Call
	order    []*Call
	members  map[id.UserID]Membership
	public   bool
	seenEnds map[string]bool // call ids whose hangup/reject/answer came before their invite was handled
}

// NewManager checks cfg, fills in defaults and returns a manager. Call Run (or, in tests,
// Drain) to process inputs.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Sender == nil || cfg.Media == nil || cfg.NewPeer == nil || cfg.Clock == nil || cfg.Observer == nil {
		return nil, fmt.Errorf("%w: Sender, Media, NewPeer, Clock and Observer are required", ErrConfig)
	}
	if cfg.UserID == "" || cfg.Room == "" {
		return nil, fmt.Errorf("%w: UserID and Room are required", ErrConfig)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.InviteLifetime, DefaultInviteLifetime)
	def(&cfg.MinRingTime, DefaultMinRingTime)
	def(&cfg.InitialGatherWait, DefaultInitialGatherWait)
	def(&cfg.CallerBatchDelay, DefaultCallerBatchDelay)
	def(&cfg.CalleeBatchDelay, DefaultCalleeBatchDelay)
	def(&cfg.NegotiateLifetime, DefaultNegotiateLifetime)
	def(&cfg.ICEDisconnectGrace, DefaultICEDisconnectWait)
	def(&cfg.ICERestartTimeout, DefaultICERestartTimeout)
	if cfg.RingPolicy == nil {
		cfg.RingPolicy = DefaultRingPolicy
	}
	if cfg.NewCallID == nil {
		cfg.NewCallID = RandomID
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	m := &Manager{
		cfg: cfg, loop: NewLoop(), calls: map[string]*Call{}, members: map[id.UserID]Membership{},
		seenEnds: map[string]bool{},
	}
	// party_id: the device id where it fits the grammar, as other clients do, so our
	// other devices are told apart; otherwise a random one (spec VoIP module, "Party
	// identifiers").
	m.party = string(cfg.DeviceID)
	if !callevent.ValidID(m.party) {
		m.party = RandomID()
	}
	return m, nil
}

// RandomID returns 24 random characters of [0-9a-zA-Z], valid as call_id and party_id.
func RandomID() string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error()) // cannot happen on supported platforms
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// PartyID is our party_id in this room's calls.
func (m *Manager) PartyID() string { return m.party }

// Run processes inputs until ctx is done.
func (m *Manager) Run(ctx context.Context) { m.loop.Run(ctx) }

// Drain processes every pending input now (tests; not concurrently with Run).
func (m *Manager) Drain() int { return m.loop.Drain() }

// Do runs f on the loop (for adapters that need a consistent read, e.g. Info).
func (m *Manager) Do(f func()) { m.loop.Post(f) }

func (m *Manager) logf(format string, args ...any) { m.cfg.Logf(format, args...) }

func (m *Manager) problem(callID string, err error) {
	m.logf("call %s: %v", callID, err)
	m.cfg.Observer.Problem(callID, err)
}

// ---- user commands (post into the loop; results arrive through the Observer) ----

// PlaceCall starts a call to invitee and returns its call_id. The invite names the
// invitee so that only that user's devices ring (spec VoIP module, "invitee").
func (m *Manager) PlaceCall(invitee id.UserID, kind MediaKind) string {
	callID := m.cfg.NewCallID()
	m.loop.Post(func() {
		if m.active() != nil {
			m.problem(callID, ErrCallInProgress)
			return
		}
		c := m.newCall(callID, DirectionOutbound)
		c.peer, c.invitee, c.kind = invitee, invitee, kind
		c.shown = true
		c.fire(TriggerPlace)
		c.acquireMedia()
	})
	return callID
}

// Answer accepts a ringing call.
func (m *Manager) Answer(callID string, kind MediaKind) {
	m.withCall(callID, func(c *Call) error {
		// Answering call waiting ends the current call first.
		if a := m.active(); a != nil && a != c {
			a.hangup(callevent.ReasonUserHangup, EndUserHangup, PartyLocal)
		}
		return c.accept(kind, nil)
	})
}

// Reject declines a ringing call.
func (m *Manager) Reject(callID string) {
	m.withCall(callID, func(c *Call) error {
		a := m.active()
		return c.reject(a != nil && a != c)
	})
}

// Hangup ends a call from our side: a ringing call is rejected, a call we are placing is
// cancelled, anything else is hung up.
func (m *Manager) Hangup(callID string) {
	m.withCall(callID, func(c *Call) error {
		if c.state == StateRinging {
			return c.reject(false)
		}
		c.hangup(callevent.ReasonUserHangup, EndUserHangup, PartyLocal)
		return nil
	})
}

// SetHold puts a call on hold (our transceivers sendonly) or resumes it.
func (m *Manager) SetHold(callID string, hold bool) {
	m.withCall(callID, func(c *Call) error { return c.setHold(hold) })
}

// SetMuted mutes audio and/or video without renegotiating and tells the other side with
// m.call.sdp_stream_metadata_changed.
func (m *Manager) SetMuted(callID string, audio, video bool) {
	m.withCall(callID, func(c *Call) error { c.setMuted(audio, video); return nil })
}

// SendDTMF plays tones through the audio sender.
func (m *Manager) SendDTMF(callID, tones string) {
	m.withCall(callID, func(c *Call) error {
		if !validDTMF(tones) {
			return fmt.Errorf("%w: %q", ErrInvalidDTMF, tones)
		}
		if c.state != StateConnected {
			return ErrWrongState
		}
		return c.pc.InsertDTMF(tones)
	})
}

// UpgradeToVideo adds a camera to a voice call; the renegotiation follows by itself.
func (m *Manager) UpgradeToVideo(callID string) {
	m.withCall(callID, func(c *Call) error {
		if c.state != StateConnected || c.kind == MediaKindVideo {
			return ErrWrongState
		}
		if !c.canNegotiate() {
			return ErrNegotiationUnsupported
		}
		m.cfg.Media.Acquire(MediaKindVideo, func(s LocalStream, err error) {
			m.loop.Post(func() {
				if err != nil {
					m.problem(callID, err)
					return
				}
				if c.ended() {
					s.Stop()
					return
				}
				if err := c.pc.ReplaceStream(s); err != nil {
					s.Stop()
					m.problem(callID, err)
					return
				}
				old := c.stream
				c.stream, c.kind = s, MediaKindVideo
				if old != nil {
					old.Stop()
				}
				c.notify()
			})
		})
		return nil
	})
}

// HangupAll ends every call (the page is closing).
func (m *Manager) HangupAll() {
	m.loop.Post(func() {
		for _, c := range m.order {
			if c.state == StateRinging {
				_ = c.reject(false)
			} else {
				c.hangup(callevent.ReasonUserHangup, EndUserHangup, PartyLocal)
			}
		}
	})
}

// SetPublic tells the manager whether the room is public (join rule "public").
func (m *Manager) SetPublic(public bool) { m.loop.Post(func() { m.public = public }) }

// Info sends the current snapshot of every live call to f, on the loop.
func (m *Manager) Info(f func([]CallInfo)) {
	m.loop.Post(func() {
		var out []CallInfo
		for _, c := range m.order {
			out = append(out, c.Info())
		}
		f(out)
	})
}

// SentCounts reports, per call, how many events of each type were delivered.
func (m *Manager) SentCounts(callID string, f func(map[string]int)) {
	m.loop.Post(func() {
		out := map[string]int{}
		if c := m.calls[callID]; c != nil {
			for k, v := range c.out.sent {
				out[k] = v
			}
		}
		f(out)
	})
}

func (m *Manager) withCall(callID string, f func(*Call) error) {
	m.loop.Post(func() {
		c := m.calls[callID]
		if c == nil || c.ended() {
			m.problem(callID, ErrNoSuchCall)
			return
		}
		if err := f(c); err != nil {
			m.problem(callID, err)
		}
	})
}

// active is the call in progress (placing, answering or up), if any; ringing calls are
// not active.
func (m *Manager) active() *Call {
	for _, c := range m.order {
		switch c.state {
		case StateWaitLocalMedia, StateCreateOffer, StateInviteSent, StateCreateAnswer, StateConnecting, StateConnected:
			return c
		}
	}
	return nil
}

func (m *Manager) newCall(callID string, dir Direction) *Call {
	c := &Call{m: m, id: callID, dir: dir, ourParty: m.party, createdAt: m.cfg.Clock.Now()}
	c.out.call = c
	c.polite = dir == DirectionInbound // the callee is polite (spec VoIP module, "Politeness")
	m.calls[callID] = c
	m.order = append(m.order, c)
	return c
}

// callEnded forgets ended calls from the live list (their ids stay known, so late
// events for them are ignored).
func (m *Manager) callEnded(c *Call) {
	kept := m.order[:0]
	for _, o := range m.order {
		if o != c {
			kept = append(kept, o)
		}
	}
	m.order = kept
}
