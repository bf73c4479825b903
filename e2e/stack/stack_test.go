//go:build !js && unix

package stack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v2"
	"github.com/pion/webrtc/v3"

	"ringo/e2e/stack"
)

var (
	shared     *stack.Stack
	sharedErr  error
	sharedOnce sync.Once
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			println("stack.Stop:", err.Error())
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// getStack starts the package's one stack on first use (skipping in -short mode or
// with RINGO_E2E=0).
func getStack(t *testing.T) *stack.Stack {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end stack skipped in -short mode")
	}
	if os.Getenv("RINGO_E2E") == "0" {
		t.Skip("end-to-end stack skipped: RINGO_E2E=0")
	}
	sharedOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		t0 := time.Now()
		// The stack outlives the test that starts it, so it logs to stderr, not t.Logf.
		shared, sharedErr = stack.Start(ctx, stack.Options{WithTURN: true, Logf: stderrLogf})
		t.Logf("stack.Start took %s", time.Since(t0).Round(time.Millisecond))
	})
	if sharedErr != nil {
		t.Fatalf("stack.Start: %v", sharedErr)
	}
	return shared
}

func stderrLogf(format string, args ...any) {
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
	}
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func failWithLogs(t *testing.T, s *stack.Stack, format string, args ...any) {
	t.Helper()
	t.Fatalf(format+"\n--- stack logs ---\n%s", append(args, s.LogTail(30))...)
}

type syncResp struct {
	NextBatch string `json:"next_batch"`
	Rooms     struct {
		Join map[string]struct {
			Timeline struct {
				Events []struct {
					Type     string          `json:"type"`
					Sender   string          `json:"sender"`
					EventID  string          `json:"event_id"`
					StateKey *string         `json:"state_key"`
					Content  json.RawMessage `json:"content"`
				} `json:"events"`
			} `json:"timeline"`
		} `json:"join"`
	} `json:"rooms"`
}

func doSync(ctx context.Context, s *stack.Stack, u *stack.User, since string, timeout time.Duration) (*syncResp, error) {
	q := url.Values{}
	q.Set("timeout", "0")
	if since != "" {
		q.Set("since", since)
		q.Set("timeout", strconv.Itoa(int(timeout/time.Millisecond)))
	}
	var out syncResp
	err := s.Do(ctx, u, http.MethodGet, "/_matrix/client/v3/sync?"+q.Encode(), nil, &out)
	return &out, err
}

