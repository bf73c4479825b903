package signallingtest

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/pion/webrtc/v3"

	"ringo/signalling"
)

// ErrFakeState is returned for a description the signalling state does not allow.
var ErrFakeState = errors.New("fake peer: invalid signalling state for this operation")

// Peer is a scriptable fake signalling.PeerConnection. It models the W3C signalling
// states (stable, have-local-offer, have-remote-offer) including rollback; like native
// pion, it refuses a remote offer in have-local-offer (no implicit rollback), so the
// engine must roll back explicitly. Tests script everything else: candidates,
// gathering, ICE states, tracks.
type Peer struct {
	mu       sync.Mutex
	Name     string
	Config   signalling.PeerConfig
	events   signalling.PeerEvents
	state    webrtc.SignalingState
	local    *webrtc.SessionDescription
	remote   *webrtc.SessionDescription
	version  int
	ufrag    int
	hold     bool
	stream   signalling.LocalStream
	gathered []string // candidate lines gathered so far (go into LocalDescription)
	closed   bool

	RemoteCandidates []webrtc.ICECandidateInit
	DTMF             []string
	Rollbacks        int
	Restarts         int
	// AutoCandidates are emitted (then gathering completes, if AutoComplete) after the
	// first SetLocalDescription, as a browser would.
	AutoCandidates []string
	AutoComplete   bool
	// Fail makes the named method fail once ("SetLocalDescription", "SetRemoteDescription", ...).
	Fail       map[string]error
	seenTracks map[string]bool
}

// Peers records the fakes a factory made.
type Peers struct {
	mu    sync.Mutex
	all   []*Peer
	Setup func(*Peer) // adjusts each new peer before it is used
	Err   error       // makes the factory fail
}

// Factory is a signalling.PeerFactory making fakes.
func (ps *Peers) Factory() signalling.PeerFactory {
	return func(cfg signalling.PeerConfig, ev signalling.PeerEvents) (signalling.PeerConnection, error) {
		if ps.Err != nil {
			return nil, ps.Err
		}
		ps.mu.Lock()
		p := &Peer{Name: fmt.Sprintf("peer%d", len(ps.all)+1), Config: cfg, events: ev, state: webrtc.SignalingStateStable, ufrag: 1}
		ps.all = append(ps.all, p)
		setup := ps.Setup
		ps.mu.Unlock()
		if setup != nil {
			setup(p)
		}
		return p, nil
	}
}

// All returns the peers made so far.
func (ps *Peers) All() []*Peer {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return append([]*Peer(nil), ps.all...)
}

// Last returns the newest peer, or nil.
func (ps *Peers) Last() *Peer {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if len(ps.all) == 0 {
		return nil
	}
	return ps.all[len(ps.all)-1]
}

func (p *Peer) failing(op string) error {
	if err := p.Fail[op]; err != nil {
		delete(p.Fail, op)
		return err
	}
	return nil
}

func (p *Peer) AddStream(s signalling.LocalStream) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.failing("AddStream"); err != nil {
		return err
	}
	p.stream = s
	return nil
}

func (p *Peer) ReplaceStream(s signalling.LocalStream) error {
	p.mu.Lock()
	hadVideo := p.stream != nil && p.stream.HasVideo()
	p.stream = s
	ev := p.events
	p.mu.Unlock()
	if s.HasVideo() && !hadVideo {
		ev.NegotiationNeeded()
	}
	return nil
}

func (p *Peer) SetLocalDescription() (webrtc.SessionDescription, error) {
	p.mu.Lock()
	if err := p.failing("SetLocalDescription"); err != nil {
		p.mu.Unlock()
		return webrtc.SessionDescription{}, err
	}
	var d webrtc.SessionDescription
	switch p.state {
	case webrtc.SignalingStateStable:
		d = webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: p.sdpLocked(webrtc.SDPTypeOffer)}
		p.state = webrtc.SignalingStateHaveLocalOffer
	case webrtc.SignalingStateHaveRemoteOffer:
		d = webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: p.sdpLocked(webrtc.SDPTypeAnswer)}
		p.state = webrtc.SignalingStateStable
	default:
		p.mu.Unlock()
		return d, ErrFakeState
	}
	first := p.local == nil
	p.local = &d
	auto, complete, ev := p.AutoCandidates, p.AutoComplete, p.events
	p.mu.Unlock()
	if first {
		for _, c := range auto {
			p.EmitCandidate(c)
		}
		if complete {
			ev.ICEGatheringComplete()
		}
	}
	return d, nil
}

func (p *Peer) LocalDescription() *webrtc.SessionDescription {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.local == nil {
		return nil
	}
	d := *p.local
	var b strings.Builder
	b.WriteString(d.SDP)
	for _, c := range p.gathered {
		b.WriteString("a=" + c + "\r\n")
	}
	d.SDP = b.String()
	return &d
}

