package widgetclient_test

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"ringo/signalling/signallingtest"
	"ringo/widgetclient"
)

const host = "http://127.0.0.1:45347"

var params = widgetclient.Params{WidgetID: "ringo", ParentURL: host + "/host.html", ParentOrigin: host, RoomID: "!r:localhost", UserID: "@alice:localhost", DeviceID: "ALICE"}

// recorder is the page side: what the client posts, and what it pushes to the handler.
type recorder struct {
	mu       sync.Mutex
	posted   []widgetclient.Message
	events   []string
	toDevice int
	turn     []widgetclient.TURNServers
	approved []string
	actions  []string
}

func (r *recorder) post(b []byte) {
	var m widgetclient.Message
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	r.mu.Lock()
	r.posted = append(r.posted, m)
	r.mu.Unlock()
}

func (r *recorder) last() widgetclient.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.posted[len(r.posted)-1]
}

// find returns the latest posted message that matches.
func (r *recorder) find(match func(widgetclient.Message) bool) (widgetclient.Message, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.posted) - 1; i >= 0; i-- {
		if match(r.posted[i]) {
			return r.posted[i], true
		}
	}
	return widgetclient.Message{}, false
}

func (r *recorder) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.posted) }

func (r *recorder) RoomEvent(raw json.RawMessage) {
	var e struct{ Type string }
	_ = json.Unmarshal(raw, &e)
	r.mu.Lock()
	r.events = append(r.events, e.Type)
	r.mu.Unlock()
}
func (r *recorder) ToDevice(json.RawMessage)                  { r.toDevice++ }
func (r *recorder) TURNServers(s widgetclient.TURNServers)    { r.turn = append(r.turn, s) }
func (r *recorder) Capabilities(a []string)                   { r.approved = a }
func (r *recorder) ElementAction(a string, _ json.RawMessage) { r.actions = append(r.actions, a) }

func newClient() (*widgetclient.Client, *recorder, *signallingtest.Clock) {
	r := &recorder{}
	clk := signallingtest.NewClock()
	c := widgetclient.NewClient(params, widgetclient.OneToOneCapabilities(params.RoomID), r.post, clk)
	c.SetHandler(r)
	return c, r, clk
}

func toWidget(action, data string) []byte {
	return []byte(`{"api":"toWidget","widgetId":"ringo","requestId":"req-` + action + `","action":"` + action + `","data":` + data + `}`)
}

// A handshake as matrix-widget-api 1.19's ClientWidgetApi performed it against Ringo in
// the e2e suite (waitForIframeLoad: capabilities first, then notify_capabilities).
var recordedHandshake = []string{
	`{"api":"toWidget","widgetId":"ringo","requestId":"widgetapi-1795406916485","action":"capabilities","data":{}}`,
	`{"api":"toWidget","widgetId":"ringo","requestId":"widgetapi-1795406916939","action":"notify_capabilities","data":{"requested":["org.matrix.msc2762.timeline:!r:localhost","org.matrix.msc2762.send.event:m.call.invite"],"approved":["org.matrix.msc2762.timeline:!r:localhost","org.matrix.msc2762.send.event:m.call.invite","org.matrix.msc2762.receive.event:m.call.invite","org.matrix.msc2762.send.event:m.call.candidates","org.matrix.msc2762.receive.event:m.call.candidates","org.matrix.msc2762.send.event:m.call.answer","org.matrix.msc2762.receive.event:m.call.answer","org.matrix.msc2762.send.event:m.call.hangup","org.matrix.msc2762.receive.event:m.call.hangup","town.robin.msc3846.turn_servers"]}}`,
	`{"api":"toWidget","widgetId":"ringo","requestId":"widgetapi-1795406917033","action":"supported_api_versions","data":{}}`,
	`{"api":"toWidget","widgetId":"ringo","requestId":"widgetapi-1795406917054","action":"update_turn_servers","data":{"uris":["turn:127.0.0.1:33342?transport=udp"],"username":"1795410517:@alice:localhost","password":"secret"}}`,
}

