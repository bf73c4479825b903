// Package ui turns Ringo's state into what the page shows: a pure view model, tested
// natively, and (in dom_js.go) a thin DOM binding that only copies it into elements.
// Every user-controlled string reaches the DOM as text, never as HTML.
package ui

import (
	"fmt"
	"strings"
	"time"

	"maunium.net/go/mautrix/id"

	"ringo/app"
	"ringo/matrixclient"
	"ringo/signalling"
)

// Phase is which screen shows.
type Phase int

const (
	PhaseLoading Phase = iota // restoring a session
	PhaseLogin
	PhaseReady // logged in
)

func (p Phase) String() string {
	switch p {
	case PhaseLogin:
		return "login"
	case PhaseReady:
		return "ready"
	default:
		return "loading"
	}
}

// Input is everything the view depends on.
type Input struct {
	Phase        Phase
	State        app.State
	SelectedRoom id.RoomID
	LoginBusy    bool
	Error        string // an error for the user (login failure, media failure, ...)
	Now          time.Time
	Devices      []Device       // microphones and cameras
	Mic, Camera  string         // chosen device ids ("" = the browser's default)
	Widget       bool           // inside a Matrix client: no sign-out, the room is the widget's
	Group        *app.GroupInfo // the group call we are in, if any
	// Speaking lists the remote streams whose participant is talking (see Speaking).
	Speaking map[string]bool
	// GroupFixRoom is a room where joining the group call was forbidden by its power
	// levels and we are allowed to change them.
	GroupFixRoom id.RoomID
}

// Tile is one other participant of a group call.
type Tile struct {
	Key          string // user|device
	User, Device string
	State        string // data-state, as for 1:1 calls
	Text         string
	RemoteStream string
	AudioMuted   bool // from the peer's sdp_stream_metadata
	VideoMuted   bool
	Speaking     bool // its audio is loud enough (and not muted)
}

// Device is a microphone ("audioinput") or camera ("videoinput").
type Device struct {
	ID, Kind, Label string
}

// DeviceOption is one entry of a device picker.
type DeviceOption struct {
	ID, Label string
	Selected  bool
}

// View is the page, as data.
type View struct {
	Phase      Phase
	LoginBusy  bool
	Me         string
	Status     string // connection status in words ("" when all is well)
	Rooms      []RoomOption
	CanCall    bool
	CallHint   string // why calling is not possible, when it is not
	Call       CallView
	Waiting    *CallView // a second incoming call during a call ("call waiting")
	Error      string
	IgnoredMsg string // the latest ignored invite, in words
	Mics       []DeviceOption
	Cameras    []DeviceOption
	Widget     bool

	CanJoinGroup bool   // the selected room has others to call together
	CanFixGroup  bool   // offer to let members use group calls (we are a room admin)
	InGroup      bool   // we are in its group call
	GroupText    string // status of the group call, for the aria-live region
	Tiles        []Tile
}

// RoomOption is one entry of the room picker.
type RoomOption struct {
	ID       string
	Label    string
	Selected bool
}

// CallView is the call panel.
type CallView struct {
	ID           string
	State        string // the automation contract's data-state
	Reason       string // data-reason when ended
	Peer         string // user id of the other party
	Text         string // status line for the aria-live region
	Incoming     bool   // show answer/reject
	Active       bool   // show hangup
	InCall       bool   // show mute, camera, hold, keypad
	Video        bool   // the call has (or offers) video
	AudioMute    bool
	VideoMute    bool
	Held         bool   // we put it on hold
	HeldBy       string // "local", "remote" or ""
	Duration     string // m:ss while connected
	RemoteStream string
}

// TileState maps a group leg's state to the participant-tile contract: connecting,
// connected or failed. A leg not started yet, ringing or negotiating is on its way; a
// held leg still has its connection.
func TileState(ci signalling.CallInfo) string {
	switch DataState(ci) {
	case "connected", "on-hold":
		return "connected"
	case "ended":
		return "failed"
	default:
		return "connecting"
	}
}

// DataState maps an engine state to the automation contract's data-state.
func DataState(ci signalling.CallInfo) string {
	switch ci.State {
	case signalling.StateInviteReceived, signalling.StateRinging:
		return "ringing"
	case signalling.StateWaitLocalMedia, signalling.StateCreateOffer, signalling.StateInviteSent:
		if ci.Direction == signalling.DirectionInbound {
			return "connecting" // answering: acquiring media
		}
		return "calling"
	case signalling.StateCreateAnswer, signalling.StateConnecting:
		return "connecting"
	case signalling.StateConnected:
		if ci.LocalHold || ci.RemoteHold {
			return "on-hold"
		}
		return "connected"
	case signalling.StateEnded:
		return "ended"
	default:
		return "idle"
	}
}

