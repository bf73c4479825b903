//go:build js && wasm

package main

import (
	"errors"

	"github.com/hack-pad/safejs"

	"ringo/clock"
	"ringo/widgetclient"
)

// startWidget runs Ringo as a room widget: the postMessage adapter carries messages
// between the page and widgetclient, which decides everything (origin and widget id
// checks included).
func (w *webApp) startWidget(p widgetclient.Params) error {
	win := safejs.Global()
	parent, err := win.Get("parent")
	if err != nil || parent.IsUndefined() || parent.IsNull() {
		return errors.New("no parent window")
	}
	jsonObj, err := win.Get("JSON")
	if err != nil {
		return err
	}
	post := func(b []byte) {
		v, err := jsonObj.Call("parse", string(b))
		if err != nil {
			return
		}
		// Target origin: only the host named in parentUrl may read what we send.
		_, _ = parent.Call("postMessage", v, p.ParentOrigin)
	}
	client := widgetclient.NewClient(p, widgetclient.GroupCallCapabilities(p.RoomID, p.UserID), post, clock.Wall{})
	type incoming struct{ origin, data string }
	inbox := make(chan incoming, 512)
	go func() {
		for m := range inbox {
			client.Handle(m.origin, []byte(m.data))
		}
	}()
	fn, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
		defer func() { _ = recover() }()
		if len(args) == 0 {
			return nil
		}
		ev := args[0]
		o, _ := ev.Get("origin")
		origin, _ := o.String()
		d, _ := ev.Get("data")
		s, err := jsonObj.Call("stringify", d)
		if err != nil || s.Type() != safejs.TypeString {
			return nil
		}
		data, _ := s.String()
		select {
		case inbox <- incoming{origin, data}: // never block the JS event loop
		default:
		}
		return nil
	})
	if err != nil {
		return err
	}
	unloadFuncs = append(unloadFuncs, fn)
	if _, err := win.Call("addEventListener", "message", fn); err != nil {
		return err
	}
	// Take over from boot.js's early listener and replay what it kept. No JS event can run
	// while this Go code does, so nothing slips between the two listeners.
	if early, err := win.Get("__ringoEarly"); err == nil && early.Type() == safejs.TypeFunction {
		_, _ = win.Call("removeEventListener", "message", early)
	}
	if kept, err := win.Get("__ringoInbox"); err == nil && !kept.IsUndefined() && !kept.IsNull() {
		n, _ := kept.Length()
		for i := 0; i < n; i++ {
			m, err := kept.Index(i)
			if err != nil {
				continue
			}
			o, _ := m.Get("origin")
			d, _ := m.Get("data")
			origin, _ := o.String()
			data, _ := d.String()
			select {
			case inbox <- incoming{origin, data}:
			default:
			}
		}
		_ = win.Set("__ringoInbox", safejs.Null())
	}
	if p.Theme != "" {
		if doc, err := win.Get("document"); err == nil {
			if root, err := doc.Get("documentElement"); err == nil {
				_, _ = root.Call("setAttribute", "data-theme", p.Theme) // the host's light/dark theme
			}
		}
	}
	w.mu.Lock()
	w.widgetClient = client
	w.mu.Unlock()
	w.run(widgetclient.NewTransport(client, p, clock.Wall{}))
	return nil
}

// keepOnScreen asks the host to keep the widget visible while a call is live
// (set_always_on_screen), when the host granted m.always_on_screen.
func (w *webApp) keepOnScreen(live bool) {
	w.mu.Lock()
	c := w.widgetClient
	changed := c != nil && live != w.onScreen
	if changed {
		w.onScreen = live
	}
	w.mu.Unlock()
	if changed && c.Approved(widgetclient.CapAlwaysOnScreen) {
		c.SetAlwaysOnScreen(live, func(error) {})
	}
}
