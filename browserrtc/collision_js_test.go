package browserrtc_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/pion/webrtc/v3"
	"maunium.net/go/mautrix/id"

	"ringo/browserrtc"
	"ringo/clock"
	"ringo/signalling"
	"ringo/signalling/signallingtest"
)

// The engine over two real browser peer connections in one page: both sides put the call
// on hold at the same moment, so their negotiate offers cross. Perfect negotiation has
// the polite side (the callee) roll back its own offer and answer the other; both end
// stable and on hold, media paths intact.
func TestOfferCollisionIsResolvedByThePoliteSidesRollback(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	wall := clock.Wall{}
	room := signallingtest.NewRoom("!r:localhost", wall)
	type side struct {
		mgr   *signalling.Manager
		obs   *signallingtest.Observer
		mu    sync.Mutex
		peers []*browserrtc.Peer
	}
	mk := func(user, device string) *side {
		s := &side{obs: &signallingtest.Observer{}}
		m, err := signalling.NewManager(signalling.Config{
			Room: "!r:localhost", UserID: id.UserID(user), DeviceID: id.DeviceID(device),
			Sender: room.Sender(id.UserID(user)), Media: browserrtc.NewMedia(browserrtc.MediaOptions{}),
			NewPeer: browserrtc.Factory(browserrtc.OnPeer(func(p *browserrtc.Peer) { s.mu.Lock(); s.peers = append(s.peers, p); s.mu.Unlock() })),
			Clock:   wall, Observer: s.obs,
		})
		if err != nil {
			t.Fatal(err)
		}
		room.Join(id.UserID(user), device, m)
		go m.Run(ctx)
		s.mgr = m
		return s
	}
	alice, bob := mk("@alice:localhost", "ALICE"), mk("@bob:localhost", "BOB")
	state := func(s *side, id string) signalling.CallInfo { ci, _ := s.obs.Last(id); return ci }

	callID := alice.mgr.PlaceCall("@bob:localhost", signalling.MediaKindVoice)
	eventually(ctx, t, "bob ringing", func() bool { return state(bob, callID).State == signalling.StateRinging })
	bob.mgr.Answer(callID, signalling.MediaKindVoice)
	eventually(ctx, t, "both connected", func() bool {
		return state(alice, callID).State == signalling.StateConnected && state(bob, callID).State == signalling.StateConnected
	})
	bob.mu.Lock()
	bobPC := bob.peers[0].JSValue()
	bob.mu.Unlock()
	// Record bob's signalling states from the browser itself.
	if _, err := safejs.Global().Call("eval", "window.__states = []"); err != nil {
		t.Fatal(err)
	}
	rec := apply(t, "pc => { pc.addEventListener('signalingstatechange', () => window.__states.push(pc.signalingState)); return true; }", bobPC)
	_ = rec

	collided := false
	for attempt := 0; attempt < 4 && !collided; attempt++ {
		hold := attempt%2 == 0
		_, _ = safejs.Global().Call("eval", "window.__states = []")
		// Both press hold (or resume) together.
		alice.mgr.SetHold(callID, hold)
		bob.mgr.SetHold(callID, hold)
		eventually(ctx, t, "both sides to agree on hold", func() bool {
			a, b := state(alice, callID), state(bob, callID)
			return a.LocalHold == hold && b.LocalHold == hold && a.RemoteHold == hold && b.RemoteHold == hold
		})
		eventually(ctx, t, "both peer connections stable", func() bool {
			alice.mu.Lock()
			a := alice.peers[0].SignalingState()
			alice.mu.Unlock()
			return a == webrtc.SignalingStateStable && bob.peers[0].SignalingState() == webrtc.SignalingStateStable
		})
		v, _ := safejs.Global().Call("eval", "window.__states.join(',')")
		seq, _ := v.String()
		t.Logf("attempt %d (hold=%v): bob's signalling states %s", attempt, hold, seq)
		// A rollback shows as have-local-offer -> stable -> have-remote-offer.
		collided = strings.Contains(seq, "have-local-offer,stable,have-remote-offer")
	}
	if !collided {
		t.Fatal("the offers never crossed in 4 attempts, so the rollback path was not exercised")
	}
	if s := state(alice, callID).State; s != signalling.StateConnected {
		t.Fatalf("alice's call is %s after the collision", s)
	}
	alice.mgr.Hangup(callID)
	eventually(ctx, t, "bob's call to end", func() bool { return state(bob, callID).State == signalling.StateEnded })
}
