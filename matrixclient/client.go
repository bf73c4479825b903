// Package matrixclient is Ringo's homeserver client for standalone mode: it logs in, syncs, turns each sync response into per-room batches for the call engine,
// sends the engine's events (room events with stable transaction ids, to-device
// messages) and fetches TURN servers. It uses mautrix's event and id types and its own
// small HTTP layer (fetch in the browser, net/http natively; see http.go), so the same
// code is tested natively against real Dendrite.
package matrixclient

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v3"
	"maunium.net/go/mautrix/id"

	"ringo/signalling"
)

// Sentinel errors.
var (
	ErrBadHomeserver = errors.New("matrixclient: the homeserver address is not a valid http(s) URL")
	ErrLoginFailed   = errors.New("matrixclient: login failed")
	ErrNoTURN        = errors.New("matrixclient: the homeserver offers no TURN server")
	ErrUnreachable   = errors.New("matrixclient: the homeserver cannot be reached")
)

// Session is what a login yields and what is stored to resume.
type Session struct {
	HomeserverURL string      `json:"homeserver_url"`
	UserID        id.UserID   `json:"user_id"`
	DeviceID      id.DeviceID `json:"device_id"`
	AccessToken   string      `json:"access_token"`
}

// NormalizeHomeserver checks and tidies what the user typed ("localhost:8008" gains
// http://, a trailing slash goes).
func NormalizeHomeserver(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", ErrBadHomeserver
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
		if strings.HasPrefix(raw, "https://localhost") || strings.HasPrefix(raw, "https://127.") {
			raw = "http://" + strings.TrimPrefix(raw, "https://")
		}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", ErrBadHomeserver
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/"), nil
}

// Login logs in with a password. deviceID may be empty (the server picks one).
func Login(ctx context.Context, homeserver, username, password string, deviceID id.DeviceID) (*Session, error) {
	hs, err := NormalizeHomeserver(homeserver)
	if err != nil {
		return nil, err
	}
	body := map[string]any{
		"type":                        "m.login.password",
		"identifier":                  map[string]any{"type": "m.id.user", "user": username},
		"password":                    password,
		"initial_device_display_name": "Ringo",
	}
	if deviceID != "" {
		body["device_id"] = deviceID
	}
	var resp struct {
		UserID      id.UserID   `json:"user_id"`
		DeviceID    id.DeviceID `json:"device_id"`
		AccessToken string      `json:"access_token"`
	}
	if err := call(ctx, hs, request{method: "POST", path: pathOf("login"), body: body}, &resp); err != nil {
		return nil, describe(err)
	}
	return &Session{HomeserverURL: hs, UserID: resp.UserID, DeviceID: resp.DeviceID, AccessToken: resp.AccessToken}, nil
}

// describe turns a transport error into one a person can act on.
func describe(err error) error {
	var ne *NetworkError
	var he *HTTPError
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.As(err, &ne):
		return fmt.Errorf("%w: %v", ErrUnreachable, ne.Err)
	case errors.As(err, &he) && (he.ErrCode == "M_FORBIDDEN" || he.Status == 403):
		return fmt.Errorf("%w: wrong user name or password", ErrLoginFailed)
	case errors.As(err, &he) && he.Status >= 500:
		return fmt.Errorf("%w: the homeserver answered %v", ErrUnreachable, he)
	default:
		return fmt.Errorf("%w: %v", ErrLoginFailed, err)
	}
}

// Client is a logged-in session.
type Client struct {
	S Session

	mu     sync.Mutex
	offset time.Duration           // server clock minus ours
	sentAt map[string]time.Time    // txn id -> when we sent it, for the clock estimate
	rooms  map[id.RoomID]*roomInfo // from state

	unloading atomic.Bool // the page is going away: writes use keepalive requests
}

// Unloading marks the page as closing: from now on every write is a keepalive request,
// so the hangups and the group-call leave sent from pagehide still reach the homeserver.
func (c *Client) Unloading() { c.unloading.Store(true) }

// New makes a client for s.
func New(s Session) (*Client, error) {
	hs, err := NormalizeHomeserver(s.HomeserverURL)
	if err != nil {
		return nil, err
	}
	if s.AccessToken == "" || s.UserID == "" {
		return nil, fmt.Errorf("%w: the session has no user or access token", ErrLoginFailed)
	}
	s.HomeserverURL = hs
	return &Client{S: s, sentAt: map[string]time.Time{}, rooms: map[id.RoomID]*roomInfo{}}, nil
}

