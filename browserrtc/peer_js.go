// Package browserrtc implements the engine's browser ports (signalling.PeerFactory,
// signalling.Media, signalling.LocalStream) on the browser's RTCPeerConnection and
// getUserMedia. It decides nothing: it carries data between the engine and JavaScript.
//
// The peer connection is built with pion's js shim (webrtc.NewPeerConnection), which
// passes the ICE servers, TURN included, at construction; everything the shim lacks or
// gets wrong (addTrack, track events, raw candidates with sdpMid and sdpMLineIndex,
// implicit setLocalDescription, restartIce, getStats, the signalling state) goes to the
// RTCPeerConnection directly through JSValue. Every JavaScript call goes through safejs,
// so a JS exception becomes an error and never a panic.
//
// Events: the JS listeners only read the event and queue a closure; one goroutine per
// Peer runs the queue in order and calls signalling.PeerEvents, so no engine code ever
// runs inside (or blocks) a JS callback.
package browserrtc

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hack-pad/safejs"
	"github.com/pion/webrtc/v3"

	"ringo/internal/jsutil"
	"ringo/signalling"
)

// Errors reported by Peer.
var (
	ErrClosed           = errors.New("browserrtc: peer connection closed")
	ErrForeignStream    = errors.New("browserrtc: stream is not a *browserrtc.Stream")
	ErrNoAudioSender    = errors.New("browserrtc: no audio sender")
	ErrNoDTMFSender     = errors.New("browserrtc: the audio sender has no DTMF sender")
	ErrCannotInsertDTMF = errors.New("browserrtc: the DTMF sender cannot insert tones now")
	ErrNoDescription    = errors.New("browserrtc: no local description")
)

// Option adjusts the peers a Factory makes.
type Option func(*options)

type options struct {
	onRemoteStream func(safejs.Value)
	onPeer         func(*Peer)
}

// OnRemoteStream sets a callback that receives each remote MediaStream the first time
// a track event carries it, so the UI can attach it to a <video>. It is called from the
// peer's delivery goroutine, right after the matching RemoteTrack event.
func OnRemoteStream(f func(stream safejs.Value)) Option {
	return func(o *options) { o.onRemoteStream = f }
}

// OnPeer sets a callback that receives every Peer the factory makes (for RemoteStream,
// Stats), before the factory returns it.
func OnPeer(f func(*Peer)) Option {
	return func(o *options) { o.onPeer = f }
}

// Factory returns a signalling.PeerFactory of browser peers.
func Factory(opts ...Option) signalling.PeerFactory {
	return func(cfg signalling.PeerConfig, ev signalling.PeerEvents) (signalling.PeerConnection, error) {
		p, err := NewPeer(cfg, ev, opts...)
		if err != nil {
			return nil, err
		}
		return p, nil
	}
}

// Peer implements signalling.PeerConnection on the browser's RTCPeerConnection.
type Peer struct {
	pc     *webrtc.PeerConnection
	js     safejs.Value
	events signalling.PeerEvents
	opts   options

	ctx    context.Context // cancelled by Close: pending awaits end
	cancel context.CancelFunc

	listeners []listener // set up once in NewPeer, removed by Close

	mu        sync.Mutex
	closed    bool
	queue     []func()
	gathered  bool                    // ICEGatheringComplete reported in this generation
	senders   map[string]safejs.Value // RTCRtpSender by track kind ("audio", "video")
	remote    []safejs.Value          // remote MediaStreams in the order first seen
	remoteIDs map[string]bool

	wake chan struct{} // a closure was queued
	done chan struct{} // closed by Close: the delivery goroutine ends
}

