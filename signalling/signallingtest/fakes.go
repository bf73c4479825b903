package signallingtest

import (
	"encoding/json"
	"sync"

	"maunium.net/go/mautrix/id"

	"ringo/signalling"
)

// Stream is a fake signalling.LocalStream.
type Stream struct {
	mu                         sync.Mutex
	id                         string
	audio, video               bool
	audioEnabled, videoEnabled bool
	stopped                    bool
}

// NewStream makes a stream with audio and, for video calls, video.
func NewStream(streamID string, video bool) *Stream {
	return &Stream{id: streamID, audio: true, video: video, audioEnabled: true, videoEnabled: video}
}

func (s *Stream) ID() string              { return s.id }
func (s *Stream) HasAudio() bool          { return s.audio }
func (s *Stream) HasVideo() bool          { return s.video }
func (s *Stream) SetAudioEnabled(on bool) { s.mu.Lock(); s.audioEnabled = on; s.mu.Unlock() }
func (s *Stream) SetVideoEnabled(on bool) { s.mu.Lock(); s.videoEnabled = on; s.mu.Unlock() }
func (s *Stream) Stop()                   { s.mu.Lock(); s.stopped = true; s.mu.Unlock() }

// Stopped reports whether Stop was called.
func (s *Stream) Stopped() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.stopped }

// AudioEnabled reports the track's enabled flag.
func (s *Stream) AudioEnabled() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.audioEnabled }

// Media is a fake signalling.Media. By default it answers at once with a new Stream;
// with Manual set, requests wait until the test calls Resolve.
type Media struct {
	mu      sync.Mutex
	Prefix  string
	Err     error
	Manual  bool
	n       int
	pending []func(signalling.LocalStream, error)
	kinds   []signalling.MediaKind
	Streams []*Stream
}

func (m *Media) Acquire(kind signalling.MediaKind, done func(signalling.LocalStream, error)) {
	m.mu.Lock()
	m.kinds = append(m.kinds, kind)
	if m.Manual {
		m.pending = append(m.pending, done)
		m.mu.Unlock()
		return
	}
	s, err := m.makeLocked(kind)
	m.mu.Unlock()
	if err != nil {
		done(nil, err)
		return
	}
	done(s, nil)
}

func (m *Media) makeLocked(kind signalling.MediaKind) (*Stream, error) {
	if m.Err != nil {
		return nil, m.Err
	}
	m.n++
	prefix := m.Prefix
	if prefix == "" {
		prefix = "stream"
	}
	s := NewStream(prefix+string(rune('0'+m.n)), kind == signalling.MediaKindVideo)
	m.Streams = append(m.Streams, s)
	return s, nil
}

// Resolve answers the oldest pending request (Manual mode).
func (m *Media) Resolve() {
	m.mu.Lock()
	if len(m.pending) == 0 {
		m.mu.Unlock()
		return
	}
	done := m.pending[0]
	m.pending = m.pending[1:]
	kind := m.kinds[len(m.kinds)-len(m.pending)-1]
	s, err := m.makeLocked(kind)
	m.mu.Unlock()
	if err != nil {
		done(nil, err)
		return
	}
	done(s, nil)
}

// Requests returns the kinds asked for so far.
func (m *Media) Requests() []signalling.MediaKind {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]signalling.MediaKind(nil), m.kinds...)
}

// Sent is one message a Sender saw, with its content as JSON.
type Sent struct {
	Msg  signalling.OutgoingMessage
	JSON map[string]any
}

// Type is the event type.
func (s Sent) Type() string { return s.Msg.Type.Type }

// Sender is a fake signalling.Sender. By default every send succeeds at once; Fail
// decides per attempt; Hold keeps sends pending until Complete.
type Sender struct {
	mu       sync.Mutex
	Fail     func(msg signalling.OutgoingMessage, attempt int) error
	Hold     bool
	OnSent   func(signalling.OutgoingMessage) // called after a successful send (delivery to a room bus)
	attempts map[string]int
	sent     []Sent
	pending  []func(error)
}

