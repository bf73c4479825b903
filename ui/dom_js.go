package ui

import (
	"fmt"

	"github.com/hack-pad/safejs"
)

// Actions are what the page's controls do. The DOM binding calls them on a new
// goroutine, never inside the JS event handler.
type Actions interface {
	Login(homeserver, user, password string)
	Logout()
	SelectRoom(roomID string)
	ForceRelay(on bool)
	SelectDevice(kind, id string) // kind "audioinput" or "videoinput"; "" id = default
	Call(video bool)
	Answer(callID string, video bool)
	Reject(callID string)
	Hangup(callID string)
	ToggleMute(callID string, audio bool)
	ToggleHold(callID string)
	DTMF(callID string, digit string)
	Dismiss(callID string)
	JoinGroup(video bool)
	FixGroup()
	LeaveGroup()
}

// DOM is the page: built once, then updated in place by Render (video elements keep
// playing across renders). It holds no state beyond the last view.
type DOM struct {
	doc   safejs.Value
	el    map[string]safejs.Value // by data-testid or internal name
	funcs []safejs.Func
	act   Actions
	last  View

	roomsShown []RoomOption
	optsShown  map[string][]DeviceOption
	tiles      map[string]tileEls
}

type tileEls struct{ box, label, video safejs.Value }

// DTMFKeys are the keypad's keys and their data-testid suffixes.
var DTMFKeys = []struct{ Digit, ID string }{
	{"1", "1"}, {"2", "2"}, {"3", "3"}, {"4", "4"}, {"5", "5"}, {"6", "6"},
	{"7", "7"}, {"8", "8"}, {"9", "9"}, {"*", "star"}, {"0", "0"}, {"#", "hash"},
}

