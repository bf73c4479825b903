package ui

import (
	"net/url"
	"strconv"
	"strings"

	"maunium.net/go/mautrix/id"
)

// Route is what the URL fragment carries. The fragment never reaches a server, which is
// why the demo's auto-login links put credentials there (and the page removes them at
// once); access tokens never go into any URL.
type Route struct {
	RoomID     id.RoomID
	ForceRelay bool
	// Test knobs (PROTOCOL.md §7): invite lifetime and minimum time left to ring, in ms.
	InviteLifetimeMS, MinRingMS int
	// Capture asks the camera for a format, "320x240@15" (width x height @ fps); the
	// end-to-end group tests use it to keep four pages within two cores.
	Capture Capture
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
	r.InviteLifetimeMS = positive(q.Get("lifetime"))
	r.MinRingMS = positive(q.Get("minring"))
	r.Capture = parseCapture(q.Get("video"))
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
	if r.InviteLifetimeMS > 0 {
		q.Set("lifetime", strconv.Itoa(r.InviteLifetimeMS))
	}
	if r.MinRingMS > 0 {
		q.Set("minring", strconv.Itoa(r.MinRingMS))
	}
	if r.Capture != (Capture{}) {
		q.Set("video", r.Capture.String())
	}
	if len(q) == 0 {
		return ""
	}
	return "#?" + q.Encode()
}

// positive parses a knob: a whole number of milliseconds, 1 ms to 1 hour, else 0.
func positive(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > 3600000 {
		return 0
	}
	return n
}

// Capture is a camera format; the zero value is the browser's default.
type Capture struct{ Width, Height, FPS int }

func (c Capture) String() string {
	return strconv.Itoa(c.Width) + "x" + strconv.Itoa(c.Height) + "@" + strconv.Itoa(c.FPS)
}

// parseCapture reads "WxH@FPS"; anything else, or out of range, is the default.
func parseCapture(s string) Capture {
	size, fps, ok1 := strings.Cut(s, "@")
	w, h, ok2 := strings.Cut(size, "x")
	if !ok1 || !ok2 {
		return Capture{}
	}
	var c Capture
	var err1, err2, err3 error
	c.Width, err1 = strconv.Atoi(w)
	c.Height, err2 = strconv.Atoi(h)
	c.FPS, err3 = strconv.Atoi(fps)
	if err1 != nil || err2 != nil || err3 != nil {
		return Capture{}
	}
	if c.Width < 16 || c.Width > 4096 || c.Height < 16 || c.Height > 4096 || c.FPS < 1 || c.FPS > 60 {
		return Capture{}
	}
	return c
}
