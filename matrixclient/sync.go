package matrixclient

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"net/url"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"ringo/signalling"
)

// Room is what the UI shows about a joined room.
type Room struct {
	ID     id.RoomID
	Name   string
	Public bool // join rule public: invites there do not ring
	// Encrypted: the room has m.room.encryption. Ringo cannot decrypt call events in
	// standalone mode, so it does not offer calls there (widget mode can: the host decrypts).
	Encrypted bool
	Members   map[id.UserID]signalling.Membership
	Names     map[id.UserID]string // display names of members that set one
	// CallState holds the room's group call state events (m.call / m.call.member under
	// the stable and unstable names).
	CallState []StateEvent
}

// DisplayName is the member's display name with the user id, or just the user id when
// the member set none. It is user-controlled text: render it as text only.
func (r Room) DisplayName(u id.UserID) string {
	if n := r.Names[u]; n != "" && n != string(u) {
		return n + " (" + string(u) + ")"
	}
	return string(u)
}

// Joined lists the joined members other than me, sorted.
func (r Room) Joined(me id.UserID) []id.UserID {
	var out []id.UserID
	for u, m := range r.Members {
		if u != me && m == signalling.MembershipJoin {
			out = append(out, u)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

type roomInfo struct {
	name, canonicalAlias string
	public               bool
	encrypted            bool
	members              map[id.UserID]signalling.Membership
	memberNames          map[id.UserID]string
	callState            map[string]StateEvent // group call state (MSC3401) by type + "|" + state key
}

// StateEvent is a state event kept raw for group calls.
type StateEvent struct {
	Type      string
	StateKey  string
	Sender    id.UserID
	Timestamp int64
	Content   json.RawMessage
}

// groupStateTypes are the MSC3401 state types kept for group calls, stable and unstable.
var groupStateTypes = map[string]bool{"m.call": true, "org.matrix.msc3401.call": true, "m.call.member": true, "org.matrix.msc3401.call.member": true}

// Handler receives what sync brings. Calls come from the Run goroutine, in order.
type Handler interface {
	// RoomBatch is one room's timeline of one sync response (member changes included).
	RoomBatch(room id.RoomID, b signalling.Batch)
	// RoomsChanged gives every joined room after a sync that changed any of them.
	RoomsChanged(rooms []Room)
	// ToDevice delivers to-device messages (group calls).
	ToDevice(evs []signalling.RoomEvent)
	// Status reports whether the homeserver is reachable (nil) or why not.
	Status(err error)
}

// Run syncs until ctx ends. Failures are reported through Status and retried with
// backoff (1 s doubling to 30 s); nothing is lost because the next sync resumes from the
// last good position.
func (c *Client) Run(ctx context.Context, h Handler) error {
	since := ""
	backoff := time.Second
	first := true
	for ctx.Err() == nil {
		timeout := 30000
		if first {
			timeout = 0
		}
		q := url.Values{"timeout": {itoa(timeout)}, "set_presence": {"offline"}}
		if since != "" {
			q.Set("since", since)
		}
		var resp syncResponse
		err := c.do(ctx, "GET", pathOf("sync"), q, nil, &resp)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			h.Status(describe(err))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = time.Second
		h.Status(nil)
		c.handleSync(&resp, first, h)
		since = resp.NextBatch
		first = false
	}
	return ctx.Err()
}

// syncResponse is the part of a /sync answer Ringo reads.
type syncResponse struct {
	NextBatch string `json:"next_batch"`
	Rooms     struct {
		Join map[id.RoomID]struct {
			State    struct{ Events []*RawEvent } `json:"state"`
			Timeline struct{ Events []*RawEvent } `json:"timeline"`
		} `json:"join"`
		Leave map[id.RoomID]json.RawMessage `json:"leave"`
	} `json:"rooms"`
	ToDevice struct{ Events []*RawEvent } `json:"to_device"`
}

// RawEvent is a client-format event with its content kept raw: the engine decodes and
// validates call contents itself. The widget transport reads the host's events with it too.
type RawEvent struct {
	Type      string          `json:"type"`
	RoomID    id.RoomID       `json:"room_id"`
	Sender    id.UserID       `json:"sender"`
	ID        id.EventID      `json:"event_id"`
	Timestamp int64           `json:"origin_server_ts"`
	StateKey  *string         `json:"state_key"`
	Content   json.RawMessage `json:"content"`
	Unsigned  struct {
		Age           int64  `json:"age"`
		TransactionID string `json:"transaction_id"`
	} `json:"unsigned"`
}

func (c *Client) handleSync(resp *syncResponse, initial bool, h Handler) {
	received := time.Now()
	changed := false
	// Room order is stable so tests and logs are predictable.
	var roomIDs []id.RoomID
	for rid := range resp.Rooms.Join {
		roomIDs = append(roomIDs, rid)
	}
	sort.Slice(roomIDs, func(i, j int) bool { return roomIDs[i] < roomIDs[j] })
	batches := map[id.RoomID]signalling.Batch{}
	for _, rid := range roomIDs {
		jr := resp.Rooms.Join[rid]
		for _, ev := range jr.State.Events {
			changed = c.applyState(rid, ev) || changed
		}
		var evs []signalling.RoomEvent
		for _, ev := range jr.Timeline.Events {
			if ev.StateKey != nil {
				changed = c.applyState(rid, ev) || changed
			}
			c.learnOffset(ev, received)
			evs = append(evs, ev.RoomEvent(rid, received))
		}
		if len(evs) > 0 {
			batches[rid] = signalling.Batch{Events: evs, Initial: initial}
		}
	}
	for rid := range resp.Rooms.Leave {
		c.mu.Lock()
		if _, ok := c.rooms[rid]; ok {
			delete(c.rooms, rid)
			changed = true
		}
		c.mu.Unlock()
	}
	if changed || initial {
		h.RoomsChanged(c.Rooms())
	}
	offset := c.ServerClockOffset()
	for _, rid := range roomIDs {
		if b, ok := batches[rid]; ok {
			b.ServerClockOffset = offset
			h.RoomBatch(rid, b)
		}
	}
	if len(resp.ToDevice.Events) > 0 {
		var evs []signalling.RoomEvent
		for _, ev := range resp.ToDevice.Events {
			evs = append(evs, ev.RoomEvent("", received))
		}
		h.ToDevice(evs)
	}
}

// learnOffset estimates the server clock from the echo of an event we sent: the server
// stamped it between our send and now. (Cross-origin fetch hides the Date header, and
// Dendrite sends no unsigned.age, so this is how invite ages stay right when the local
// clock is wrong.)
func (c *Client) learnOffset(ev *RawEvent, received time.Time) {
	txn := ev.Unsigned.TransactionID
	if txn == "" || ev.Sender != c.S.UserID {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	sent, ok := c.sentAt[txn]
	if !ok {
		return
	}
	delete(c.sentAt, txn)
	mid := sent.Add(received.Sub(sent) / 2)
	c.offset = time.UnixMilli(ev.Timestamp).Sub(mid)
}

// RoomEvent converts ev for the engine; rid "" marks a to-device message.
func (ev *RawEvent) RoomEvent(rid id.RoomID, received time.Time) signalling.RoomEvent {
	class := event.MessageEventType
	switch {
	case rid == "":
		class = event.ToDeviceEventType
	case ev.StateKey != nil:
		class = event.StateEventType
	}
	re := signalling.RoomEvent{
		Type: event.Type{Type: ev.Type, Class: class}, Sender: ev.Sender, EventID: ev.ID, RoomID: rid,
		OriginServerTS: ev.Timestamp, ReceivedAt: received, StateKey: ev.StateKey,
		Content: ev.Content,
	}
	if ev.Unsigned.Age > 0 {
		age := ev.Unsigned.Age
		re.Age = &age
	}
	return re
}

// applyState records room name, join rule and membership; it reports a change.
func (c *Client) applyState(rid id.RoomID, ev *RawEvent) bool {
	if ev.StateKey == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.rooms[rid]
	if r == nil {
		r = &roomInfo{members: map[id.UserID]signalling.Membership{}, memberNames: map[id.UserID]string{}, callState: map[string]StateEvent{}}
		c.rooms[rid] = r
	}
	var content struct {
		Name        string `json:"name"`
		Alias       string `json:"alias"`
		JoinRule    string `json:"join_rule"`
		Membership  string `json:"membership"`
		DisplayName string `json:"displayname"`
	}
	_ = json.Unmarshal(ev.Content, &content)
	switch ev.Type {
	case "m.room.name":
		r.name = content.Name
	case "m.room.canonical_alias":
		r.canonicalAlias = content.Alias
	case "m.room.join_rules":
		r.public = content.JoinRule == "public"
	case "m.room.encryption":
		r.encrypted = true // encryption cannot be turned off again
	case "m.room.member":
		u := id.UserID(*ev.StateKey)
		r.members[u] = signalling.Membership(content.Membership)
		if content.DisplayName != "" {
			r.memberNames[u] = content.DisplayName
		} else {
			delete(r.memberNames, u)
		}
	default:
		if !groupStateTypes[ev.Type] {
			return false
		}
		r.callState[ev.Type+"|"+*ev.StateKey] = StateEvent{Type: ev.Type, StateKey: *ev.StateKey, Sender: ev.Sender, Timestamp: ev.Timestamp, Content: ev.Content}
	}
	return true
}

// Rooms is a snapshot of the joined rooms, sorted by name then id.
func (c *Client) Rooms() []Room {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Room, 0, len(c.rooms))
	for rid, r := range c.rooms {
		if r.members[c.S.UserID] != signalling.MembershipJoin {
			continue
		}
		members := make(map[id.UserID]signalling.Membership, len(r.members))
		for u, m := range r.members {
			members[u] = m
		}
		names := make(map[id.UserID]string, len(r.memberNames))
		for u, n := range r.memberNames {
			names[u] = n
		}
		name := r.name
		if name == "" {
			name = r.canonicalAlias
		}
		if name == "" {
			var others []string
			for u, m := range r.members {
				if u != c.S.UserID && m == signalling.MembershipJoin {
					if dn := r.memberNames[u]; dn != "" {
						others = append(others, dn)
					} else {
						others = append(others, string(u))
					}
				}
			}
			sort.Strings(others)
			name = joinNames(others)
		}
		var cs []StateEvent
		for _, e := range r.callState {
			cs = append(cs, e)
		}
		sort.Slice(cs, func(i, j int) bool { return cs[i].Type+cs[i].StateKey < cs[j].Type+cs[j].StateKey })
		out = append(out, Room{ID: rid, Name: name, Public: r.public, Encrypted: r.encrypted, Members: members, Names: names, CallState: cs})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func joinNames(names []string) string {
	switch len(names) {
	case 0:
		return "Empty room"
	case 1, 2:
		s := names[0]
		if len(names) == 2 {
			s += " and " + names[1]
		}
		return s
	default:
		return names[0] + " and others"
	}
}
