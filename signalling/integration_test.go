//go:build !js

package signalling_test

import (
	"context"
	"hash/fnv"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"
	"maunium.net/go/mautrix/id"

	"ringo/clock"
	"ringo/internal/pionpeer"
	"ringo/signalling"
	"ringo/signalling/signallingtest"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

type pionMedia struct{ prefix string }

func (m pionMedia) Acquire(kind signalling.MediaKind, done func(signalling.LocalStream, error)) {
	s, err := pionpeer.NewStream(m.prefix)
	if err != nil {
		done(nil, err)
		return
	}
	done(s, nil)
}

// Two engines drive two real native pion peer connections over loopback ICE, with the
// room delaying and reordering deliveries: the call connects and data crosses both ways.
func TestTwoEnginesConnectRealPeersOverADisorderlyRoom(t *testing.T) {
	if testing.Short() {
		t.Skip("real ICE on loopback")
	}
	is := is.New(t)
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())

	wall := clock.Wall{}
	r := signallingtest.NewRoom("!real:localhost", wall)
	// Delays of 0-40 ms that differ per event and per receiver reorder deliveries.
	r.Delay = func(ev signalling.RoomEvent, to id.UserID, dev string) time.Duration {
		h := fnv.New32a()
		h.Write([]byte(string(ev.EventID) + dev))
		return time.Duration(h.Sum32()%40) * time.Millisecond
	}
	var mu sync.Mutex
	peers := map[string]*pionpeer.Peer{}
	mk := func(user, device string) (*signalling.Manager, *signallingtest.Observer) {
		obs := &signallingtest.Observer{}
		m, err := signalling.NewManager(signalling.Config{
			Room: r.ID, UserID: id.UserID(user), DeviceID: id.DeviceID(device),
			Sender: r.Sender(id.UserID(user)), Media: pionMedia{prefix: device + "-stream"},
			NewPeer: pionpeer.Factory(func(p *pionpeer.Peer) { mu.Lock(); peers[device] = p; mu.Unlock() }),
			Clock:   wall, Observer: obs,
		})
		is.NoErr(err)
		r.Join(id.UserID(user), device, m)
		go m.Run(ctx)
		return m, obs
	}
	alice, aliceObs := mk("@alice:localhost", "ALICE")
	bob, bobObs := mk("@bob:localhost", "BOB")
	t.Cleanup(func() {
		if t.Failed() {
			for _, ev := range r.Events() {
				t.Logf("room: %s %s %.200s", ev.Sender, ev.Type.Type, ev.Content)
			}
			t.Logf("alice problems: %v; bob problems: %v, ignored: %v", aliceObs.ProblemList(), bobObs.ProblemList(), bobObs.IgnoredList())
		}
	})

	callID := alice.PlaceCall("@bob:localhost", signalling.MediaKindVoice)
	waitFor(t, 5*time.Second, "bob ringing", func() bool {
		i, ok := bobObs.Last(callID)
		return ok && i.State == signalling.StateRinging
	})
	bob.Answer(callID, signalling.MediaKindVoice)
	connected := func(o *signallingtest.Observer) func() bool {
		return func() bool { i, ok := o.Last(callID); return ok && i.State == signalling.StateConnected }
	}
	waitFor(t, 10*time.Second, "alice connected", connected(aliceObs))
	waitFor(t, 10*time.Second, "bob connected", connected(bobObs))

	mu.Lock()
	pa, pb := peers["ALICE"], peers["BOB"]
	mu.Unlock()
	for _, p := range []*pionpeer.Peer{pa, pb} {
		select {
		case <-p.Opened():
		case <-time.After(10 * time.Second):
			t.Fatal("data channel did not open")
		}
	}
	is.NoErr(pa.Channel.SendText("hello bob"))
	is.NoErr(pb.Channel.SendText("hello alice"))
	waitFor(t, 5*time.Second, "data both ways", func() bool {
		return len(pa.Received()) == 1 && len(pb.Received()) == 1
	})
	is.Equal(string(pb.Received()[0]), "hello bob")
	is.Equal(string(pa.Received()[0]), "hello alice")
	// The callee saw the caller's stream by its id.
	waitFor(t, 5*time.Second, "bob to see alice's stream", func() bool {
		bi, _ := bobObs.Last(callID)
		return bi.RemoteStreamID == "ALICE-stream"
	})

	alice.Hangup(callID)
	waitFor(t, 5*time.Second, "bob ended", func() bool {
		i, _ := bobObs.Last(callID)
		return i.State == signalling.StateEnded
	})
	cancel()
	// No goroutine leaks: loops, peer connections and timers wind down.
	waitFor(t, 10*time.Second, "goroutines to wind down", func() bool {
		return runtime.NumGoroutine() <= before+2
	})
}
