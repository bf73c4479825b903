package ui_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"maunium.net/go/mautrix/id"

	"ringo/app"
	"ringo/groupcall"
	"ringo/matrixclient"
	"ringo/signalling"
	"ringo/ui"
)

const me = id.UserID("@me:localhost")

func room(id_ id.RoomID, name string, others ...id.UserID) matrixclient.Room {
	m := map[id.UserID]signalling.Membership{me: signalling.MembershipJoin}
	for _, o := range others {
		m[o] = signalling.MembershipJoin
	}
	return matrixclient.Room{ID: id_, Name: name, Members: m}
}

func TestDataStateFollowsTheAutomationContract(t *testing.T) {
	tests := []struct {
		rule string
		ci   signalling.CallInfo
		want string
	}{
		{"a ringing invite is ringing", signalling.CallInfo{State: signalling.StateRinging}, "ringing"},
		{"an invite not yet shown is ringing", signalling.CallInfo{State: signalling.StateInviteReceived}, "ringing"},
		{"the caller waiting for media is calling", signalling.CallInfo{State: signalling.StateWaitLocalMedia, Direction: signalling.DirectionOutbound}, "calling"},
		{"the callee acquiring media after answering is connecting", signalling.CallInfo{State: signalling.StateWaitLocalMedia, Direction: signalling.DirectionInbound}, "connecting"},
		{"a sent invite is calling", signalling.CallInfo{State: signalling.StateInviteSent, Direction: signalling.DirectionOutbound}, "calling"},
		{"offer and answer exchanged is connecting", signalling.CallInfo{State: signalling.StateConnecting}, "connecting"},
		{"connected is connected", signalling.CallInfo{State: signalling.StateConnected}, "connected"},
		{"our hold shows on-hold", signalling.CallInfo{State: signalling.StateConnected, LocalHold: true}, "on-hold"},
		{"their hold shows on-hold", signalling.CallInfo{State: signalling.StateConnected, RemoteHold: true}, "on-hold"},
		{"ended is ended", signalling.CallInfo{State: signalling.StateEnded}, "ended"},
		{"no call is idle", signalling.CallInfo{}, "idle"},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) { is.New(t).Equal(ui.DataState(tc.ci), tc.want) })
	}
}

func TestEndReasonsAreInWords(t *testing.T) {
	tests := []struct {
		reason signalling.EndReason
		by     signalling.Party
		want   string
	}{
		{signalling.EndAnsweredElsewhere, signalling.PartyRemote, "Answered on another device"},
		{signalling.EndInviteTimeout, signalling.PartyLocal, "No answer"},
		{signalling.EndICETimeout, signalling.PartyLocal, "Connection lost"},
		{signalling.EndRejected, signalling.PartyRemote, "Call declined"},
		{signalling.EndUserHangup, signalling.PartyLocal, "You hung up"},
		{signalling.EndReason("new_session"), signalling.PartyRemote, "Call ended (new_session)"},
	}
	for _, tc := range tests {
		t.Run(string(tc.reason), func(t *testing.T) { is.New(t).Equal(ui.EndText(tc.reason, tc.by), tc.want) })
	}
}

