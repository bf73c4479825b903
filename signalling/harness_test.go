package signalling_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"ringo/signalling"
	"ringo/signalling/signallingtest"
)

const room = id.RoomID("!room:localhost")

// party is one device in the test world.
type party struct {
	user   id.UserID
	device string
	mgr    *signalling.Manager
	obs    *signallingtest.Observer
	media  *signallingtest.Media
	peers  *signallingtest.Peers
	sender signalling.Sender
	swap   *swapSender
}

// world joins engines through an in-memory room with a fake clock.
type world struct {
	t       *testing.T
	clock   *signallingtest.Clock
	room    *signallingtest.Room
	parties []*party
}

func newWorld(t *testing.T) *world {
	c := signallingtest.NewClock()
	return &world{t: t, clock: c, room: signallingtest.NewRoom(room, c)}
}

// add joins a device. Its peers gather one host candidate and complete at once, as a
// browser on loopback does.
func (w *world) add(user, device string, opts ...func(*signalling.Config)) *party {
	w.t.Helper()
	p := &party{
		user: id.UserID(user), device: device, obs: &signallingtest.Observer{},
		media: &signallingtest.Media{Prefix: device + "-stream"},
		peers: &signallingtest.Peers{Setup: func(pc *signallingtest.Peer) {
			pc.Name = device
			pc.AutoCandidates = []string{"candidate:1 1 udp 2122260223 127.0.0.1 5000" + device + " typ host"}
			pc.AutoComplete = true
		}},
	}
	p.sender = w.room.Sender(p.user)
	p.swap = &swapSender{inner: p.sender}
	cfg := signalling.Config{
		Room: room, UserID: p.user, DeviceID: id.DeviceID(device),
		Sender: p.swap, Media: p.media, NewPeer: p.peers.Factory(), Clock: w.clock, Observer: p.obs,
	}
	for _, o := range opts {
		o(&cfg)
	}
	m, err := signalling.NewManager(cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	p.mgr = m
	w.room.Join(p.user, device, m)
	w.parties = append(w.parties, p)
	return p
}

// settle runs every engine until nothing is left to do.
func (w *world) settle() {
	for i := 0; i < 1000; i++ {
		n := 0
		for _, p := range w.parties {
			n += p.mgr.Drain()
		}
		if n == 0 {
			return
		}
	}
	w.t.Fatal("engines did not settle")
}

// advance moves the clock and settles after every timer.
func (w *world) advance(d time.Duration) {
	step := 10 * time.Millisecond
	for d > 0 {
		s := step
		if d < s {
			s = d
		}
		w.clock.Advance(s)
		w.settle()
		d -= s
	}
}

func (p *party) peer() *signallingtest.Peer { return p.peers.Last() }

// state is the latest state the UI was told for callID.
func (p *party) state(callID string) signalling.CallState {
	info, ok := p.obs.Last(callID)
	if !ok {
		return signalling.StateUnknown
	}
	return info.State
}

func (p *party) info(callID string) signalling.CallInfo {
	info, _ := p.obs.Last(callID)
	return info
}

// ringing returns the call id of the newest ringing call, or "".
func (p *party) ringing() string {
	p.obs.Current()
	var out string
	seen := map[string]signalling.CallState{}
	for _, u := range p.obs.Updates {
		seen[u.CallID] = u.State
		if u.State == signalling.StateRinging {
			out = u.CallID
		}
	}
	if out != "" && seen[out] != signalling.StateRinging {
		return ""
	}
	return out
}

// connectICE makes both fakes report connected.
func connectICE(ps ...*party) {
	for _, p := range ps {
		p.peer().SetICE(webrtc.ICEConnectionStateConnected)
	}
}

// sentBy lists the types user sent to the room, in order.
func (w *world) sentBy(p *party) []string { return w.room.Types(p.user) }

// lastContent decodes the newest event of type typ sent by p.
func (w *world) lastContent(p *party, typ string) map[string]any {
	evs := w.room.Events()
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Sender == p.user && evs[i].Type.Type == typ {
			var m map[string]any
			_ = json.Unmarshal(evs[i].Content, &m)
			return m
		}
	}
	return nil
}

// inject delivers a hand-written event to p (as a one-event batch unless batched).
func inject(p *party, evs ...signalling.RoomEvent) {
	p.mgr.HandleBatch(signalling.Batch{Events: evs})
}

func rawEvent(typ string, sender string, ts time.Time, content string) signalling.RoomEvent {
	return signalling.RoomEvent{
		Type: event.Type{Type: typ, Class: event.MessageEventType}, Sender: id.UserID(sender),
		EventID: "$x", RoomID: room, OriginServerTS: ts.UnixMilli(), ReceivedAt: ts, Content: json.RawMessage(content),
	}
}

// call sets up alice calling bob through to connected, returning the call id.
func (w *world) connectedCall(alice, bob *party, kind signalling.MediaKind) string {
	w.t.Helper()
	callID := alice.mgr.PlaceCall(bob.user, kind)
	w.settle()
	if got := bob.ringing(); got != callID {
		w.t.Fatalf("bob is not ringing for %s (got %q)", callID, got)
	}
	bob.mgr.Answer(callID, kind)
	w.settle()
	connectICE(alice, bob)
	w.settle()
	if alice.state(callID) != signalling.StateConnected || bob.state(callID) != signalling.StateConnected {
		w.t.Fatalf("not connected: alice %s, bob %s", alice.state(callID), bob.state(callID))
	}
	return callID
}

// swapSender lets a test put a failing sender in front of the room.
type swapSender struct {
	mu    sync.Mutex
	inner signalling.Sender
}

func (s *swapSender) Send(msg signalling.OutgoingMessage, done func(error)) {
	s.mu.Lock()
	in := s.inner
	s.mu.Unlock()
	in.Send(msg, done)
}

// replaceSender routes p's sends through s from now on.
func (w *world) replaceSender(p *party, s signalling.Sender) *party {
	p.swap.mu.Lock()
	p.swap.inner = s
	p.swap.mu.Unlock()
	return p
}

// retrySender fails sends as fail says, otherwise passes them on.
type retrySender struct {
	inner signalling.Sender
	fail  func(signalling.OutgoingMessage) error
}

func (r *retrySender) Send(msg signalling.OutgoingMessage, done func(error)) {
	if err := r.fail(msg); err != nil {
		done(err)
		return
	}
	r.inner.Send(msg, done)
}

type rateLimitError time.Duration

func (e rateLimitError) Error() string             { return "M_LIMIT_EXCEEDED" }
func (e rateLimitError) RetryAfter() time.Duration { return time.Duration(e) }
func rateLimited(d time.Duration) error            { return rateLimitError(d) }

type forbidden struct{}

func (forbidden) Error() string   { return "M_FORBIDDEN" }
func (forbidden) Permanent() bool { return true }

type signallingtestPeer = signallingtest.Peer

var sprintf = fmt.Sprintf
