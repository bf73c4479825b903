package widgetclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"ringo/matrixclient"
	"ringo/signalling"
	"ringo/signalling/signallingtest"
	"ringo/widgetclient"
)

type engineSide struct {
	mu       sync.Mutex
	toDevice int
	batches  []signalling.Batch
	rooms    [][]matrixclient.Room
	status   []error
}

func (e *engineSide) RoomBatch(_ id.RoomID, b signalling.Batch) {
	e.mu.Lock()
	e.batches = append(e.batches, b)
	e.mu.Unlock()
}
func (e *engineSide) RoomsChanged(r []matrixclient.Room) {
	e.mu.Lock()
	e.rooms = append(e.rooms, r)
	e.mu.Unlock()
}
func (e *engineSide) ToDevice(evs []signalling.RoomEvent) {
	e.mu.Lock()
	e.toDevice += len(evs)
	e.mu.Unlock()
}
func (e *engineSide) Status(err error) { e.mu.Lock(); e.status = append(e.status, err); e.mu.Unlock() }
func (e *engineSide) snapshot() ([]signalling.Batch, [][]matrixclient.Room, []error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]signalling.Batch(nil), e.batches...), append([][]matrixclient.Room(nil), e.rooms...), append([]error(nil), e.status...)
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second) // generous: -race on a loaded machine
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met")
		}
		time.Sleep(time.Millisecond)
	}
}

func pushEvent(c *widgetclient.Client, ev map[string]any) {
	b, _ := json.Marshal(map[string]any{"api": "toWidget", "widgetId": "ringo", "requestId": "p", "action": "send_event", "data": ev})
	c.Handle(host, b)
}

// startTransport runs a transport against the scripted host until content_loaded, then
// approves caps.
func startTransport(t *testing.T, caps ...string) (*widgetclient.Client, *recorder, *signallingtest.Clock, *widgetclient.Transport, *engineSide, context.Context) {
	t.Helper()
	c, r, clk := newClient()
	tr := widgetclient.NewTransport(c, params, clk)
	eng := &engineSide{}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = tr.Run(ctx, eng) }()
	waitUntil(t, func() bool { return r.count() >= 1 }) // content_loaded
	approve(c, caps...)
	return c, r, clk, tr, eng, ctx
}

