package browserrtc_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/pion/webrtc/v3"

	"ringo/browserrtc"
	"ringo/signalling"
)

// eval runs a JS expression in the page.
func eval(t *testing.T, src string) safejs.Value {
	t.Helper()
	fn, err := safejs.Global().Get("Function")
	if err != nil {
		t.Fatal(err)
	}
	f, err := fn.New("return " + src)
	if err != nil {
		t.Fatalf("eval %q: %v", src, err)
	}
	v, err := f.Invoke()
	if err != nil {
		t.Fatalf("eval %q: %v", src, err)
	}
	return v
}

// apply calls the JS function fn (an expression) with arg.
func apply(t *testing.T, fn string, arg safejs.Value) safejs.Value {
	t.Helper()
	v, err := eval(t, fn).Invoke(arg)
	if err != nil {
		t.Fatalf("%s: %v", fn, err)
	}
	return v
}

// remoteTrack is one RemoteTrack event.
type remoteTrack struct {
	kind    signalling.MediaKind
	streams []string
}

// recorder is a signalling.PeerEvents that records what a Peer reports and queues its
// candidates (and, on ICEGatheringComplete, an end-of-candidates marker) for the other
// side.
type recorder struct {
	name string
	out  chan webrtc.ICECandidateInit

	mu           sync.Mutex
	candidates   []webrtc.ICECandidateInit
	gatherings   int
	ice          webrtc.ICEConnectionState
	negotiations int
	tracks       []remoteTrack
	addErrors    []error // AddICECandidate failures of candidates forwarded to this side
	endsAdded    int     // end-of-candidates markers this side accepted
}

func newRecorder(name string) *recorder {
	return &recorder{name: name, out: make(chan webrtc.ICECandidateInit, 1024)}
}

func (r *recorder) ICECandidate(c webrtc.ICECandidateInit) {
	r.mu.Lock()
	r.candidates = append(r.candidates, c)
	r.mu.Unlock()
	r.out <- c
}

func (r *recorder) ICEGatheringComplete() {
	r.mu.Lock()
	r.gatherings++
	r.mu.Unlock()
	r.out <- webrtc.ICECandidateInit{Candidate: ""}
}

func (r *recorder) ICEConnectionStateChange(s signalling.ICEConnectionState) {
	r.mu.Lock()
	r.ice = s
	r.mu.Unlock()
}

func (r *recorder) NegotiationNeeded() {
	r.mu.Lock()
	r.negotiations++
	r.mu.Unlock()
}

func (r *recorder) RemoteTrack(kind signalling.MediaKind, streamIDs []string) {
	r.mu.Lock()
	r.tracks = append(r.tracks, remoteTrack{kind: kind, streams: streamIDs})
	r.mu.Unlock()
}

// read runs f with the recorder locked.
func (r *recorder) read(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f()
}

func (r *recorder) connected() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ice == webrtc.ICEConnectionStateConnected || r.ice == webrtc.ICEConnectionStateCompleted
}

func (r *recorder) endsAddedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.endsAdded
}

func (r *recorder) negotiationCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.negotiations
}

func (r *recorder) gatheringCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gatherings
}

// hasTrack reports whether a RemoteTrack of kind with exactly streamID was seen.
func (r *recorder) hasTrack(kind signalling.MediaKind, streamID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, tr := range r.tracks {
		if tr.kind == kind && len(tr.streams) == 1 && tr.streams[0] == streamID {
			return true
		}
	}
	return false
}

// wire connects two peers by hand, as the engine and the homeserver would: candidates
// are forwarded by one goroutine per direction, and never while a negotiation (which
// holds mu) is under way, so a candidate is only added once its description is in.
type wire struct {
	mu sync.Mutex
	wg sync.WaitGroup
}

