//go:build !js && unix

package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"
)

// User is an account registered on the stack's homeserver, logged in on one device.
type User struct {
	UserID, DeviceID, AccessToken, Password, Localpart string
}

// HTTPError is a non-2xx answer from the homeserver.
type HTTPError struct {
	Method, Path string
	Status       int
	ErrCode      string // Matrix errcode, if any
	Body         string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Body)
}

// Do sends one client-server API request. path starts with /_matrix/...; body (if not
// nil) is sent as JSON; out (if not nil) receives the decoded JSON answer. u's access
// token goes in the Authorization header, never in the URL. Non-2xx answers are
// *HTTPError.
func (s *Stack) Do(ctx context.Context, u *User, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.HomeserverURL+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if u != nil && u.AccessToken != "" {
		req.Header.Set("Authorization", "Bearer "+u.AccessToken)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		he := &HTTPError{Method: method, Path: path, Status: resp.StatusCode, Body: string(data)}
		var mErr struct {
			ErrCode string `json:"errcode"`
		}
		if json.Unmarshal(data, &mErr) == nil {
			he.ErrCode = mErr.ErrCode
		}
		return he
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w (%s)", method, path, err, data)
		}
	}
	return nil
}

// Versions does GET /_matrix/client/versions; it fails while the homeserver is down.
func (s *Stack) Versions(ctx context.Context) ([]string, error) {
	var out struct {
		Versions []string `json:"versions"`
	}
	err := s.Do(ctx, nil, http.MethodGet, versionsPath, nil, &out)
	return out.Versions, err
}