func TestBuild(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	bob := id.UserID("@bob:localhost")
	t.Run("calling needs a selected room with exactly one other member", func(t *testing.T) {
		is := is.New(t)
		st := app.State{Me: me, Online: true, Rooms: []matrixclient.Room{room("!a", "A", bob), room("!b", "B", bob, "@c:localhost"), room("!c", "C")}}
		for rid, can := range map[id.RoomID]bool{"!a": true, "!b": false, "!c": false, "": false} {
			v := ui.Build(ui.Input{Phase: ui.PhaseReady, State: st, SelectedRoom: rid, Now: now})
			is.Equal(v.CanCall, can)
			is.Equal(v.CallHint == "", can)
		}
	})
	t.Run("an incoming call offers answer and reject with the caller's id", func(t *testing.T) {
		is := is.New(t)
		st := app.State{Me: me, Online: true, Calls: []signalling.CallInfo{{CallID: "c1", State: signalling.StateRinging, Peer: bob, Kind: signalling.MediaKindVideo, Direction: signalling.DirectionInbound}}}
		v := ui.Build(ui.Input{Phase: ui.PhaseReady, State: st, Now: now})
		is.True(v.Call.Incoming)
		is.True(!v.Call.InCall)
		is.Equal(v.Call.Text, "Incoming video call from @bob:localhost")
	})
	t.Run("a connected call shows controls and its duration", func(t *testing.T) {
		is := is.New(t)
		st := app.State{Me: me, Online: true, Calls: []signalling.CallInfo{{CallID: "c1", State: signalling.StateConnected, Peer: bob, ConnectedAt: now.Add(-75 * time.Second)}}}
		v := ui.Build(ui.Input{Phase: ui.PhaseReady, State: st, Now: now})
		is.True(v.Call.InCall)
		is.Equal(v.Call.Duration, "1:15")
	})
	t.Run("a second incoming call during a call is call waiting", func(t *testing.T) {
		is := is.New(t)
		st := app.State{Me: me, Online: true, Calls: []signalling.CallInfo{
			{CallID: "c1", State: signalling.StateConnected, Peer: bob},
			{CallID: "c2", State: signalling.StateRinging, Peer: "@carol:localhost"},
		}}
		v := ui.Build(ui.Input{Phase: ui.PhaseReady, State: st, Now: now})
		is.Equal(v.Call.ID, "c1")
		is.True(v.Waiting != nil)
		is.Equal(v.Waiting.ID, "c2")
	})
	t.Run("an ended call stays visible with its reason", func(t *testing.T) {
		is := is.New(t)
		st := app.State{Me: me, Online: true, Calls: []signalling.CallInfo{{CallID: "c1", State: signalling.StateEnded, EndReason: signalling.EndAnsweredElsewhere}}}
		v := ui.Build(ui.Input{Phase: ui.PhaseReady, State: st, Now: now})
		is.Equal(v.Call.State, "ended")
		is.Equal(v.Call.Reason, "answered_elsewhere")
	})
	t.Run("an unreachable homeserver is shown", func(t *testing.T) {
		is := is.New(t)
		v := ui.Build(ui.Input{Phase: ui.PhaseReady, State: app.State{Me: me, Offline: "connection refused"}, Now: now})
		is.True(v.Status != "")
	})
}

func TestDevicePickersListMicrophonesAndCameras(t *testing.T) {
	is := is.New(t)
	devs := []ui.Device{
		{ID: "default", Kind: "audioinput", Label: "Default"},
		{ID: "m1", Kind: "audioinput", Label: "USB mic"},
		{ID: "m2", Kind: "audioinput"},
		{ID: "c1", Kind: "videoinput", Label: "Webcam"},
		{ID: "s1", Kind: "audiooutput", Label: "Speakers"},
	}
	v := ui.Build(ui.Input{Phase: ui.PhaseReady, State: app.State{Me: me}, Devices: devs, Mic: "m2"})
	is.Equal(v.Mics, []ui.DeviceOption{{ID: "", Label: "Default microphone"}, {ID: "m1", Label: "USB mic"}, {ID: "m2", Label: "Microphone 2", Selected: true}})
	is.Equal(v.Cameras, []ui.DeviceOption{{ID: "", Label: "Default camera", Selected: true}, {ID: "c1", Label: "Webcam"}})
}

