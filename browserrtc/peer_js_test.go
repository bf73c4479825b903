package browserrtc_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/matryer/is"
	"github.com/pion/webrtc/v3"

	"ringo/browserrtc"
	"ringo/internal/jsutil"
	"ringo/signalling"
)

// newPeer makes a Peer through the Factory, as the engine does.
func newPeer(t *testing.T, cfg signalling.PeerConfig, rec *recorder, opts ...browserrtc.Option) *browserrtc.Peer {
	t.Helper()
	pc, err := browserrtc.Factory(opts...)(cfg, rec)
	if err != nil {
		t.Fatalf("Factory: %v", err)
	}
	p, ok := pc.(*browserrtc.Peer)
	if !ok {
		t.Fatalf("Factory made a %T, want *browserrtc.Peer", pc)
	}
	return p
}

// Two browser peers in one page, wired by hand through the port: real fake-device
// media flows both ways, then hold, DTMF and an ICE restart renegotiate.
func TestTwoPeersCallHoldDTMFAndRestart(t *testing.T) {
	is := is.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()

	media := &browserrtc.Media{}
	lsA, err := acquire(ctx, t, media, signalling.MediaKindVideo)
	is.NoErr(err) // A's getUserMedia with fake devices
	lsB, err := acquire(ctx, t, media, signalling.MediaKindVideo)
	is.NoErr(err) // B's getUserMedia with fake devices
	sA, sB := lsA.(*browserrtc.Stream), lsB.(*browserrtc.Stream)
	defer sA.Stop()
	defer sB.Stop()
	is.True(sA.HasAudio() && sA.HasVideo())
	is.True(sA.ID() != "" && sA.ID() != sB.ID())

	recA, recB := newRecorder("A"), newRecorder("B")
	remoteOfA := make(chan safejs.Value, 4)
	pA := newPeer(t, signalling.PeerConfig{}, recA, browserrtc.OnRemoteStream(func(s safejs.Value) { remoteOfA <- s }))
	pB := newPeer(t, signalling.PeerConfig{}, recB)
	defer pA.Close()
	defer pB.Close()

	// Offer, answer, candidates.
	is.NoErr(pA.AddStream(sA))
	w := &wire{}
	offer, answer := w.negotiate(ctx, t, pA, pB, func() error { return pB.AddStream(sB) })
	is.True(iceUfrag(offer.SDP) != "")
	is.Equal(pB.SignalingState(), webrtc.SignalingStateStable)
	is.Equal(pA.SignalingState(), webrtc.SignalingStateStable)
	assertDirection(t, "first answer", answer.SDP, "sendrecv")
	fwdCtx, stopForwarding := context.WithCancel(ctx)
	w.forward(fwdCtx, recA, pB, recB)
	w.forward(fwdCtx, recB, pA, recA)

	eventually(ctx, t, "A's ICE connected", recA.connected)
	eventually(ctx, t, "B's ICE connected", recB.connected)
	eventually(ctx, t, "A's gathering complete", func() bool { return recA.gatheringCount() > 0 })
	for _, rec := range []*recorder{recA, recB} {
		rec.read(func() {
			if len(rec.candidates) == 0 {
				t.Fatalf("%s reported no candidates", rec.name)
			}
			t.Logf("%s: %d candidates, first %q mid=%s index=%d", rec.name, len(rec.candidates),
				rec.candidates[0].Candidate, *rec.candidates[0].SDPMid, *rec.candidates[0].SDPMLineIndex)
			for _, c := range rec.candidates {
				if c.SDPMid == nil || c.SDPMLineIndex == nil {
					t.Fatalf("%s: candidate without sdpMid/sdpMLineIndex: %+v", rec.name, c)
				}
				if len(strings.Fields(c.Candidate)) < 8 { // the shim turned IPv6 ones into "candidate:"
					t.Fatalf("%s: truncated candidate %q", rec.name, c.Candidate)
				}
			}
		})
	}
	if ld := pA.LocalDescription(); ld == nil || ld.Type != webrtc.SDPTypeOffer {
		t.Fatalf("A's LocalDescription = %+v, want the offer", ld)
	}

	// Remote tracks carry the other side's stream id.
	eventually(ctx, t, "A's remote audio and video tracks with B's stream id", func() bool {
		return recA.hasTrack(signalling.MediaKindVoice, sB.ID()) && recA.hasTrack(signalling.MediaKindVideo, sB.ID())
	})
	eventually(ctx, t, "B's remote audio and video tracks with A's stream id", func() bool {
		return recB.hasTrack(signalling.MediaKindVoice, sA.ID()) && recB.hasTrack(signalling.MediaKindVideo, sA.ID())
	})
	select {
	case s := <-remoteOfA:
		is.Equal(jsutil.StringField(s, "id"), sB.ID()) // OnRemoteStream gives B's stream
	case <-ctx.Done():
		t.Fatal("OnRemoteStream was not called")
	}
	is.Equal(jsutil.StringField(pB.RemoteStream(), "id"), sA.ID())

	// Media flows both ways.
	var stA, stB browserrtc.Stats
	eventually(ctx, t, "audio and video bytes received on both sides", func() bool {
		stA, err = pA.Stats(ctx)
		is.NoErr(err)
		stB, err = pB.Stats(ctx)
		is.NoErr(err)
		return stA.AudioBytesReceived > 0 && stA.VideoBytesReceived > 0 &&
			stB.AudioBytesReceived > 0 && stB.VideoBytesReceived > 0
	})
	t.Logf("A stats: %+v", stA)
	t.Logf("B stats: %+v", stB)
	is.True(stA.BytesSent > 0)
	is.True(stA.LocalCandidateType != "" && stA.RemoteCandidateType != "") // selected pair found

	// Hold: A goes sendonly, B answers recvonly; resume goes back to sendrecv.
	n := recA.negotiationCount()
	is.NoErr(pA.SetHold(true))
	eventually(ctx, t, "NegotiationNeeded after SetHold(true)", func() bool { return recA.negotiationCount() > n })
	offer, answer = w.negotiate(ctx, t, pA, pB, nil)
	assertDirection(t, "hold offer", offer.SDP, "sendonly")
	assertDirection(t, "hold answer", answer.SDP, "recvonly")
	assertDirection(t, "A's local description on hold", pA.LocalDescription().SDP, "sendonly")

	n = recA.negotiationCount()
	is.NoErr(pA.SetHold(false))
	eventually(ctx, t, "NegotiationNeeded after SetHold(false)", func() bool { return recA.negotiationCount() > n })
	offer, answer = w.negotiate(ctx, t, pA, pB, nil)
	assertDirection(t, "resume offer", offer.SDP, "sendrecv")
	assertDirection(t, "resume answer", answer.SDP, "sendrecv")

	// DTMF.
	is.NoErr(pA.InsertDTMF("123"))
	dtmfErr := pA.InsertDTMF("xyz")
	t.Logf("InsertDTMF(\"xyz\"): %v", dtmfErr)
	is.True(dtmfErr != nil) // invalid tones are an error, not a panic

	// ReplaceStream puts the new microphone on the existing audio sender.
	lsA2, err := acquire(ctx, t, media, signalling.MediaKindVoice)
	is.NoErr(err)
	sA2 := lsA2.(*browserrtc.Stream)
	defer sA2.Stop()
	is.True(!sA2.HasVideo())
	is.NoErr(pA.ReplaceStream(sA2))
	sending := apply(t, `pc => pc.getSenders().filter(s => s.track).map(s => s.track.id).join(" ")`, pA.JSValue())
	newAudio := jsutil.StringField(apply(t, "s => s.getAudioTracks()[0]", sA2.JSValue()), "id")
	if got, _ := sending.String(); !strings.Contains(got, newAudio) {
		t.Fatalf("after ReplaceStream A sends tracks %q, want the new audio track %q", got, newAudio)
	}
	is.NoErr(pA.InsertDTMF("#")) // the same audio sender keeps its DTMF sender

	// ICE restart: new credentials, a new gathering generation, media keeps flowing.
	oldUfrag := iceUfrag(pA.LocalDescription().SDP)
	gathered := recA.gatheringCount()
	n = recA.negotiationCount()
	is.NoErr(pA.RestartICE())
	eventually(ctx, t, "NegotiationNeeded after RestartICE", func() bool { return recA.negotiationCount() > n })
	offer, _ = w.negotiate(ctx, t, pA, pB, nil)
	is.True(iceUfrag(offer.SDP) != oldUfrag) // the restart offer has new ICE credentials
	eventually(ctx, t, "A's second gathering complete", func() bool { return recA.gatheringCount() > gathered })
	before := stA.AudioBytesReceived
	eventually(ctx, t, "connected with media after the ICE restart", func() bool {
		st, err := pA.Stats(ctx)
		is.NoErr(err)
		return recA.connected() && recB.connected() && st.AudioBytesReceived > before
	})
	recA.read(func() {
		newUfrag := iceUfrag(offer.SDP)
		last := recA.candidates[len(recA.candidates)-1]
		if last.UsernameFragment == nil || *last.UsernameFragment != newUfrag {
			t.Fatalf("last candidate after restart %+v, want usernameFragment %q", last, newUfrag)
		}
	})

	// Mute without renegotiation.
	sA.SetAudioEnabled(false)
	enabled := func() bool {
		b, _ := apply(t, "s => s.getAudioTracks()[0].enabled", sA.JSValue()).Bool()
		return b
	}
	is.Equal(enabled(), false) // SetAudioEnabled(false) disables the track
	sA.SetAudioEnabled(true)
	is.Equal(enabled(), true)

	// No forwarded candidate (end markers included) was refused.
	eventually(ctx, t, "end-of-candidates accepted by both sides", func() bool {
		return recA.endsAddedCount() > 0 && recB.endsAddedCount() > 0
	})
	stopForwarding()
	w.wg.Wait()
	for _, rec := range []*recorder{recA, recB} {
		rec.read(func() {
			for _, err := range rec.addErrors {
				t.Errorf("%s AddICECandidate: %v", rec.name, err)
			}
		})
	}

	// Close: idempotent, and the peer then refuses work.
	is.NoErr(pA.Close())
	is.NoErr(pA.Close())
	is.NoErr(pB.Close())
	is.Equal(pA.SignalingState(), webrtc.SignalingStateClosed)
	_, err = pA.SetLocalDescription()
	is.True(errors.Is(err, browserrtc.ErrClosed))
	is.True(errors.Is(pA.AddStream(sA), browserrtc.ErrClosed))
	sA.Stop()
	for _, tr := range []string{"s => s.getAudioTracks()[0]", "s => s.getVideoTracks()[0]"} {
		is.Equal(jsutil.StringField(apply(t, tr, sA.JSValue()), "readyState"), "ended") // Stop ends the tracks
	}
}
