//go:build !js

// Package pionpeer implements the engine's PeerConnection port on native pion, for the
// integration test that runs two engines over real ICE on loopback. It carries a
// pre-negotiated data channel so a test can prove data crosses, and an Opus track in the
// caller's stream so the stream id travels. Native pion cannot roll back a local offer
// (pion/webrtc#2416), so Rollback reports ErrRollbackUnsupported.
package pionpeer

import (
	"errors"
	"sync"
	"time"

	"github.com/pion/webrtc/v3"
	"github.com/pion/webrtc/v3/pkg/media"

	"ringo/signalling"
)

// ErrRollbackUnsupported: native pion cannot roll back (pion/webrtc#2416).
var ErrRollbackUnsupported = errors.New("pionpeer: rollback is not supported by native pion")

// Peer adapts a native pion PeerConnection.
type Peer struct {
	pc      *webrtc.PeerConnection
	Channel *webrtc.DataChannel

	mu       sync.Mutex
	received [][]byte
	open     chan struct{}
	events   chan func()
	done     chan struct{}
}

// Factory returns a signalling.PeerFactory of native peers bound to loopback.
func Factory(made func(*Peer)) signalling.PeerFactory {
	return func(cfg signalling.PeerConfig, ev signalling.PeerEvents) (signalling.PeerConnection, error) {
		se := webrtc.SettingEngine{}
		se.SetIncludeLoopbackCandidate(true)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
		se.SetICEMulticastDNSMode(0)
		me := &webrtc.MediaEngine{}
		if err := me.RegisterDefaultCodecs(); err != nil {
			return nil, err
		}
		api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me))
		rc := webrtc.Configuration{ICEServers: cfg.ICEServers}
		if cfg.ForceRelay {
			rc.ICETransportPolicy = webrtc.ICETransportPolicyRelay
		}
		pc, err := api.NewPeerConnection(rc)
		if err != nil {
			return nil, err
		}
		p := &Peer{pc: pc, open: make(chan struct{}), events: make(chan func(), 256), done: make(chan struct{})}
		go p.deliver()
		negotiated := true
		var zero uint16
		dc, err := pc.CreateDataChannel("ringo", &webrtc.DataChannelInit{Negotiated: &negotiated, ID: &zero})
		if err != nil {
			_ = pc.Close()
			return nil, err
		}
		p.Channel = dc
		var once sync.Once
		dc.OnOpen(func() { once.Do(func() { close(p.open) }) })
		dc.OnMessage(func(m webrtc.DataChannelMessage) {
			p.mu.Lock()
			p.received = append(p.received, m.Data)
			p.mu.Unlock()
		})
		pc.OnICECandidate(func(c *webrtc.ICECandidate) {
			if c == nil {
				p.post(ev.ICEGatheringComplete)
				return
			}
			init := c.ToJSON()
			p.post(func() { ev.ICECandidate(init) })
		})
		pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
			p.post(func() { ev.ICEConnectionStateChange(s) })
		})
		pc.OnNegotiationNeeded(func() { p.post(ev.NegotiationNeeded) })
		pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			kind := signalling.MediaKindVoice
			if t.Kind() == webrtc.RTPCodecTypeVideo {
				kind = signalling.MediaKindVideo
			}
			var streams []string
			if t.StreamID() != "" {
				streams = []string{t.StreamID()}
			}
			p.post(func() { ev.RemoteTrack(kind, streams) })
		})
		if made != nil {
			made(p)
		}
		return p, nil
	}
}

// post keeps the order of pion's callbacks while never blocking them.
func (p *Peer) post(f func()) {
	select {
	case p.events <- f:
	case <-p.done:
	}
}

func (p *Peer) deliver() {
	for {
		select {
		case f := <-p.events:
			f()
		case <-p.done:
			return
		}
	}
}

// Opened is closed once the data channel is open.
func (p *Peer) Opened() <-chan struct{} { return p.open }

