//go:build !js

package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"
	"maunium.net/go/mautrix/id"

	"ringo/app"
	"ringo/clock"
	"ringo/e2e/stack"
	"ringo/internal/pionpeer"
	"ringo/matrixclient"
	"ringo/signalling"
)

type pionMedia struct{ id string }

func (m pionMedia) Acquire(_ signalling.MediaKind, done func(signalling.LocalStream, error)) {
	s, err := pionpeer.NewStream(m.id)
	if err != nil {
		done(nil, err)
		return
	}
	done(s, nil)
}

// nativeParty is one user running Ringo's app controller with native pion.
type nativeParty struct {
	user  *stack.User
	ctl   *app.Controller
	mu    sync.Mutex
	peers []*pionpeer.Peer
}

func (p *nativeParty) peer() *pionpeer.Peer {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.peers) == 0 {
		return nil
	}
	return p.peers[len(p.peers)-1]
}

func (p *nativeParty) call(callID string) (signalling.CallInfo, bool) {
	for _, c := range p.ctl.Snapshot().Calls {
		if c.CallID == callID {
			return c, true
		}
	}
	return signalling.CallInfo{}, false
}

func startNative(ctx context.Context, t *testing.T, u *stack.User, forceRelay bool) *nativeParty {
	t.Helper()
	cl, err := matrixclient.New(matrixclient.Session{HomeserverURL: hs.HomeserverURL, UserID: id.UserID(u.UserID), DeviceID: id.DeviceID(u.DeviceID), AccessToken: u.AccessToken})
	if err != nil {
		t.Fatal(err)
	}
	p := &nativeParty{user: u}
	p.ctl = app.Start(ctx, cl, app.Deps{
		NewPeer: pionpeer.Factory(func(pp *pionpeer.Peer) { p.mu.Lock(); p.peers = append(p.peers, pp); p.mu.Unlock() }),
		Media:   pionMedia{id: u.DeviceID + "-stream"}, Clock: clock.Wall{}, ForceRelay: func() bool { return forceRelay },
		Logf: func(f string, a ...any) { t.Logf(u.DeviceID+": "+f, a...) },
	})
	return p
}

// The app controller of two users, each syncing with the real homeserver, places and
// answers a voice call whose media path is relayed by coturn (force relay), with TURN
// credentials from Dendrite's /voip/turnServer; data crosses both ways; hangup ends both.
func TestNativeCallThroughDendriteRelayedByCoturn(t *testing.T) {
	is := is.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	alice, err := hs.Register(ctx, uniqueName("alice"), "ALICEN")
	is.NoErr(err)
	bob, err := hs.Register(ctx, uniqueName("bob"), "BOBN")
	is.NoErr(err)
	room, err := hs.CreateRoom(ctx, alice, bob)
	is.NoErr(err)
	is.NoErr(hs.Join(ctx, bob, room))

	a := startNative(ctx, t, alice, true)
	b := startNative(ctx, t, bob, true)
	roomReady := func(p *nativeParty) func() bool {
		return func() bool {
			s := p.ctl.Snapshot()
			for _, r := range s.Rooms {
				if string(r.ID) == room && len(r.Joined(s.Me)) == 1 {
					return s.TURN
				}
			}
			return false
		}
	}
	waitFor(t, 20*time.Second, "alice to see the room and TURN", roomReady(a))
	waitFor(t, 20*time.Second, "bob to see the room and TURN", roomReady(b))

	callID, err := a.ctl.PlaceCall(id.RoomID(room), signalling.MediaKindVoice)
	is.NoErr(err)
	waitFor(t, 20*time.Second, "bob ringing", func() bool {
		c, ok := b.call(callID)
		return ok && c.State == signalling.StateRinging
	})
	ci, _ := b.call(callID)
	is.Equal(string(ci.Peer), alice.UserID)
	b.ctl.Answer(callID, signalling.MediaKindVoice)
	for _, p := range []*nativeParty{a, b} {
		waitFor(t, 30*time.Second, p.user.DeviceID+" connected", func() bool {
			c, ok := p.call(callID)
			return ok && c.State == signalling.StateConnected
		})
	}
	pa, pb := a.peer(), b.peer()
	for _, p := range []*pionpeer.Peer{pa, pb} {
		select {
		case <-p.Opened():
		case <-ctx.Done():
			t.Fatal("data channel did not open")
		}
	}
	is.NoErr(pa.Channel.SendText("hello bob"))
	is.NoErr(pb.Channel.SendText("hello alice"))
	waitFor(t, 10*time.Second, "data both ways", func() bool { return len(pa.Received()) > 0 && len(pb.Received()) > 0 })
	is.Equal(string(pb.Received()[0]), "hello bob")
	is.Equal(string(pa.Received()[0]), "hello alice")
	local, remote := pa.SelectedPair()
	is.Equal(local, "relay") // force relay: the path goes through coturn
	is.Equal(remote, "relay")
	waitFor(t, 10*time.Second, "bob to see alice's stream", func() bool {
		c, _ := b.call(callID)
		return c.RemoteStreamID == "ALICEN-stream"
	})

	a.ctl.Hangup(callID)
	waitFor(t, 20*time.Second, "bob's call to end", func() bool {
		c, _ := b.call(callID)
		return c.State == signalling.StateEnded
	})
	c, _ := b.call(callID)
	is.Equal(c.EndReason, signalling.EndUserHangup)
	is.Equal(c.EndedBy, signalling.PartyRemote)
}