// Mount builds the page inside the element with id rootID, replacing what was there.
func Mount(rootID string, act Actions, defaultHomeserver string) (*DOM, error) {
	doc, err := safejs.Global().Get("document")
	if err != nil {
		return nil, err
	}
	root, err := doc.Call("getElementById", rootID)
	if err != nil || root.IsNull() {
		return nil, fmt.Errorf("ui: no #%s element", rootID)
	}
	d := &DOM{doc: doc, el: map[string]safejs.Value{}, act: act}
	if err := root.Set("textContent", ""); err != nil {
		return nil, err
	}
	b := builder{d: d}

	// Login.
	login := b.add(root, "section", "login", map[string]string{"aria-labelledby": "login-title"})
	b.text(b.add(login, "h1", "", map[string]string{"id": "login-title"}), "Sign in to call")
	form := b.add(login, "form", "login-form", nil)
	hs := b.field(form, "Homeserver", "login-homeserver", "url", "url")
	_ = hs.Set("value", defaultHomeserver)
	_ = hs.Set("placeholder", "https://matrix.example.org")
	b.field(form, "User name", "login-username", "text", "username")
	b.field(form, "Password", "login-password", "password", "current-password")
	b.button(form, "login-submit", "Sign in", nil)
	_ = d.el["login-submit"].Set("type", "submit")
	b.on(form, "submit", func(ev safejs.Value) {
		_, _ = ev.Call("preventDefault")
		h, u, p := d.value("login-homeserver"), d.value("login-username"), d.value("login-password")
		go act.Login(h, u, p)
	})

	// Home.
	home := b.add(root, "section", "home", map[string]string{"aria-label": "Calls"})
	top := b.add(home, "header", "", nil)
	b.add(top, "span", "me", nil)
	b.button(top, "logout", "Sign out", func() { go act.Logout() })
	relayLabel := b.add(top, "label", "", nil)
	relay := b.add(relayLabel, "input", "force-relay", map[string]string{"type": "checkbox"})
	b.textAppend(relayLabel, " Relay only (TURN)")
	b.on(relay, "change", func(safejs.Value) {
		on, _ := get(relay, "checked").Bool()
		go act.ForceRelay(on)
	})
	b.add(home, "p", "status", map[string]string{"role": "status"})
	devs := b.add(home, "div", "", map[string]string{"class": "picker"})
	for _, p := range []struct{ id, label, kind string }{{"mic-select", "Microphone ", "audioinput"}, {"camera-select", "Camera ", "videoinput"}} {
		p := p
		l := b.add(devs, "label", "", map[string]string{"for": p.id})
		b.text(l, p.label)
		sel := b.add(devs, "select", p.id, map[string]string{"id": p.id})
		b.on(sel, "change", func(safejs.Value) { v := d.value(p.id); go act.SelectDevice(p.kind, v) })
	}

	picker := b.add(home, "div", "", map[string]string{"class": "picker"})
	wrap := b.add(picker, "span", "room-picker", nil)
	lbl := b.add(wrap, "label", "", map[string]string{"for": "room-select"})
	b.text(lbl, "Room ")
	sel := b.add(wrap, "select", "room-select", map[string]string{"id": "room-select"})
	b.on(sel, "change", func(safejs.Value) { v := d.value("room-select"); go act.SelectRoom(v) })
	b.button(picker, "call-voice", "Voice call", func() { go act.Call(false) })
	b.button(picker, "call-video", "Video call", func() { go act.Call(true) })
	b.add(home, "p", "call-hint", map[string]string{"class": "hint"})

	group := b.add(home, "section", "group", map[string]string{"aria-label": "Group call"})
	b.button(group, "group-join", "Join group call", func() { go act.JoinGroup(true) })
	b.button(group, "group-fix", "Allow group calls in this room", func() { go act.FixGroup() })
	b.button(group, "group-leave", "Leave group call", func() { go act.LeaveGroup() })
	b.add(group, "p", "group-state", map[string]string{"role": "status", "aria-live": "polite"})
	b.add(group, "div", "group-tiles", map[string]string{"class": "tiles"})

	panel := b.add(home, "section", "call-panel", map[string]string{"aria-label": "Call"})
	state := b.add(panel, "p", "call-state", map[string]string{"aria-live": "polite", "role": "status", "data-state": "idle"})
	_ = state
	b.add(panel, "span", "call-duration", map[string]string{"aria-label": "Call duration"})
	ctl := b.add(panel, "div", "call-controls", map[string]string{"class": "controls"})
	cur := func() string { return d.last.Call.ID }
	b.button(ctl, "answer-voice", "Answer (voice)", func() { id := cur(); go act.Answer(id, false) })
	b.button(ctl, "answer-video", "Answer (video)", func() { id := cur(); go act.Answer(id, true) })
	b.button(ctl, "reject", "Decline", func() { id := cur(); go act.Reject(id) })
	b.button(ctl, "mute-audio", "Mute", func() { id := cur(); go act.ToggleMute(id, true) })
	b.button(ctl, "mute-video", "Camera off", func() { id := cur(); go act.ToggleMute(id, false) })
	b.button(ctl, "hold", "Hold", func() { id := cur(); go act.ToggleHold(id) })
	b.button(ctl, "hangup", "Hang up", func() { id := cur(); go act.Hangup(id) })
	b.button(ctl, "dismiss", "Close", func() { id := cur(); go act.Dismiss(id) })
	pad := b.add(panel, "div", "keypad", map[string]string{"role": "group", "aria-label": "Dial pad", "class": "keypad"})
	for _, k := range DTMFKeys {
		digit := k.Digit
		b.button(pad, "dtmf-"+k.ID, digit, func() { id := cur(); go act.DTMF(id, digit) })
	}
	waiting := b.add(panel, "div", "waiting", map[string]string{"role": "alert"})
	b.add(waiting, "span", "waiting-text", nil)
	videos := b.add(panel, "div", "", map[string]string{"class": "videos"})
	b.add(videos, "video", "remote-video", map[string]string{"autoplay": "", "playsinline": "", "aria-label": "The other person's video"})
	lv := b.add(videos, "video", "local-video", map[string]string{"autoplay": "", "playsinline": "", "aria-label": "Your camera"})
	_ = lv.Set("muted", true) // the local preview must never play our own audio back
	b.add(home, "p", "ignored", map[string]string{"class": "hint"})

	b.add(root, "p", "error", map[string]string{"role": "alert", "class": "error"})
	if b.err != nil {
		return nil, b.err
	}
	d.Render(View{Phase: PhaseLoading})
	return d, nil
}

