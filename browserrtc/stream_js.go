package browserrtc

import (
	"github.com/hack-pad/safejs"

	"ringo/internal/jsutil"
)

// Stream implements signalling.LocalStream over a JS MediaStream.
type Stream struct {
	v safejs.Value
}

// NewStream wraps a MediaStream.
func NewStream(v safejs.Value) *Stream { return &Stream{v: v} }

// JSValue returns the MediaStream (the UI attaches it to a muted local <video>).
func (s *Stream) JSValue() safejs.Value { return s.v }

// ID is the MediaStream id, the one the remote side sees in its track events.
func (s *Stream) ID() string { return jsutil.StringField(s.v, "id") }

// HasAudio reports whether the stream has an audio track.
func (s *Stream) HasAudio() bool { return len(callItems(s.v, "getAudioTracks")) > 0 }

// HasVideo reports whether the stream has a video track.
func (s *Stream) HasVideo() bool { return len(callItems(s.v, "getVideoTracks")) > 0 }

// SetAudioEnabled sets enabled on the audio tracks (mute without renegotiation).
func (s *Stream) SetAudioEnabled(on bool) { setEnabled(callItems(s.v, "getAudioTracks"), on) }

// SetVideoEnabled sets enabled on the video tracks.
func (s *Stream) SetVideoEnabled(on bool) { setEnabled(callItems(s.v, "getVideoTracks"), on) }

// Stop stops every track (the camera light goes off).
func (s *Stream) Stop() {
	for _, t := range s.tracks() {
		_, _ = t.Call("stop")
	}
}

// tracks returns all the stream's tracks, audio first as getTracks orders them.
func (s *Stream) tracks() []safejs.Value { return callItems(s.v, "getTracks") }

func setEnabled(tracks []safejs.Value, on bool) {
	for _, t := range tracks {
		_ = t.Set("enabled", on)
	}
}
