//go:build !js

package e2e

import (
	"context"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ringo/e2e/browser"
	"ringo/e2e/stack"
	"ringo/webserve"
)

var (
	appOnce sync.Once
	appURL  string
	appErr  error
	chrome  *browser.Browser
)

// servedApp builds the wasm app once and serves it like serve.go does.
func servedApp(t *testing.T) string {
	t.Helper()
	appOnce.Do(func() {
		root, err := filepath.Abs("..")
		if err != nil {
			appErr = err
			return
		}
		mode := "-fast" // tests: no compression
		if os.Getenv("RINGO_BENCH") == "1" {
			mode = "" // the benchmark measures what users download: brotli
		}
		if out, err := exec.Command("bash", filepath.Join(root, "build.sh"), mode).CombinedOutput(); err != nil {
			appErr = err
			t.Logf("build.sh: %s", out)
			return
		}
		h, err := webserve.NewHandler(os.DirFS(root), webserve.Settings{DefaultHomeserver: hs.HomeserverURL})
		if err != nil {
			appErr = err
			return
		}
		srv := httptest.NewServer(h)
		appURL = srv.URL
		chrome, appErr = browser.Launch(context.Background())
	})
	if appErr != nil {
		t.Fatal(appErr)
	}
	return appURL
}

// openLoggedIn opens Ringo for u in a fresh browser context, signed in through the
// demo's fragment login, with room preselected.
func openLoggedIn(t *testing.T, u *stack.User, room string, relay bool, knobs ...string) *browser.Page {
	t.Helper()
	base := servedApp(t)
	p, err := chrome.NewPage(u.Localpart + "/" + u.DeviceID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("console of %s:\n%s", p.Name, p.Logs())
		}
		p.Close()
	})
	q := url.Values{"hs": {hs.HomeserverURL}, "user": {u.Localpart}, "password": {u.Password}, "roomId": {room}}
	if relay {
		q.Set("relay", "1")
	}
	for i := 0; i+1 < len(knobs); i += 2 {
		q.Set(knobs[i], knobs[i+1])
	}
	if err := p.Open(base + "/#?" + q.Encode()); err != nil {
		t.Fatal(err)
	}
	return p
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// twoUsersInARoom registers two fresh users sharing a private room.
func twoUsersInARoom(t *testing.T) (alice, bob *stack.User, room string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice, err := hs.Register(ctx, uniqueName("alice"), "ALICE"+uniqueName(""))
	must(t, err)
	bob, err = hs.Register(ctx, uniqueName("bob"), "BOB"+uniqueName(""))
	must(t, err)
	room, err = hs.CreateRoom(ctx, alice, bob)
	must(t, err)
	must(t, hs.Join(ctx, bob, room))
	return alice, bob, room
}

// mediaFlows checks that inbound audio and video bytes keep rising on p.
func mediaFlows(t *testing.T, p *browser.Page, video bool) {
	t.Helper()
	first, err := p.Stats()
	must(t, err)
	deadline := time.Now().Add(15 * time.Second)
	for {
		time.Sleep(500 * time.Millisecond)
		s, err := p.Stats()
		must(t, err)
		audioUp := s.InboundAudioBytes > first.InboundAudioBytes
		videoUp := !video || s.InboundVideoBytes > first.InboundVideoBytes
		if audioUp && videoUp {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: inbound media not rising: first %+v, now %+v", p.Name, first, s)
		}
	}
}

// Scenario 1: alice video-calls bob; bob's page rings with alice's name; bob answers;
// both connect; remote video plays and inbound audio and video bytes rise on both sides;
// alice hangs up and both end. Then a voice call, and alice closes her page mid-call:
// that hangs up too.
func TestVideoCallBetweenTwoBrowsers(t *testing.T) {
	alice, bob, room := twoUsersInARoom(t)
	pa := openLoggedIn(t, alice, room, false)
	pb := openLoggedIn(t, bob, room, false)
	must(t, pa.WaitEnabled("call-video", 30*time.Second))
	must(t, pb.WaitEnabled("call-video", 30*time.Second))

	must(t, pa.Click("call-video"))
	_, err := pb.WaitState(20*time.Second, "ringing")
	must(t, err)
	text, err := pb.Text("call-state")
	must(t, err)
	if !strings.Contains(text, alice.UserID) {
		t.Fatalf("bob's ringing text %q does not name alice (%s)", text, alice.UserID)
	}
	must(t, pb.Click("answer-video"))
	for _, p := range []*browser.Page{pa, pb} {
		_, err := p.WaitState(30*time.Second, "connected")
		must(t, err)
	}
	for _, p := range []*browser.Page{pa, pb} {
		deadline := time.Now().Add(15 * time.Second)
		for {
			w, h, err := p.RemoteVideoSize()
			must(t, err)
			if w > 0 && h > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: remote video does not play", p.Name)
			}
			time.Sleep(100 * time.Millisecond)
		}
		mediaFlows(t, p, true)
	}
	must(t, pa.Click("hangup"))
	for _, p := range []*browser.Page{pa, pb} {
		_, err := p.WaitState(20*time.Second, "ended")
		must(t, err)
	}
	reason, err := pb.Attr("call-state", "data-reason")
	must(t, err)
	if reason != "user_hangup" {
		t.Fatalf("bob's end reason is %q, want user_hangup", reason)
	}

	// Closing the page in a call hangs up: bob's call ends at once with user_hangup, not
	// seconds later when ICE gives up.
	must(t, pa.WaitEnabled("call-voice", 10*time.Second))
	must(t, pa.Click("call-voice"))
	waitState(t, pb, 20*time.Second, "ringing")
	must(t, pb.Click("answer-voice"))
	waitState(t, pa, 30*time.Second, "connected")
	waitState(t, pb, 30*time.Second, "connected")
	must(t, pa.Open("about:blank"))
	waitState(t, pb, 4*time.Second, "ended")
	reasonIs(t, pb, "user_hangup")
}
