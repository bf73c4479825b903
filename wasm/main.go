//go:build js && wasm

// Command wasm is Ringo's browser entry point in standalone mode: it mounts the DOM,
// restores or asks for a login, and runs the app controller with the browser's WebRTC
// and getUserMedia. Decisions live in the packages it wires; this file only connects.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hack-pad/safejs"
	"maunium.net/go/mautrix/id"

	"ringo/app"
	"ringo/browserrtc"
	"ringo/clock"
	"ringo/internal/jsutil"
	"ringo/matrixclient"
	"ringo/signalling"
	"ringo/ui"
	"ringo/widgetclient"
)

func main() {
	defer func() {
		if r := recover(); r != nil {
			showFatal(fmt.Sprintf("Ringo stopped after an internal error: %v. Reload the page.", r))
		}
	}()
	w := &webApp{renderCh: make(chan struct{}, 1), remote: map[string]safejs.Value{}}
	route := ui.ParseFragment(locationHash())
	w.selected = route.RoomID
	w.forceRelay = route.ForceRelay
	w.lifetime = time.Duration(route.InviteLifetimeMS) * time.Millisecond
	w.minRing = time.Duration(route.MinRingMS) * time.Millisecond
	w.capture = route.Capture
	dom, err := ui.Mount("app", w, defaultHomeserver())
	if err != nil {
		showFatal("Ringo could not build its page: " + err.Error())
		return
	}
	w.dom = dom
	go w.renderLoop()
	if p, ok := widgetclient.ParseParams(locationHref()); ok {
		w.widget = true
		w.selected = p.RoomID
		if err := w.startWidget(p); err != nil {
			showFatal("Ringo could not start as a widget: " + err.Error())
		}
	} else if route.User != "" && route.Password != "" {
		keep := route
		keep.Homeserver, keep.User, keep.Password = "", "", ""
		setLocationHash(keep.Fragment()) // drop the credentials from the address bar
		w.Login(route.Homeserver, route.User, route.Password)
	} else if s, ok := loadSession(); ok {
		w.start(s)
	} else {
		w.setPhase(ui.PhaseLogin)
	}
	select {}
}

type webApp struct {
	dom      *ui.DOM
	renderCh chan struct{}

	mu           sync.Mutex
	phase        ui.Phase
	loginBusy    bool
	errText      string
	selected     id.RoomID
	forceRelay   bool
	lifetime     time.Duration // test knobs; 0: the engine's defaults
	minRing      time.Duration
	capture      ui.Capture // camera format knob; zero = the browser's default
	ctl          *app.Controller
	client       *matrixclient.Client
	cancel       context.CancelFunc
	local        safejs.Value
	remote       map[string]safejs.Value // remote streams by id
	marked       bool                    // render loop only
	widget       bool                    // running inside a Matrix client as a widget
	widgetClient *widgetclient.Client
	onScreen     bool // set_always_on_screen requested
	devices      []ui.Device
	mic, cam     string    // chosen device ids
	groupFix     id.RoomID // joining was forbidden here and we may fix the power levels
	peers        []*browserrtc.Peer
	speaking     ui.Speaking
	speakingNow  map[string]bool
}

// pollSpeaking samples the remote audio levels of the group call's peers a few times a
// second (only while in a group call) for the tiles' speaking indicator.
func (w *webApp) pollSpeaking(ctx context.Context, ctl *app.Controller) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// Forget closed peers (1:1 calls and legs that ended).
		w.mu.Lock()
		live := w.peers[:0]
		for _, p := range w.peers {
			if !p.Closed() {
				live = append(live, p)
			}
		}
		w.peers = live
		peers := append([]*browserrtc.Peer(nil), live...)
		w.mu.Unlock()
		if _, in := ctl.Group(); !in {
			continue
		}
		now := time.Now()
		for _, p := range peers {
			sctx, cancel := context.WithTimeout(ctx, time.Second)
			st, err := p.Stats(sctx)
			cancel()
			if err != nil {
				continue
			}
			w.mu.Lock()
			for _, sid := range p.RemoteStreamIDs() {
				w.speaking.Observe(sid, st.AudioLevel, now)
			}
			w.mu.Unlock()
		}
		w.mu.Lock()
		sp := w.speaking.Now(now)
		changed := !sameSet(sp, w.speakingNow)
		w.speakingNow = sp
		w.mu.Unlock()
		if changed {
			w.changed()
		}
	}
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func (w *webApp) changed() {
	select {
	case w.renderCh <- struct{}{}:
	default:
	}
}