// Received returns the data channel messages received so far.
func (p *Peer) Received() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][]byte(nil), p.received...)
}

// SelectedPair reports the candidate types (host, srflx, relay) of the selected ICE
// pair, local then remote; empty before ICE connects.
func (p *Peer) SelectedPair() (local, remote string) {
	sctp := p.pc.SCTP()
	if sctp == nil || sctp.Transport() == nil || sctp.Transport().ICETransport() == nil {
		return "", ""
	}
	pair, err := sctp.Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		return "", ""
	}
	return pair.Local.Typ.String(), pair.Remote.Typ.String()
}

// Stream is a LocalStream whose audio is a pion sample track sending Opus silence
// every 20 ms (native pion reports a remote track only once packets arrive).
type Stream struct {
	StreamID string
	Track    *webrtc.TrackLocalStaticSample
	stop     chan struct{}
	once     sync.Once
}

// opusSilence is one 20 ms Opus frame of silence.
var opusSilence = []byte{0xf8, 0xff, 0xfe}

// NewStream makes a stream with one Opus track; Stop ends its sending goroutine.
func NewStream(streamID string) (*Stream, error) {
	t, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, streamID+"-audio", streamID)
	if err != nil {
		return nil, err
	}
	s := &Stream{StreamID: streamID, Track: t, stop: make(chan struct{})}
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
				_ = t.WriteSample(media.Sample{Data: opusSilence, Duration: 20 * time.Millisecond})
			}
		}
	}()
	return s, nil
}

func (s *Stream) ID() string           { return s.StreamID }
func (s *Stream) HasAudio() bool       { return true }
func (s *Stream) HasVideo() bool       { return false }
func (s *Stream) SetAudioEnabled(bool) {}
func (s *Stream) SetVideoEnabled(bool) {}
func (s *Stream) Stop()                { s.once.Do(func() { close(s.stop) }) }

func (p *Peer) AddStream(ls signalling.LocalStream) error {
	s, ok := signalling.UnwrapStream(ls).(*Stream)
	if !ok {
		return errors.New("pionpeer: not a pionpeer stream")
	}
	_, err := p.pc.AddTrack(s.Track)
	return err
}

func (p *Peer) ReplaceStream(ls signalling.LocalStream) error { return p.AddStream(ls) }

func (p *Peer) SetLocalDescription() (webrtc.SessionDescription, error) {
	var d webrtc.SessionDescription
	var err error
	switch p.pc.SignalingState() {
	case webrtc.SignalingStateHaveRemoteOffer:
		d, err = p.pc.CreateAnswer(nil)
	default:
		d, err = p.pc.CreateOffer(nil)
	}
	if err != nil {
		return d, err
	}
	return d, p.pc.SetLocalDescription(d)
}

func (p *Peer) LocalDescription() *webrtc.SessionDescription { return p.pc.LocalDescription() }

func (p *Peer) SetRemoteDescription(d webrtc.SessionDescription) error {
	return p.pc.SetRemoteDescription(d)
}

func (p *Peer) Rollback() error { return ErrRollbackUnsupported }

func (p *Peer) AddICECandidate(c webrtc.ICECandidateInit) error {
	if c.Candidate == "" {
		return nil // pion has no end-of-candidates call; gathering ends by itself
	}
	return p.pc.AddICECandidate(c)
}

func (p *Peer) SignalingState() webrtc.SignalingState { return p.pc.SignalingState() }

func (p *Peer) RestartICE() error {
	return errors.New("pionpeer: ICE restart is exercised with the fake and in the browser")
}

func (p *Peer) SetHold(bool) error {
	return errors.New("pionpeer: hold is exercised with the fake and in the browser")
}

func (p *Peer) InsertDTMF(string) error { return errors.New("pionpeer: no DTMF sender") }

func (p *Peer) Close() error {
	select {
	case <-p.done:
	default:
		close(p.done)
	}
	return p.pc.Close()
}
