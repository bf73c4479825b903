package groupcall

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"ringo/signalling"
	"ringo/signalling/callevent"
)

// Config wires a Session.
type Config struct {
	Room     id.RoomID
	Me       Device // our user, device and session id
	Conf     string // the conference id (the call state event's state key)
	Kind     signalling.MediaKind
	ToDevice signalling.Sender // must deliver OutgoingMessages with Target.Devices as to-device messages
	NewPeer  signalling.PeerFactory
	Media    signalling.Media
	Clock    signalling.Clock
	Observer func(LegInfo) // called on every leg change (from the leg's loop goroutine)
	Logf     func(format string, args ...any)
	ICE      signalling.Config // only ICEServers and ForceRelay are used
	// Drive, when set, runs each leg's engine loop (tests pass a function that records
	// the managers to Drain them); by default Run is started on a goroutine.
	Drive func(*signalling.Manager)
}

// LegInfo is one peer's state, for the participant tiles.
type LegInfo struct {
	Peer Device
	Call signalling.CallInfo
}

// Session is our device's participation in one group call: one leg per other device.
type Session struct {
	cfg   Config
	media *sharedMedia // one capture for every leg

	mu      sync.Mutex
	legs    map[string]*leg // by peer Key()
	reorder map[string]*Reorder[signalling.RoomEvent]
	seq     map[string]uint64    // next seq per call id
	seqOf   map[string]uint64    // seq given to each transaction (stable across retries)
	known   map[string]string    // peers in the latest participant list: key -> session id
	held    map[string][]heldMsg // messages from devices not (yet) in the call, by peer key
	left    bool
}

// Messages from a device that is not in the participant list are held until its member
// event arrives (to-device and room state travel separately), then delivered; a device
// that never joins cannot open a leg: nothing of ours is answered or sent to it
// (PROTOCOL.md §7: at most 50 messages or 30 s per sender).
const (
	heldMax = 50
	heldFor = 30 * time.Second
)

type heldMsg struct {
	evType  string
	sender  id.UserID
	session string // the sender's session id
	content json.RawMessage
	at      time.Time
}

type leg struct {
	peer      Device
	mgr       *signalling.Manager
	call      string // the leg's call id once known
	confirmed bool   // the peer has been seen in the participants (its member event)
}

// New makes a session; call Update with the participants once joined.
func New(cfg Config) *Session {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Observer == nil {
		cfg.Observer = func(LegInfo) {}
	}
	if cfg.Drive == nil {
		cfg.Drive = func(m *signalling.Manager) { go m.Run(contextBackground()) }
	}
	s := &Session{cfg: cfg, legs: map[string]*leg{}, reorder: map[string]*Reorder[signalling.RoomEvent]{},
		seq: map[string]uint64{}, seqOf: map[string]uint64{}}
	if cfg.Media != nil {
		s.media = newSharedMedia(cfg.Media)
		s.media.prefetch(cfg.Kind) // open the devices while the member event is written
	}
	return s
}

// Update brings the legs in line with the participants: a leg to every other device
// (placed by us when ShouldCall says so, else awaited), none to devices that left or
// expired, and a fresh leg when a peer's session changed (it reloaded).
func (s *Session) Update(participants []Device) {
	s.mu.Lock()
	if s.left {
		s.mu.Unlock()
		return
	}
	want := map[string]Device{}
	s.known = map[string]string{}
	for _, p := range participants {
		if p.Key() != s.cfg.Me.Key() {
			want[p.Key()] = p
			s.known[p.Key()] = p.Session
		}
	}
	var release []heldMsg
	now := s.cfg.Clock.Now()
	for k, msgs := range s.held {
		var keep []heldMsg
		for _, h := range freshHeld(msgs, now) {
			if sess, ok := s.known[k]; ok && (h.session == "" || h.session == sess) {
				release = append(release, h)
			} else {
				keep = append(keep, h) // still unknown, or another session of it (stale or not yet seen)
			}
		}
		if len(keep) > 0 {
			s.held[k] = keep
		} else {
			delete(s.held, k)
		}
	}
	defer func() {
		for _, h := range release {
			s.HandleToDevice(h.evType, h.sender, h.content)
		}
	}()
	var hangups []*leg
	var place []Device
	for k, l := range s.legs {
		p, ok := want[k]
		switch {
		case !ok && !l.confirmed:
			// Called us before its member event reached us: keep it until it shows up.
		case !ok:
			hangups = append(hangups, l)
			delete(s.legs, k)
		case p.Session != l.peer.Session:
			hangups = append(hangups, l) // new_session: the peer reloaded
			delete(s.legs, k)
		}
	}
	for k, p := range want {
		if l, ok := s.legs[k]; ok {
			l.confirmed = true
			continue
		}
		if ShouldCall(s.cfg.Me, p) {
			place = append(place, p)
		}
	}
	calls := make([]string, len(hangups))
	for i, l := range hangups {
		calls[i] = l.call
	}
	s.mu.Unlock()
	for i, l := range hangups {
		if calls[i] != "" && l.mgr != nil {
			l.mgr.Hangup(calls[i])
		}
	}
	for _, p := range place {
		l := s.newLeg(p)
		if l.mgr == nil {
			continue
		}
		callID := l.mgr.PlaceCall(p.User, s.cfg.Kind)
		s.mu.Lock()
		l.call = callID
		s.mu.Unlock()
	}
}