// renderLoop renders after every change and once a second (call duration).
func (w *webApp) renderLoop() {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-w.renderCh:
		case <-tick.C:
		}
		w.render()
	}
}

func (w *webApp) render() {
	defer func() { _ = recover() }()
	w.mu.Lock()
	in := ui.Input{Phase: w.phase, SelectedRoom: w.selected, LoginBusy: w.loginBusy, Error: w.errText, Now: time.Now(),
		Devices: w.devices, Mic: w.mic, Camera: w.cam, Widget: w.widget, GroupFixRoom: w.groupFix, Speaking: w.speakingNow}
	ctl := w.ctl
	local := w.local
	remote := w.remote
	w.mu.Unlock()
	if ctl != nil {
		in.State = ctl.Snapshot()
		if g, ok := ctl.Group(); ok {
			in.Group = &g
		}
	}
	v := ui.Build(in)
	w.dom.Render(v)
	if !w.marked && (v.Phase == ui.PhaseLogin || v.Phase == ui.PhaseReady) {
		// For the benchmark: when the first usable screen (login form or call screen) is up.
		w.marked = true
		if perf, err := safejs.Global().Get("performance"); err == nil {
			_, _ = perf.Call("mark", "ringo-interactive")
		}
	}
	r := safejs.Null()
	live := v.Call.State != "idle" && v.Call.State != "ended"
	w.keepOnScreen(live)
	if live {
		if s, ok := remote[v.Call.RemoteStream]; ok {
			r = s
		}
	} else {
		local = safejs.Null()
	}
	if local.IsUndefined() {
		local = safejs.Null()
	}
	w.dom.AttachStreams(local, r)
	tileStreams := map[string]safejs.Value{}
	for _, t := range v.Tiles {
		if s, ok := remote[t.RemoteStream]; ok {
			tileStreams[t.Key] = s
		}
	}
	w.dom.AttachTileStreams(tileStreams)
}

// update changes the app's state under its lock and re-renders.
func (w *webApp) update(f func()) {
	w.mu.Lock()
	f()
	w.mu.Unlock()
	w.changed()
}

func (w *webApp) setPhase(p ui.Phase) { w.update(func() { w.phase = p }) }
func (w *webApp) setError(msg string) { w.update(func() { w.errText = msg }) }

// ---- ui.Actions ----

func (w *webApp) Login(hs, user, password string) {
	w.mu.Lock()
	w.loginBusy, w.errText = true, ""
	w.mu.Unlock()
	w.changed()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := matrixclient.Login(ctx, hs, strings.TrimSpace(user), password, "")
	w.mu.Lock()
	w.loginBusy = false
	w.mu.Unlock()
	if err != nil {
		w.setPhase(ui.PhaseLogin)
		w.setError(loginErrorText(err))
		return
	}
	saveSession(*s)
	w.start(*s)
}

func loginErrorText(err error) string {
	switch {
	case errors.Is(err, matrixclient.ErrBadHomeserver):
		return "That homeserver address is not valid. Use a URL such as https://matrix.example.org."
	case errors.Is(err, matrixclient.ErrUnreachable):
		return "The homeserver cannot be reached. Check the address and your connection."
	default:
		return "Sign-in failed: " + err.Error()
	}
}

func (w *webApp) start(s matrixclient.Session) {
	cl, err := matrixclient.New(s)
	if err != nil {
		clearSession()
		w.setPhase(ui.PhaseLogin)
		w.setError(loginErrorText(err))
		return
	}
	w.mu.Lock()
	w.client = cl
	w.mu.Unlock()
	w.run(cl)
}