// NewPeer makes a Peer that reports to ev. The ICE servers (TURN included) and the
// relay policy are given to the RTCPeerConnection constructor.
func NewPeer(cfg signalling.PeerConfig, ev signalling.PeerEvents, opts ...Option) (*Peer, error) {
	rc := webrtc.Configuration{ICEServers: cfg.ICEServers}
	if cfg.ForceRelay {
		rc.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pc, err := webrtc.NewPeerConnection(rc)
	if err != nil {
		return nil, fmt.Errorf("browserrtc: new RTCPeerConnection: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Peer{
		pc:        pc,
		js:        safejs.Safe(pc.JSValue()),
		events:    ev,
		ctx:       ctx,
		cancel:    cancel,
		senders:   map[string]safejs.Value{},
		remoteIDs: map[string]bool{},
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
	for _, o := range opts {
		o(&p.opts)
	}
	if err := p.listenAll(); err != nil {
		_ = p.Close()
		return nil, fmt.Errorf("browserrtc: listening to RTCPeerConnection: %w", err)
	}
	go p.deliver()
	if p.opts.onPeer != nil {
		p.opts.onPeer(p)
	}
	return p, nil
}

// listenAll adds the RTCPeerConnection listeners the port needs.
func (p *Peer) listenAll() error {
	handlers := []struct {
		event string
		h     func(safejs.Value)
	}{
		{"icecandidate", p.onICECandidate},
		{"icegatheringstatechange", p.onICEGatheringStateChange},
		{"iceconnectionstatechange", p.onICEConnectionStateChange},
		{"negotiationneeded", p.onNegotiationNeeded},
		{"track", p.onTrack},
	}
	for _, h := range handlers {
		l, err := listen(p.js, h.event, h.h)
		if err != nil {
			return err
		}
		p.listeners = append(p.listeners, l)
	}
	return nil
}

// post queues f for the delivery goroutine. It never blocks, so it is safe inside a JS
// callback; order is preserved.
func (p *Peer) post(f func()) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.queue = append(p.queue, f)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// next takes the oldest queued closure, or nil.
func (p *Peer) next() func() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.queue) == 0 {
		return nil
	}
	f := p.queue[0]
	p.queue[0] = nil
	p.queue = p.queue[1:]
	return f
}

// deliver runs the queued closures in order until Close.
func (p *Peer) deliver() {
	for {
		select {
		case <-p.wake:
		case <-p.done:
			return
		}
		for f := p.next(); f != nil; f = p.next() {
			f()
		}
	}
}

// onICECandidate maps the raw icecandidate event (the shim's candidate loses sdpMid,
// sdpMLineIndex and usernameFragment). A null or empty candidate ends gathering.
func (p *Peer) onICECandidate(ev safejs.Value) {
	c := get(ev, "candidate")
	cand := jsutil.StringField(c, "candidate")
	if absent(c) || cand == "" {
		p.gatheringComplete()
		return
	}
	init := webrtc.ICECandidateInit{
		Candidate:        cand,
		SDPMid:           optString(c, "sdpMid"),
		SDPMLineIndex:    optUint16(c, "sdpMLineIndex"),
		UsernameFragment: optString(c, "usernameFragment"),
	}
	p.post(func() { p.events.ICECandidate(init) })
}

// onICEGatheringStateChange starts a new gathering generation on "gathering" and ends
// it on "complete".
func (p *Peer) onICEGatheringStateChange(safejs.Value) {
	switch jsutil.StringField(p.js, "iceGatheringState") {
	case "gathering":
		p.mu.Lock()
		p.gathered = false
		p.mu.Unlock()
	case "complete":
		p.gatheringComplete()
	}
}

// gatheringComplete reports ICEGatheringComplete once per gathering generation.
func (p *Peer) gatheringComplete() {
	p.mu.Lock()
	already := p.gathered
	p.gathered = true
	p.mu.Unlock()
	if !already {
		p.post(p.events.ICEGatheringComplete)
	}
}

func (p *Peer) onICEConnectionStateChange(safejs.Value) {
	s := webrtc.NewICEConnectionState(jsutil.StringField(p.js, "iceConnectionState"))
	p.post(func() { p.events.ICEConnectionStateChange(s) })
}

func (p *Peer) onNegotiationNeeded(safejs.Value) {
	p.post(p.events.NegotiationNeeded)
}

// onTrack reports the remote track with its stream ids and keeps the streams for the UI.
func (p *Peer) onTrack(ev safejs.Value) {
	kind := mediaKind(jsutil.StringField(get(ev, "track"), "kind"))
	streams := items(get(ev, "streams"))
	var ids []string
	for _, s := range streams {
		ids = append(ids, jsutil.StringField(s, "id"))
	}
	var fresh []safejs.Value
	p.mu.Lock()
	for i, s := range streams {
		if id := ids[i]; !p.remoteIDs[id] {
			p.remoteIDs[id] = true
			p.remote = append(p.remote, s)
			fresh = append(fresh, s)
		}
	}
	p.mu.Unlock()
	p.post(func() {
		p.events.RemoteTrack(kind, ids)
		if p.opts.onRemoteStream != nil {
			for _, s := range fresh {
				p.opts.onRemoteStream(s)
			}
		}
	})
}

// mediaKind maps a MediaStreamTrack kind to the engine's MediaKind.
func mediaKind(trackKind string) signalling.MediaKind {
	switch trackKind {
	case "audio":
		return signalling.MediaKindVoice
	case "video":
		return signalling.MediaKindVideo
	default:
		return signalling.MediaKindUnknown
	}
}

// RemoteStreamIDs lists the ids of the remote streams seen so far.
func (p *Peer) RemoteStreamIDs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.remoteIDs))
	for id := range p.remoteIDs {
		out = append(out, id)
	}
	return out
}

// JSValue returns the underlying RTCPeerConnection.
func (p *Peer) JSValue() safejs.Value { return p.js }