func TestRecordedHandshakeFromMatrixWidgetAPI(t *testing.T) {
	is := is.New(t)
	c, r, _ := newClient()
	for _, m := range recordedHandshake {
		c.Handle(host, []byte(m))
	}
	is.Equal(r.count(), 4) // every host request got exactly one reply
	var caps struct {
		Capabilities []string `json:"capabilities"`
	}
	is.NoErr(json.Unmarshal(r.posted[0].Response, &caps))
	is.Equal(caps.Capabilities, widgetclient.OneToOneCapabilities(params.RoomID))
	is.Equal(r.posted[0].RequestID, "widgetapi-1795406916485") // replies keep the request id
	is.Equal(r.posted[0].API, widgetclient.ToWidget)
	is.True(c.Notified())
	is.True(c.Approved("org.matrix.msc2762.send.event:m.call.invite"))
	is.True(!c.Approved("org.matrix.msc2762.send.event:m.call.negotiate"))
	is.Equal(len(r.approved), 10)
	is.True(strings.Contains(string(r.posted[2].Response), "org.matrix.msc2762"))
	is.Equal(r.turn[0].URIs, []string{"turn:127.0.0.1:33342?transport=udp"})
	is.Equal(len(c.Dropped()), 0)
}

func TestHostRequests(t *testing.T) {
	tests := []struct {
		rule, action, data string
		wantErr            bool
		check              func(*is.I, *recorder)
	}{
		{"a pushed room event reaches the engine", "send_event", `{"type":"m.call.invite","sender":"@bob:localhost","content":{}}`, false,
			func(is *is.I, r *recorder) { is.Equal(r.events, []string{"m.call.invite"}) }},
		{"pushed room state reaches the engine event by event", "update_state", `{"state":[{"type":"m.room.member","state_key":"@bob:localhost"},{"type":"m.room.join_rules","state_key":""}]}`, false,
			func(is *is.I, r *recorder) { is.Equal(r.events, []string{"m.room.member", "m.room.join_rules"}) }},
		{"a pushed to-device message reaches the engine", "send_to_device", `{"type":"m.call.invite","sender":"@bob:localhost","content":{}}`, false,
			func(is *is.I, r *recorder) { is.Equal(r.toDevice, 1) }},
		{"Element's join action is acknowledged", "io.element.join", `{}`, false,
			func(is *is.I, r *recorder) { is.Equal(r.actions, []string{"io.element.join"}) }},
		{"Element's hangup action is acknowledged", "im.vector.hangup", `{}`, false,
			func(is *is.I, r *recorder) { is.Equal(r.actions, []string{"im.vector.hangup"}) }},
		{"Element's device mute action is acknowledged", "io.element.device_mute", `{"audio_enabled":false}`, false,
			func(is *is.I, r *recorder) { is.Equal(r.actions, []string{"io.element.device_mute"}) }},
		{"an unknown action gets an error reply", "org.example.teleport", `{}`, true, nil},
		{"malformed TURN servers get an error reply", "update_turn_servers", `{"uris":"nope"}`, true, nil},
		{"malformed notify_capabilities gets an error reply", "notify_capabilities", `{"approved":7}`, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			is := is.New(t)
			c, r, _ := newClient()
			c.Handle(host, toWidget(tc.action, tc.data))
			is.Equal(r.count(), 1)
			reply := r.last()
			is.Equal(reply.Action, tc.action)
			is.Equal(strings.Contains(string(reply.Response), `"error"`), tc.wantErr)
			if tc.check != nil {
				tc.check(is, r)
			}
		})
	}
}

