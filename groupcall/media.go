package groupcall

import (
	"errors"
	"sync"

	"ringo/signalling"
)

// sharedMedia acquires the camera and microphone once for the whole group call and gives
// every leg the same stream: one capture however many peers (N getUserMedia calls would
// each open the devices and encode nothing more). A leg's Stop does not end the tracks,
// since other legs still send them; release does, when we leave.
type sharedMedia struct {
	under signalling.Media

	mu      sync.Mutex
	stream  signalling.LocalStream
	kind    signalling.MediaKind
	pending []func(signalling.LocalStream, error)
	busy    bool
	done    bool // released: later acquisitions get fresh, unshared streams
}

var errLeft = errors.New("groupcall: left the call while the devices were opening")

func newSharedMedia(m signalling.Media) *sharedMedia { return &sharedMedia{under: m} }

// Acquire implements signalling.Media.
func (m *sharedMedia) Acquire(kind signalling.MediaKind, done func(signalling.LocalStream, error)) {
	m.mu.Lock()
	switch {
	case m.done, m.stream != nil && m.kind != kind:
		// After leaving, or another kind than the call's (not shared): straight through.
		m.mu.Unlock()
		m.under.Acquire(kind, done)
		return
	case m.stream != nil && m.kind == kind:
		s := m.stream
		m.mu.Unlock()
		done(legStream{s}, nil)
		return
	case m.busy:
		m.pending = append(m.pending, done)
		m.mu.Unlock()
		return
	}
	m.busy = true
	m.pending = append(m.pending, done)
	m.mu.Unlock()
	m.under.Acquire(kind, func(s signalling.LocalStream, err error) {
		m.mu.Lock()
		waiting := m.pending
		m.pending, m.busy = nil, false
		stopNow := false
		if err == nil {
			if m.done {
				stopNow = true // we left while the devices were opening
			} else {
				m.stream, m.kind = s, kind
			}
		}
		m.mu.Unlock()
		if stopNow {
			s.Stop()
			err = errLeft
		}
		for _, d := range waiting {
			if err != nil {
				d(nil, err) // a failure is not cached: the next leg asks again
			} else {
				d(legStream{s}, nil)
			}
		}
	})
}

// prefetch starts acquiring early (at join) so the first leg does not wait for it.
func (m *sharedMedia) prefetch(kind signalling.MediaKind) {
	m.Acquire(kind, func(s signalling.LocalStream, err error) {
		if s != nil {
			s.Stop() // a leg handle: does nothing, the shared stream stays
		}
	})
}

// release ends the shared tracks (the camera light goes off).
func (m *sharedMedia) release() {
	m.mu.Lock()
	s := m.stream
	m.stream, m.done = nil, true
	m.mu.Unlock()
	if s != nil {
		s.Stop()
	}
}

// legStream is one leg's handle on the shared stream.
type legStream struct{ signalling.LocalStream }

// Stop leaves the shared tracks running for the other legs.
func (legStream) Stop() {}

// Unwrap gives adapters the stream itself (the browser adapter needs its own type).
func (l legStream) Unwrap() signalling.LocalStream { return l.LocalStream }
