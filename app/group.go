package app

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"time"

	"maunium.net/go/mautrix/id"

	"ringo/groupcall"
	"ringo/matrixclient"
	"ringo/signalling"
)

// Group call (MSC3401 full mesh) support for the controller.

// GroupInfo is the group call the user is in, for the UI.
type GroupInfo struct {
	Room id.RoomID
	Conf string
	Legs []groupcall.LegInfo // one per other participating device, sorted by peer
}

// StateSender is the part of a backend that can set room state (the homeserver client).
type StateSender interface {
	SendState(ctx context.Context, room id.RoomID, evType, stateKey string, content any) error
}

// StateReader can read room state (the homeserver client).
type StateReader interface {
	GetState(ctx context.Context, room id.RoomID, evType, stateKey string, out any) error
}

// Sentinel errors of group calls.
var (
	ErrGroupForbidden   = errors.New("this room does not let members start or join group calls: its power levels need the call state events (m.call, m.call.member) at level 0")
	ErrGroupUnsupported = errors.New("group calls need a homeserver session (not yet available in widget mode)")
	ErrInGroup          = errors.New("already in a group call")
)

// memberValidity is how long our member event says we are in the call; it is refreshed
// at about three quarters of that, with jitter (as other clients do).
const memberValidity = time.Hour

type groupState struct {
	room       id.RoomID
	kind       signalling.MediaKind
	switching  bool
	conf       string
	memberType string
	session    *groupcall.Session
	me         groupcall.Device
	legs       map[string]groupcall.LegInfo
	refresh    signalling.Timer
}

// JoinGroup joins (or starts) the room's group call.
func (c *Controller) JoinGroup(room id.RoomID, kind signalling.MediaKind) error {
	ss, ok := c.client.(StateSender)
	if !ok {
		return ErrGroupUnsupported
	}
	c.mu.Lock()
	if c.group != nil {
		c.mu.Unlock()
		return ErrInGroup
	}
	var r *matrixclient.Room
	for i := range c.state.Rooms {
		if c.state.Rooms[i].ID == room {
			r = &c.state.Rooms[i]
		}
	}
	c.mu.Unlock()
	if r == nil {
		return ErrNoRoom
	}
	ctx, cancel := context.WithTimeout(c.ctx, 20*time.Second)
	defer cancel()
	callType, memberType := groupcall.TypeCallUnstable, groupcall.TypeMemberUnstable
	conf := liveConf(r.CallState)
	for _, e := range r.CallState {
		if e.Type == groupcall.TypeCall {
			callType, memberType = groupcall.TypeCall, groupcall.TypeMember // write what the room already uses
		}
	}
	if conf == "" {
		conf = randomID(24)
		intent := map[string]any{"m.intent": "m.room", "m.type": "m.video"}
		if kind == signalling.MediaKindVoice {
			intent["m.type"] = "m.voice"
		}
		if err := ss.SendState(ctx, room, callType, conf, intent); err != nil {
			return fmt.Errorf("starting the group call: %w", groupErr(err))
		}
	}
	me := groupcall.Device{User: c.me, Device: c.device, Session: randomID(10)}
	g := &groupState{room: room, kind: kind, conf: conf, memberType: memberType, me: me, legs: map[string]groupcall.LegInfo{}}
	g.session = groupcall.New(groupcall.Config{
		Room: room, Me: me, Conf: conf, Kind: kind, ToDevice: c.client.Sender(),
		NewPeer: c.deps.NewPeer, Media: c.deps.Media, Clock: c.deps.Clock, Logf: c.deps.Logf,
		ICE: signalling.Config{ICEServers: c.iceServers, ForceRelay: c.deps.ForceRelay},
		Observer: func(li groupcall.LegInfo) {
			c.mu.Lock()
			if c.group == g {
				g.legs[li.Peer.Key()] = li
			}
			c.mu.Unlock()
			c.changed()
		},
		Drive: func(m *signalling.Manager) { go m.Run(c.ctx) },
	})
	c.mu.Lock()
	c.group = g
	c.mu.Unlock()
	if err := c.writeMember(ctx, ss, g, true); err != nil {
		c.mu.Lock()
		c.group = nil
		c.mu.Unlock()
		g.session.Leave()
		return err
	}
	c.updateGroup()
	c.changed()
	return nil
}