func TestCallInviteReachesInviteeThroughSync(t *testing.T) {
	s := getStack(t)
	ctx := ctxFor(t, 60*time.Second)

	alice, err := s.Register(ctx, "alice", "ALICEDEV")
	if err != nil {
		failWithLogs(t, s, "%v", err)
	}
	bob, err := s.Register(ctx, "bob", "BOBDEV")
	if err != nil {
		failWithLogs(t, s, "%v", err)
	}
	if alice.UserID != "@alice:localhost" || alice.DeviceID != "ALICEDEV" || bob.DeviceID != "BOBDEV" {
		t.Fatalf("registered %+v and %+v, want @alice:localhost on ALICEDEV and BOBDEV", alice, bob)
	}

	roomID, err := s.CreateRoom(ctx, alice, bob)
	if err != nil {
		failWithLogs(t, s, "%v", err)
	}
	if err := s.Join(ctx, bob, roomID); err != nil {
		failWithLogs(t, s, "%v", err)
	}

	// The room is private and call events need power level 0; other defaults stay.
	var joinRules struct {
		JoinRule string `json:"join_rule"`
	}
	if err := s.Do(ctx, alice, http.MethodGet, "/_matrix/client/v3/rooms/"+url.PathEscape(roomID)+"/state/m.room.join_rules/", nil, &joinRules); err != nil {
		t.Fatal(err)
	}
	if joinRules.JoinRule != "invite" {
		t.Errorf("join_rule = %q, want invite", joinRules.JoinRule)
	}
	var pl struct {
		Events       map[string]int `json:"events"`
		StateDefault int            `json:"state_default"`
	}
	if err := s.Do(ctx, alice, http.MethodGet, "/_matrix/client/v3/rooms/"+url.PathEscape(roomID)+"/state/m.room.power_levels/", nil, &pl); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{"m.call", "m.call.member", "org.matrix.msc3401.call", "org.matrix.msc3401.call.member"} {
		if lvl, ok := pl.Events[ev]; !ok || lvl != 0 {
			t.Errorf("power level of %s = %d (present %v), want 0", ev, lvl, ok)
		}
	}
	if pl.Events["m.room.power_levels"] != 100 {
		t.Errorf("default power level of m.room.power_levels lost: %v", pl.Events)
	}
	t.Logf("power levels: state_default %d, events %v", pl.StateDefault, pl.Events)

	first, err := doSync(ctx, s, bob, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	since := first.NextBatch

	content := map[string]any{
		"call_id":  "call-e2e-1",
		"party_id": "ALICEDEV",
		"version":  "1",
		"lifetime": 60000,
		"offer":    map[string]any{"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"},
	}
	eventID, err := s.SendEvent(ctx, alice, roomID, "m.call.invite", content)
	if err != nil {
		failWithLogs(t, s, "%v", err)
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := doSync(ctx, s, bob, since, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		since = resp.NextBatch
		for _, ev := range resp.Rooms.Join[roomID].Timeline.Events {
			if ev.Type != "m.call.invite" {
				continue
			}
			var c struct {
				CallID string `json:"call_id"`
			}
			_ = json.Unmarshal(ev.Content, &c)
			if ev.EventID != eventID || ev.Sender != alice.UserID || c.CallID != "call-e2e-1" {
				t.Fatalf("bob saw m.call.invite %s from %s call %q, want %s from %s call call-e2e-1", ev.EventID, ev.Sender, c.CallID, eventID, alice.UserID)
			}
			t.Logf("bob received %s (%s) through /sync", ev.Type, ev.EventID)
			return
		}
		if time.Now().After(deadline) {
			failWithLogs(t, s, "bob did not see m.call.invite %s through /sync within 10 s", eventID)
		}
	}
}

func TestTURNRelaysWithHomeserverCredentials(t *testing.T) {
	s := getStack(t)
	ctx := ctxFor(t, 60*time.Second)

	u, err := s.Register(ctx, "turnuser", "TURNDEV")
	if err != nil {
		failWithLogs(t, s, "%v", err)
	}
	username, password, uris, ttl, err := s.TURNCredentials(ctx, u)
	if err != nil {
		failWithLogs(t, s, "%v", err)
	}
	if username == "" || password == "" || !slices.Contains(uris, s.TURNURI) || ttl != 300 {
		t.Fatalf("TURN credentials %q/%q uris %v ttl %d; want non-empty, uris with %s, ttl 300", username, password, uris, ttl, s.TURNURI)
	}
	if !strings.HasSuffix(username, ":"+u.UserID) {
		t.Errorf("TURN username %q is not expiry:%s", username, u.UserID)
	}

	newPC := func() *webrtc.PeerConnection {
		se := webrtc.SettingEngine{}
		se.SetIncludeLoopbackCandidate(true)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
		api := webrtc.NewAPI(webrtc.WithSettingEngine(se))
		pc, err := api.NewPeerConnection(webrtc.Configuration{
			ICEServers:         []webrtc.ICEServer{{URLs: []string{s.TURNURI}, Username: username, Credential: password}},
			ICETransportPolicy: webrtc.ICETransportPolicyRelay,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pc.Close() })
		return pc
	}
	a, b := newPC(), newPC()

	negotiated, id := true, uint16(0)
	type endpoint struct {
		dc   *webrtc.DataChannel
		open chan struct{}
		msgs chan string
	}
	mk := func(pc *webrtc.PeerConnection) *endpoint {
		dc, err := pc.CreateDataChannel("e2e", &webrtc.DataChannelInit{Negotiated: &negotiated, ID: &id})
		if err != nil {
			t.Fatal(err)
		}
		e := &endpoint{dc: dc, open: make(chan struct{}), msgs: make(chan string, 4)}
		dc.OnOpen(func() { close(e.open) })
		dc.OnMessage(func(m webrtc.DataChannelMessage) { e.msgs <- string(m.Data) })
		return e
	}
	ea, eb := mk(a), mk(b)

	offer, err := a.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gatherA := webrtc.GatheringCompletePromise(a)
	if err := a.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gatherA
	if !strings.Contains(a.LocalDescription().SDP, "typ relay") {
		failWithLogs(t, s, "offer has no relay candidate (TURN allocation failed?):\n%s", a.LocalDescription().SDP)
	}
	if err := b.SetRemoteDescription(*a.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	answer, err := b.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gatherB := webrtc.GatheringCompletePromise(b)
	if err := b.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-gatherB
	if err := a.SetRemoteDescription(*b.LocalDescription()); err != nil {
		t.Fatal(err)
	}

	for name, e := range map[string]*endpoint{"a": ea, "b": eb} {
		select {
		case <-e.open:
		case <-ctx.Done():
			failWithLogs(t, s, "data channel of %s did not open over TURN (ICE a=%s b=%s)", name, a.ICEConnectionState(), b.ICEConnectionState())
		}
	}
	exchange := func(from, to *endpoint, msg string) {
		if err := from.dc.SendText(msg); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-to.msgs:
			if got != msg {
				t.Fatalf("received %q, want %q", got, msg)
			}
		case <-ctx.Done():
			failWithLogs(t, s, "message %q did not cross the relay", msg)
		}
	}
	exchange(ea, eb, "ping over coturn")
	exchange(eb, ea, "pong over coturn")

	for name, pc := range map[string]*webrtc.PeerConnection{"a": a, "b": b} {
		pair, err := pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
		if err != nil || pair == nil {
			t.Fatalf("%s: no selected candidate pair: %v", name, err)
		}
		if pair.Local.Typ != webrtc.ICECandidateTypeRelay || pair.Remote.Typ != webrtc.ICECandidateTypeRelay {
			t.Errorf("%s: selected pair %s, want relay on both ends", name, pair)
		}
		t.Logf("%s: selected pair %s", name, pair)
	}
}

func TestHomeserverDownAndRestart(t *testing.T) {
	s := getStack(t)
	ctx := ctxFor(t, 90*time.Second)

	carol, err := s.Register(ctx, "carol", "CAROLDEV")
	if err != nil {
		failWithLogs(t, s, "%v", err)
	}
	if _, err := s.Versions(ctx); err != nil {
		t.Fatalf("versions before stop: %v", err)
	}

	if err := s.StopHomeserver(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Versions(ctx); err == nil {
		t.Fatal("/versions still answers after StopHomeserver")
	} else if he := (*stack.HTTPError)(nil); errors.As(err, &he) {
		t.Fatalf("/versions answered HTTP %d after StopHomeserver, want a connection error", he.Status)
	}

	t0 := time.Now()
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("Restart took %s", time.Since(t0).Round(time.Millisecond))
	if _, err := s.Versions(ctx); err != nil {
		failWithLogs(t, s, "versions after restart: %v", err)
	}

	// The old access token still works and the password still logs in.
	who, err := s.WhoAmI(ctx, carol)
	if err != nil || who != carol.UserID {
		failWithLogs(t, s, "whoami with pre-restart token = %q, %v; want %s", who, err, carol.UserID)
	}
	again, err := s.Login(ctx, "carol", carol.Password, "CAROLDEV2")
	if err != nil {
		failWithLogs(t, s, "%v", err)
	}
	if again.UserID != carol.UserID || again.DeviceID != "CAROLDEV2" {
		t.Fatalf("login after restart = %+v", again)
	}
	// Rooms survive too.
	dave, err := s.Register(ctx, "dave", "DAVEDEV")
	if err != nil {
		failWithLogs(t, s, "%v", err)
	}
	roomID, err := s.CreateRoom(ctx, again, dave)
	if err != nil {
		failWithLogs(t, s, "%v", err)
	}
	if err := s.Join(ctx, dave, roomID); err != nil {
		t.Fatal(err)
	}
	if err := s.Leave(ctx, dave, roomID); err != nil {
		t.Fatal(err)
	}
}
