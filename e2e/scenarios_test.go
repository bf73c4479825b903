//go:build !js

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"ringo/e2e/browser"
)

// ready waits until both pages can place a call (signed in, room synced).
func ready(t *testing.T, pages ...*browser.Page) {
	t.Helper()
	for _, p := range pages {
		must(t, p.WaitEnabled("call-voice", 30*time.Second))
	}
}

func state(t *testing.T, p *browser.Page) string {
	t.Helper()
	s, err := p.Attr("call-state", "data-state")
	must(t, err)
	return s
}

func waitState(t *testing.T, p *browser.Page, d time.Duration, states ...string) {
	t.Helper()
	_, err := p.WaitState(d, states...)
	must(t, err)
}

func reasonIs(t *testing.T, p *browser.Page, want string) {
	t.Helper()
	r, err := p.Attr("call-state", "data-reason")
	must(t, err)
	if r != want {
		t.Fatalf("%s: data-reason is %q, want %q", p.Name, r, want)
	}
}

// stays checks that p's state stays in states for d (nothing rings again, say).
func stays(t *testing.T, p *browser.Page, d time.Duration, states ...string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		s := state(t, p)
		ok := false
		for _, want := range states {
			ok = ok || s == want
		}
		if !ok {
			t.Fatalf("%s: state became %q, want it to stay %v", p.Name, s, states)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Scenario 2: bob rejects; alice sees ended with reason rejected; nothing rings afterwards.
func TestRejectedCall(t *testing.T) {
	alice, bob, room := twoUsersInARoom(t)
	pa := openLoggedIn(t, alice, room, false)
	pb := openLoggedIn(t, bob, room, false)
	ready(t, pa, pb)
	must(t, pa.Click("call-voice"))
	waitState(t, pb, 20*time.Second, "ringing")
	must(t, pb.Click("reject"))
	waitState(t, pa, 20*time.Second, "ended")
	reasonIs(t, pa, "rejected")
	waitState(t, pb, 5*time.Second, "ended")
	stays(t, pb, 2*time.Second, "ended")
	stays(t, pa, 500*time.Millisecond, "ended")
}

// Scenario 3: glare. Both press call within 50 ms; exactly one call ends up connected on
// both sides and no page is left ringing.
func TestGlare(t *testing.T) {
	alice, bob, room := twoUsersInARoom(t)
	pa := openLoggedIn(t, alice, room, false)
	pb := openLoggedIn(t, bob, room, false)
	ready(t, pa, pb)
	done := make(chan error, 1)
	go func() { done <- pb.Click("call-voice") }()
	must(t, pa.Click("call-voice"))
	must(t, <-done)
	for _, p := range []*browser.Page{pa, pb} {
		waitState(t, p, 30*time.Second, "connected")
	}
	// One call: both pages show the same peer connection count of one live call.
	for _, p := range []*browser.Page{pa, pb} {
		stays(t, p, 2*time.Second, "connected")
		s, err := p.Stats()
		must(t, err)
		if s.PeerConnections != 1 {
			t.Fatalf("%s: %d live peer connections after glare, want 1", p.Name, s.PeerConnections)
		}
		shown, err := p.Attr("waiting", "hidden")
		must(t, err)
		_ = shown
		var waitingVisible bool
		must(t, p.Eval(`(() => { const w = document.querySelector('[data-testid="waiting"]'); return !!w && !w.hidden; })()`, &waitingVisible))
		if waitingVisible {
			t.Fatalf("%s: a second call is still ringing after glare", p.Name)
		}
	}
	mediaFlows(t, pa, false)
	mediaFlows(t, pb, false)
}

// Scenario 4: bob has two devices; both ring; one answers; the other stops ringing with
// answered_elsewhere; the call connects with the answering page only.
func TestAnsweredOnAnotherDevice(t *testing.T) {
	alice, bob, room := twoUsersInARoom(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	bob2, err := hs.Login(ctx, bob.Localpart, bob.Password, "BOBTWO"+uniqueName(""))
	must(t, err)
	bob2.Localpart = bob.Localpart
	bob2.Password = bob.Password
	pa := openLoggedIn(t, alice, room, false)
	pb := openLoggedIn(t, bob, room, false)
	pb2 := openLoggedIn(t, bob2, room, false)
	ready(t, pa, pb, pb2)
	must(t, pa.Click("call-video"))
	waitState(t, pb, 20*time.Second, "ringing")
	waitState(t, pb2, 20*time.Second, "ringing")
	must(t, pb2.Click("answer-video"))
	waitState(t, pb, 20*time.Second, "ended")
	reasonIs(t, pb, "answered_elsewhere")
	waitState(t, pa, 30*time.Second, "connected")
	waitState(t, pb2, 30*time.Second, "connected")
	mediaFlows(t, pb2, true)
	mediaFlows(t, pa, true)
	s, err := pb.Stats()
	must(t, err)
	if s.PeerConnections != 0 {
		t.Fatalf("the device that did not answer has %d live peer connections", s.PeerConnections)
	}
}

// Scenario 5: no answer. The invite times out (15 s lifetime, as the decisions allow for
// tests); alice sees invite_timeout; bob's page stops ringing when the lifetime ends.
func TestNoAnswer(t *testing.T) {
	alice, bob, room := twoUsersInARoom(t)
	knobs := []string{"lifetime", "15000", "minring", "5000"}
	pa := openLoggedIn(t, alice, room, false, knobs...)
	pb := openLoggedIn(t, bob, room, false, knobs...)
	ready(t, pa, pb)
	start := time.Now()
	must(t, pa.Click("call-voice"))
	waitState(t, pb, 20*time.Second, "ringing")
	waitState(t, pa, 25*time.Second, "ended")
	reasonIs(t, pa, "invite_timeout")
	if el := time.Since(start); el < 14*time.Second {
		t.Fatalf("the invite timed out after %s, before its 15 s lifetime", el)
	}
	waitState(t, pb, 10*time.Second, "ended", "idle")
}

// Scenario 6: relay only. With force relay on both pages the call connects through
// coturn, and the selected candidate pair is relay on both sides.
func TestRelayOnlyCall(t *testing.T) {
	alice, bob, room := twoUsersInARoom(t)
	pa := openLoggedIn(t, alice, room, true)
	pb := openLoggedIn(t, bob, room, true)
	ready(t, pa, pb)
	// Alice picks a specific microphone (the fake device) instead of the default.
	var picked string
	deadline := time.Now().Add(10 * time.Second)
	for picked == "" && time.Now().Before(deadline) {
		must(t, pa.Eval(`(() => { const s = document.querySelector('[data-testid="mic-select"]');
		  if (!s || s.options.length < 2) return ''; s.selectedIndex = 1; s.dispatchEvent(new Event('change')); return s.value; })()`, &picked))
		time.Sleep(100 * time.Millisecond)
	}
	if picked == "" {
		t.Fatal("alice's microphone picker lists no microphone")
	}
	must(t, pa.Click("call-voice"))
	waitState(t, pb, 20*time.Second, "ringing")
	must(t, pb.Click("answer-voice"))
	for _, p := range []*browser.Page{pa, pb} {
		waitState(t, p, 30*time.Second, "connected")
		mediaFlows(t, p, false)
		s, err := p.Stats()
		must(t, err)
		if s.LocalCandidateType != "relay" || s.RemoteCandidateType != "relay" {
			t.Fatalf("%s: selected pair is %s/%s, want relay/relay", p.Name, s.LocalCandidateType, s.RemoteCandidateType)
		}
	}
}

// inboundVideo reads p's inbound video byte count.
func inboundVideo(t *testing.T, p *browser.Page) float64 {
	t.Helper()
	s, err := p.Stats()
	must(t, err)
	return s.InboundVideoBytes
}

// Scenario 7: hold and resume, mute, and a DTMF digit during a call.
func TestHoldMuteAndDTMF(t *testing.T) {
	alice, bob, room := twoUsersInARoom(t)
	pa := openLoggedIn(t, alice, room, false)
	pb := openLoggedIn(t, bob, room, false)
	ready(t, pa, pb)
	must(t, pa.Click("call-video"))
	waitState(t, pb, 20*time.Second, "ringing")
	must(t, pb.Click("answer-video"))
	waitState(t, pa, 30*time.Second, "connected")
	waitState(t, pb, 30*time.Second, "connected")
	mediaFlows(t, pa, true)

	// Hold: both pages show on-hold; alice (the holder, sendonly) stops receiving video,
	// bob (held, recvonly) keeps receiving.
	must(t, pa.Click("hold"))
	waitState(t, pa, 15*time.Second, "on-hold")
	waitState(t, pb, 15*time.Second, "on-hold")
	if h, _ := pa.Attr("call-state", "data-hold"); h != "local" {
		t.Fatalf("alice data-hold is %q, want local", h)
	}
	if h, _ := pb.Attr("call-state", "data-hold"); h != "remote" {
		t.Fatalf("bob data-hold is %q, want remote", h)
	}
	time.Sleep(time.Second) // let packets in flight arrive
	before := inboundVideo(t, pa)
	time.Sleep(1500 * time.Millisecond)
	if after := inboundVideo(t, pa); after > before+2000 {
		t.Fatalf("alice still receives video on hold: %v -> %v bytes", before, after)
	}
	mediaFlows(t, pb, true)

	// Resume.
	must(t, pa.Click("hold"))
	waitState(t, pa, 15*time.Second, "connected")
	waitState(t, pb, 15*time.Second, "connected")
	mediaFlows(t, pa, true)

	// Mute: the button reports it, and the remote side's audio track is muted in the
	// metadata (shown nowhere yet), so check the local control state.
	must(t, pa.Click("mute-audio"))
	if _, err := pa.WaitAttr("mute-audio", "aria-pressed", 5*time.Second, "true"); err != nil {
		t.Fatal(err)
	}
	must(t, pa.Click("mute-audio"))
	if _, err := pa.WaitAttr("mute-audio", "aria-pressed", 5*time.Second, "false"); err != nil {
		t.Fatal(err)
	}

	// DTMF: browsers cannot receive it, so check the sending side: telephone-event is
	// negotiated and the DTMF sender plays the tone.
	var sdpHasDTMF bool
	must(t, pa.Eval(`(() => { const pc = (window.__pcs||[]).filter(p => p.connectionState !== 'closed').pop(); return !!pc && /telephone-event/.test(pc.currentRemoteDescription.sdp); })()`, &sdpHasDTMF))
	if !sdpHasDTMF {
		t.Fatal("telephone-event was not negotiated")
	}
	must(t, pa.Eval(`(() => { window.__tones = ''; const pc = (window.__pcs||[]).filter(p => p.connectionState !== 'closed').pop();
	  const s = pc.getSenders().find(s => s.track && s.track.kind === 'audio'); s.dtmf.addEventListener('tonechange', e => { window.__tones += e.tone; }); return true; })()`, nil))
	must(t, pa.Click("dtmf-5"))
	deadline := time.Now().Add(5 * time.Second)
	for {
		var tones string
		must(t, pa.Eval(`window.__tones`, &tones))
		if strings.Contains(tones, "5") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the DTMF sender did not play 5 (tones %q)", tones)
		}
		time.Sleep(50 * time.Millisecond)
	}
	must(t, pb.Click("hangup"))
	waitState(t, pa, 15*time.Second, "ended")
}

// A callee whose browser denies the microphone is told why in plain words, and both
// sides see the call end with user_media_failed (not a silent hang).
func TestDeniedMicrophoneEndsTheCallWithAReason(t *testing.T) {
	alice, bob, room := twoUsersInARoom(t)
	pa := openLoggedIn(t, alice, room, false)
	pb := openLoggedIn(t, bob, room, false)
	ready(t, pa, pb)
	must(t, pb.Eval(`(() => { navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException("Permission denied", "NotAllowedError")); return true; })()`, nil))
	must(t, pa.Click("call-voice"))
	waitState(t, pb, 20*time.Second, "ringing")
	must(t, pb.Click("answer-voice"))
	waitState(t, pb, 15*time.Second, "ended")
	reasonIs(t, pb, "user_media_failed")
	msg, err := pb.ErrorText()
	must(t, err)
	if !strings.Contains(strings.ToLower(msg), "allow") {
		t.Fatalf("bob's error %q does not tell him to allow access", msg)
	}
	waitState(t, pa, 15*time.Second, "ended")
	reasonIs(t, pa, "user_media_failed")
}

// Scenario 8: the homeserver restarts while both are idle; a call placed afterwards
// still connects. It restarts the shared homeserver, so it runs last (its name sorts
// after the others and tests in a file run in order; see TestMain).
func TestZZCallAfterHomeserverRestart(t *testing.T) {
	alice, bob, room := twoUsersInARoom(t)
	pa := openLoggedIn(t, alice, room, false)
	pb := openLoggedIn(t, bob, room, false)
	ready(t, pa, pb)
	must(t, hs.StopHomeserver())
	time.Sleep(2 * time.Second) // both sync loops now fail and back off
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	must(t, hs.Restart(ctx))
	must(t, pa.Click("call-voice"))
	waitState(t, pb, 45*time.Second, "ringing")
	must(t, pb.Click("answer-voice"))
	for _, p := range []*browser.Page{pa, pb} {
		waitState(t, p, 30*time.Second, "connected")
		mediaFlows(t, p, false)
	}
	fmt.Println("call connected after a homeserver restart")
}
