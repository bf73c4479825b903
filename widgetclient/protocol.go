package widgetclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"ringo/signalling"
)

// API directions of the envelope.
const (
	FromWidget = "fromWidget"
	ToWidget   = "toWidget"
)

// Actions Ringo uses or answers.
const (
	ActionContentLoaded       = "content_loaded"
	ActionCapabilities        = "capabilities"
	ActionNotifyCapabilities  = "notify_capabilities"
	ActionSupportedAPIVersion = "supported_api_versions"
	ActionSendEvent           = "send_event"
	ActionSendToDevice        = "send_to_device"
	ActionReadEvents          = "org.matrix.msc2876.read_events"
	ActionUpdateState         = "update_state"
	ActionWatchTURN           = "watch_turn_servers"
	ActionUpdateTURN          = "update_turn_servers"
	ActionUnwatchTURN         = "unwatch_turn_servers"
	ActionAlwaysOnScreen      = "set_always_on_screen"
	ActionElementJoin         = "io.element.join"
	ActionElementHangup       = "im.vector.hangup"
	ActionElementDeviceMute   = "io.element.device_mute"
)

// RequestTimeout is how long a fromWidget request waits for the host's reply.
const RequestTimeout = 10 * time.Second

// SupportedVersions are the widget API versions Ringo speaks.
var SupportedVersions = []string{"0.0.1", "0.0.2", "org.matrix.msc2762", "org.matrix.msc2871", "org.matrix.msc2876", "org.matrix.msc3819", "town.robin.msc3846"}

// Message is the widget API envelope.
type Message struct {
	API       string          `json:"api"`
	WidgetID  string          `json:"widgetId"`
	RequestID string          `json:"requestId"`
	Action    string          `json:"action"`
	Data      json.RawMessage `json:"data"`
	Response  json.RawMessage `json:"response,omitempty"`
}

// Sentinel errors.
var (
	ErrTimeout          = errors.New("widget: the host did not reply within 10 s")
	ErrCapabilityDenied = errors.New("widget: the host did not allow this")
	ErrClosed           = errors.New("widget: closed")
)

// HostError is an error reply from the host.
type HostError struct{ Message string }

func (e *HostError) Error() string { return "widget host: " + e.Message }

// DropReason says why an incoming message was ignored.
type DropReason int

const (
	DropWrongOrigin DropReason = iota
	DropWrongWidget
	DropMalformed
	DropUnexpected // a reply to no pending request, or an unknown direction
)

func (r DropReason) String() string {
	switch r {
	case DropWrongOrigin:
		return "wrong_origin"
	case DropWrongWidget:
		return "wrong_widget_id"
	case DropMalformed:
		return "malformed"
	default:
		return "unexpected"
	}
}

// Handler receives what the host pushes. Calls come from Handle's caller, in order, and
// must not block.
type Handler interface {
	RoomEvent(raw json.RawMessage)                     // send_event and update_state events
	ToDevice(raw json.RawMessage)                      // send_to_device
	TURNServers(servers TURNServers)                   // update_turn_servers
	Capabilities(approved []string)                    // notify_capabilities
	ElementAction(action string, data json.RawMessage) // io.element.join, im.vector.hangup, io.element.device_mute
}

// TURNServers is update_turn_servers' data.
type TURNServers struct {
	URIs     []string `json:"uris"`
	Username string   `json:"username"`
	Password string   `json:"password"`
}

// Client is one widget session.
type Client struct {
	p         Params
	post      func([]byte)
	clock     signalling.Clock
	requested []string

	mu       sync.Mutex
	h        Handler
	seq      int
	pending  map[string]*pending
	approved map[string]bool
	notified bool
	loaded   bool
	dropped  map[DropReason]int
}

type pending struct {
	done  func(json.RawMessage, error)
	timer signalling.Timer
}

// NewClient makes a client that posts messages with post (the js adapter sends them to
// window.parent with ParentOrigin as the target origin) and asks for requested.
func NewClient(p Params, requested []string, post func([]byte), clock signalling.Clock) *Client {
	return &Client{p: p, post: post, clock: clock, requested: requested,
		pending: map[string]*pending{}, approved: map[string]bool{}, dropped: map[DropReason]int{}}
}

// SetHandler sets who receives host pushes.
func (c *Client) SetHandler(h Handler) {
	c.mu.Lock()
	c.h = h
	c.mu.Unlock()
}

