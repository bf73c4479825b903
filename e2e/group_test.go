//go:build !js

package e2e

import (
	"context"
	"testing"
	"time"

	"ringo/e2e/browser"
	"ringo/e2e/stack"
)

// groupCapture is the camera format of group tests (PROTOCOL.md §7): several pages share
// two cores.
var groupCapture = []string{"video", "320x240@15"}

// tiles returns the data-state of every group tile on p.
func tiles(t *testing.T, p *browser.Page) []string {
	t.Helper()
	var st []string
	must(t, p.Eval(`Array.from(document.querySelectorAll('[data-testid="participant-tile"]')).map(e => e.getAttribute('data-state'))`, &st))
	return st
}

func waitTiles(t *testing.T, p *browser.Page, d time.Duration, n int) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		st := tiles(t, p)
		ok := len(st) == n
		for _, s := range st {
			ok = ok && s == "connected"
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			msg, _ := p.ErrorText()
			gs, _ := p.Text("group-state")
			t.Fatalf("%s: tiles %v, want %d connected (group: %q; error shown: %q)", p.Name, st, n, gs, msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitSpeaking waits until some tile of p shows its participant speaking.
func waitSpeaking(t *testing.T, p *browser.Page, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var n int
		must(t, p.Eval(`document.querySelectorAll('[data-testid="participant-tile"][data-speaking="true"]').length`, &n))
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no tile ever showed its participant speaking", p.Name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitHidden(t *testing.T, p *browser.Page, testID string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var hidden bool
		must(t, p.Eval(`(() => { const e = document.querySelector('[data-testid="`+testID+`"]'); return !e || e.hidden || !!e.closest('[hidden]'); })()`, &hidden))
		if hidden {
			return
		}
		if time.Now().After(deadline) {
			msg, _ := p.ErrorText()
			t.Fatalf("%s: %s still shown (error shown: %q)", p.Name, testID, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// groupMediaFlows checks that every peer connection of p receives audio and video.
func groupMediaFlows(t *testing.T, p *browser.Page, n int) {
	t.Helper()
	first, err := p.PeerStats()
	must(t, err)
	deadline := time.Now().Add(15 * time.Second)
	for {
		time.Sleep(500 * time.Millisecond)
		now, err := p.PeerStats()
		must(t, err)
		ok := len(now) == n && len(first) == n
		for i := 0; ok && i < n; i++ {
			ok = now[i].InboundAudioBytes > first[i].InboundAudioBytes && now[i].InboundVideoBytes > first[i].InboundVideoBytes
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: group media not flowing on every connection: %+v -> %+v", p.Name, first, now)
		}
	}
}

// Group call (MSC3401 full mesh) in three browsers: the room admin allows group calls,
// all join, every pair has media both
// ways; one leaves and the others' tiles update; it rejoins; it reloads the page mid-call
// (which leaves), and rejoins from the new page (a new session), reconnected with everyone.
func TestGroupCallOfThreeBrowsers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var users []*stack.User
	for _, n := range []string{"ga", "gb", "gc"} {
		u, err := hs.Register(ctx, uniqueName(n), "G"+uniqueName(""))
		must(t, err)
		users = append(users, u)
	}
	// A room with the homeserver's default power levels, where members may not send call
	// state: its creator starts the call, is offered the fix and takes it.
	var created struct {
		RoomID string `json:"room_id"`
	}
	must(t, hs.Do(ctx, users[0], "POST", "/_matrix/client/v3/createRoom", map[string]any{
		"preset": "private_chat", "invite": []string{users[1].UserID, users[2].UserID}}, &created))
	room := created.RoomID
	must(t, hs.Join(ctx, users[1], room))
	must(t, hs.Join(ctx, users[2], room))
	var pages []*browser.Page
	for _, u := range users {
		pages = append(pages, openLoggedIn(t, u, room, false, groupCapture...))
	}
	for _, p := range pages {
		must(t, p.WaitEnabled("group-join", 30*time.Second))
	}
	must(t, pages[0].Click("group-join"))
	must(t, pages[0].WaitEnabled("group-leave", 20*time.Second))
	must(t, pages[0].WaitEnabled("group-fix", 20*time.Second)) // in, but nobody else could join
	must(t, pages[0].Click("group-fix"))
	waitHidden(t, pages[0], "group-fix", 20*time.Second)
	for _, p := range pages[1:] {
		must(t, p.Click("group-join"))
	}
	for _, p := range pages {
		waitTiles(t, p, 45*time.Second, 2)
	}
	for _, p := range pages {
		groupMediaFlows(t, p, 2)
	}
	// Chromium's fake microphone beeps: every page sees a tile light up as speaking.
	for _, p := range pages {
		waitSpeaking(t, p, 10*time.Second)
	}

	// The third leaves.
	must(t, pages[2].Click("group-leave"))
	for _, p := range pages[:2] {
		waitTiles(t, p, 30*time.Second, 1)
	}
	// It joins again (a new session) and is reconnected with everyone.
	must(t, pages[2].WaitEnabled("group-join", 10*time.Second))
	must(t, pages[2].Click("group-join"))
	for _, p := range pages {
		waitTiles(t, p, 45*time.Second, 2)
	}
	// It reloads the page mid-call: closing the page leaves the call, so the others'
	// tiles update without waiting for ICE to fail or the membership to expire.
	must(t, pages[2].Reload())
	for _, p := range pages[:2] {
		waitTiles(t, p, 10*time.Second, 1)
	}
	// The reloaded page (same device, new session) joins and is reconnected.
	must(t, pages[2].WaitEnabled("group-join", 30*time.Second))
	must(t, pages[2].Click("group-join"))
	for _, p := range pages {
		waitTiles(t, p, 45*time.Second, 2)
	}
}

// Group calls work in widget mode too: one participant runs Ringo as a widget (state
// events and to-device messages go through the host), two run standalone.
func TestGroupCallWithAWidgetParticipant(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var users []*stack.User
	for _, n := range []string{"wa", "wb", "wc"} {
		u, err := hs.Register(ctx, uniqueName(n), "W"+uniqueName(""))
		must(t, err)
		users = append(users, u)
	}
	room, err := hs.CreateRoom(ctx, users[0], users[1], users[2])
	must(t, err)
	must(t, hs.Join(ctx, users[1], room))
	must(t, hs.Join(ctx, users[2], room))
	_, widget := openWidget(t, users[0], room, "")
	pages := []*browser.Page{widget, openLoggedIn(t, users[1], room, false, groupCapture...), openLoggedIn(t, users[2], room, false, groupCapture...)}
	for _, p := range pages {
		must(t, p.WaitEnabled("group-join", 30*time.Second))
	}
	for _, p := range pages {
		must(t, p.Click("group-join"))
	}
	for _, p := range pages {
		waitTiles(t, p, 45*time.Second, 2)
	}
	groupMediaFlows(t, pages[1], 2)
	must(t, widget.Click("group-leave"))
	for _, p := range pages[1:] {
		waitTiles(t, p, 30*time.Second, 1)
	}
}