// Register creates localpart with password Password, logged in on deviceID (m.login.dummy
// under open registration).
func (s *Stack) Register(ctx context.Context, localpart, deviceID string) (*User, error) {
	body := map[string]any{
		"username":                    localpart,
		"password":                    Password,
		"device_id":                   deviceID,
		"initial_device_display_name": "ringo e2e " + deviceID,
		"auth":                        map[string]any{"type": "m.login.dummy"},
	}
	var out struct {
		UserID      string `json:"user_id"`
		AccessToken string `json:"access_token"`
		DeviceID    string `json:"device_id"`
	}
	err := s.Do(ctx, nil, http.MethodPost, "/_matrix/client/v3/register", body, &out)
	if he, ok := err.(*HTTPError); ok && he.Status == http.StatusUnauthorized {
		// User-interactive auth: retry the dummy stage within the offered session.
		var uia struct {
			Session string `json:"session"`
		}
		if json.Unmarshal([]byte(he.Body), &uia) == nil && uia.Session != "" {
			body["auth"] = map[string]any{"type": "m.login.dummy", "session": uia.Session}
			err = s.Do(ctx, nil, http.MethodPost, "/_matrix/client/v3/register", body, &out)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("register %s: %w", localpart, err)
	}
	if out.AccessToken == "" {
		return nil, fmt.Errorf("register %s: no access token in answer", localpart)
	}
	return &User{UserID: out.UserID, DeviceID: out.DeviceID, AccessToken: out.AccessToken, Password: Password, Localpart: localpart}, nil
}

// Login logs localpart in with password on deviceID and returns the new session.
func (s *Stack) Login(ctx context.Context, localpart, password, deviceID string) (*User, error) {
	body := map[string]any{
		"type":       "m.login.password",
		"identifier": map[string]any{"type": "m.id.user", "user": localpart},
		"password":   password,
		"device_id":  deviceID,
	}
	var out struct {
		UserID      string `json:"user_id"`
		AccessToken string `json:"access_token"`
		DeviceID    string `json:"device_id"`
	}
	if err := s.Do(ctx, nil, http.MethodPost, "/_matrix/client/v3/login", body, &out); err != nil {
		return nil, fmt.Errorf("login %s: %w", localpart, err)
	}
	return &User{UserID: out.UserID, DeviceID: out.DeviceID, AccessToken: out.AccessToken, Password: password, Localpart: localpart}, nil
}

// WhoAmI returns the user ID the access token belongs to.
func (s *Stack) WhoAmI(ctx context.Context, u *User) (string, error) {
	var out struct {
		UserID string `json:"user_id"`
	}
	err := s.Do(ctx, u, http.MethodGet, "/_matrix/client/v3/account/whoami", nil, &out)
	return out.UserID, err
}

// CallPowerLevelOverride lets every member send call events (Dendrite's presets set
// state_default 50, which would otherwise cover the m.call.member state events).
var CallPowerLevelOverride = map[string]any{
	"events": map[string]int{
		"m.call":                         0,
		"m.call.member":                  0,
		"org.matrix.msc3401.call":        0,
		"org.matrix.msc3401.call.member": 0,
	},
}

// CreateRoom creates a private room (preset private_chat) owned by owner, with
// CallPowerLevelOverride merged into the default power levels, and invites the others.
func (s *Stack) CreateRoom(ctx context.Context, owner *User, invite ...*User) (string, error) {
	ids := []string{}
	for _, u := range invite {
		ids = append(ids, u.UserID)
	}
	body := map[string]any{
		"preset":                       "private_chat",
		"visibility":                   "private",
		"invite":                       ids,
		"power_level_content_override": CallPowerLevelOverride,
	}
	var out struct {
		RoomID string `json:"room_id"`
	}
	if err := s.Do(ctx, owner, http.MethodPost, "/_matrix/client/v3/createRoom", body, &out); err != nil {
		return "", fmt.Errorf("createRoom by %s: %w", owner.UserID, err)
	}
	return out.RoomID, nil
}

// Join joins u to roomID (u must be invited).
func (s *Stack) Join(ctx context.Context, u *User, roomID string) error {
	err := s.Do(ctx, u, http.MethodPost, "/_matrix/client/v3/rooms/"+url.PathEscape(roomID)+"/join", map[string]any{}, nil)
	if err != nil {
		return fmt.Errorf("join %s to %s: %w", u.UserID, roomID, err)
	}
	return nil
}

// Leave makes u leave roomID.
func (s *Stack) Leave(ctx context.Context, u *User, roomID string) error {
	err := s.Do(ctx, u, http.MethodPost, "/_matrix/client/v3/rooms/"+url.PathEscape(roomID)+"/leave", map[string]any{}, nil)
	if err != nil {
		return fmt.Errorf("leave %s from %s: %w", u.UserID, roomID, err)
	}
	return nil
}

var txnSeq atomic.Int64

// SendEvent sends a room (message) event of evType as u and returns its event ID.
func (s *Stack) SendEvent(ctx context.Context, u *User, roomID, evType string, content any) (string, error) {
	txn := "ringo-stack-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.FormatInt(txnSeq.Add(1), 10)
	path := "/_matrix/client/v3/rooms/" + url.PathEscape(roomID) + "/send/" + url.PathEscape(evType) + "/" + url.PathEscape(txn)
	var out struct {
		EventID string `json:"event_id"`
	}
	if err := s.Do(ctx, u, http.MethodPut, path, content, &out); err != nil {
		return "", fmt.Errorf("send %s in %s as %s: %w", evType, roomID, u.UserID, err)
	}
	return out.EventID, nil
}

// TURNCredentials asks the homeserver for TURN credentials
// (GET /_matrix/client/v3/voip/turnServer).
func (s *Stack) TURNCredentials(ctx context.Context, u *User) (username, password string, uris []string, ttl int, err error) {
	var out struct {
		Username string   `json:"username"`
		Password string   `json:"password"`
		URIs     []string `json:"uris"`
		TTL      int      `json:"ttl"`
	}
	if err := s.Do(ctx, u, http.MethodGet, "/_matrix/client/v3/voip/turnServer", nil, &out); err != nil {
		return "", "", nil, 0, fmt.Errorf("turnServer for %s: %w", u.UserID, err)
	}
	if out.Username == "" || len(out.URIs) == 0 {
		return "", "", nil, 0, fmt.Errorf("turnServer for %s: homeserver offers no TURN server", u.UserID)
	}
	return out.Username, out.Password, out.URIs, out.TTL, nil
}