// Dropped counts ignored incoming messages by reason.
func (c *Client) Dropped() map[DropReason]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[DropReason]int{}
	for k, v := range c.dropped {
		out[k] = v
	}
	return out
}

// Approved reports whether the host approved capability cap.
func (c *Client) Approved(cap string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.approved[cap]
}

// Notified reports whether notify_capabilities has arrived.
func (c *Client) Notified() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.notified
}

func (c *Client) drop(r DropReason) {
	c.mu.Lock()
	c.dropped[r]++
	c.mu.Unlock()
}

// Handle takes one message event from the page: its origin and its data as JSON.
func (c *Client) Handle(origin string, data []byte) {
	if origin != c.p.ParentOrigin {
		c.drop(DropWrongOrigin)
		return
	}
	var m Message
	if err := json.Unmarshal(data, &m); err != nil || m.Action == "" || m.RequestID == "" {
		c.drop(DropMalformed)
		return
	}
	if m.WidgetID != c.p.WidgetID {
		c.drop(DropWrongWidget)
		return
	}
	switch {
	case m.API == ToWidget && len(m.Response) == 0:
		c.hostRequest(m)
	case m.API == FromWidget && len(m.Response) > 0:
		c.reply(m)
	default:
		c.drop(DropUnexpected)
	}
}

// hostRequest answers a toWidget request.
func (c *Client) hostRequest(m Message) {
	c.mu.Lock()
	h := c.h
	c.mu.Unlock()
	var resp any = struct{}{}
	switch m.Action {
	case ActionCapabilities:
		resp = map[string]any{"capabilities": c.requested}
	case ActionNotifyCapabilities:
		var d struct {
			Approved []string `json:"approved"`
		}
		if err := json.Unmarshal(m.Data, &d); err != nil {
			resp = errorReply("malformed notify_capabilities")
			break
		}
		c.mu.Lock()
		c.approved = map[string]bool{}
		for _, a := range d.Approved {
			c.approved[a] = true
		}
		c.notified = true
		c.mu.Unlock()
		if h != nil {
			h.Capabilities(d.Approved)
		}
	case ActionSupportedAPIVersion:
		resp = map[string]any{"supported_versions": SupportedVersions}
	case ActionSendEvent:
		if h != nil {
			h.RoomEvent(m.Data)
		}
	case ActionUpdateState:
		var d struct {
			State []json.RawMessage `json:"state"`
		}
		if err := json.Unmarshal(m.Data, &d); err == nil && h != nil {
			for _, ev := range d.State {
				h.RoomEvent(ev)
			}
		}
	case ActionSendToDevice:
		if h != nil {
			h.ToDevice(m.Data)
		}
	case ActionUpdateTURN:
		var t TURNServers
		if err := json.Unmarshal(m.Data, &t); err != nil {
			resp = errorReply("malformed update_turn_servers")
			break
		}
		if h != nil {
			h.TURNServers(t)
		}
	case ActionElementJoin, ActionElementHangup, ActionElementDeviceMute:
		if h != nil {
			h.ElementAction(m.Action, m.Data)
		}
	default:
		resp = errorReply("unknown action " + strconv.Quote(m.Action))
	}
	b, err := json.Marshal(resp)
	if err != nil {
		return
	}
	m.Response = b
	if out, err := json.Marshal(m); err == nil {
		c.post(out)
	}
}

func errorReply(msg string) any {
	return map[string]any{"error": map[string]string{"message": msg}}
}