// EndText says why a call ended, in words a person understands.
func EndText(r signalling.EndReason, by signalling.Party) string {
	switch r {
	case signalling.EndAnsweredElsewhere:
		return "Answered on another device"
	case signalling.EndRejected:
		if by == signalling.PartyLocal {
			return "You declined the call"
		}
		return "Call declined"
	case signalling.EndInviteTimeout:
		return "No answer"
	case signalling.EndICEFailed:
		return "Could not connect the call (no network path)"
	case signalling.EndICETimeout:
		return "Connection lost"
	case signalling.EndUserMediaFailed:
		if by == signalling.PartyLocal {
			return "Could not use your microphone or camera"
		}
		return "The other side could not use their microphone or camera"
	case signalling.EndUserBusy:
		return "Busy"
	case signalling.EndReplaced:
		return "Call replaced"
	case signalling.EndUserHangup:
		if by == signalling.PartyLocal {
			return "You hung up"
		}
		return "Call ended"
	default:
		return "Call ended (" + string(r) + ")"
	}
}

// Build computes the view.
func Build(in Input) View {
	v := View{Phase: in.Phase, LoginBusy: in.LoginBusy, Error: in.Error, Me: string(in.State.Me), Widget: in.Widget}
	if in.Phase != PhaseReady {
		return v
	}
	nameOf := roomNamer(in.State.Rooms)
	v.Mics = deviceOptions(in.Devices, "audioinput", in.Mic, "Microphone")
	v.Cameras = deviceOptions(in.Devices, "videoinput", in.Camera, "Camera")
	if !in.State.Online && in.State.Offline != "" {
		if in.Widget {
			v.Error = in.State.Offline // the host refused something Ringo needs: say so plainly
		} else {
			v.Status = "Cannot reach the homeserver; retrying. (" + in.State.Offline + ")"
		}
	}
	var selected bool
	for _, r := range in.State.Rooms {
		sel := r.ID == in.SelectedRoom
		selected = selected || sel
		v.Rooms = append(v.Rooms, RoomOption{ID: string(r.ID), Label: r.Name, Selected: sel})
		if sel {
			switch n := len(r.Joined(in.State.Me)); {
			case n == 1:
				v.CanCall = true
			case n == 0:
				v.CallHint = "Nobody else has joined this room yet."
			default:
				v.CallHint = "1:1 calls need a room with exactly one other member."
			}
		}
	}
	if !selected {
		v.CallHint = "Choose a room to call in."
	}
	encrypted := false
	for _, r := range in.State.Rooms {
		if r.ID == in.SelectedRoom && len(r.Joined(in.State.Me)) >= 1 {
			v.CanJoinGroup = true
		}
		encrypted = encrypted || (r.ID == in.SelectedRoom && r.Encrypted)
	}
	if encrypted && !in.Widget {
		// Standalone Ringo has no end-to-end encryption: it could neither read the call
		// events there nor send them encrypted. Say so rather than fail silently.
		v.CanCall, v.CanJoinGroup = false, false
		v.CallHint = "This room is encrypted. Calls in encrypted rooms need Ringo as a widget in your Matrix client for now."
	}
	v.CanFixGroup = v.CanJoinGroup && in.GroupFixRoom != "" && in.GroupFixRoom == in.SelectedRoom
	if g := in.Group; g != nil {
		v.InGroup, v.CanJoinGroup = true, false
		v.CanFixGroup = in.GroupFixRoom != "" && in.GroupFixRoom == g.Room
		connected := 0
		for _, l := range g.Legs {
			st := TileState(l.Call)
			if st == "connected" {
				connected++
			}
			text := nameOf(g.Room, l.Peer.User)
			if l.Call.RemoteAudioMuted {
				text += ", muted"
			}
			if l.Call.RemoteVideoMuted {
				text += ", camera off"
			}
			v.Tiles = append(v.Tiles, Tile{Key: l.Peer.Key(), User: string(l.Peer.User), Device: string(l.Peer.Device),
				State: st, Text: text, RemoteStream: l.Call.RemoteStreamID,
				AudioMuted: l.Call.RemoteAudioMuted, VideoMuted: l.Call.RemoteVideoMuted,
				Speaking: st == "connected" && !l.Call.RemoteAudioMuted && in.Speaking[l.Call.RemoteStreamID]})
		}
		v.GroupText = fmt.Sprintf("In the group call: connected with %d of %d", connected, len(g.Legs))
		if len(g.Legs) == 0 {
			v.GroupText = "In the group call: waiting for others to join"
		}
	}
	main, waiting := pickCalls(in.State.Calls)
	if main != nil {
		v.Call = callView(*main, in.Now, nameOf)
		if v.Call.Active && v.Call.State != "ended" {
			v.CanCall = false
		}
	} else {
		v.Call = CallView{State: "idle"}
	}
	if waiting != nil {
		w := callView(*waiting, in.Now, nameOf)
		v.Waiting = &w
	}
	if n := len(in.State.Ignored); n > 0 {
		ig := in.State.Ignored[n-1]
		v.IgnoredMsg = fmt.Sprintf("A call from %s was not shown (%s).", ig.From, ignoredWords(ig.Why))
	}
	if v.Error == "" && in.State.Notice != "" {
		v.Error = in.State.Notice
	}
	return v
}