// run starts the app controller on a backend (the homeserver or the widget host).
func (w *webApp) run(backend app.Backend) {
	ctx, cancel := context.WithCancel(context.Background())
	media := &recordingMedia{w: w}
	go w.refreshDevices()
	factory := browserrtc.Factory(browserrtc.OnRemoteStream(func(st safejs.Value) {
		idv, _ := st.Get("id")
		sid, _ := idv.String()
		w.mu.Lock()
		w.remote[sid] = st
		w.mu.Unlock()
		w.changed()
	}), browserrtc.OnPeer(func(p *browserrtc.Peer) {
		w.mu.Lock()
		w.peers = append(w.peers, p)
		w.mu.Unlock()
	}))
	ctl := app.Start(ctx, backend, app.Deps{
		NewPeer: factory, Media: media, Clock: clock.Wall{},
		ForceRelay:     func() bool { w.mu.Lock(); defer w.mu.Unlock(); return w.forceRelay },
		InviteLifetime: w.lifetime, MinRingTime: w.minRing,
		Logf:     func(f string, a ...any) { consoleLog("ringo: " + fmt.Sprintf(f, a...)) },
		OnChange: func(app.State) { w.changed() },
	})
	w.mu.Lock()
	w.ctl, w.cancel = ctl, cancel
	go w.pollSpeaking(ctx, ctl)
	w.phase = ui.PhaseReady
	w.errText = ""
	w.mu.Unlock()
	w.changed()
	onUnload(func() {
		// The tab is closing or navigating: hang up and leave the group call so the
		// others see it at once, not after ICE gives up. Writes become keepalive requests
		// so they outlive the page; everything runnable runs before control returns to
		// the browser, so the requests are issued now.
		if u, ok := backend.(interface{ Unloading() }); ok {
			u.Unloading()
		}
		ctl.HangupAll()
		go func() { _ = ctl.LeaveGroup() }()
	})
}

func (w *webApp) Logout() {
	w.mu.Lock()
	ctl, cl, cancel := w.ctl, w.client, w.cancel
	w.ctl, w.client, w.cancel = nil, nil, nil
	w.phase = ui.PhaseLogin
	w.mu.Unlock()
	if ctl != nil {
		ctl.HangupAll()
	}
	if cl != nil {
		ctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		_ = cl.Logout(ctx) // invalidates the access token on the server
		c()
	}
	if cancel != nil {
		cancel()
	}
	clearSession()
	w.changed()
}

func (w *webApp) SelectRoom(roomID string) {
	w.mu.Lock()
	w.selected = id.RoomID(roomID)
	r := ui.Route{RoomID: id.RoomID(roomID), ForceRelay: w.forceRelay,
		InviteLifetimeMS: int(w.lifetime.Milliseconds()), MinRingMS: int(w.minRing.Milliseconds()), Capture: w.capture}
	w.mu.Unlock()
	setLocationHash(r.Fragment())
	w.changed()
}

func (w *webApp) SelectDevice(kind, id string) {
	w.update(func() {
		if kind == "audioinput" {
			w.mic = id
		} else {
			w.cam = id
		}
	})
}

// refreshDevices lists microphones and cameras for the pickers.
func (w *webApp) refreshDevices() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	devs, err := browserrtc.NewMedia(browserrtc.MediaOptions{}).ListDevices(ctx)
	if err != nil {
		return
	}
	var out []ui.Device
	for _, d := range devs {
		out = append(out, ui.Device{ID: d.ID, Kind: d.Kind, Label: d.Label})
	}
	w.update(func() { w.devices = out })
}

func (w *webApp) ForceRelay(on bool) { w.update(func() { w.forceRelay = on }) }

func (w *webApp) Call(video bool) {
	w.mu.Lock()
	ctl, room := w.ctl, w.selected
	w.errText = ""
	w.mu.Unlock()
	if ctl == nil {
		return
	}
	kind := signalling.MediaKindVoice
	if video {
		kind = signalling.MediaKindVideo
	}
	if _, err := ctl.PlaceCall(room, kind); err != nil {
		w.setError(err.Error())
	}
	w.changed()
}

func (w *webApp) JoinGroup(video bool) {
	kind := signalling.MediaKindVoice
	if video {
		kind = signalling.MediaKindVideo
	}
	w.mu.Lock()
	ctl, room := w.ctl, w.selected
	w.errText = ""
	w.mu.Unlock()
	if ctl == nil {
		return
	}
	err := ctl.JoinGroup(room, kind)
	switch {
	case errors.Is(err, app.ErrGroupForbidden) && ctl.CanFixGroupPowerLevels(room):
		w.update(func() {
			w.groupFix = room
			w.errText = "Members of this room may not use group calls yet. As a room admin you can allow them."
		})
	case err != nil:
		w.setError(err.Error())
	case ctl.GroupNeedsFix(room):
		// We (an admin) are in, but nobody else could join: offer to let them.
		w.update(func() {
			w.groupFix = room
			w.errText = "Other members of this room cannot join this call until you allow group calls in this room."
		})
	default:
		w.changed()
	}
}

