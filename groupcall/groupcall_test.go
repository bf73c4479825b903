package groupcall_test

import (
	"testing"
	"time"

	"github.com/matryer/is"
	"maunium.net/go/mautrix/id"

	"ringo/groupcall"
)

func TestReorder(t *testing.T) {
	tests := []struct {
		rule string
		in   []uint64
		want []uint64
	}{
		{"in order is released at once", []uint64{0, 1, 2}, []uint64{0, 1, 2}},
		{"reversed is released when the gap fills", []uint64{2, 1, 0}, []uint64{0, 1, 2}},
		{"duplicates are dropped", []uint64{0, 0, 1, 1, 2}, []uint64{0, 1, 2}},
		{"stale seqs are dropped", []uint64{0, 1, 0, 2}, []uint64{0, 1, 2}},
		{"a gap holds what follows", []uint64{0, 2, 3}, []uint64{0}},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			is := is.New(t)
			var r groupcall.Reorder[uint64]
			var got []uint64
			for _, s := range tc.in {
				got = append(got, r.Push(s, s)...)
			}
			is.Equal(got, tc.want)
		})
	}
	t.Run("a lost message is skipped once the buffer is full", func(t *testing.T) {
		is := is.New(t)
		r := groupcall.Reorder[uint64]{Limit: 3}
		var got []uint64
		for _, s := range []uint64{1, 2, 3, 4} { // 0 never arrives
			got = append(got, r.Push(s, s)...)
		}
		is.Equal(got, []uint64{1, 2, 3, 4})
		is.Equal(r.Held(), 0)
	})
}

func TestShouldCall(t *testing.T) {
	is := is.New(t)
	a1 := groupcall.Device{User: "@a:hs", Device: "D1"}
	a2 := groupcall.Device{User: "@a:hs", Device: "D2"}
	b1 := groupcall.Device{User: "@b:hs", Device: "A0"}
	for _, pair := range [][2]groupcall.Device{{a1, a2}, {a1, b1}, {a2, b1}} {
		// Exactly one side of every pair calls.
		is.True(groupcall.ShouldCall(pair[0], pair[1]) != groupcall.ShouldCall(pair[1], pair[0]))
	}
	is.True(groupcall.ShouldCall(a2, b1)) // the user id decides before the device id
}

func TestParticipants(t *testing.T) {
	now := time.UnixMilli(1_000_000)
	live, dead := now.Add(time.Hour).UnixMilli(), now.Add(-time.Second).UnixMilli()
	members := map[id.UserID]groupcall.MemberContent{
		"@a:hs":    {Calls: []groupcall.MemberCall{{CallID: "conf", Devices: []groupcall.MemberDevice{{DeviceID: "A", SessionID: "s1", ExpiresTS: live}, {DeviceID: "A2", SessionID: "s2", ExpiresTS: dead}}}}},
		"@b:hs":    {Calls: []groupcall.MemberCall{{CallID: "other", Devices: []groupcall.MemberDevice{{DeviceID: "B", SessionID: "s", ExpiresTS: live}}}}},
		"@gone:hs": {Calls: []groupcall.MemberCall{{CallID: "conf", Devices: []groupcall.MemberDevice{{DeviceID: "G", SessionID: "s", ExpiresTS: live}}}}},
		"@c:hs":    {Calls: []groupcall.MemberCall{{CallID: "conf", Devices: []groupcall.MemberDevice{{DeviceID: "C", SessionID: "", ExpiresTS: live}}}}},
	}
	joined := func(u id.UserID) bool { return u != "@gone:hs" }
	is := is.New(t)
	ps := groupcall.Participants("conf", members, joined, now)
	is.Equal(len(ps), 1) // expired device, other call, left user and session-less device are out
	is.Equal(ps[0].Device, id.DeviceID("A"))
}

func TestMemberContentIsReadModifyWrite(t *testing.T) {
	is := is.New(t)
	other := groupcall.MemberDevice{DeviceID: "PHONE", SessionID: "p", ExpiresTS: 5}
	cur := groupcall.MemberContent{Calls: []groupcall.MemberCall{
		{CallID: "conf", Devices: []groupcall.MemberDevice{other}},
		{CallID: "elsewhere", Devices: []groupcall.MemberDevice{{DeviceID: "X"}}},
	}}
	me := groupcall.MemberDevice{DeviceID: "LAPTOP", SessionID: "l", ExpiresTS: 10}
	joined := groupcall.WithDevice(cur, "conf", me, true)
	is.Equal(joined.Calls[0].Devices, []groupcall.MemberDevice{other, me}) // our other device stays
	is.Equal(joined.Calls[1].CallID, "elsewhere")                          // other calls stay
	me.ExpiresTS = 20
	refreshed := groupcall.WithDevice(joined, "conf", me, true)
	is.Equal(refreshed.Calls[0].Devices[1].ExpiresTS, int64(20))
	is.Equal(len(refreshed.Calls[0].Devices), 2)
	left := groupcall.WithDevice(refreshed, "conf", me, false)
	is.Equal(left.Calls[0].Devices, []groupcall.MemberDevice{other})
	first := groupcall.WithDevice(groupcall.MemberContent{}, "conf", me, true)
	is.Equal(len(first.Calls), 1)
	empty := groupcall.WithDevice(first, "conf", me, false)
	is.Equal(len(empty.Calls), 0)
	_, err := groupcall.ParseMember([]byte(`{"m.calls": 5}`))
	is.True(err != nil)
	m, err := groupcall.ParseMember([]byte(`{"m.calls":[{"m.call_id":"c","m.devices":[{"device_id":"D","session_id":"s","expires_ts":1795384218826,"feeds":[{"purpose":"m.usermedia"}]}]}]}`))
	is.NoErr(err)
	is.Equal(m.Calls[0].Devices[0].SessionID, "s")
}
