// Package matrixclient is Ringo's homeserver client for standalone mode, on mautrix: it
// logs in, syncs, turns each sync response into per-room batches for the call engine,
// sends the engine's events (room events with stable transaction ids, to-device
// messages) and fetches TURN servers. It builds natively and for js/wasm (mautrix's HTTP
// goes through fetch in the browser), so it is tested natively against real Dendrite.
package matrixclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v3"
	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
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

func newMautrix(hs string, user id.UserID, token string) (*mautrix.Client, error) {
	cli, err := mautrix.NewClient(hs, user, token)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadHomeserver, err)
	}
	cli.Log = zerolog.Nop()    // never log requests (they carry tokens in headers)
	cli.DefaultHTTPRetries = 0 // the engine's outbox owns retries and backoff
	return cli, nil
}

// Login logs in with a password. deviceID may be empty (the server picks one).
func Login(ctx context.Context, homeserver, username, password string, deviceID id.DeviceID) (*Session, error) {
	hs, err := NormalizeHomeserver(homeserver)
	if err != nil {
		return nil, err
	}
	cli, err := newMautrix(hs, "", "")
	if err != nil {
		return nil, err
	}
	resp, err := cli.Login(ctx, &mautrix.ReqLogin{
		Type:       mautrix.AuthTypePassword,
		Identifier: mautrix.UserIdentifier{Type: mautrix.IdentifierTypeUser, User: username},
		Password:   password, DeviceID: deviceID,
		InitialDeviceDisplayName: "Ringo",
	})
	if err != nil {
		return nil, describe(err)
	}
	return &Session{HomeserverURL: hs, UserID: resp.UserID, DeviceID: resp.DeviceID, AccessToken: resp.AccessToken}, nil
}

// describe turns a mautrix error into one a person can act on.
func describe(err error) error {
	var he mautrix.HTTPError
	if errors.As(err, &he) {
		if he.Response == nil {
			return fmt.Errorf("%w: %v", ErrUnreachable, he.WrappedError)
		}
		if he.RespError != nil && (he.RespError.ErrCode == "M_FORBIDDEN" || he.Response.StatusCode == http.StatusForbidden) {
			return fmt.Errorf("%w: wrong user name or password", ErrLoginFailed)
		}
		return fmt.Errorf("%w: %v", ErrLoginFailed, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrUnreachable, err)
}

// Client is a logged-in session.
type Client struct {
	S   Session
	cli *mautrix.Client

	mu      sync.Mutex
	offset  time.Duration           // server clock minus ours
	sentAt  map[string]time.Time    // txn id -> when we sent it, for the clock estimate
	rooms   map[id.RoomID]*roomInfo // from state
	onRooms func([]Room)
}

// New makes a client for s.
func New(s Session) (*Client, error) {
	cli, err := newMautrix(s.HomeserverURL, s.UserID, s.AccessToken)
	if err != nil {
		return nil, err
	}
	cli.DeviceID = s.DeviceID
	return &Client{S: s, cli: cli, sentAt: map[string]time.Time{}, rooms: map[id.RoomID]*roomInfo{}}, nil
}

// ServerClockOffset is the current estimate of the server's clock minus ours.
func (c *Client) ServerClockOffset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}

// TURN fetches TURN servers from the homeserver (GET /voip/turnServer, token in the
// Authorization header). An empty URI list gives ErrNoTURN: browsers throw on it.
func (c *Client) TURN(ctx context.Context) ([]webrtc.ICEServer, time.Duration, error) {
	resp, err := c.cli.TurnServer(ctx)
	if err != nil {
		var he mautrix.HTTPError
		if errors.As(err, &he) && he.Response != nil && (he.Response.StatusCode == 404 || he.Response.StatusCode == 403) {
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
	_, err := c.cli.Logout(ctx)
	return err
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
	return e.Status >= 400 && e.Status < 500 && e.Status != http.StatusTooManyRequests && e.Status != http.StatusRequestTimeout
}

func sendError(err error) error {
	var he mautrix.HTTPError
	if !errors.As(err, &he) || he.Response == nil {
		return &SendError{Err: err}
	}
	se := &SendError{Status: he.Response.StatusCode, Err: err}
	if se.Status == http.StatusTooManyRequests {
		se.retryAfter = time.Second
		if he.RespError != nil {
			if ms, ok := he.RespError.ExtraData["retry_after_ms"].(float64); ok && ms > 0 {
				se.retryAfter = time.Duration(ms) * time.Millisecond
			}
		}
	}
	if se.Permanent() {
		return se // implements PermanentError
	}
	if se.retryAfter > 0 {
		return se
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
	if len(msg.Target.Devices) > 0 {
		req := &mautrix.ReqSendToDevice{Messages: map[id.UserID]map[id.DeviceID]*event.Content{}}
		for _, d := range msg.Target.Devices {
			if req.Messages[d.User] == nil {
				req.Messages[d.User] = map[id.DeviceID]*event.Content{}
			}
			req.Messages[d.User][d.Device] = &event.Content{Parsed: msg.Content}
		}
		t := msg.Type
		t.Class = event.ToDeviceEventType
		if _, err := c.cli.SendToDevice(ctx, t, req); err != nil {
			return sendError(err)
		}
		return nil
	}
	c.mu.Lock()
	if msg.TxnID != "" {
		c.sentAt[msg.TxnID] = time.Now()
	}
	c.mu.Unlock()
	_, err := c.cli.SendMessageEvent(ctx, msg.Target.Room, msg.Type, msg.Content, mautrix.ReqSendEvent{TransactionID: msg.TxnID})
	if err != nil {
		return sendError(err)
	}
	return nil
}