func TestIncomingMessagesAreChecked(t *testing.T) {
	tests := []struct {
		rule, origin, data string
		why                widgetclient.DropReason
	}{
		{"another origin is dropped", "http://evil.example", string(toWidget("send_event", `{}`)), widgetclient.DropWrongOrigin},
		{"a lookalike origin is dropped", host + ".evil.example", string(toWidget("send_event", `{}`)), widgetclient.DropWrongOrigin},
		{"another widget id is dropped", host, `{"api":"toWidget","widgetId":"other","requestId":"1","action":"send_event","data":{}}`, widgetclient.DropWrongWidget},
		{"malformed JSON is dropped", host, `{"api":`, widgetclient.DropMalformed},
		{"a message without an action is dropped", host, `{"api":"toWidget","widgetId":"ringo","requestId":"1"}`, widgetclient.DropMalformed},
		{"a reply to nothing we asked is dropped", host, `{"api":"fromWidget","widgetId":"ringo","requestId":"nope","action":"send_event","data":{},"response":{}}`, widgetclient.DropUnexpected},
		{"an unknown direction is dropped", host, `{"api":"sideways","widgetId":"ringo","requestId":"1","action":"x","data":{}}`, widgetclient.DropUnexpected},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			is := is.New(t)
			c, r, _ := newClient()
			c.Handle(tc.origin, []byte(tc.data))
			is.Equal(r.count(), 0) // no reply, nothing delivered
			is.Equal(len(r.events), 0)
			is.Equal(c.Dropped()[tc.why], 1)
			is.True(tc.why.String() != "")
		})
	}
}

func approve(c *widgetclient.Client, caps ...string) {
	b, _ := json.Marshal(map[string]any{"requested": caps, "approved": caps})
	c.Handle(host, toWidget("notify_capabilities", string(b)))
}

func TestWidgetRequests(t *testing.T) {
	is := is.New(t)
	c, r, clk := newClient()
	approve(c, widgetclient.CapSendEvent("m.call.invite"), widgetclient.CapSendToDevice("m.call.invite"), widgetclient.CapTURN)
	base := r.count()

	// send_event: request, then the host's success reply.
	var gotID string
	var gotErr error
	c.SendEvent("m.call.invite", map[string]string{"call_id": "c1"}, func(id string, err error) { gotID, gotErr = id, err })
	req := r.last()
	is.Equal(req.API, widgetclient.FromWidget)
	is.Equal(req.Action, "send_event")
	is.True(strings.Contains(string(req.Data), `"room_id":"!r:localhost"`))
	req.Response = json.RawMessage(`{"room_id":"!r:localhost","event_id":"$e1"}`)
	b, _ := json.Marshal(req)
	c.Handle(host, b)
	is.NoErr(gotErr)
	is.Equal(gotID, "$e1")

	// An error reply becomes a HostError.
	c.SendEvent("m.call.invite", map[string]string{}, func(id string, err error) { gotErr = err })
	req = r.last()
	req.Response = json.RawMessage(`{"error":{"message":"M_FORBIDDEN"}}`)
	b, _ = json.Marshal(req)
	c.Handle(host, b)
	var he *widgetclient.HostError
	is.True(errors.As(gotErr, &he))
	is.Equal(he.Message, "M_FORBIDDEN")

	// No reply within 10 s: ErrTimeout, once.
	calls := 0
	c.SendToDevice("m.call.invite", map[string]any{}, func(err error) { gotErr = err; calls++ })
	clk.Advance(widgetclient.RequestTimeout + time.Millisecond)
	is.True(errors.Is(gotErr, widgetclient.ErrTimeout))
	late := r.last()
	late.Response = json.RawMessage(`{}`)
	b, _ = json.Marshal(late)
	c.Handle(host, b) // a late reply changes nothing
	is.Equal(calls, 1)

	// Denied capabilities are refused locally: nothing is posted.
	n := r.count()
	c.SendEvent("m.call.negotiate", map[string]string{}, func(_ string, err error) { gotErr = err })
	is.True(errors.Is(gotErr, widgetclient.ErrCapabilityDenied))
	c.SendToDevice("m.call.hangup", map[string]any{}, func(err error) { gotErr = err })
	is.True(errors.Is(gotErr, widgetclient.ErrCapabilityDenied))
	is.Equal(r.count(), n)

	// content_loaded goes out exactly once.
	c.ContentLoaded()
	c.ContentLoaded()
	loaded := 0
	for _, m := range r.posted[base:] {
		if m.Action == "content_loaded" {
			loaded++
		}
	}
	is.Equal(loaded, 1)

	// read_events: nil = timeline, AllStateKeys = every state key.
	var evs []json.RawMessage
	c.ReadEvents("m.room.member", widgetclient.AllStateKeys, 50, func(e []json.RawMessage, err error) { evs, gotErr = e, err })
	req = r.last()
	is.True(strings.Contains(string(req.Data), `"state_key":true`))
	req.Response = json.RawMessage(`{"events":[{"type":"m.room.member"}]}`)
	b, _ = json.Marshal(req)
	c.Handle(host, b)
	is.NoErr(gotErr)
	is.Equal(len(evs), 1)

	c.WatchTURN(func(err error) { gotErr = err })
	is.Equal(r.last().Action, "watch_turn_servers")
	c.SetAlwaysOnScreen(true, func(err error) {})
	is.Equal(r.last().Action, "set_always_on_screen")
}

