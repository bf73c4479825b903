package groupcall_test

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/pion/webrtc/v3"
	"maunium.net/go/mautrix/id"

	"ringo/groupcall"
	"ringo/signalling"
	"ringo/signalling/signallingtest"
)

// mesh is N devices whose group sessions talk over an in-memory to-device bus that
// delays, reorders and duplicates messages, with fake peers and a fake clock.
type mesh struct {
	t        *testing.T
	clock    *signallingtest.Clock
	mu       sync.Mutex
	sessions map[string]*member
	managers []*signalling.Manager
	sent     int
	rng      *rand.Rand
}

type member struct {
	dev   groupcall.Device
	s     *groupcall.Session
	peers *signallingtest.Peers
	mu    sync.Mutex
	legs  map[string]signalling.CallInfo // peer key -> latest leg state
}

func newMesh(t *testing.T, seed int64) *mesh {
	return &mesh{t: t, clock: signallingtest.NewClock(), sessions: map[string]*member{}, rng: rand.New(rand.NewSource(seed))}
}

// bus is the to-device transport: each message reaches its device after 0-60 ms, and one
// in five arrives twice.
type bus struct {
	m    *mesh
	from groupcall.Device
}

func (b bus) Send(msg signalling.OutgoingMessage, done func(error)) {
	raw, err := json.Marshal(msg.Content)
	if err != nil {
		done(err)
		return
	}
	b.m.mu.Lock()
	b.m.sent++
	b.m.mu.Unlock()
	for _, d := range msg.Target.Devices {
		to := string(d.User) + "|" + string(d.Device)
		h := fnv.New32a()
		fmt.Fprintf(h, "%s%s%d", msg.TxnID, to, len(raw))
		delay := time.Duration(h.Sum32()%60) * time.Millisecond
		copies := 1
		if h.Sum32()%5 == 0 {
			copies = 2
		}
		for i := 0; i < copies; i++ {
			typ, sender := msg.Type.Type, b.from.User
			b.m.clock.AfterFunc(delay+time.Duration(i)*7*time.Millisecond, func() {
				b.m.mu.Lock()
				target := b.m.sessions[to]
				b.m.mu.Unlock()
				if target != nil {
					target.s.HandleToDevice(typ, sender, raw)
				}
			})
		}
	}
	done(nil)
}

func (m *mesh) join(user, device, session string) *member {
	dev := groupcall.Device{User: id.UserID(user), Device: id.DeviceID(device), Session: session, Expires: m.clock.Now().Add(time.Hour)}
	mem := &member{dev: dev, legs: map[string]signalling.CallInfo{}, peers: &signallingtest.Peers{Setup: func(p *signallingtest.Peer) {
		p.AutoCandidates = []string{"candidate:1 1 udp 1 127.0.0.1 9 typ host"}
		p.AutoComplete = true
	}}}
	mem.s = groupcall.New(groupcall.Config{
		Room: "!r:hs", Me: dev, Conf: "conf1", Kind: signalling.MediaKindVideo,
		ToDevice: bus{m: m, from: dev}, NewPeer: mem.peers.Factory(), Media: &signallingtest.Media{Prefix: device + session}, Clock: m.clock,
		Observer: func(li groupcall.LegInfo) {
			mem.mu.Lock()
			mem.legs[li.Peer.Key()] = li.Call
			mem.mu.Unlock()
		},
		Drive: func(mgr *signalling.Manager) { m.mu.Lock(); m.managers = append(m.managers, mgr); m.mu.Unlock() },
	})
	m.mu.Lock()
	m.sessions[dev.Key()] = mem
	m.mu.Unlock()
	return mem
}

// drop takes a member off the bus and out of the participants (its member event is gone).
func (m *mesh) drop(mem *member) {
	m.mu.Lock()
	delete(m.sessions, mem.dev.Key())
	m.mu.Unlock()
}

func (m *mesh) participants() []groupcall.Device {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []groupcall.Device
	for _, s := range m.sessions {
		out = append(out, s.dev)
	}
	return out
}

// run delivers, drains and connects ICE for d of fake time.
func (m *mesh) run(d time.Duration) {
	for step := time.Duration(0); step < d; step += 10 * time.Millisecond {
		for i := 0; i < 20; i++ {
			m.mu.Lock()
			ms := append([]*signalling.Manager(nil), m.managers...)
			m.mu.Unlock()
			n := 0
			for _, mgr := range ms {
				n += mgr.Drain()
			}
			if n == 0 {
				break
			}
		}
		m.mu.Lock()
		mems := make([]*member, 0, len(m.sessions))
		for _, s := range m.sessions {
			mems = append(mems, s)
		}
		m.mu.Unlock()
		for _, mem := range mems {
			for _, p := range mem.peers.All() {
				if p.Remote() != nil && !p.Closed() {
					p.SetICE(webrtc.ICEConnectionStateConnected)
				}
			}
		}
		m.clock.Advance(10 * time.Millisecond)
	}
}

func (m *mesh) update() {
	ps := m.participants()
	m.mu.Lock()
	mems := make([]*member, 0, len(m.sessions))
	for _, s := range m.sessions {
		mems = append(mems, s)
	}
	m.mu.Unlock()
	for _, mem := range mems {
		mem.s.Update(ps)
	}
}

