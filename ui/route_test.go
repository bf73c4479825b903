package ui_test

import (
	"testing"

	"github.com/matryer/is"

	"ringo/ui"
)

func TestParseFragment(t *testing.T) {
	tests := []struct {
		rule, frag string
		want       ui.Route
	}{
		{"an empty fragment is an empty route", "", ui.Route{}},
		{"the room id is read from #?roomId=", "#?roomId=%21abc%3Alocalhost", ui.Route{RoomID: "!abc:localhost"}},
		{"the room id may be unescaped", "#?roomId=!abc:localhost", ui.Route{RoomID: "!abc:localhost"}},
		{"the question mark is optional", "#roomId=!abc:localhost", ui.Route{RoomID: "!abc:localhost"}},
		{"something that is not a room id is dropped", "#?roomId=<script>", ui.Route{}},
		{"relay=1 forces relay", "#?relay=1", ui.Route{ForceRelay: true}},
		{"demo credentials are read", "#?hs=http%3A%2F%2F127.0.0.1%3A8008&user=alice&password=pw", ui.Route{Homeserver: "http://127.0.0.1:8008", User: "alice", Password: "pw"}},
		{"garbage is an empty route", "#%zz", ui.Route{}},
		{"test knobs set the invite lifetime and minimum ring time", "#?lifetime=15000&minring=5000", ui.Route{InviteLifetimeMS: 15000, MinRingMS: 5000}},
		{"knobs that are not positive numbers are ignored", "#?lifetime=-1&minring=soon", ui.Route{}},
		{"video=WxH@FPS asks the camera for a format", "#?video=320x240@15", ui.Route{Capture: ui.Capture{Width: 320, Height: 240, FPS: 15}}},
		{"a capture format out of range is ignored", "#?video=320x240@0", ui.Route{}},
		{"a capture format with trailing junk is ignored", "#?video=320x240@15x", ui.Route{}},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) { is.New(t).Equal(ui.ParseFragment(tc.frag), tc.want) })
	}
}

func TestFragmentNeverCarriesCredentials(t *testing.T) {
	is := is.New(t)
	r := ui.Route{RoomID: "!abc:localhost", ForceRelay: true, User: "alice", Password: "secret", Homeserver: "http://x"}
	f := r.Fragment()
	is.Equal(f, "#?relay=1&roomId=%21abc%3Alocalhost")
	is.Equal(ui.ParseFragment(f), ui.Route{RoomID: "!abc:localhost", ForceRelay: true})
	is.Equal(ui.Route{}.Fragment(), "")
}