// SendState sets a state event (group calls: the call and our member event).
func (c *Client) SendState(ctx context.Context, room id.RoomID, evType, stateKey string, content any) error {
	return c.do(ctx, "PUT", pathOf("rooms", string(room), "state", evType, stateKey), nil, content, nil)
}

// GetState reads one state event's content into out.
func (c *Client) GetState(ctx context.Context, room id.RoomID, evType, stateKey string, out any) error {
	return c.do(ctx, "GET", pathOf("rooms", string(room), "state", evType, stateKey), nil, nil, out)
}

// Whoami names the signed-in user and device.
func (c *Client) Whoami() (id.UserID, id.DeviceID) { return c.S.UserID, c.S.DeviceID }

// ServerClockOffset is the current estimate of the server's clock minus ours.
func (c *Client) ServerClockOffset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}

// TURN fetches TURN servers from the homeserver (GET /voip/turnServer, token in the
// Authorization header). An empty URI list gives ErrNoTURN: browsers throw on it.
func (c *Client) TURN(ctx context.Context) ([]webrtc.ICEServer, time.Duration, error) {
	var resp struct {
		Username string   `json:"username"`
		Password string   `json:"password"`
		TTL      int      `json:"ttl"`
		URIs     []string `json:"uris"`
	}
	if err := c.do(ctx, "GET", pathOf("voip", "turnServer"), nil, nil, &resp); err != nil {
		if st := statusOf(err); st == 404 || st == 403 {
			return nil, 0, ErrNoTURN
		}
		return nil, 0, err
	}
	if len(resp.URIs) == 0 {
		return nil, 0, ErrNoTURN
	}
	ttl := time.Duration(resp.TTL) * time.Second
	return []webrtc.ICEServer{{URLs: resp.URIs, Username: resp.Username, Credential: resp.Password}}, ttl, nil
}

// Logout ends the session on the server.
func (c *Client) Logout(ctx context.Context) error {
	return c.do(ctx, "POST", pathOf("logout"), nil, map[string]any{}, nil)
}

// do makes an authenticated request.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	return call(ctx, c.S.HomeserverURL, request{method: method, path: path, query: query, token: c.S.AccessToken, body: body,
		keepalive: method != "GET" && c.unloading.Load()}, out)
}

// ---- sending ----

// SendError wraps a failed send and tells the engine whether to retry.
type SendError struct {
	Status     int
	retryAfter time.Duration
	Err        error
}

func (e *SendError) Error() string { return e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }

// RetryAfter is the delay the server asked for (HTTP 429).
func (e *SendError) RetryAfter() time.Duration { return e.retryAfter }

// Permanent reports a request the server refused for good (4xx other than 429).
func (e *SendError) Permanent() bool {
	return e.Status >= 400 && e.Status < 500 && e.Status != 429 && e.Status != 408
}

func sendError(err error) error {
	var he *HTTPError
	if !errors.As(err, &he) {
		return &transientError{&SendError{Err: err}}
	}
	se := &SendError{Status: he.Status, Err: err}
	if se.Status == 429 {
		se.retryAfter = time.Second
		if he.RetryAfterMS > 0 {
			se.retryAfter = time.Duration(he.RetryAfterMS) * time.Millisecond
		}
		return se
	}
	if se.Permanent() {
		return se // implements PermanentError
	}
	return &transientError{se}
}

// transientError hides Permanent/RetryAfter for errors that should use normal backoff.
type transientError struct{ err *SendError }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// Sender returns the engine's send port for this client.
func (c *Client) Sender() signalling.Sender { return sender{c} }

type sender struct{ c *Client }

func (s sender) Send(msg signalling.OutgoingMessage, done func(error)) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		done(s.c.send(ctx, msg))
	}()
}

func (c *Client) send(ctx context.Context, msg signalling.OutgoingMessage) error {
	txn := msg.TxnID
	if txn == "" {
		txn = fmt.Sprintf("ringo%d", time.Now().UnixNano())
	}
	if len(msg.Target.Devices) > 0 {
		messages := msg.Target.Messages(msg.Content)
		if err := c.do(ctx, "PUT", pathOf("sendToDevice", msg.Type.Type, txn), nil, map[string]any{"messages": messages}, nil); err != nil {
			return sendError(err)
		}
		return nil
	}
	c.mu.Lock()
	c.sentAt[txn] = time.Now()
	c.mu.Unlock()
	if err := c.do(ctx, "PUT", pathOf("rooms", string(msg.Target.Room), "send", msg.Type.Type, txn), nil, msg.Content, nil); err != nil {
		return sendError(err)
	}
	return nil
}