// connectedPairs checks that every device has exactly one connected leg to every other.
func (m *mesh) connectedPairs() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, mem := range m.sessions {
		legs := mem.s.Legs()
		if len(legs) != len(m.sessions)-1 {
			return fmt.Errorf("%s has %d legs, want %d", k, len(legs), len(m.sessions)-1)
		}
		mem.mu.Lock()
		for _, l := range legs {
			ci := mem.legs[l.Key()]
			if ci.State != signalling.StateConnected {
				mem.mu.Unlock()
				return fmt.Errorf("%s's leg to %s is %s", k, l.Key(), ci.State)
			}
		}
		mem.mu.Unlock()
	}
	return nil
}

func TestMeshConnectsEveryPairOnce(t *testing.T) {
	for n := 2; n <= 8; n++ {
		t.Run(fmt.Sprintf("%d participants", n), func(t *testing.T) {
			is := is.New(t)
			m := newMesh(t, int64(n))
			order := m.rng.Perm(n)
			for _, i := range order {
				// Two devices of one user among the others.
				user := fmt.Sprintf("@u%d:hs", i/2*2)
				m.join(user, fmt.Sprintf("DEV%d", i), fmt.Sprintf("s%d", i))
				m.update()
				m.run(50 * time.Millisecond)
			}
			m.run(3 * time.Second)
			is.NoErr(m.connectedPairs())
		})
	}
}

func TestLeaveRejoinAndNewSession(t *testing.T) {
	is := is.New(t)
	m := newMesh(t, 1)
	a := m.join("@a:hs", "A", "s1")
	m.join("@b:hs", "B", "s1")
	c := m.join("@c:hs", "C", "s1")
	m.update()
	m.run(3 * time.Second)
	is.NoErr(m.connectedPairs())

	// c leaves: the others hang up their legs to it.
	c.s.Leave()
	m.drop(c)
	m.update()
	m.run(2 * time.Second)
	is.NoErr(m.connectedPairs())
	is.Equal(len(a.s.Legs()), 1)

	// c comes back with a new session (a page reload): everyone reconnects to it.
	m.join("@c:hs", "C", "s2")
	m.update()
	m.run(3 * time.Second)
	is.NoErr(m.connectedPairs())
}

// A member whose page vanished without leaving (its member event simply expires) drops
// out of the participants, and the others hang up their legs to it.
func TestVanishedMemberExpires(t *testing.T) {
	is := is.New(t)
	m := newMesh(t, 2)
	a := m.join("@a:hs", "A", "s1")
	m.join("@b:hs", "B", "s1")
	c := m.join("@c:hs", "C", "s1")
	m.update()
	m.run(3 * time.Second)
	is.NoErr(m.connectedPairs())
	// c stops answering (no Leave); its device expires from the member state.
	m.drop(c)
	m.update()
	m.run(2 * time.Second)
	is.NoErr(m.connectedPairs())
	is.Equal(len(a.s.Legs()), 1)
}

// A leg opened by the peer's invite after its member event was seen is confirmed, so
// its leaving ends the leg even when nothing else changed in between.
func TestLegFromAnInviteEndsWhenThePeerLeaves(t *testing.T) {
	is := is.New(t)
	m := newMesh(t, 3)
	a := m.join("@a:hs", "A", "s1")
	b := m.join("@b:hs", "B", "s1")
	// b (higher) learns of a first and waits; a calls b.
	b.s.Update(m.participants())
	a.s.Update(m.participants())
	m.run(3 * time.Second)
	is.NoErr(m.connectedPairs())
	a.s.Leave()
	m.drop(a)
	b.s.Update(m.participants())
	m.run(time.Second)
	is.Equal(len(b.s.Legs()), 0)
}

// Messages from a device whose member event has not reached us are held, not acted on: a
// room member outside the call cannot get our camera by sending an invite. When its member
// event arrives in time the held messages are delivered and the pair connects; held
// messages expire after 30 s and leave nothing behind. (Messages from an old session of
// a peer, such as delayed hangups after a reload, are held the same way and never reach
// its new leg: TestLeaveRejoinAndNewSession.)
func TestMessagesFromADeviceNotInTheCallAreHeld(t *testing.T) {
	tests := []struct {
		rule      string
		learnAt   time.Duration // when b sees a's member event
		connected bool
	}{
		{"held messages are delivered when the member event arrives", 2 * time.Second, true},
		{"held messages expire after 30 s", 31 * time.Second, false},
	}
	for i, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			is := is.New(t)
			m := newMesh(t, int64(4+i))
			a := m.join("@a:hs", "A", "s1")
			b := m.join("@b:hs", "B", "s1")
			b.s.Update([]groupcall.Device{b.dev}) // b does not know a yet
			a.s.Update(m.participants())          // a (lower) calls b
			m.run(tt.learnAt)
			is.Equal(len(b.s.Legs()), 0) // held: b opened nothing, answered nothing
			is.Equal(len(b.peers.All()), 0)
			b.s.Update(m.participants())
			m.run(3 * time.Second)
			if tt.connected {
				is.NoErr(m.connectedPairs())
			} else {
				is.Equal(len(b.peers.All()), 0) // the expired invite opened nothing
			}
		})
	}
}