// reply completes one of our requests.
func (c *Client) reply(m Message) {
	c.mu.Lock()
	p, ok := c.pending[m.RequestID]
	delete(c.pending, m.RequestID)
	c.mu.Unlock()
	if !ok {
		c.drop(DropUnexpected)
		return
	}
	if p.timer != nil {
		p.timer.Stop()
	}
	var e struct {
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(m.Response, &e) == nil && e.Error != nil {
		p.done(nil, &HostError{Message: e.Error.Message})
		return
	}
	p.done(m.Response, nil)
}

// request sends a fromWidget request; done gets the response or an error (exactly once).
func (c *Client) request(action string, data any, done func(json.RawMessage, error)) {
	raw, err := json.Marshal(data)
	if err != nil {
		done(nil, err)
		return
	}
	c.mu.Lock()
	c.seq++
	rid := fmt.Sprintf("ringo-%d", c.seq)
	c.mu.Unlock()
	p := &pending{done: done}
	p.timer = c.clock.AfterFunc(RequestTimeout, func() {
		c.mu.Lock()
		_, still := c.pending[rid]
		delete(c.pending, rid)
		c.mu.Unlock()
		if still {
			done(nil, ErrTimeout)
		}
	})
	c.mu.Lock()
	c.pending[rid] = p
	c.mu.Unlock()
	out, err := json.Marshal(Message{API: FromWidget, WidgetID: c.p.WidgetID, RequestID: rid, Action: action, Data: raw})
	if err != nil {
		done(nil, err)
		return
	}
	c.post(out)
}

// ContentLoaded tells the host we are ready (Element's call widgets wait for it). It is
// sent at most once.
func (c *Client) ContentLoaded() {
	c.mu.Lock()
	if c.loaded {
		c.mu.Unlock()
		return
	}
	c.loaded = true
	c.mu.Unlock()
	c.request(ActionContentLoaded, struct{}{}, func(json.RawMessage, error) {})
}

// SendEvent asks the host to send a room event in our room.
func (c *Client) SendEvent(evType string, content any, done func(eventID string, err error)) {
	if !c.Approved(CapSendEvent(evType)) {
		done("", fmt.Errorf("%w: sending %s", ErrCapabilityDenied, evType))
		return
	}
	c.request(ActionSendEvent, map[string]any{"type": evType, "content": content, "room_id": c.p.RoomID}, func(r json.RawMessage, err error) {
		if err != nil {
			done("", err)
			return
		}
		var d struct {
			EventID string `json:"event_id"`
		}
		_ = json.Unmarshal(r, &d)
		done(d.EventID, nil)
	})
}

// SendStateEvent asks the host to set a state event in our room.
func (c *Client) SendStateEvent(evType, stateKey string, content any, done func(error)) {
	if !c.Approved(CapSendState(evType, stateKey)) && !c.Approved(CapSendState(evType, "")) {
		done(fmt.Errorf("%w: setting %s", ErrCapabilityDenied, evType))
		return
	}
	c.request(ActionSendEvent, map[string]any{"type": evType, "state_key": stateKey, "content": content, "room_id": c.p.RoomID},
		func(_ json.RawMessage, err error) { done(err) })
}

// SendToDevice asks the host to send to-device messages (group calls).
func (c *Client) SendToDevice(evType string, messages any, done func(error)) {
	if !c.Approved(CapSendToDevice(evType)) {
		done(fmt.Errorf("%w: sending %s to devices", ErrCapabilityDenied, evType))
		return
	}
	c.request(ActionSendToDevice, map[string]any{"type": evType, "encrypted": false, "messages": messages}, func(_ json.RawMessage, err error) { done(err) })
}

// AllStateKeys asks ReadEvents for the state events of a type under every state key.
const AllStateKeys = true

// ReadEvents reads recent room events of a type: stateKey nil reads the timeline, a
// string reads the state event with that key, AllStateKeys reads them all.
func (c *Client) ReadEvents(evType string, stateKey any, limit int, done func([]json.RawMessage, error)) {
	data := map[string]any{"type": evType, "limit": limit}
	if stateKey != nil {
		data["state_key"] = stateKey
	}
	c.request(ActionReadEvents, data, func(r json.RawMessage, err error) {
		if err != nil {
			done(nil, err)
			return
		}
		var d struct {
			Events []json.RawMessage `json:"events"`
		}
		if err := json.Unmarshal(r, &d); err != nil {
			done(nil, err)
			return
		}
		done(d.Events, nil)
	})
}

// WatchTURN asks the host to push TURN servers (update_turn_servers).
func (c *Client) WatchTURN(done func(error)) {
	if !c.Approved(CapTURN) {
		done(fmt.Errorf("%w: TURN servers", ErrCapabilityDenied))
		return
	}
	c.request(ActionWatchTURN, struct{}{}, func(_ json.RawMessage, err error) { done(err) })
}

// SetAlwaysOnScreen asks the host to keep the widget visible during a call.
func (c *Client) SetAlwaysOnScreen(on bool, done func(error)) {
	c.request(ActionAlwaysOnScreen, map[string]bool{"value": on}, func(_ json.RawMessage, err error) { done(err) })
}