func (s *Sender) Send(msg signalling.OutgoingMessage, done func(error)) {
	s.mu.Lock()
	if s.attempts == nil {
		s.attempts = map[string]int{}
	}
	s.attempts[msg.TxnID]++
	attempt := s.attempts[msg.TxnID]
	var err error
	if s.Fail != nil {
		err = s.Fail(msg, attempt)
	}
	if err == nil && s.Hold {
		s.pending = append(s.pending, func(e error) {
			if e == nil {
				s.record(msg)
			}
			done(e)
		})
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	if err == nil {
		s.record(msg)
	}
	done(err)
}

func (s *Sender) record(msg signalling.OutgoingMessage) {
	raw, _ := json.Marshal(msg.Content)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	s.mu.Lock()
	s.sent = append(s.sent, Sent{Msg: msg, JSON: m})
	on := s.OnSent
	s.mu.Unlock()
	if on != nil {
		on(msg)
	}
}

// Complete finishes the oldest held send with err.
func (s *Sender) Complete(err error) bool {
	s.mu.Lock()
	if len(s.pending) == 0 {
		s.mu.Unlock()
		return false
	}
	f := s.pending[0]
	s.pending = s.pending[1:]
	s.mu.Unlock()
	f(err)
	return true
}

// Sent returns what was delivered, in order.
func (s *Sender) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}

// Types returns the delivered event types in order.
func (s *Sender) Types() []string {
	var out []string
	for _, m := range s.Sent() {
		out = append(out, m.Type())
	}
	return out
}

// Attempts counts the tries of the message with txnID.
func (s *Sender) Attempts(txnID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts[txnID]
}

// Observer records what the engine reports.
type Observer struct {
	mu       sync.Mutex
	Updates  []signalling.CallInfo
	Ignored  []IgnoredInvite
	Problems []error
}

// IgnoredInvite is one InviteIgnored report.
type IgnoredInvite struct {
	CallID string
	From   id.UserID
	Why    signalling.IgnoreReason
}

func (o *Observer) CallUpdated(info signalling.CallInfo) {
	o.mu.Lock()
	o.Updates = append(o.Updates, info)
	o.mu.Unlock()
}

func (o *Observer) InviteIgnored(callID string, from id.UserID, why signalling.IgnoreReason) {
	o.mu.Lock()
	o.Ignored = append(o.Ignored, IgnoredInvite{callID, from, why})
	o.mu.Unlock()
}

func (o *Observer) Problem(callID string, err error) {
	o.mu.Lock()
	o.Problems = append(o.Problems, err)
	o.mu.Unlock()
}

// Last returns the newest snapshot of callID (ok false if none).
func (o *Observer) Last(callID string) (signalling.CallInfo, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := len(o.Updates) - 1; i >= 0; i-- {
		if o.Updates[i].CallID == callID {
			return o.Updates[i], true
		}
	}
	return signalling.CallInfo{}, false
}

// Current returns the newest snapshot of any call.
func (o *Observer) Current() (signalling.CallInfo, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.Updates) == 0 {
		return signalling.CallInfo{}, false
	}
	return o.Updates[len(o.Updates)-1], true
}

// States lists the states callID went through, without repeats.
func (o *Observer) States(callID string) []signalling.CallState {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []signalling.CallState
	for _, u := range o.Updates {
		if u.CallID == callID && (len(out) == 0 || out[len(out)-1] != u.State) {
			out = append(out, u.State)
		}
	}
	return out
}

// ProblemList returns the reported problems.
func (o *Observer) ProblemList() []error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]error(nil), o.Problems...)
}

// IgnoredList returns the ignored invites.
func (o *Observer) IgnoredList() []IgnoredInvite {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]IgnoredInvite(nil), o.Ignored...)
}