// RemoteStream returns the first remote MediaStream that has tracks, or undefined.
func (p *Peer) RemoteStream() safejs.Value {
	p.mu.Lock()
	streams := append([]safejs.Value(nil), p.remote...)
	p.mu.Unlock()
	for _, s := range streams {
		if len(callItems(s, "getTracks")) > 0 {
			return s
		}
	}
	return safejs.Undefined()
}

// Closed reports whether Close was called.
func (p *Peer) Closed() bool { return p.alive() != nil }

// alive returns ErrClosed once Close was called.
func (p *Peer) alive() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	return nil
}

// await calls rtcpc.method(args...) and waits for the promise it returns.
func (p *Peer) await(method string, args ...any) (safejs.Value, error) {
	if err := p.alive(); err != nil {
		return safejs.Undefined(), err
	}
	return awaitCall(p.ctx, p.js, method, args...)
}

// awaitCall calls v.method(args...) and waits for the promise; a cancelled ctx (Close)
// reads as ErrClosed.
func awaitCall(ctx context.Context, v safejs.Value, method string, args ...any) (safejs.Value, error) {
	promise, err := call(v, method, args...)
	if err != nil {
		return safejs.Undefined(), fmt.Errorf("browserrtc: %s: %w", method, err)
	}
	r, err := jsutil.Await(ctx, promise)
	if err != nil {
		if ctx.Err() != nil {
			return safejs.Undefined(), ErrClosed
		}
		return safejs.Undefined(), fmt.Errorf("browserrtc: %s: %w", method, err)
	}
	return r, nil
}

// AddStream adds each track of the stream with the stream (addTrack(track, stream)) and
// remembers the senders by kind.
func (p *Peer) AddStream(ls signalling.LocalStream) error {
	s, ok := signalling.UnwrapStream(ls).(*Stream)
	if !ok {
		return ErrForeignStream
	}
	if err := p.alive(); err != nil {
		return err
	}
	for _, t := range s.tracks() {
		if err := p.addTrack(t, s.v); err != nil {
			return err
		}
	}
	return nil
}

// addTrack adds one track with its stream and remembers its sender.
func (p *Peer) addTrack(track, stream safejs.Value) error {
	sender, err := call(p.js, "addTrack", track, stream)
	if err != nil {
		return fmt.Errorf("browserrtc: addTrack: %w", err)
	}
	kind := jsutil.StringField(track, "kind")
	p.mu.Lock()
	p.senders[kind] = sender
	p.mu.Unlock()
	return nil
}

// sender returns the remembered sender for a track kind.
func (p *Peer) sender(kind string) (safejs.Value, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.senders[kind]
	return s, ok
}

// SetLocalDescription calls setLocalDescription() with no argument (the browser creates
// the offer or answer the signalling state needs) and returns the applied description.
func (p *Peer) SetLocalDescription() (webrtc.SessionDescription, error) {
	if _, err := p.await("setLocalDescription"); err != nil {
		return webrtc.SessionDescription{}, err
	}
	d := p.LocalDescription()
	if d == nil {
		return webrtc.SessionDescription{}, ErrNoDescription
	}
	return *d, nil
}

// LocalDescription reads rtcpc.localDescription (with the candidates gathered so far);
// nil when there is none.
func (p *Peer) LocalDescription() *webrtc.SessionDescription {
	return description(get(p.js, "localDescription"))
}

// description maps an RTCSessionDescription to pion's type; nil for null.
func description(v safejs.Value) *webrtc.SessionDescription {
	if absent(v) {
		return nil
	}
	return &webrtc.SessionDescription{
		Type: webrtc.NewSDPType(jsutil.StringField(v, "type")),
		SDP:  jsutil.StringField(v, "sdp"),
	}
}

// SetRemoteDescription applies d with setRemoteDescription({type, sdp}).
func (p *Peer) SetRemoteDescription(d webrtc.SessionDescription) error {
	_, err := p.await("setRemoteDescription", map[string]any{"type": d.Type.String(), "sdp": d.SDP})
	return err
}

// Rollback discards the local offer with setLocalDescription({type: "rollback"}).
func (p *Peer) Rollback() error {
	_, err := p.await("setLocalDescription", map[string]any{"type": "rollback"})
	return err
}

// AddICECandidate adds a remote candidate; Candidate "" is end-of-candidates. Nil
// fields are left out.
func (p *Peer) AddICECandidate(c webrtc.ICECandidateInit) error {
	_, err := p.await("addIceCandidate", candidateInit(c))
	return err
}

// candidateInit maps a candidate to an RTCIceCandidateInit dictionary.
func candidateInit(c webrtc.ICECandidateInit) map[string]any {
	m := map[string]any{"candidate": c.Candidate}
	if c.SDPMid != nil {
		m["sdpMid"] = *c.SDPMid
	}
	if c.SDPMLineIndex != nil {
		m["sdpMLineIndex"] = int(*c.SDPMLineIndex)
	}
	if c.UsernameFragment != nil {
		m["usernameFragment"] = *c.UsernameFragment
	}
	return m
}

