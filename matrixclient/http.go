package matrixclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Ringo talks to the client-server API itself instead of through mautrix's client: in
// the browser, net/http (which mautrix's client needs) and its HTTP/2 and TLS code
// would put the app over its 2.5 MB size budget, and the browser's fetch does the same
// job. mautrix's event and id types are still used throughout. The transport is
// net/http natively (http_native.go) and fetch in the browser (http_js.go).

// request is one client-server API call. The access token goes in the Authorization
// header, never in the URL.
type request struct {
	method string
	path   string // from /_matrix/..., already escaped
	query  url.Values
	token  string
	body   any // JSON-encoded when not nil
	// keepalive lets the request outlive the page (fetch's keepalive): for the hangups
	// and the group-call leave sent while the tab closes. Small bodies only (64 KiB).
	keepalive bool
}

type response struct {
	status int
	body   []byte
}

// HTTPError is a non-2xx answer from the homeserver.
type HTTPError struct {
	Status       int
	ErrCode      string // Matrix errcode, e.g. M_FORBIDDEN
	Message      string
	RetryAfterMS int64
}

func (e *HTTPError) Error() string {
	if e.ErrCode != "" {
		return fmt.Sprintf("%s (HTTP %d): %s", e.ErrCode, e.Status, e.Message)
	}
	return fmt.Sprintf("HTTP %d", e.Status)
}

// NetworkError means the request did not reach the homeserver (or no answer came back).
type NetworkError struct{ Err error }

func (e *NetworkError) Error() string { return "network error: " + e.Err.Error() }
func (e *NetworkError) Unwrap() error { return e.Err }

// call makes a request and decodes a 2xx JSON answer into out.
func call(ctx context.Context, hs string, r request, out any) error {
	var body []byte
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return err
		}
		body = b
	}
	u := hs + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	resp, err := doHTTP(ctx, r.method, u, r.token, body, r.keepalive && len(body) < 60<<10)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &NetworkError{Err: err}
	}
	if resp.status/100 != 2 {
		he := &HTTPError{Status: resp.status}
		var e struct {
			ErrCode      string `json:"errcode"`
			Error        string `json:"error"`
			RetryAfterMS int64  `json:"retry_after_ms"`
		}
		if json.Unmarshal(resp.body, &e) == nil {
			he.ErrCode, he.Message, he.RetryAfterMS = e.ErrCode, e.Error, e.RetryAfterMS
		}
		return he
	}
	if out != nil {
		if err := json.Unmarshal(resp.body, out); err != nil {
			return fmt.Errorf("matrixclient: unreadable answer from %s: %w", strings.SplitN(r.path, "?", 2)[0], err)
		}
	}
	return nil
}

// pathOf joins escaped segments under /_matrix/client/v3.
func pathOf(segments ...string) string {
	var b strings.Builder
	b.WriteString("/_matrix/client/v3")
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

func statusOf(err error) int {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Status
	}
	return 0
}

func itoa(n int) string { return strconv.Itoa(n) }
