package ui

import (
	"net/url"
	"strings"

	"maunium.net/go/mautrix/id"
)

// Route is what the URL fragment carries. The fragment never reaches a server, which is
// why the demo's auto-login links put credentials there (and the page removes them at
// once); access tokens never go into any URL.
type Route struct {
	RoomID     id.RoomID
	ForceRelay bool
	// Demo auto-login: homeserver, user and password.
	Homeserver, User, Password string
}

// ParseFragment reads "#?roomId=!r:hs&relay=1" (and "#roomId=..."). Unknown keys are
// ignored; a room id that is not one ("!" + localpart + ":" + server) is dropped.
func ParseFragment(frag string) Route {
	frag = strings.TrimPrefix(frag, "#")
	frag = strings.TrimPrefix(frag, "/")
	frag = strings.TrimPrefix(frag, "?")
	q, err := url.ParseQuery(frag)
	if err != nil {
		return Route{}
	}
	r := Route{
		ForceRelay: q.Get("relay") == "1" || q.Get("relay") == "true",
		Homeserver: q.Get("hs"), User: q.Get("user"), Password: q.Get("password"),
	}
	if rid := q.Get("roomId"); strings.HasPrefix(rid, "!") && strings.Contains(rid, ":") && len(rid) <= 255 {
		r.RoomID = id.RoomID(rid)
	}
	return r
}

// Fragment writes the route back without credentials.
func (r Route) Fragment() string {
	q := url.Values{}
	if r.RoomID != "" {
		q.Set("roomId", string(r.RoomID))
	}
	if r.ForceRelay {
		q.Set("relay", "1")
	}
	if len(q) == 0 {
		return ""
	}
	return "#?" + q.Encode()
}
