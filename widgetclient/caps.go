package widgetclient

import "maunium.net/go/mautrix/id"

// Capability strings (PROTOCOL.md §4).
const (
	CapTURN           = "town.robin.msc3846.turn_servers"
	CapAlwaysOnScreen = "m.always_on_screen"
)

// CapSendEvent is the capability to send room events of a type.
func CapSendEvent(t string) string { return "org.matrix.msc2762.send.event:" + t }

// CapReceiveEvent is the capability to receive room events of a type.
func CapReceiveEvent(t string) string { return "org.matrix.msc2762.receive.event:" + t }

// CapReceiveState is the capability to receive state events of a type.
func CapReceiveState(t string) string { return "org.matrix.msc2762.receive.state_event:" + t }

// CapSendToDevice and CapReceiveToDevice are the to-device capabilities of a type.
func CapSendToDevice(t string) string    { return "org.matrix.msc3819.send.to_device:" + t }
func CapReceiveToDevice(t string) string { return "org.matrix.msc3819.receive.to_device:" + t }

// CapTimeline is the capability to see the room's timeline.
func CapTimeline(room id.RoomID) string { return "org.matrix.msc2762.timeline:" + string(room) }

// CallEventTypes are the 1:1 call room events Ringo sends and receives.
var CallEventTypes = []string{
	"m.call.invite", "m.call.candidates", "m.call.answer", "m.call.select_answer",
	"m.call.reject", "m.call.negotiate", "m.call.hangup", "m.call.sdp_stream_metadata_changed",
}

// OneToOneCapabilities is what Ringo asks for to place and answer 1:1 calls in room.
func OneToOneCapabilities(room id.RoomID) []string {
	caps := []string{CapTimeline(room)}
	for _, t := range CallEventTypes {
		caps = append(caps, CapSendEvent(t), CapReceiveEvent(t))
	}
	caps = append(caps, CapReceiveEvent("org.matrix.call.sdp_stream_metadata_changed"),
		CapReceiveState("m.room.member"), CapReceiveState("m.room.join_rules"), CapTURN, CapAlwaysOnScreen)
	return caps
}

// RequiredToCall are the capabilities without which Ringo cannot call at all.
func RequiredToCall() []string {
	var out []string
	for _, t := range []string{"m.call.invite", "m.call.candidates", "m.call.answer", "m.call.hangup"} {
		out = append(out, CapSendEvent(t), CapReceiveEvent(t))
	}
	return out
}

// CapSendState is the capability to send state events of a type, under stateKey when it
// is not empty (any state key otherwise).
func CapSendState(t, stateKey string) string {
	c := "org.matrix.msc2762.send.state_event:" + t
	if stateKey != "" {
		c += "#" + stateKey
	}
	return c
}

// GroupCallCapabilities is what a full-mesh group call (MSC3401) needs on top of the 1:1
// list: the call and member state events under both names (the call's state key is the
// conference id, not known in advance; a member's is the user id), and to-device
// signalling for every call event type.
func GroupCallCapabilities(room id.RoomID, user id.UserID) []string {
	caps := OneToOneCapabilities(room)
	for _, t := range []string{"m.call", "org.matrix.msc3401.call"} {
		caps = append(caps, CapSendState(t, ""), CapReceiveState(t))
	}
	for _, t := range []string{"m.call.member", "org.matrix.msc3401.call.member"} {
		caps = append(caps, CapSendState(t, string(user)), CapReceiveState(t))
	}
	for _, t := range CallEventTypes {
		caps = append(caps, CapSendToDevice(t), CapReceiveToDevice(t))
	}
	return caps
}