func TestTransport(t *testing.T) {
	t.Run("call events become one batch after a quiet period; members become the room", func(t *testing.T) {
		is := is.New(t)
		c, _, clk, tr, eng, _ := startTransport(t, widgetclient.OneToOneCapabilities(params.RoomID)...)
		waitUntil(t, func() bool { _, _, s := eng.snapshot(); return len(s) == 1 })
		_, _, st := eng.snapshot()
		is.NoErr(st[0])
		me, dev := tr.Whoami()
		is.Equal(me, params.UserID)
		is.Equal(dev, params.DeviceID)

		sk := "@bob:localhost"
		pushEvent(c, map[string]any{"type": "m.room.member", "sender": sk, "state_key": sk, "room_id": "!r:localhost", "content": map[string]any{"membership": "join"}})
		pushEvent(c, map[string]any{"type": "m.call.invite", "sender": sk, "room_id": "!r:localhost", "origin_server_ts": 1, "content": map[string]any{"call_id": "c1"}})
		pushEvent(c, map[string]any{"type": "m.call.hangup", "sender": sk, "room_id": "!r:localhost", "origin_server_ts": 2, "content": map[string]any{"call_id": "c1"}})
		pushEvent(c, map[string]any{"type": "m.call.invite", "sender": sk, "room_id": "!other:localhost", "content": map[string]any{}}) // another room
		pushEvent(c, map[string]any{"type": "m.call.invite"})                                                                           // no sender
		clk.Advance(widgetclient.QuietPeriod - time.Millisecond)
		b, rooms, _ := eng.snapshot()
		is.Equal(len(b), 0) // still inside the quiet period
		is.Equal(rooms[len(rooms)-1][0].Members[id.UserID(sk)], signalling.MembershipJoin)
		clk.Advance(2 * time.Millisecond)
		b, _, _ = eng.snapshot()
		is.Equal(len(b), 1)
		is.Equal(len(b[0].Events), 3) // member, invite and hangup together: the invite never rings
		is.Equal(b[0].Events[1].Type, event.Type{Type: "m.call.invite", Class: event.MessageEventType})
	})
	t.Run("denied call capabilities are reported and sends fail permanently", func(t *testing.T) {
		is := is.New(t)
		_, r, _, tr, eng, _ := startTransport(t, widgetclient.CapTimeline(params.RoomID))
		waitUntil(t, func() bool { _, _, s := eng.snapshot(); return len(s) == 1 })
		_, _, st := eng.snapshot()
		is.True(errors.Is(st[0], widgetclient.ErrCannotCall))
		var got error
		n := r.count()
		tr.Sender().Send(signalling.OutgoingMessage{Type: event.CallInvite, Content: map[string]any{}, Target: signalling.Target{Room: params.RoomID}}, func(err error) { got = err })
		var pe signalling.PermanentError
		is.True(errors.As(got, &pe) && pe.Permanent())
		is.Equal(r.count(), n) // nothing posted
		tctx, tcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer tcancel()
		_, _, err := tr.TURN(tctx)
		is.True(errors.Is(err, matrixclient.ErrNoTURN))
	})
	t.Run("TURN comes from update_turn_servers; sends go through send_event", func(t *testing.T) {
		is := is.New(t)
		c, r, _, tr, _, _ := startTransport(t, widgetclient.OneToOneCapabilities(params.RoomID)...)
		c.Handle(host, toWidget("update_turn_servers", `{"uris":["turn:t"],"username":"u","password":"p"}`))
		servers, _, err := tr.TURN(context.Background())
		is.NoErr(err)
		is.Equal(servers[0].URLs, []string{"turn:t"})
		done := make(chan error, 1)
		tr.Sender().Send(signalling.OutgoingMessage{Type: event.CallHangup, Content: map[string]any{"call_id": "c"}, Target: signalling.Target{Room: params.RoomID}}, func(err error) { done <- err })
		isHangup := func(m widgetclient.Message) bool {
			return m.Action == "send_event" && strings.Contains(string(m.Data), "m.call.hangup")
		}
		waitUntil(t, func() bool { _, ok := r.find(isHangup); return ok })
		req, _ := r.find(isHangup)
		req.Response = json.RawMessage(`{"event_id":"$x"}`)
		b, _ := json.Marshal(req)
		c.Handle(host, b)
		is.NoErr(<-done)
		tr.Sender().Send(signalling.OutgoingMessage{Type: event.CallInvite, Content: map[string]any{}, Target: signalling.Target{Devices: []signalling.DeviceAddress{{User: "@b:x", Device: "D"}}}}, func(err error) { done <- err })
		is.True(errors.Is(<-done, widgetclient.ErrCapabilityDenied)) // no to-device capability for 1:1
	})
}

func TestTransportForGroupCalls(t *testing.T) {
	is := is.New(t)
	c, r, _, tr, eng, ctx := startTransport(t, widgetclient.GroupCallCapabilities(params.RoomID, params.UserID)...)
	waitUntil(t, func() bool { _, _, s := eng.snapshot(); return len(s) == 1 })

	// Call state pushed by the host reaches the room's CallState.
	sk := "conf1"
	pushEvent(c, map[string]any{"type": "org.matrix.msc3401.call", "sender": "@b:localhost", "state_key": sk, "room_id": "!r:localhost",
		"origin_server_ts": 5, "content": map[string]any{"m.intent": "m.room"}})
	_, rooms, _ := eng.snapshot()
	last := rooms[len(rooms)-1][0]
	is.Equal(len(last.CallState), 1)
	is.Equal(last.CallState[0].StateKey, "conf1")

	// Setting our member event goes out as send_event with a state key.
	done := make(chan error, 1)
	go func() {
		done <- tr.SendState(ctx, params.RoomID, "org.matrix.msc3401.call.member", string(params.UserID), map[string]any{"m.calls": []any{}})
	}()
	// Other requests (reading room state) may be posted after it: look for it, not at the last.
	isMember := func(m widgetclient.Message) bool {
		return m.Action == "send_event" && strings.Contains(string(m.Data), `"state_key":"@alice:localhost"`)
	}
	waitUntil(t, func() bool { _, ok := r.find(isMember); return ok })
	req, _ := r.find(isMember)
	req.Response = json.RawMessage(`{"event_id":"$s"}`)
	b, _ := json.Marshal(req)
	c.Handle(host, b)
	is.NoErr(<-done)
	var denied error
	c.SendStateEvent("m.room.power_levels", "", map[string]any{}, func(err error) { denied = err })
	is.True(errors.Is(denied, widgetclient.ErrCapabilityDenied))

	// To-device messages the host pushes reach the engine.
	c.Handle(host, toWidget("send_to_device", `{"type":"m.call.invite","sender":"@b:localhost","content":{"call_id":"c"}}`))
	waitUntil(t, func() bool { eng.mu.Lock(); defer eng.mu.Unlock(); return eng.toDevice > 0 })
}
