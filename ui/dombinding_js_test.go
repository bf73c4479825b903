package ui_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/matryer/is"
	"github.com/pion/webrtc/v3"
	"maunium.net/go/mautrix/id"

	"ringo/app"
	"ringo/matrixclient"
	"ringo/signalling"
	"ringo/signalling/signallingtest"
	"ringo/ui"
)

// The DOM binding in a real browser page, driven by clicks, with the real call engine
// behind it on a fake transport (an in-memory room, fake peers and a fake clock).

const testRoom = id.RoomID("!r:localhost")

type engineUser struct {
	mgr   *signalling.Manager
	obs   *signallingtest.Observer
	peers *signallingtest.Peers
}

type testApp struct {
	alice *engineUser
	calls chan func()
}

func (a *testApp) Login(string, string, string) {}
func (a *testApp) Logout()                      {}
func (a *testApp) SelectRoom(string)            {}
func (a *testApp) ForceRelay(bool)              {}
func (a *testApp) SelectDevice(string, string)  {}
func (a *testApp) Call(video bool) {
	a.calls <- func() { a.alice.mgr.PlaceCall("@bob:localhost", signalling.MediaKindVideo) }
}
func (a *testApp) Answer(string, bool)     {}
func (a *testApp) Reject(string)           {}
func (a *testApp) Hangup(callID string)    { a.calls <- func() { a.alice.mgr.Hangup(callID) } }
func (a *testApp) ToggleMute(string, bool) {}
func (a *testApp) ToggleHold(string)       {}
func (a *testApp) DTMF(string, string)     {}
func (a *testApp) Dismiss(string)          {}
func (a *testApp) JoinGroup(bool)          {}
func (a *testApp) LeaveGroup()             {}
func (a *testApp) FixGroup()               {}

func newEngineUser(t *testing.T, r *signallingtest.Room, clk *signallingtest.Clock, user, device string) *engineUser {
	u := &engineUser{obs: &signallingtest.Observer{}, peers: &signallingtest.Peers{Setup: func(p *signallingtest.Peer) {
		p.AutoCandidates = []string{"candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host"}
		p.AutoComplete = true
	}}}
	m, err := signalling.NewManager(signalling.Config{
		Room: testRoom, UserID: id.UserID(user), DeviceID: id.DeviceID(device),
		Sender: r.Sender(id.UserID(user)), Media: &signallingtest.Media{Prefix: device}, NewPeer: u.peers.Factory(),
		Clock: clk, Observer: u.obs,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.Join(id.UserID(user), device, m)
	u.mgr = m
	return u
}

func query(t *testing.T, testID, prop string) safejs.Value {
	t.Helper()
	doc, _ := safejs.Global().Get("document")
	el, err := doc.Call("querySelector", `[data-testid="`+testID+`"]`)
	if err != nil || el.IsNull() {
		t.Fatalf("no element %s", testID)
	}
	if prop == "" {
		return el
	}
	v, _ := el.Get(prop)
	return v
}

func attr(t *testing.T, testID, name string) string {
	v, _ := query(t, testID, "").Call("getAttribute", name)
	s, _ := v.String()
	return s
}

// hidden reports whether the element or one of its ancestors is hidden.
func hidden(t *testing.T, testID string) bool {
	c, _ := query(t, testID, "").Call("closest", "[hidden]")
	return !c.IsNull()
}

func TestDOMBindingDrivesTheEngine(t *testing.T) {
	is := is.New(t)
	doc, _ := safejs.Global().Get("document")
	body, _ := doc.Get("body")
	root, _ := doc.Call("createElement", "main")
	_ = root.Set("id", "app-test")
	_, _ = body.Call("appendChild", root)

	clk := signallingtest.NewClock()
	r := signallingtest.NewRoom(testRoom, clk)
	alice := newEngineUser(t, r, clk, "@alice:localhost", "ALICE")
	bob := newEngineUser(t, r, clk, "@bob:localhost", "BOB")
	ta := &testApp{alice: alice, calls: make(chan func(), 8)}
	dom, err := ui.Mount("app-test", ta, "http://hs")
	is.NoErr(err)

	members := map[id.UserID]signalling.Membership{"@alice:localhost": "join", "@bob:localhost": "join"}
	nasty := `<img src=x onerror=alert(1)>`
	render := func() {
		var calls []signalling.CallInfo
		if ci, ok := alice.obs.Current(); ok {
			calls = append(calls, ci)
		}
		st := app.State{Me: "@alice:localhost", Online: true, Calls: calls,
			Rooms: []matrixclient.Room{{ID: testRoom, Name: nasty, Members: members}}}
		dom.Render(ui.Build(ui.Input{Phase: ui.PhaseReady, State: st, SelectedRoom: testRoom, Now: time.Now()}))
	}
	settle := func() {
		for i := 0; i < 50; i++ {
			select {
			case f := <-ta.calls:
				f()
			default:
			}
			n := alice.mgr.Drain() + bob.mgr.Drain()
			clk.Advance(10 * time.Millisecond)
			if n == 0 && len(ta.calls) == 0 {
				time.Sleep(time.Millisecond) // let clicked actions (goroutines) post
			}
		}
		render()
	}

	// Login phase shows the form only.
	dom.Render(ui.Build(ui.Input{Phase: ui.PhaseLogin}))
	is.True(!hidden(t, "login-submit") && hidden(t, "call-video"))

	render()
	is.Equal(attr(t, "call-state", "data-state"), "idle")
	disabled, _ := query(t, "call-video", "disabled").Bool()
	is.True(!disabled) // one other member: calling is possible
	// The room name is text, never markup.
	imgs, _ := doc.Call("querySelectorAll", "img")
	n, _ := imgs.Length()
	is.Equal(n, 0)
	sel := query(t, "room-select", "")
	opt, _ := sel.Call("querySelector", `option[value="!r:localhost"]`)
	txt, _ := opt.Get("textContent")
	s, _ := txt.String()
	is.Equal(s, nasty)

	// Clicking "Video call" produces an invite for bob, and the page says calling.
	_, _ = query(t, "call-video", "").Call("click")
	settle()
	types := r.Types("@alice:localhost")
	is.True(len(types) >= 1)
	is.Equal(types[0], "m.call.invite")
	var inv map[string]any
	evs := r.Events()
	is.NoErr(json.Unmarshal(evs[0].Content, &inv))
	is.Equal(inv["invitee"], "@bob:localhost")
	is.Equal(inv["version"], "1")
	is.Equal(attr(t, "call-state", "data-state"), "calling")
	is.True(!hidden(t, "hangup") && hidden(t, "answer-voice"))

	// Bob answers; ICE connects; the page follows the engine to connected.
	ci, ok := alice.obs.Current()
	is.True(ok)
	bob.mgr.Answer(ci.CallID, signalling.MediaKindVideo)
	settle()
	alice.peers.Last().SetICE(webrtc.ICEConnectionStateConnected)
	bob.peers.Last().SetICE(webrtc.ICEConnectionStateConnected)
	settle()
	is.Equal(attr(t, "call-state", "data-state"), "connected")
	is.True(!hidden(t, "mute-audio") && !hidden(t, "hold") && !hidden(t, "dtmf-5") && hidden(t, "answer-video"))

	// Hang up from the page: the engine sends the hangup and the page shows why it ended.
	_, _ = query(t, "hangup", "").Call("click")
	settle()
	types = r.Types("@alice:localhost")
	is.Equal(types[len(types)-1], "m.call.hangup")
	is.Equal(attr(t, "call-state", "data-state"), "ended")
	is.Equal(attr(t, "call-state", "data-reason"), "user_hangup")
	dom.Release()
}