func TestGroupCallView(t *testing.T) {
	is := is.New(t)
	st := app.State{Me: me, Online: true, Rooms: []matrixclient.Room{room("!g", "G", "@b:localhost", "@c:localhost")}}
	v := ui.Build(ui.Input{Phase: ui.PhaseReady, State: st, SelectedRoom: "!g"})
	is.True(v.CanJoinGroup && !v.InGroup)
	g := &app.GroupInfo{Room: "!g", Conf: "conf", Legs: []groupcall.LegInfo{
		{Peer: groupcall.Device{User: "@b:localhost", Device: "B"}, Call: signalling.CallInfo{State: signalling.StateConnected, RemoteStreamID: "sb"}},
		{Peer: groupcall.Device{User: "@c:localhost", Device: "C"}},
	}}
	v = ui.Build(ui.Input{Phase: ui.PhaseReady, State: st, SelectedRoom: "!g", Group: g})
	is.True(v.InGroup && !v.CanJoinGroup)
	is.Equal(len(v.Tiles), 2)
	is.Equal(v.Tiles[0].State, "connected")
	is.Equal(v.Tiles[0].RemoteStream, "sb")
	is.Equal(v.Tiles[1].State, "connecting") // a leg not started yet is on its way
	is.Equal(v.GroupText, "In the group call: connected with 1 of 2")
}

func TestGroupFixIsOfferedOnlyForTheRoomThatNeedsIt(t *testing.T) {
	is := is.New(t)
	st := app.State{Me: me, Online: true, Rooms: []matrixclient.Room{room("!g", "G", "@b:localhost"), room("!h", "H", "@c:localhost")}}
	is.True(!ui.Build(ui.Input{Phase: ui.PhaseReady, State: st, SelectedRoom: "!g"}).CanFixGroup)
	is.True(ui.Build(ui.Input{Phase: ui.PhaseReady, State: st, SelectedRoom: "!g", GroupFixRoom: "!g"}).CanFixGroup)
	is.True(!ui.Build(ui.Input{Phase: ui.PhaseReady, State: st, SelectedRoom: "!h", GroupFixRoom: "!g"}).CanFixGroup)
	in := ui.Build(ui.Input{Phase: ui.PhaseReady, State: st, SelectedRoom: "!g", GroupFixRoom: "!g", Group: &app.GroupInfo{Room: "!g"}})
	is.True(in.CanFixGroup) // an admin in the call can still let the others in
	in = ui.Build(ui.Input{Phase: ui.PhaseReady, State: st, SelectedRoom: "!g", Group: &app.GroupInfo{Room: "!g"}})
	is.True(!in.CanFixGroup)
}

func TestGroupViewStaysUsableAtEightParticipants(t *testing.T) {
	is := is.New(t)
	g := &app.GroupInfo{Room: "!g", Conf: "conf"}
	for i := 0; i < 7; i++ {
		g.Legs = append(g.Legs, groupcall.LegInfo{
			Peer: groupcall.Device{User: id.UserID(fmt.Sprintf("@p%d:localhost", i)), Device: "D"},
			Call: signalling.CallInfo{State: signalling.StateConnected, RemoteAudioMuted: i%2 == 0, RemoteVideoMuted: i == 3},
		})
	}
	v := ui.Build(ui.Input{Phase: ui.PhaseReady, State: app.State{Me: me, Online: true}, Group: g})
	is.Equal(len(v.Tiles), 7) // one tile per other participant, each with its own state
	is.Equal(v.GroupText, "In the group call: connected with 7 of 7")
	is.True(v.Tiles[0].AudioMuted && strings.Contains(v.Tiles[0].Text, "muted"))
	is.True(v.Tiles[3].VideoMuted && strings.Contains(v.Tiles[3].Text, "camera off"))
	seen := map[string]bool{}
	for _, tl := range v.Tiles {
		is.True(!seen[tl.Key])
		seen[tl.Key] = true
	}
}