// SignalingState reads rtcpc.signalingState (the shim's event always says unknown).
func (p *Peer) SignalingState() webrtc.SignalingState {
	if p.alive() != nil {
		return webrtc.SignalingStateClosed
	}
	return signalingState(jsutil.StringField(p.js, "signalingState"))
}

// signalingState parses an RTCSignalingState (pion keeps its parser unexported).
func signalingState(s string) webrtc.SignalingState {
	switch s {
	case "stable":
		return webrtc.SignalingStateStable
	case "have-local-offer":
		return webrtc.SignalingStateHaveLocalOffer
	case "have-remote-offer":
		return webrtc.SignalingStateHaveRemoteOffer
	case "have-local-pranswer":
		return webrtc.SignalingStateHaveLocalPranswer
	case "have-remote-pranswer":
		return webrtc.SignalingStateHaveRemotePranswer
	case "closed":
		return webrtc.SignalingStateClosed
	default:
		return webrtc.SignalingState(webrtc.Unknown)
	}
}

// RestartICE calls restartIce(); the next gathering is a new generation.
func (p *Peer) RestartICE() error {
	if err := p.alive(); err != nil {
		return err
	}
	if _, err := call(p.js, "restartIce"); err != nil {
		return fmt.Errorf("browserrtc: restartIce: %w", err)
	}
	p.mu.Lock()
	p.gathered = false
	p.mu.Unlock()
	return nil
}

// SetHold sets the direction of every audio or video transceiver that is not stopped:
// sendonly to hold, sendrecv to resume.
func (p *Peer) SetHold(hold bool) error {
	if err := p.alive(); err != nil {
		return err
	}
	dir := "sendrecv"
	if hold {
		dir = "sendonly"
	}
	for _, t := range callItems(p.js, "getTransceivers") {
		if !isMediaTransceiver(t) {
			continue
		}
		if err := t.Set("direction", dir); err != nil {
			return fmt.Errorf("browserrtc: transceiver direction %s: %w", dir, thrown(err))
		}
	}
	return nil
}

// isMediaTransceiver reports whether t is a live audio or video transceiver.
func isMediaTransceiver(t safejs.Value) bool {
	if boolean(t, "stopped") || jsutil.StringField(t, "direction") == "stopped" ||
		jsutil.StringField(t, "currentDirection") == "stopped" {
		return false
	}
	if !absent(get(get(t, "sender"), "track")) {
		return true
	}
	switch jsutil.StringField(get(get(t, "receiver"), "track"), "kind") {
	case "audio", "video":
		return true
	}
	return false
}

// InsertDTMF queues tones on the audio sender's RTCDTMFSender (insertDTMF).
func (p *Peer) InsertDTMF(tones string) error {
	if err := p.alive(); err != nil {
		return err
	}
	s, ok := p.sender("audio")
	if !ok {
		return ErrNoAudioSender
	}
	dtmf := get(s, "dtmf")
	if absent(dtmf) {
		return ErrNoDTMFSender
	}
	if get(dtmf, "canInsertDTMF").Type() == safejs.TypeBoolean && !boolean(dtmf, "canInsertDTMF") {
		return ErrCannotInsertDTMF
	}
	if _, err := call(dtmf, "insertDTMF", tones); err != nil {
		return fmt.Errorf("browserrtc: insertDTMF: %w", err)
	}
	return nil
}

// ReplaceStream puts the stream's tracks on the senders of their kinds (replaceTrack,
// no renegotiation) and adds the tracks of kinds that have no sender yet.
func (p *Peer) ReplaceStream(ls signalling.LocalStream) error {
	s, ok := signalling.UnwrapStream(ls).(*Stream)
	if !ok {
		return ErrForeignStream
	}
	if err := p.alive(); err != nil {
		return err
	}
	for _, t := range s.tracks() {
		sender, ok := p.sender(jsutil.StringField(t, "kind"))
		if !ok {
			if err := p.addTrack(t, s.v); err != nil {
				return err
			}
			continue
		}
		if _, err := awaitCall(p.ctx, sender, "replaceTrack", t); err != nil {
			return err
		}
	}
	return nil
}

// Close closes the RTCPeerConnection, removes and releases the listeners and stops the
// delivery goroutine. Later calls do nothing.
func (p *Peer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.queue = nil
	p.mu.Unlock()
	p.cancel()
	_, err := call(p.js, "close")
	for _, l := range p.listeners {
		l.remove()
	}
	p.listeners = nil
	close(p.done)
	if err != nil {
		return fmt.Errorf("browserrtc: close: %w", err)
	}
	return nil
}