func (p *Peer) SetRemoteDescription(d webrtc.SessionDescription) error {
	p.mu.Lock()
	if err := p.failing("SetRemoteDescription"); err != nil {
		p.mu.Unlock()
		return err
	}
	switch {
	case d.Type == webrtc.SDPTypeOffer && p.state == webrtc.SignalingStateStable:
		p.state = webrtc.SignalingStateHaveRemoteOffer
	case d.Type == webrtc.SDPTypeAnswer && p.state == webrtc.SignalingStateHaveLocalOffer:
		p.state = webrtc.SignalingStateStable
	default:
		p.mu.Unlock()
		return fmt.Errorf("%w: remote %s in %s", ErrFakeState, d.Type, p.state)
	}
	p.remote = &d
	var tracks [][2]string
	if p.seenTracks == nil {
		p.seenTracks = map[string]bool{}
	}
	kind := ""
	for _, line := range strings.Split(d.SDP, "\r\n") {
		switch {
		case strings.HasPrefix(line, "m="):
			kind = strings.Fields(strings.TrimPrefix(line, "m="))[0]
		case strings.HasPrefix(line, "a=msid:"):
			f := strings.Fields(strings.TrimPrefix(line, "a=msid:"))
			if len(f) == 2 && !p.seenTracks[f[1]] {
				p.seenTracks[f[1]] = true
				tracks = append(tracks, [2]string{kind, f[0]})
			}
		}
	}
	ev := p.events
	p.mu.Unlock()
	for _, t := range tracks {
		k := signalling.MediaKindVoice
		if t[0] == "video" {
			k = signalling.MediaKindVideo
		}
		ev.RemoteTrack(k, []string{t[1]})
	}
	return nil
}

func (p *Peer) Rollback() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != webrtc.SignalingStateHaveLocalOffer && p.state != webrtc.SignalingStateHaveRemoteOffer {
		return fmt.Errorf("%w: rollback in %s", ErrFakeState, p.state)
	}
	p.state = webrtc.SignalingStateStable
	p.Rollbacks++
	return nil
}

func (p *Peer) AddICECandidate(c webrtc.ICECandidateInit) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.remote == nil {
		return errors.New("fake peer: candidate before remote description")
	}
	p.RemoteCandidates = append(p.RemoteCandidates, c)
	return nil
}

func (p *Peer) SignalingState() webrtc.SignalingState {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return webrtc.SignalingStateClosed
	}
	return p.state
}

func (p *Peer) RestartICE() error {
	p.mu.Lock()
	p.ufrag++
	p.Restarts++
	ev := p.events
	p.mu.Unlock()
	ev.NegotiationNeeded()
	return nil
}

func (p *Peer) SetHold(hold bool) error {
	p.mu.Lock()
	changed := p.hold != hold
	p.hold = hold
	ev := p.events
	p.mu.Unlock()
	if changed {
		ev.NegotiationNeeded()
	}
	return nil
}

func (p *Peer) InsertDTMF(tones string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stream == nil || !p.stream.HasAudio() {
		return errors.New("fake peer: no audio sender")
	}
	p.DTMF = append(p.DTMF, tones)
	return nil
}

func (p *Peer) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}

// Closed reports whether Close was called.
func (p *Peer) Closed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// Hold reports the direction the engine asked for.
func (p *Peer) Hold() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hold
}

// Remote returns the applied remote description.
func (p *Peer) Remote() *webrtc.SessionDescription {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.remote
}

// EmitCandidate reports a gathered local candidate ("candidate:..." text).
func (p *Peer) EmitCandidate(cand string) {
	p.mu.Lock()
	p.gathered = append(p.gathered, cand)
	ev := p.events
	p.mu.Unlock()
	mid, idx := "0", uint16(0)
	ev.ICECandidate(webrtc.ICECandidateInit{Candidate: cand, SDPMid: &mid, SDPMLineIndex: &idx})
}

// CompleteGathering reports the end of gathering.
func (p *Peer) CompleteGathering() { p.events.ICEGatheringComplete() }

// SetICE reports an ICE connection state.
func (p *Peer) SetICE(s webrtc.ICEConnectionState) { p.events.ICEConnectionStateChange(s) }

// Track reports a remote track.
func (p *Peer) Track(kind signalling.MediaKind, streams ...string) {
	p.events.RemoteTrack(kind, streams)
}

// sdpLocked writes a small but well-formed SDP: one audio and (with a video stream) one
// video section, the stream's msid, our ICE ufrag and the direction hold asks for.
func (p *Peer) sdpLocked(t webrtc.SDPType) string {
	p.version++
	dir := "sendrecv"
	if p.hold {
		dir = "sendonly"
	}
	if t == webrtc.SDPTypeAnswer && p.remote != nil && strings.Contains(p.remote.SDP, "a=sendonly") {
		dir = "recvonly"
		if p.hold {
			dir = "inactive"
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=- 1 %d IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", p.version)
	stream := "-"
	video := false
	if p.stream != nil {
		stream = p.stream.ID()
		video = p.stream.HasVideo()
	}
	if p.remote != nil && strings.Contains(p.remote.SDP, "m=video") {
		video = true
	}
	kinds := []string{"audio"}
	if video {
		kinds = append(kinds, "video")
	}
	for i, k := range kinds {
		fmt.Fprintf(&b, "m=%s 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:%d\r\na=ice-ufrag:%s%d\r\na=%s\r\n", k, i, p.Name, p.ufrag, dir)
		if p.stream != nil {
			fmt.Fprintf(&b, "a=msid:%s %s-%s\r\n", stream, stream, k)
		}
	}
	return b.String()
}
