//go:build !js

package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ringo/e2e/browser"
	"ringo/e2e/stack"
)

var (
	hostOnce sync.Once
	hostURL  string
	hostErr  error
)

// widgetHost serves the test host page (matrix-widget-api's ClientWidgetApi backed by
// the real homeserver) on its own origin, different from Ringo's.
func widgetHost(t *testing.T) string {
	t.Helper()
	hostOnce.Do(func() {
		cache := os.Getenv("RINGO_CACHE")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache", "ringo")
		}
		lib := filepath.Join(cache, "npm", "node_modules", "matrix-widget-api", "dist", "api.js")
		if _, err := os.Stat(lib); err != nil {
			hostErr = err // scripts/setup.sh installs it
			return
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/matrix-widget-api.js", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, lib) })
		mux.Handle("/", http.FileServer(http.Dir("widgethost")))
		hostURL = httptest.NewServer(mux).URL
	})
	if hostErr != nil {
		t.Fatalf("widget host library missing (run scripts/setup.sh): %v", hostErr)
	}
	return hostURL
}

// openWidget opens the host page for u with Ringo embedded; deny "send" refuses every
// send capability.
func openWidget(t *testing.T, u *stack.User, room, deny string) (host, frame *browser.Page) {
	t.Helper()
	base := servedApp(t)
	h := widgetHost(t)
	p, err := chrome.NewPageWithFlags(u.Localpart+"/host", map[string]any{"disable-web-security": true})
	must(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("console of %s:\n%s", p.Name, p.Logs())
		}
		p.Close()
	})
	tmpl := base + "/?widgetId=$matrix_widget_id&parentUrl=" + url.QueryEscape(h+"/host.html") +
		"#?roomId=$matrix_room_id&userId=$matrix_user_id&deviceId=$org.matrix.msc3819.matrix_device_id&baseUrl=$org.matrix.msc4039.matrix_base_url"
	q := url.Values{"hs": {hs.HomeserverURL}, "token": {u.AccessToken}, "user": {u.UserID}, "device": {u.DeviceID}, "room": {room}, "widget": {tmpl}}
	if deny != "" {
		q.Set("deny", deny)
	}
	must(t, p.Open(h+"/host.html#"+q.Encode()))
	return p, p.InFrame("iframe")
}

// Widget mode: Ringo as alice's room widget calls Ringo standalone (bob); bob answers;
// both connect with media both ways; the widget hangs up.
func TestWidgetCallsStandalone(t *testing.T) {
	alice, bob, room := twoUsersInARoom(t)
	host, wa := openWidget(t, alice, room, "")
	pb := openLoggedIn(t, bob, room, false)
	must(t, wa.WaitEnabled("call-video", 30*time.Second))
	ready(t, pb)
	must(t, wa.Click("call-video"))
	waitState(t, pb, 20*time.Second, "ringing")
	must(t, pb.Click("answer-video"))
	waitState(t, wa, 30*time.Second, "connected")
	waitState(t, pb, 30*time.Second, "connected")
	mediaFlows(t, pb, true)
	mediaFlows(t, wa, true)
	var sent []string
	must(t, host.Eval(`window.__host.sent`, &sent))
	if !contains(sent, "m.call.invite") || !contains(sent, "m.call.select_answer") {
		t.Fatalf("the host did not send the widget's call events: %v", sent)
	}
	must(t, wa.Click("hangup"))
	waitState(t, pb, 20*time.Second, "ended")
	waitState(t, wa, 20*time.Second, "ended")
	// The widget asked to stay on screen during the call, and let go after it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var onScreen []bool
		must(t, host.Eval(`window.__host.onScreen`, &onScreen))
		if len(onScreen) >= 2 && onScreen[0] && !onScreen[len(onScreen)-1] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("set_always_on_screen requests: %v, want true then false", onScreen)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A host that denies sending: Ringo shows an error and sends nothing.
func TestWidgetWithoutSendPermissionSaysSoAndSendsNothing(t *testing.T) {
	alice, bob, room := twoUsersInARoom(t)
	host, wa := openWidget(t, alice, room, "send")
	_ = bob
	deadline := time.Now().Add(20 * time.Second)
	for {
		msg, err := wa.ErrorText()
		must(t, err)
		if strings.Contains(msg, "did not allow") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no error shown for the denied capabilities (shown: %q)", msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Even if the user tries, nothing reaches the host.
	_ = wa.Eval(`(() => { const b = document.querySelector('[data-testid="call-voice"]'); if (b && !b.disabled) b.click(); return true; })()`, nil)
	time.Sleep(2 * time.Second)
	var sent []string
	must(t, host.Eval(`window.__host.sent`, &sent))
	if len(sent) != 0 {
		t.Fatalf("the widget sent %v without permission", sent)
	}
}

// Messages from another origin are ignored; the same message from the host rings.
func TestWidgetIgnoresOtherOrigins(t *testing.T) {
	alice, bob, room := twoUsersInARoom(t)
	host, wa := openWidget(t, alice, room, "")
	must(t, wa.WaitEnabled("call-voice", 30*time.Second))
	invite := map[string]any{
		"type": "m.call.invite", "sender": bob.UserID, "event_id": "$forged", "room_id": room,
		"origin_server_ts": time.Now().UnixMilli(),
		"content": map[string]any{"call_id": "forged1", "party_id": "EVIL", "version": "1", "lifetime": 60000,
			"invitee": alice.UserID, "offer": map[string]any{"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\na=rtpmap:111 opus/48000/2\r\n"}},
	}
	msg := map[string]any{"api": "toWidget", "widgetId": "ringo", "requestId": "forged-req", "action": "send_event", "data": invite}
	raw, _ := json.Marshal(msg)
	// A third origin posts it into Ringo's frame.
	other := httptest.NewServer(http.FileServer(http.Dir("widgethost")))
	defer other.Close()
	must(t, host.Eval(`(() => { const f = document.createElement('iframe'); f.src = `+jsString(other.URL+"/attack.html#"+url.PathEscape(string(raw)))+`; document.body.appendChild(f); return true; })()`, nil))
	time.Sleep(1500 * time.Millisecond)
	if s := state(t, wa); s != "idle" {
		t.Fatalf("a message from another origin changed the call state to %q", s)
	}
	// The same message from the host's origin is accepted (so the check above can fail).
	must(t, host.Eval(`(() => { document.querySelector('iframe').contentWindow.postMessage(`+string(raw)+`, "*"); return true; })()`, nil))
	waitState(t, wa, 10*time.Second, "ringing")
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