// Render copies the view into the page.
func (d *DOM) Render(v View) {
	d.last = v
	d.show("login", v.Phase == PhaseLogin)
	d.show("home", v.Phase == PhaseReady)
	d.setDisabled("login-submit", v.LoginBusy)
	if v.LoginBusy {
		d.setText("login-submit", "Signing in…")
	} else {
		d.setText("login-submit", "Sign in")
	}
	d.setText("me", v.Me)
	d.show("logout", !v.Widget)
	d.show("room-picker", !v.Widget)
	d.setText("status", v.Status)
	d.show("status", v.Status != "")
	d.renderRooms(v.Rooms)
	d.renderOptions("mic-select", v.Mics)
	d.renderOptions("camera-select", v.Cameras)
	d.setDisabled("call-voice", !v.CanCall)
	d.setDisabled("call-video", !v.CanCall)
	d.setText("call-hint", v.CallHint)

	c := v.Call
	d.setText("call-state", c.Text)
	d.setAttr("call-state", "data-state", c.State)
	d.setAttr("call-state", "data-reason", c.Reason)
	d.setAttr("call-state", "data-hold", c.HeldBy)
	d.setText("call-duration", c.Duration)
	d.show("answer-voice", c.Incoming)
	d.show("answer-video", c.Incoming)
	d.show("reject", c.Incoming)
	d.show("hangup", c.Active)
	d.show("mute-audio", c.InCall)
	d.show("mute-video", c.InCall && c.Video)
	d.show("hold", c.InCall)
	d.show("keypad", c.InCall)
	d.show("dismiss", c.State == "ended")
	d.setAttr("mute-audio", "aria-pressed", fmt.Sprint(c.AudioMute))
	d.setAttr("mute-video", "aria-pressed", fmt.Sprint(c.VideoMute))
	d.setAttr("hold", "aria-pressed", fmt.Sprint(c.Held))
	d.setText("mute-audio", pick(c.AudioMute, "Unmute", "Mute"))
	d.setText("mute-video", pick(c.VideoMute, "Camera on", "Camera off"))
	d.setText("hold", pick(c.Held, "Resume", "Hold"))
	d.setAttr("remote-video", "data-user-id", c.Peer)
	live := c.State != "idle" && c.State != "ended"
	d.show("remote-video", live)
	d.show("local-video", live)
	if v.Waiting != nil {
		d.setText("waiting-text", v.Waiting.Text+" (call waiting)")
	}
	d.show("waiting", v.Waiting != nil)
	d.setText("ignored", v.IgnoredMsg)
	d.show("group", v.CanJoinGroup || v.InGroup)
	d.show("group-join", v.CanJoinGroup)
	d.show("group-fix", v.CanFixGroup)
	d.show("group-leave", v.InGroup)
	d.setText("group-state", v.GroupText)
	d.renderTiles(v.Tiles)
	d.setText("error", v.Error)
	d.show("error", v.Error != "")
}

// AttachStreams sets the video elements' media (nil values detach).
func (d *DOM) AttachStreams(local, remote safejs.Value) {
	attach := func(name string, s safejs.Value) {
		v := d.el[name]
		cur := get(v, "srcObject")
		if s.IsUndefined() {
			s = safejs.Null()
		}
		if cur.Equal(s) {
			return
		}
		_ = v.Set("srcObject", s)
		if !s.IsNull() {
			// Autoplay policy: play() after a user gesture (the call/answer click) works;
			// a refusal leaves the element paused with its controls for the user.
			if p, err := v.Call("play"); err == nil {
				if catch, err := p.Get("catch"); err == nil && catch.Type() == safejs.TypeFunction {
					f, err := safejs.FuncOf(func(safejs.Value, []safejs.Value) any { _ = v.Set("controls", true); return nil })
					if err == nil {
						d.funcs = append(d.funcs, f)
						_, _ = p.Call("catch", f)
					}
				}
			}
		}
	}
	attach("local-video", local)
	attach("remote-video", remote)
}

