// Package signalling is Ringo's call engine: the Matrix VoIP module (version "1",
// MSC2746) as explicit state machines in pure Go. It decides everything and touches no
// browser API: the adapters that implement the ports below (the browser's
// RTCPeerConnection, the homeserver or widget transport, getUserMedia, a wall clock)
// only carry data in and out.
//
// Concurrency: every input (a Matrix event, a peer-connection event, a timer, a user
// command) is posted into a Loop, and one goroutine runs the Loop, so a call's state is
// only ever touched by that goroutine. Port callbacks may be invoked from any goroutine;
// the engine posts them into its loop itself.
package signalling

import (
	"time"

	"github.com/pion/webrtc/v3"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// Clock is the engine's only source of time. Decision code never calls time.Now or
// starts timers of its own, so tests drive time with a fake.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f (from any goroutine) once d has passed, unless stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc.
type Timer interface {
	// Stop prevents the timer from firing; it reports whether it was still pending.
	Stop() bool
}

// Target says where an outgoing message goes: to the room (a room event) or, for group
// calls (MSC3401), to specific devices as to-device messages.
type Target struct {
	Room    id.RoomID
	Devices []DeviceAddress // set for to-device messages; Room is then informational
}

// Messages lays out content for each target device the way /sendToDevice and the
// widget API's send_to_device take it: user -> device -> content.
func (t Target) Messages(content any) map[id.UserID]map[id.DeviceID]any {
	out := map[id.UserID]map[id.DeviceID]any{}
	for _, d := range t.Devices {
		if out[d.User] == nil {
			out[d.User] = map[id.DeviceID]any{}
		}
		out[d.User][d.Device] = content
	}
	return out
}

// DeviceAddress names one device of one user.
type DeviceAddress struct {
	User   id.UserID
	Device id.DeviceID
}

// OutgoingMessage is one event the engine wants sent.
type OutgoingMessage struct {
	Type    event.Type
	Content any // a callevent content; marshals to the event's JSON content
	Target  Target
	// TxnID is unique per message and stays the same when the engine retries it, so a
	// Sender can use it as the Matrix transaction id and a retried send is not duplicated.
	TxnID string
}

// Sender is the port that delivers events (room events or to-device messages; the adapter
// picks the homeserver API or the widget action). Send must not block: it starts the
// delivery and calls done exactly once, from any goroutine, with the outcome. The engine
// keeps at most one message of a call in flight, so order is preserved, and retries
// failures with backoff.
type Sender interface {
	Send(msg OutgoingMessage, done func(error))
}

// RetryAfterError may be implemented by errors a Sender reports (HTTP 429) to ask for a
// specific delay before the next attempt.
type RetryAfterError interface {
	error
	RetryAfter() time.Duration
}

// PermanentError may be implemented by send errors that retrying cannot fix (403, 400):
// the engine drops that message and reports it instead of retrying forever.
type PermanentError interface {
	error
	Permanent() bool
}

// MediaKind is what the user asked for: a voice call or a video call.
type MediaKind int

const (
	MediaKindUnknown MediaKind = iota
	MediaKindVoice
	MediaKindVideo
)

func (k MediaKind) String() string {
	switch k {
	case MediaKindVoice:
		return "voice"
	case MediaKindVideo:
		return "video"
	default:
		return "unknown"
	}
}

// LocalStream is the local media of a call: one stream with one audio track and
// optionally one video track (spec: tracks must be within a single stream).
type LocalStream interface {
	ID() string
	HasAudio() bool
	HasVideo() bool
	// SetAudioEnabled and SetVideoEnabled mute without renegotiation (track.enabled).
	SetAudioEnabled(bool)
	SetVideoEnabled(bool)
	// Stop ends the tracks (the camera light goes off).
	Stop()
}

// UnwrapStream returns the stream an adapter made, looking through handles that wrap it
// (a group call gives each leg a handle on one shared stream).
func UnwrapStream(ls LocalStream) LocalStream {
	for {
		u, ok := ls.(interface{ Unwrap() LocalStream })
		if !ok {
			return ls
		}
		ls = u.Unwrap()
	}
}

// Media is the port that acquires local media (getUserMedia). Acquire must not block:
// done is called exactly once, from any goroutine.
type Media interface {
	Acquire(kind MediaKind, done func(LocalStream, error))
}

// ICEConnectionState mirrors RTCIceConnectionState; pion's enum is shared by both builds.
type ICEConnectionState = webrtc.ICEConnectionState

// PeerConfig is what a new peer connection is built with. ICE servers (TURN included)
// are passed at construction because the browser shim cannot set TURN later.
type PeerConfig struct {
	ICEServers []webrtc.ICEServer
	ForceRelay bool // iceTransportPolicy: relay
}

// PeerEvents receives what a peer connection reports. The adapter may call these from
// any goroutine (never while blocking a JS callback); the engine posts them into its loop.
type PeerEvents interface {
	// ICECandidate reports a gathered local candidate, with sdpMid and sdpMLineIndex.
	ICECandidate(c webrtc.ICECandidateInit)
	// ICEGatheringComplete reports that gathering finished (icegatheringstatechange to
	// complete, or the null candidate), whichever the adapter sees first.
	ICEGatheringComplete()
	ICEConnectionStateChange(s ICEConnectionState)
	// NegotiationNeeded is the W3C negotiationneeded event.
	NegotiationNeeded()
	// RemoteTrack reports a remote track and the ids of the streams it belongs to
	// (empty for a streamless track, which the engine ignores).
	RemoteTrack(kind MediaKind, streamIDs []string)
}

// PeerConnection is the port the engine drives: the subset of RTCPeerConnection that
// Matrix calls need. Methods may block (the browser adapter awaits promises) but are only
// called from the engine's loop goroutine.
type PeerConnection interface {
	// AddStream adds the stream's tracks, each with the stream (addTrack(track, stream)).
	AddStream(s LocalStream) error
	// SetLocalDescription with no argument (W3C implicit description): creates an offer or
	// an answer as the signalling state requires, applies it, and returns it.
	SetLocalDescription() (webrtc.SessionDescription, error)
	// LocalDescription is the current local description including the candidates
	// gathered so far; nil before SetLocalDescription.
	LocalDescription() *webrtc.SessionDescription
	SetRemoteDescription(d webrtc.SessionDescription) error
	// Rollback discards a local offer (setLocalDescription({type: "rollback"})).
	Rollback() error
	// AddICECandidate adds a remote candidate; Candidate "" is end-of-candidates.
	AddICECandidate(c webrtc.ICECandidateInit) error
	SignalingState() webrtc.SignalingState
	// RestartICE marks the connection for an ICE restart (restartIce()); negotiationneeded follows.
	RestartICE() error
	// SetHold sets every transceiver's direction to sendonly (true) or sendrecv (false);
	// negotiationneeded follows when it changed anything.
	SetHold(hold bool) error
	// InsertDTMF plays tones through the audio sender's DTMF sender.
	InsertDTMF(tones string) error
	// ReplaceStream swaps the local tracks (glare hand-over, upgrade) without
	// renegotiating where the kinds already have senders; it adds tracks otherwise.
	ReplaceStream(s LocalStream) error
	Close() error
}

// PeerFactory makes a peer connection that reports to events.
type PeerFactory func(cfg PeerConfig, events PeerEvents) (PeerConnection, error)
