package app

import (
	"encoding/json"
	"testing"

	"github.com/matryer/is"

	"ringo/matrixclient"
)

func TestLiveConf(t *testing.T) {
	ev := func(typ, key string, ts int64, content string) matrixclient.StateEvent {
		return matrixclient.StateEvent{Type: typ, StateKey: key, Timestamp: ts, Content: []byte(content)}
	}
	tests := []struct {
		rule  string
		state []matrixclient.StateEvent
		want  string
	}{
		{"no call event means no call", nil, ""},
		{"the only live call is the call", []matrixclient.StateEvent{ev("org.matrix.msc3401.call", "c1", 5, `{"m.intent":"m.room"}`)}, "c1"},
		{"the stable name counts too", []matrixclient.StateEvent{ev("m.call", "c1", 5, `{"m.intent":"m.room"}`)}, "c1"},
		{"the oldest of two live calls wins", []matrixclient.StateEvent{ev("m.call", "late", 9, `{"m.type":"m.video"}`), ev("m.call", "early", 3, `{"m.type":"m.video"}`)}, "early"},
		{"a tie goes to the lower state key", []matrixclient.StateEvent{ev("m.call", "b", 3, `{"m.type":"m.video"}`), ev("m.call", "a", 3, `{"m.type":"m.video"}`)}, "a"},
		{"a terminated call is not live", []matrixclient.StateEvent{ev("m.call", "old", 1, `{"m.terminated":"call_ended"}`), ev("m.call", "new", 2, `{"m.type":"m.video"}`)}, "new"},
		{"an emptied (redacted) call event is not a call", []matrixclient.StateEvent{ev("m.call", "gone", 1, `{}`)}, ""},
		{"member events are not calls", []matrixclient.StateEvent{ev("m.call.member", "@a:hs", 1, `{"m.calls":[]}`)}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) { is.New(t).Equal(liveConf(tc.state), tc.want) })
	}
}

func TestMembersMayCall(t *testing.T) {
	tests := []struct {
		rule string
		pl   string
		want bool
	}{
		{"state_default 50 keeps members out", `{"state_default":50,"users_default":0}`, false},
		{"no state_default means 50", `{}`, false},
		{"every call type at 0 lets members in", `{"state_default":50,"events":{"m.call":0,"m.call.member":0,"org.matrix.msc3401.call":0,"org.matrix.msc3401.call.member":0}}`, true},
		{"one call type still above members keeps them out", `{"state_default":50,"events":{"m.call":0,"m.call.member":0,"org.matrix.msc3401.call":0}}`, false},
		{"state_default at users_default lets members in", `{"state_default":10,"users_default":10}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			var pl powerLevels
			is.New(t).NoErr(json.Unmarshal([]byte(tt.pl), &pl))
			is.New(t).Equal(pl.membersMayCall(), tt.want)
		})
	}
}