// LeaveGroup leaves the group call: legs hang up and our device leaves the member event.
func (c *Controller) LeaveGroup() error {
	c.mu.Lock()
	g := c.group
	c.group = nil
	c.mu.Unlock()
	if g == nil {
		return nil
	}
	if g.refresh != nil {
		g.refresh.Stop()
	}
	g.session.Leave()
	c.changed()
	ss, ok := c.client.(StateSender)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.writeMember(ctx, ss, g, false)
}

// writeMember updates our member event read-modify-write (two devices of one user share
// one state key) and schedules the refresh before it expires.
func (c *Controller) writeMember(ctx context.Context, ss StateSender, g *groupState, join bool) error {
	cur := groupcall.MemberContent{}
	c.mu.Lock()
	for _, r := range c.state.Rooms {
		if r.ID != g.room {
			continue
		}
		for _, e := range r.CallState {
			if e.Type == g.memberType && e.StateKey == string(c.me) {
				if m, err := groupcall.ParseMember(e.Content); err == nil {
					cur = m
				}
			}
		}
	}
	c.mu.Unlock()
	dev := groupcall.MemberDevice{DeviceID: g.me.Device, SessionID: g.me.Session,
		ExpiresTS: c.deps.Clock.Now().Add(memberValidity).UnixMilli(), Feeds: json.RawMessage(`[{"purpose":"m.usermedia"}]`)}
	content := groupcall.WithDevice(cur, g.conf, dev, join)
	if err := ss.SendState(ctx, g.room, g.memberType, string(c.me), content); err != nil {
		return fmt.Errorf("updating your group call membership: %w", groupErr(err))
	}
	if join {
		jitter, _ := rand.Int(rand.Reader, big.NewInt(int64(5*time.Minute)))
		g.refresh = c.deps.Clock.AfterFunc(memberValidity*3/4-time.Duration(jitter.Int64()), func() {
			c.mu.Lock()
			still := c.group == g
			c.mu.Unlock()
			if still {
				rctx, cancel := context.WithTimeout(c.ctx, 20*time.Second)
				defer cancel()
				if err := c.writeMember(rctx, ss, g, true); err != nil {
					c.deps.Logf("refreshing the group call membership: %v", err)
				}
			}
		})
	}
	return nil
}

// updateGroup recomputes the participants from room state and updates the legs.
func (c *Controller) updateGroup() {
	c.mu.Lock()
	g := c.group
	var r *matrixclient.Room
	for i := range c.state.Rooms {
		if g != nil && c.state.Rooms[i].ID == g.room {
			r = &c.state.Rooms[i]
		}
	}
	c.mu.Unlock()
	if g == nil || r == nil {
		return
	}
	// Two people who start a call at the same moment create two call events: everyone
	// moves to the oldest (PROTOCOL.md §7), so the mesh is one call.
	if live := liveConf(r.CallState); live != "" && live != g.conf {
		c.mu.Lock()
		move := !g.switching && c.group == g
		g.switching = true
		c.mu.Unlock()
		if move {
			c.deps.Logf("group call: moving from %s to the older call %s", g.conf, live)
			go func() {
				_ = c.LeaveGroup()
				if err := c.JoinGroup(g.room, g.kind); err != nil {
					c.deps.Logf("group call: rejoining %s: %v", live, err)
				}
			}()
		}
		return
	}
	members := map[id.UserID]groupcall.MemberContent{}
	for _, e := range r.CallState {
		if e.Type != groupcall.TypeMember && e.Type != groupcall.TypeMemberUnstable {
			continue
		}
		if m, err := groupcall.ParseMember(e.Content); err == nil {
			prev := members[id.UserID(e.StateKey)]
			prev.Calls = append(prev.Calls, m.Calls...)
			members[id.UserID(e.StateKey)] = prev
		}
	}
	joined := func(u id.UserID) bool { return r.Members[u] == signalling.MembershipJoin }
	g.session.Update(groupcall.Participants(g.conf, members, joined, c.deps.Clock.Now()))
}

// liveConf picks the room's live group call: the oldest call event not terminated (ties:
// the lower state key).
func liveConf(state []matrixclient.StateEvent) string {
	var live []matrixclient.StateEvent
	for _, e := range state {
		if e.Type != groupcall.TypeCall && e.Type != groupcall.TypeCallUnstable {
			continue
		}
		var c map[string]any
		if json.Unmarshal(e.Content, &c) != nil || len(c) == 0 {
			continue // redacted or empty: not a call
		}
		if _, ended := c["m.terminated"]; ended {
			continue
		}
		live = append(live, e)
	}
	sort.Slice(live, func(i, j int) bool {
		if live[i].Timestamp != live[j].Timestamp {
			return live[i].Timestamp < live[j].Timestamp
		}
		return live[i].StateKey < live[j].StateKey
	})
	if len(live) == 0 {
		return ""
	}
	return live[0].StateKey
}