// FixGroup lowers the room's power levels for the group call state events, then joins.
func (w *webApp) FixGroup() {
	w.mu.Lock()
	ctl, room := w.ctl, w.groupFix
	w.mu.Unlock()
	if ctl == nil || room == "" {
		return
	}
	if err := ctl.FixGroupPowerLevels(room); err != nil {
		w.setError("Could not change the room's power levels: " + err.Error())
		return
	}
	w.update(func() { w.groupFix, w.errText = "", "" })
	if _, in := ctl.Group(); !in {
		w.JoinGroup(true)
	}
}

func (w *webApp) LeaveGroup() {
	w.withCtl(func(c *app.Controller) {
		if err := c.LeaveGroup(); err != nil {
			w.setError(err.Error())
		}
	})
}

func (w *webApp) withCtl(f func(*app.Controller)) {
	w.mu.Lock()
	ctl := w.ctl
	w.mu.Unlock()
	if ctl != nil {
		f(ctl)
	}
	w.changed()
}

func (w *webApp) Answer(callID string, video bool) {
	kind := signalling.MediaKindVoice
	if video {
		kind = signalling.MediaKindVideo
	}
	w.setError("")
	w.withCtl(func(c *app.Controller) { c.Answer(callID, kind) })
}

func (w *webApp) Reject(callID string) { w.withCtl(func(c *app.Controller) { c.Reject(callID) }) }
func (w *webApp) Hangup(callID string) { w.withCtl(func(c *app.Controller) { c.Hangup(callID) }) }
func (w *webApp) Dismiss(callID string) {
	w.withCtl(func(c *app.Controller) { c.Dismiss(callID) })
}

func (w *webApp) ToggleMute(callID string, audio bool) {
	w.withCtl(func(c *app.Controller) {
		for _, ci := range c.Snapshot().Calls {
			if ci.CallID == callID {
				a, v := ci.AudioMuted, ci.VideoMuted
				if audio {
					a = !a
				} else {
					v = !v
				}
				c.SetMuted(callID, a, v)
			}
		}
	})
}

func (w *webApp) ToggleHold(callID string) {
	w.withCtl(func(c *app.Controller) {
		for _, ci := range c.Snapshot().Calls {
			if ci.CallID == callID {
				c.SetHold(callID, !ci.LocalHold)
			}
		}
	})
}

func (w *webApp) DTMF(callID, digit string) {
	w.withCtl(func(c *app.Controller) { c.SendDTMF(callID, digit) })
}

// recordingMedia remembers the stream it acquired (for the local preview) and turns a
// getUserMedia failure into words for the user; the engine ends the call with
// user_media_failed.
type recordingMedia struct {
	w *webApp
}

func (m *recordingMedia) Acquire(kind signalling.MediaKind, done func(signalling.LocalStream, error)) {
	m.w.mu.Lock()
	opts := browserrtc.MediaOptions{AudioDeviceID: m.w.mic, VideoDeviceID: m.w.cam,
		Width: m.w.capture.Width, Height: m.w.capture.Height, FrameRate: m.w.capture.FPS}
	m.w.mu.Unlock()
	browserrtc.NewMedia(opts).Acquire(kind, func(s signalling.LocalStream, err error) {
		if err != nil {
			var me *browserrtc.MediaError
			if errors.As(err, &me) {
				m.w.setError(me.UserMessage())
			} else {
				m.w.setError("Could not start your microphone or camera: " + err.Error())
			}
		} else if bs, ok := signalling.UnwrapStream(s).(*browserrtc.Stream); ok {
			m.w.mu.Lock()
			m.w.local = bs.JSValue()
			m.w.mu.Unlock()
			m.w.changed()
			go m.w.refreshDevices() // labels appear once permission is granted
		}
		done(s, err)
	})
}

// ---- browser plumbing ----

const sessionKey = "ringo.session"

// Sessions live in localStorage keyed by user and device; sessionStorage remembers which
// one this tab uses, so two users can be signed in in two tabs of one browser.
func loadSession() (matrixclient.Session, bool) {
	key := storageGet("sessionStorage", sessionKey+".active")
	if key == "" {
		key = storageGet("localStorage", sessionKey+".last")
	}
	var s matrixclient.Session
	if key == "" || json.Unmarshal([]byte(storageGet("localStorage", key)), &s) != nil || s.AccessToken == "" {
		return s, false
	}
	storageSet("sessionStorage", sessionKey+".active", key)
	return s, true
}