// Leave hangs up every leg.
func (s *Session) Leave() {
	s.mu.Lock()
	s.left = true
	legs := s.legs
	s.legs = map[string]*leg{}
	s.mu.Unlock()
	for _, l := range legs {
		if l.mgr != nil {
			l.mgr.HangupAll()
		}
	}
	if s.media != nil {
		s.media.release()
	}
}

func (s *Session) legMedia() signalling.Media {
	if s.media == nil {
		return nil
	}
	return s.media
}

// newLeg makes the engine of one peer's leg.
func (s *Session) newLeg(p Device) *leg {
	s.mu.Lock()
	_, known := s.known[p.Key()]
	l := &leg{peer: p, confirmed: p.Expires.After(s.cfg.Clock.Now()) || known}
	s.mu.Unlock()
	cfg := signalling.Config{
		Room: s.cfg.Room, UserID: s.cfg.Me.User, DeviceID: s.cfg.Me.Device,
		Sender: &legSender{s: s, peer: p}, Media: s.legMedia(), NewPeer: s.cfg.NewPeer, Clock: s.cfg.Clock,
		Observer:   &legObserver{s: s, l: l},
		ICEServers: s.cfg.ICE.ICEServers, ForceRelay: s.cfg.ICE.ForceRelay,
		Logf: s.cfg.Logf,
		// Legs never ring: the user already chose to join.
		RingPolicy: func(signalling.IncomingInvite) bool { return true },
	}
	m, err := signalling.NewManager(cfg)
	if err != nil {
		s.cfg.Logf("group call leg to %s: %v", p.Key(), err)
		return l
	}
	m.SetMembers(map[id.UserID]signalling.Membership{s.cfg.Me.User: signalling.MembershipJoin, p.User: signalling.MembershipJoin})
	l.mgr = m
	s.mu.Lock()
	s.legs[p.Key()] = l
	s.mu.Unlock()
	s.cfg.Drive(m)
	return l
}

// legSender adds the MSC3401 fields and sends the leg's events to the peer's device.
type legSender struct {
	s    *Session
	peer Device
}

func (ls *legSender) Send(msg signalling.OutgoingMessage, done func(error)) {
	c, ok := msg.Content.(callevent.Content)
	if !ok {
		done(fmt.Errorf("groupcall: %T is not a call event", msg.Content))
		return
	}
	b := c.CallBase()
	s := ls.s
	s.mu.Lock()
	seq, seen := s.seqOf[msg.TxnID]
	if !seen || msg.TxnID == "" {
		seq = s.seq[b.CallID]
		s.seq[b.CallID] = seq + 1
		if msg.TxnID != "" {
			s.seqOf[msg.TxnID] = seq
		}
	}
	s.mu.Unlock()
	b.ConfID = s.cfg.Conf
	b.DeviceID = string(s.cfg.Me.Device)
	b.SenderSessionID = s.cfg.Me.Session
	b.DestSessionID = ls.peer.Session
	b.Seq = &seq
	msg.Target = signalling.Target{Room: s.cfg.Room, Devices: []signalling.DeviceAddress{{User: ls.peer.User, Device: ls.peer.Device}}}
	s.cfg.ToDevice.Send(msg, done)
}

// legObserver answers a leg's incoming call at once and reports leg changes.
type legObserver struct {
	s *Session
	l *leg
}