func TestParseParams(t *testing.T) {
	tests := []struct {
		rule, url string
		ok        bool
		want      widgetclient.Params
	}{
		{"widgetId and parentUrl in the query make widget mode",
			"http://app/?widgetId=w1&parentUrl=https%3A%2F%2Fclient.example%2Fapp%23room&roomId=%21q%3Ahs", true,
			widgetclient.Params{WidgetID: "w1", ParentURL: "https://client.example/app#room", ParentOrigin: "https://client.example", RoomID: "!q:hs"}},
		{"the fragment wins over the query",
			"http://app/?widgetId=w1&parentUrl=http%3A%2F%2Fh%3A8080&roomId=%21q%3Ahs#?roomId=%21f%3Ahs&userId=%40a%3Ahs&deviceId=D&baseUrl=http%3A%2F%2Fhs&lang=en&theme=dark&displayName=A", true,
			widgetclient.Params{WidgetID: "w1", ParentURL: "http://h:8080", ParentOrigin: "http://h:8080", RoomID: "!f:hs", UserID: "@a:hs", DeviceID: "D", BaseURL: "http://hs", Lang: "en", Theme: "dark", DisplayName: "A"}},
		{"without a widget id it is not a widget", "http://app/?parentUrl=http%3A%2F%2Fh", false, widgetclient.Params{}},
		{"a non-http parent is refused", "http://app/?widgetId=w&parentUrl=javascript%3Aalert(1)", false, widgetclient.Params{}},
		{"a plain page is not a widget", "http://app/#?roomId=%21r%3Ahs", false, widgetclient.Params{}},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			is := is.New(t)
			p, ok := widgetclient.ParseParams(tc.url)
			is.Equal(ok, tc.ok)
			is.Equal(p, tc.want)
		})
	}
}

func TestCapabilityLists(t *testing.T) {
	is := is.New(t)
	one := widgetclient.OneToOneCapabilities("!r:hs")
	has := func(list []string, c string) bool {
		for _, x := range list {
			if x == c {
				return true
			}
		}
		return false
	}
	for _, c := range []string{"org.matrix.msc2762.timeline:!r:hs", "org.matrix.msc2762.send.event:m.call.invite",
		"org.matrix.msc2762.receive.event:m.call.select_answer", "org.matrix.msc2762.receive.state_event:m.room.member",
		"town.robin.msc3846.turn_servers"} {
		is.True(has(one, c))
	}
	for _, c := range widgetclient.RequiredToCall() {
		is.True(has(one, c)) // Ringo asks for everything it needs
	}
	group := widgetclient.GroupCallCapabilities("!r:hs", "@a:hs")
	for _, c := range []string{"org.matrix.msc2762.send.state_event:org.matrix.msc3401.call",
		"org.matrix.msc2762.send.state_event:org.matrix.msc3401.call.member#@a:hs",
		"org.matrix.msc2762.receive.state_event:m.call.member",
		"org.matrix.msc3819.send.to_device:m.call.invite", "org.matrix.msc3819.receive.to_device:m.call.candidates"} {
		is.True(has(group, c))
	}
	is.True(len(group) > len(one))
}