func saveSession(s matrixclient.Session) {
	b, _ := json.Marshal(s)
	key := sessionKey + "." + string(s.UserID) + "." + string(s.DeviceID)
	storageSet("localStorage", key, string(b))
	storageSet("localStorage", sessionKey+".last", key)
	storageSet("sessionStorage", sessionKey+".active", key)
}

func clearSession() {
	key := storageGet("sessionStorage", sessionKey+".active")
	if key != "" {
		storageRemove("localStorage", key)
		if storageGet("localStorage", sessionKey+".last") == key {
			storageRemove("localStorage", sessionKey+".last")
		}
	}
	storageRemove("sessionStorage", sessionKey+".active")
}

func storage(which string) (safejs.Value, bool) {
	st, err := safejs.Global().Get(which)
	return st, err == nil && !st.IsUndefined() && !st.IsNull()
}

func storageGet(which, key string) string {
	st, ok := storage(which)
	if !ok {
		return ""
	}
	v, err := st.Call("getItem", key)
	if err != nil || v.IsNull() {
		return ""
	}
	s, _ := v.String()
	return s
}

func storageSet(which, key, val string) {
	if st, ok := storage(which); ok {
		_, _ = st.Call("setItem", key, val)
	}
}

func storageRemove(which, key string) {
	if st, ok := storage(which); ok {
		_, _ = st.Call("removeItem", key)
	}
}

func location() safejs.Value {
	l, _ := safejs.Global().Get("location")
	return l
}

func locationHref() string {
	h, err := location().Get("href")
	if err != nil {
		return ""
	}
	s, _ := h.String()
	return s
}

func locationHash() string {
	h, err := location().Get("hash")
	if err != nil {
		return ""
	}
	s, _ := h.String()
	return s
}

func setLocationHash(frag string) {
	hist, err := safejs.Global().Get("history")
	if err != nil {
		return
	}
	path, _ := location().Get("pathname")
	p, _ := path.String()
	_, _ = hist.Call("replaceState", safejs.Null(), "", p+frag)
}

// defaultHomeserver comes from the server's /config.json (serve.go's -homeserver flag).
// It uses fetch directly: net/http would add hundreds of kilobytes to the app.
func defaultHomeserver() string {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	fetch, err := safejs.Global().Get("fetch")
	if err != nil {
		return ""
	}
	p, err := fetch.Invoke("config.json")
	if err != nil {
		return ""
	}
	resp, err := jsutil.Await(ctx, p)
	if err != nil {
		return ""
	}
	if ok, _ := resp.Get("ok"); !isTrue(ok) {
		return ""
	}
	tp, err := resp.Call("text")
	if err != nil {
		return ""
	}
	text, err := jsutil.Await(ctx, tp)
	if err != nil {
		return ""
	}
	s, _ := text.String()
	var cfg struct {
		DefaultHomeserver string `json:"default_homeserver"`
	}
	_ = json.Unmarshal([]byte(s), &cfg)
	return cfg.DefaultHomeserver
}

func isTrue(v safejs.Value) bool {
	b, err := v.Bool()
	return err == nil && b
}

func consoleLog(msg string) {
	if c, err := safejs.Global().Get("console"); err == nil {
		_, _ = c.Call("log", msg)
	}
}

var unloadFuncs []safejs.Func

func onUnload(f func()) {
	fn, err := safejs.FuncOf(func(safejs.Value, []safejs.Value) any { f(); return nil })
	if err != nil {
		return
	}
	unloadFuncs = append(unloadFuncs, fn)
	_, _ = safejs.Global().Call("addEventListener", "pagehide", fn)
}

// showFatal replaces the page with a message: never a blank page.
func showFatal(msg string) {
	doc, err := safejs.Global().Get("document")
	if err != nil {
		return
	}
	root, err := doc.Call("getElementById", "app")
	if err != nil || root.IsNull() {
		return
	}
	p, err := doc.Call("createElement", "p")
	if err != nil {
		return
	}
	_, _ = p.Call("setAttribute", "role", "alert")
	_, _ = p.Call("setAttribute", "data-testid", "error")
	_ = p.Set("textContent", msg)
	_ = root.Set("textContent", "")
	_, _ = root.Call("appendChild", p)
}