func TestPeopleAreNamedByDisplayNameAndUserID(t *testing.T) {
	is := is.New(t)
	r := room("!r", "R", "@bob:localhost", "@carol:localhost")
	r.Names = map[id.UserID]string{"@bob:localhost": "Bob <b>", "@carol:localhost": "@carol:localhost"}
	st := app.State{Me: me, Online: true, Rooms: []matrixclient.Room{r},
		Calls: []signalling.CallInfo{{CallID: "c1", Room: "!r", Peer: "@bob:localhost", Direction: signalling.DirectionInbound, State: signalling.StateRinging, Kind: signalling.MediaKindVoice}}}
	v := ui.Build(ui.Input{Phase: ui.PhaseReady, State: st, SelectedRoom: "!r"})
	is.Equal(v.Call.Text, "Incoming voice call from Bob <b> (@bob:localhost)") // text, never HTML
	g := &app.GroupInfo{Room: "!r", Legs: []groupcall.LegInfo{
		{Peer: groupcall.Device{User: "@bob:localhost", Device: "B"}},
		{Peer: groupcall.Device{User: "@carol:localhost", Device: "C"}},
	}}
	st.Calls = nil
	v = ui.Build(ui.Input{Phase: ui.PhaseReady, State: st, SelectedRoom: "!r", Group: g})
	is.Equal(v.Tiles[0].Text, "Bob <b> (@bob:localhost)")
	is.Equal(v.Tiles[1].Text, "@carol:localhost") // a display name equal to the id is not repeated
}

func TestTileStateFollowsTheGroupContract(t *testing.T) {
	tests := []struct {
		rule string
		st   signalling.CallState
		want string
	}{
		{"a leg not started yet is connecting", signalling.StateUnknown, "connecting"},
		{"an invite on its way is connecting", signalling.StateInviteSent, "connecting"},
		{"a ringing leg is connecting", signalling.StateRinging, "connecting"},
		{"connected is connected", signalling.StateConnected, "connected"},
		{"an ended leg has failed", signalling.StateEnded, "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			is.New(t).Equal(ui.TileState(signalling.CallInfo{State: tt.st, Direction: signalling.DirectionOutbound}), tt.want)
		})
	}
}

func TestEncryptedRoomsSayCallsNeedWidgetMode(t *testing.T) {
	is := is.New(t)
	r := room("!e", "E", "@bob:localhost")
	r.Encrypted = true
	st := app.State{Me: me, Online: true, Rooms: []matrixclient.Room{r}}
	v := ui.Build(ui.Input{Phase: ui.PhaseReady, State: st, SelectedRoom: "!e"})
	is.True(!v.CanCall && !v.CanJoinGroup)
	is.True(strings.Contains(v.CallHint, "encrypted"))
	v = ui.Build(ui.Input{Phase: ui.PhaseReady, State: st, SelectedRoom: "!e", Widget: true})
	is.True(v.CanCall) // the host decrypts in widget mode
}

func TestTilesShowWhoIsSpeakingUnlessMuted(t *testing.T) {
	is := is.New(t)
	g := &app.GroupInfo{Room: "!g", Legs: []groupcall.LegInfo{
		{Peer: groupcall.Device{User: "@b:localhost", Device: "B"}, Call: signalling.CallInfo{State: signalling.StateConnected, RemoteStreamID: "sb"}},
		{Peer: groupcall.Device{User: "@c:localhost", Device: "C"}, Call: signalling.CallInfo{State: signalling.StateConnected, RemoteStreamID: "sc", RemoteAudioMuted: true}},
		{Peer: groupcall.Device{User: "@d:localhost", Device: "D"}, Call: signalling.CallInfo{State: signalling.StateConnected, RemoteStreamID: "sd"}},
	}}
	v := ui.Build(ui.Input{Phase: ui.PhaseReady, State: app.State{Me: me, Online: true}, Group: g,
		Speaking: map[string]bool{"sb": true, "sc": true}})
	is.True(v.Tiles[0].Speaking)  // loud
	is.True(!v.Tiles[1].Speaking) // muted: a stale level must not light it
	is.True(!v.Tiles[2].Speaking) // quiet
}