func (d *DOM) renderRooms(rooms []RoomOption) {
	sel := d.el["room-select"]
	// Rebuild the options only when they change (keeps the user's focus and choice).
	if d.roomsShown != nil && sameRooms(d.roomsShown, rooms) {
		return
	}
	_ = sel.Set("textContent", "")
	b := builder{d: d}
	ph := b.add(sel, "option", "", map[string]string{"value": ""})
	b.text(ph, "Choose a room…")
	for _, r := range rooms {
		o := b.add(sel, "option", "", map[string]string{"value": r.ID})
		b.text(o, r.Label) // user-controlled: text only
		if r.Selected {
			_ = o.Set("selected", true)
		}
	}
	d.roomsShown = append([]RoomOption{}, rooms...)
}

// renderOptions fills a device picker when its options change.
func (d *DOM) renderOptions(name string, opts []DeviceOption) {
	if d.optsShown == nil {
		d.optsShown = map[string][]DeviceOption{}
	}
	if prev, ok := d.optsShown[name]; ok && len(prev) == len(opts) {
		same := true
		for i := range prev {
			same = same && prev[i] == opts[i]
		}
		if same {
			return
		}
	}
	sel := d.el[name]
	_ = sel.Set("textContent", "")
	b := builder{d: d}
	for _, o := range opts {
		e := b.add(sel, "option", "", map[string]string{"value": o.ID})
		b.text(e, o.Label) // device labels come from the system: text only
		if o.Selected {
			_ = e.Set("selected", true)
		}
	}
	d.optsShown[name] = append([]DeviceOption{}, opts...)
}

// renderTiles keeps one tile per participant, updating in place so videos keep playing.
func (d *DOM) renderTiles(tiles []Tile) {
	if d.tiles == nil {
		d.tiles = map[string]tileEls{}
	}
	b := builder{d: d}
	seen := map[string]bool{}
	for _, t := range tiles {
		seen[t.Key] = true
		el, ok := d.tiles[t.Key]
		if !ok {
			box := b.add(d.el["group-tiles"], "figure", "", map[string]string{"data-testid": "participant-tile", "data-user-id": t.User, "data-device-id": t.Device})
			video := b.add(box, "video", "", map[string]string{"autoplay": "", "playsinline": ""})
			label := b.add(box, "figcaption", "", nil)
			el = tileEls{box: box, label: label, video: video}
			d.tiles[t.Key] = el
		}
		_, _ = el.box.Call("setAttribute", "data-state", t.State)
		_, _ = el.box.Call("setAttribute", "data-audio-muted", pick(t.AudioMuted, "true", "false"))
		_, _ = el.box.Call("setAttribute", "data-video-muted", pick(t.VideoMuted, "true", "false"))
		_, _ = el.box.Call("setAttribute", "data-speaking", pick(t.Speaking, "true", "false"))
		_ = el.label.Set("textContent", t.Text+" ("+t.State+")") // user ids as text
	}
	for k, el := range d.tiles {
		if !seen[k] {
			_, _ = el.box.Call("remove")
			delete(d.tiles, k)
		}
	}
}

// AttachTileStreams gives each tile its participant's remote stream.
func (d *DOM) AttachTileStreams(streams map[string]safejs.Value) {
	for k, el := range d.tiles {
		s, ok := streams[k]
		if !ok {
			continue
		}
		if get(el.video, "srcObject").Equal(s) {
			continue
		}
		_ = el.video.Set("srcObject", s)
		_, _ = el.video.Call("play") // autoplay after the join click; a refusal leaves it paused
	}
}