func (o *legObserver) CallUpdated(info signalling.CallInfo) {
	if info.State == signalling.StateRinging && info.Direction == signalling.DirectionInbound {
		o.s.mu.Lock()
		o.l.call = info.CallID
		o.s.mu.Unlock()
		o.l.mgr.Answer(info.CallID, o.s.cfg.Kind)
	}
	o.s.cfg.Observer(LegInfo{Peer: o.l.peer, Call: info})
}

func (o *legObserver) InviteIgnored(callID string, from id.UserID, why signalling.IgnoreReason) {
	o.s.cfg.Logf("group call: invite %s from %s ignored: %s", callID, from, why)
}

func (o *legObserver) Problem(callID string, err error) {
	o.s.cfg.Logf("group call leg %s: %v", callID, err)
}

// HandleToDevice takes one to-device message (type, sender, raw content). Messages for
// another conference or another session of ours are dropped; those from a device not in
// the call are held (see heldMax); the rest are put in seq order per (sender device,
// call) and given to the sender's leg, which is created when a lower peer calls us.
func (s *Session) HandleToDevice(evType string, sender id.UserID, content json.RawMessage) {
	c, err := callevent.Parse(evType, content)
	if err != nil {
		s.cfg.Logf("group call: dropping %s from %s: %v", evType, sender, err)
		return
	}
	b := c.CallBase()
	if b.ConfID != s.cfg.Conf || b.DeviceID == "" || (b.DestSessionID != "" && b.DestSessionID != s.cfg.Me.Session) {
		return
	}
	peer := Device{User: sender, Device: id.DeviceID(b.DeviceID), Session: b.SenderSessionID}
	now := s.cfg.Clock.Now()
	ev := signalling.RoomEvent{Type: event.Type{Type: evType, Class: event.MessageEventType}, Sender: sender, RoomID: s.cfg.Room,
		OriginServerTS: now.UnixMilli(), ReceivedAt: now, Content: content}
	s.mu.Lock()
	if s.left {
		s.mu.Unlock()
		return
	}
	if sess, ok := s.known[peer.Key()]; !ok || (peer.Session != "" && peer.Session != sess) {
		// Not in the call (yet), or from a session of it we do not know (an old one, or a
		// new one whose member event is still on its way): hold it, bounded, until the
		// member event shows that session; stale ones expire.
		if s.held == nil {
			s.held = map[string][]heldMsg{}
		}
		q := append(freshHeld(s.held[peer.Key()], now), heldMsg{evType: evType, sender: sender, session: peer.Session, content: content, at: now})
		if len(q) > heldMax {
			q = q[len(q)-heldMax:]
		}
		s.held[peer.Key()] = q
		s.mu.Unlock()
		return
	}
	key := peer.Key() + "|" + b.CallID
	r := s.reorder[key]
	if r == nil {
		r = &Reorder[signalling.RoomEvent]{}
		s.reorder[key] = r
	}
	var ready []signalling.RoomEvent
	if b.Seq == nil {
		ready = []signalling.RoomEvent{ev}
	} else {
		ready = r.Push(*b.Seq, ev)
	}
	l := s.legs[peer.Key()]
	var stale *leg
	staleCall := ""
	if l != nil && l.peer.Session != peer.Session && peer.Session != "" {
		stale, staleCall, l = l, l.call, nil // the peer reloaded: its old leg ends, a new one starts
		delete(s.legs, peer.Key())
	}
	s.mu.Unlock()
	if stale != nil && staleCall != "" && stale.mgr != nil {
		stale.mgr.Hangup(staleCall)
	}
	if len(ready) == 0 {
		return
	}
	if l == nil {
		if evType != event.CallInvite.Type || ShouldCall(s.cfg.Me, peer) {
			return // only an invite from a peer that calls us opens a leg
		}
		l = s.newLeg(peer)
	}
	if l.mgr != nil {
		l.mgr.HandleBatch(signalling.Batch{Events: ready})
	}
}

// freshHeld drops held messages older than heldFor.
func freshHeld(msgs []heldMsg, now time.Time) []heldMsg {
	i := 0
	for i < len(msgs) && now.Sub(msgs[i].at) > heldFor {
		i++
	}
	return msgs[i:]
}

// Legs lists the current legs' peers.
func (s *Session) Legs() []Device {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Device
	for _, l := range s.legs {
		out = append(out, l.peer)
	}
	return out
}