func ignoredWords(why signalling.IgnoreReason) string {
	switch why {
	case signalling.IgnorePolicy:
		return "calls in public rooms do not ring"
	case signalling.IgnoreExpired:
		return "it had already expired"
	case signalling.IgnoreNotForUs:
		return "it was for someone else"
	default:
		return string(why)
	}
}

// pickCalls chooses the call for the main panel (the newest live call, else the newest
// ended one) and a second live incoming call to show as call waiting.
func pickCalls(calls []signalling.CallInfo) (main, waiting *signalling.CallInfo) {
	var live []*signalling.CallInfo
	for i := range calls {
		if calls[i].State != signalling.StateEnded {
			live = append(live, &calls[i])
		}
	}
	if len(live) > 0 {
		// Prefer a call already past ringing; a new ringing call is then "waiting".
		main = live[len(live)-1]
		for _, c := range live {
			if c.State != signalling.StateRinging && c.State != signalling.StateInviteReceived {
				main = c
			}
		}
		for i := len(live) - 1; i >= 0; i-- {
			if live[i] != main && live[i].State == signalling.StateRinging {
				waiting = live[i]
				break
			}
		}
		return main, waiting
	}
	if len(calls) > 0 {
		return &calls[len(calls)-1], nil
	}
	return nil, nil
}

// namer gives a user's name as shown: display name and user id, or the user id.
type namer func(room id.RoomID, u id.UserID) string

func roomNamer(rooms []matrixclient.Room) namer {
	return func(room id.RoomID, u id.UserID) string {
		for _, r := range rooms {
			if r.ID == room {
				return r.DisplayName(u)
			}
		}
		return string(u)
	}
}

func callView(ci signalling.CallInfo, now time.Time, nameOf namer) CallView {
	cv := CallView{
		ID: ci.CallID, State: DataState(ci), Peer: string(ci.Peer),
		Video: ci.Kind == signalling.MediaKindVideo || ci.RemoteHasVideo, AudioMute: ci.AudioMuted, VideoMute: ci.VideoMuted,
		Held: ci.LocalHold, RemoteStream: ci.RemoteStreamID,
	}
	switch {
	case ci.LocalHold:
		cv.HeldBy = "local"
	case ci.RemoteHold:
		cv.HeldBy = "remote"
	}
	peer := nameOf(ci.Room, ci.Peer)
	kind := "voice"
	if ci.Kind == signalling.MediaKindVideo {
		kind = "video"
	}
	switch cv.State {
	case "ringing":
		cv.Incoming, cv.Active = true, false
		cv.Text = fmt.Sprintf("Incoming %s call from %s", kind, peer)
	case "calling":
		cv.Active = true
		cv.Text = fmt.Sprintf("Calling %s…", peer)
	case "connecting":
		cv.Active = true
		cv.Text = fmt.Sprintf("Connecting to %s…", peer)
	case "connected", "on-hold":
		cv.Active, cv.InCall = true, true
		if !ci.ConnectedAt.IsZero() && !now.Before(ci.ConnectedAt) {
			d := now.Sub(ci.ConnectedAt).Truncate(time.Second)
			cv.Duration = fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
		}
		cv.Text = fmt.Sprintf("In call with %s", peer)
		if cv.HeldBy == "local" {
			cv.Text = fmt.Sprintf("You put %s on hold", peer)
		} else if cv.HeldBy == "remote" {
			cv.Text = fmt.Sprintf("%s put you on hold", peer)
		}
	case "ended":
		cv.Reason = string(ci.EndReason)
		cv.Text = EndText(ci.EndReason, ci.EndedBy)
	}
	return cv
}

// deviceOptions lists the devices of one kind, the browser's default first. Devices
// without a label (before permission is granted) are numbered.
func deviceOptions(devs []Device, kind, chosen, noun string) []DeviceOption {
	out := []DeviceOption{{ID: "", Label: "Default " + strings.ToLower(noun), Selected: chosen == ""}}
	n := 0
	for _, d := range devs {
		if d.Kind != kind || d.ID == "" || d.ID == "default" {
			continue
		}
		n++
		label := d.Label
		if label == "" {
			label = fmt.Sprintf("%s %d", noun, n)
		}
		out = append(out, DeviceOption{ID: d.ID, Label: label, Selected: d.ID == chosen})
	}
	return out
}