// forward starts forwarding from's candidates to the peer to, recording failures on
// toRec.
func (w *wire) forward(ctx context.Context, from *recorder, to *browserrtc.Peer, toRec *recorder) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case c := <-from.out:
				w.mu.Lock()
				err := to.AddICECandidate(c)
				w.mu.Unlock()
				toRec.mu.Lock()
				switch {
				case err != nil:
					toRec.addErrors = append(toRec.addErrors, fmt.Errorf("candidate %q: %w", c.Candidate, err))
				case c.Candidate == "":
					toRec.endsAdded++
				}
				toRec.mu.Unlock()
			}
		}
	}()
}

// negotiate runs one offer/answer exchange from a to b with candidate forwarding held
// back; beforeAnswer (optional) runs on b between its remote offer and its answer.
func (w *wire) negotiate(ctx context.Context, t *testing.T, a, b *browserrtc.Peer, beforeAnswer func() error) (offer, answer webrtc.SessionDescription) {
	t.Helper()
	within(ctx, t, "negotiation", func() error {
		w.mu.Lock()
		defer w.mu.Unlock()
		var err error
		if offer, err = a.SetLocalDescription(); err != nil {
			return fmt.Errorf("offerer SetLocalDescription: %w", err)
		}
		if offer.Type != webrtc.SDPTypeOffer {
			return fmt.Errorf("offerer SetLocalDescription gave %s, want offer", offer.Type)
		}
		if err := b.SetRemoteDescription(offer); err != nil {
			return fmt.Errorf("answerer SetRemoteDescription(offer): %w", err)
		}
		if beforeAnswer != nil {
			if err := beforeAnswer(); err != nil {
				return err
			}
		}
		if answer, err = b.SetLocalDescription(); err != nil {
			return fmt.Errorf("answerer SetLocalDescription: %w", err)
		}
		if answer.Type != webrtc.SDPTypeAnswer {
			return fmt.Errorf("answerer SetLocalDescription gave %s, want answer", answer.Type)
		}
		if err := a.SetRemoteDescription(answer); err != nil {
			return fmt.Errorf("offerer SetRemoteDescription(answer): %w", err)
		}
		return nil
	})
	return offer, answer
}

// within runs f and fails the test if it errs or does not return before ctx ends.
func within(ctx context.Context, t *testing.T, what string, f func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-ctx.Done():
		t.Fatalf("%s: timed out: %v", what, ctx.Err())
	}
}

// eventually polls cond until it holds, failing the test when ctx ends first.
func eventually(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// acquire runs Media.Acquire and waits for its result.
func acquire(ctx context.Context, t *testing.T, m *browserrtc.Media, kind signalling.MediaKind) (signalling.LocalStream, error) {
	t.Helper()
	type result struct {
		s   signalling.LocalStream
		err error
	}
	done := make(chan result, 1)
	m.Acquire(kind, func(s signalling.LocalStream, err error) { done <- result{s, err} })
	select {
	case r := <-done:
		return r.s, r.err
	case <-ctx.Done():
		t.Fatalf("Acquire(%s): timed out", kind)
		return nil, nil
	}
}

// mediaSections returns the m= sections of an SDP of the given media kinds.
func mediaSections(sdp string, kinds ...string) []string {
	var out []string
	for _, sec := range strings.Split(sdp, "\r\nm=")[1:] {
		for _, k := range kinds {
			if strings.HasPrefix(sec, k+" ") {
				out = append(out, "m="+sec)
			}
		}
	}
	return out
}

// assertDirection checks that every audio and video section of sdp has a=dir.
func assertDirection(t *testing.T, who, sdp, dir string) {
	t.Helper()
	secs := mediaSections(sdp, "audio", "video")
	if len(secs) != 2 {
		t.Fatalf("%s: want an audio and a video section, got %d:\n%s", who, len(secs), sdp)
	}
	for _, sec := range secs {
		if !strings.Contains(sec, "\r\na="+dir+"\r\n") {
			t.Fatalf("%s: section without a=%s:\n%s", who, dir, sec)
		}
	}
}

// iceUfrag returns the first a=ice-ufrag value of sdp.
func iceUfrag(sdp string) string {
	for _, line := range strings.Split(sdp, "\r\n") {
		if v, ok := strings.CutPrefix(line, "a=ice-ufrag:"); ok {
			return v
		}
	}
	return ""
}