func groupErr(err error) error {
	var he *matrixclient.HTTPError
	if errors.As(err, &he) && he.Status == 403 {
		return ErrGroupForbidden
	}
	return err
}

// Group returns the group call the user is in, if any.
func (c *Controller) Group() (GroupInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.group
	if g == nil {
		return GroupInfo{}, false
	}
	gi := GroupInfo{Room: g.room, Conf: g.conf}
	for _, p := range g.session.Legs() {
		if li, ok := g.legs[p.Key()]; ok {
			gi.Legs = append(gi.Legs, li)
		} else {
			gi.Legs = append(gi.Legs, groupcall.LegInfo{Peer: p})
		}
	}
	sort.Slice(gi.Legs, func(i, j int) bool { return gi.Legs[i].Peer.Key() < gi.Legs[j].Peer.Key() })
	return gi, true
}

const idChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randomID(n int) string {
	b := make([]byte, n)
	for i := range b {
		k, _ := rand.Int(rand.Reader, big.NewInt(int64(len(idChars))))
		b[i] = idChars[k.Int64()]
	}
	return string(b)
}

// groupStateTypes are the state event types a group call writes.
var groupStateTypes = []string{groupcall.TypeCall, groupcall.TypeCallUnstable, groupcall.TypeMember, groupcall.TypeMemberUnstable}

// powerLevels is the part of m.room.power_levels that decides who may set which state.
type powerLevels map[string]any

func (pl powerLevels) num(v any, def int) int {
	if f, ok := v.(float64); ok {
		return int(f)
	}
	return def
}

func (pl powerLevels) userLevel(u id.UserID) int {
	if users, ok := pl["users"].(map[string]any); ok {
		if v, ok := users[string(u)]; ok {
			return pl.num(v, 0)
		}
	}
	return pl.num(pl["users_default"], 0)
}

func (pl powerLevels) eventLevel(t string) int {
	if evs, ok := pl["events"].(map[string]any); ok {
		if v, ok := evs[t]; ok {
			return pl.num(v, 50)
		}
	}
	return pl.num(pl["state_default"], 50)
}

// readPowerLevels fetches the room's m.room.power_levels.
func (c *Controller) readPowerLevels(room id.RoomID) (powerLevels, error) {
	sr, ok := c.client.(StateReader)
	if !ok {
		return nil, ErrGroupUnsupported
	}
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	var pl powerLevels
	if err := sr.GetState(ctx, room, "m.room.power_levels", "", &pl); err != nil {
		return nil, err
	}
	return pl, nil
}

// CanFixGroupPowerLevels reports whether we may change the room's power levels so that
// members can use group calls (room admins can).
func (c *Controller) CanFixGroupPowerLevels(room id.RoomID) bool {
	pl, err := c.readPowerLevels(room)
	return err == nil && pl.userLevel(c.me) >= pl.eventLevel("m.room.power_levels")
}

// GroupNeedsFix reports whether ordinary members of the room may not join its group call
// (its power levels keep the call state events above users_default) while we could
// change that: the case where an admin should be offered FixGroupPowerLevels.
func (c *Controller) GroupNeedsFix(room id.RoomID) bool {
	pl, err := c.readPowerLevels(room)
	return err == nil && pl.userLevel(c.me) >= pl.eventLevel("m.room.power_levels") && !pl.membersMayCall()
}

// membersMayCall: a member at users_default may write the group call state events.
func (pl powerLevels) membersMayCall() bool {
	member := pl.num(pl["users_default"], 0)
	for _, t := range groupStateTypes {
		if pl.eventLevel(t) > member {
			return false
		}
	}
	return true
}

// FixGroupPowerLevels lets every member set the group call state events (level 0).
func (c *Controller) FixGroupPowerLevels(room id.RoomID) error {
	ss, ok := c.client.(StateSender)
	if !ok {
		return ErrGroupUnsupported
	}
	pl, err := c.readPowerLevels(room)
	if err != nil {
		return err
	}
	evs, _ := pl["events"].(map[string]any)
	if evs == nil {
		evs = map[string]any{}
	}
	for _, t := range groupStateTypes {
		evs[t] = 0
	}
	pl["events"] = evs
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	return ss.SendState(ctx, room, "m.room.power_levels", "", pl)
}
