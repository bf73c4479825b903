package groupcall

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"maunium.net/go/mautrix/id"
)

// State event types, stable and as deployed clients write them (unstable).
const (
	TypeCall           = "m.call"
	TypeCallUnstable   = "org.matrix.msc3401.call"
	TypeMember         = "m.call.member"
	TypeMemberUnstable = "org.matrix.msc3401.call.member"
)

// Device is one participating device.
type Device struct {
	User    id.UserID
	Device  id.DeviceID
	Session string
	Expires time.Time
}

// Key identifies a device regardless of its session.
func (d Device) Key() string { return string(d.User) + "|" + string(d.Device) }

// ShouldCall says whether me places the call to peer: the lower (user_id, device_id)
// pair calls the higher one (matrix-js-sdk and Hydrogen do the same), so exactly one
// side of every pair calls.
func ShouldCall(me, peer Device) bool {
	if me.User != peer.User {
		return me.User < peer.User
	}
	return me.Device < peer.Device
}

// MemberContent is the content of a member state event.
type MemberContent struct {
	Calls []MemberCall `json:"m.calls"`
}

// MemberCall is one call a member takes part in.
type MemberCall struct {
	CallID  string          `json:"m.call_id"`
	Foci    json.RawMessage `json:"m.foci,omitempty"`
	Devices []MemberDevice  `json:"m.devices"`
}

// MemberDevice is one device of a member in a call.
type MemberDevice struct {
	DeviceID  id.DeviceID     `json:"device_id"`
	SessionID string          `json:"session_id"`
	ExpiresTS int64           `json:"expires_ts"`
	Feeds     json.RawMessage `json:"feeds,omitempty"`
}

// ParseMember reads a member event's content; it names the field that is wrong.
func ParseMember(raw []byte) (MemberContent, error) {
	var m MemberContent
	if err := json.Unmarshal(raw, &m); err != nil {
		return MemberContent{}, fmt.Errorf("groupcall: member content: %w", err)
	}
	return m, nil
}

// Participants lists the devices taking part in conf: members whose room membership is
// join, with an unexpired device listed under that call. Sorted by (user, device).
func Participants(conf string, members map[id.UserID]MemberContent, joined func(id.UserID) bool, now time.Time) []Device {
	var out []Device
	for user, mc := range members {
		if !joined(user) {
			continue // member events stay in state after a user leaves the room
		}
		for _, c := range mc.Calls {
			if c.CallID != conf {
				continue
			}
			for _, d := range c.Devices {
				exp := time.UnixMilli(d.ExpiresTS)
				if d.DeviceID == "" || d.SessionID == "" || !exp.After(now) {
					continue
				}
				out = append(out, Device{User: user, Device: d.DeviceID, Session: d.SessionID, Expires: exp})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// WithDevice returns our member content after joining (or refreshing) conf with dev, or
// after leaving it (join false): read-modify-write that keeps our other devices and calls.
func WithDevice(cur MemberContent, conf string, dev MemberDevice, join bool) MemberContent {
	var out MemberContent
	found := false
	for _, c := range cur.Calls {
		if c.CallID != conf {
			out.Calls = append(out.Calls, c)
			continue
		}
		found = true
		nc := MemberCall{CallID: c.CallID, Foci: c.Foci}
		for _, d := range c.Devices {
			if d.DeviceID != dev.DeviceID {
				nc.Devices = append(nc.Devices, d)
			}
		}
		if join {
			nc.Devices = append(nc.Devices, dev)
		}
		if len(nc.Devices) > 0 {
			out.Calls = append(out.Calls, nc)
		}
	}
	if !found && join {
		out.Calls = append(out.Calls, MemberCall{CallID: conf, Devices: []MemberDevice{dev}})
	}
	if out.Calls == nil {
		out.Calls = []MemberCall{}
	}
	return out
}
