// Package widgetclient is Ringo's side of the Matrix widget API (postMessage between a
// widget iframe and its host client, e.g. Element Web): parameters, the envelope,
// request/reply bookkeeping with timeouts, the capability handshake and the actions a
// calling widget needs, plus a Transport that lets the call engine signal through the
// host. Everything here is pure Go and tested natively; only the postMessage adapter
// (in the wasm entry point) touches the browser. PROTOCOL.md §4 has the wire details.
package widgetclient

import (
	"net/url"
	"strings"

	"maunium.net/go/mautrix/id"
)

// Params are what the host puts in the widget URL.
type Params struct {
	WidgetID     string
	ParentURL    string
	ParentOrigin string // scheme://host[:port] of ParentURL: the only origin we accept
	RoomID       id.RoomID
	UserID       id.UserID
	DeviceID     id.DeviceID
	BaseURL      string
	DisplayName  string
	Lang, Theme  string
}

// ParseParams reads widget parameters from the URL's "#?" fragment first, then its query.
// It reports false when the page is not running as a widget (no widgetId or parentUrl,
// or a parentUrl that is not http(s)).
func ParseParams(rawURL string) (Params, bool) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return Params{}, false
	}
	frag := strings.TrimPrefix(strings.TrimPrefix(u.Fragment, "/"), "?")
	fq, _ := url.ParseQuery(frag)
	qq := u.Query()
	get := func(keys ...string) string {
		for _, k := range keys {
			if v := fq.Get(k); v != "" {
				return v
			}
		}
		for _, k := range keys {
			if v := qq.Get(k); v != "" {
				return v
			}
		}
		return ""
	}
	p := Params{
		WidgetID: get("widgetId"), ParentURL: get("parentUrl"),
		RoomID: id.RoomID(get("roomId", "matrix_room_id")), UserID: id.UserID(get("userId", "matrix_user_id")),
		DeviceID: id.DeviceID(get("deviceId", "matrix_device_id")), BaseURL: get("baseUrl"),
		DisplayName: get("displayName"), Lang: get("lang"), Theme: get("theme"),
	}
	if p.WidgetID == "" || p.ParentURL == "" {
		return Params{}, false
	}
	pu, err := url.Parse(p.ParentURL)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		return Params{}, false
	}
	p.ParentOrigin = pu.Scheme + "://" + pu.Host
	return p, true
}
