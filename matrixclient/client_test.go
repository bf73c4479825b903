//go:build !js

package matrixclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"ringo/matrixclient"
	"ringo/signalling"
)

func TestNormalizeHomeserver(t *testing.T) {
	tests := []struct {
		rule, in, want string
		ok             bool
	}{
		{"a full URL is kept", "https://matrix.example.org", "https://matrix.example.org", true},
		{"a trailing slash goes", "https://matrix.example.org/", "https://matrix.example.org", true},
		{"a bare host gets https", "matrix.example.org", "https://matrix.example.org", true},
		{"a bare localhost gets http", "localhost:8008", "http://localhost:8008", true},
		{"a bare loopback address gets http", "127.0.0.1:8008", "http://127.0.0.1:8008", true},
		{"other schemes are refused", "ftp://x", "", false},
		{"credentials in the URL are refused", "https://u:p@x", "", false},
		{"empty is refused", " ", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			is := is.New(t)
			got, err := matrixclient.NormalizeHomeserver(tc.in)
			is.Equal(err == nil, tc.ok)
			is.Equal(got, tc.want)
		})
	}
}

func TestLoginErrorsSayWhatWentWrong(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"errcode":"M_FORBIDDEN","error":"Invalid password"}`))
	}))
	defer srv.Close()
	is := is.New(t)
	ctx := context.Background()
	_, err := matrixclient.Login(ctx, srv.URL, "alice", "wrong", "")
	is.True(errors.Is(err, matrixclient.ErrLoginFailed))
	srv.Close()
	_, err = matrixclient.Login(ctx, srv.URL, "alice", "pw", "")
	is.True(errors.Is(err, matrixclient.ErrUnreachable)) // a homeserver that is down
	_, err = matrixclient.Login(ctx, "ftp://nope", "alice", "pw", "")
	is.True(errors.Is(err, matrixclient.ErrBadHomeserver))
}

func TestSendErrorsTellTheEngineWhetherToRetry(t *testing.T) {
	status := 0
	var gotAuth, gotPath string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotPath = r.Header.Get("Authorization"), r.URL.RawQuery+r.URL.Path
		w.WriteHeader(status)
		if status == 429 {
			_, _ = w.Write([]byte(`{"errcode":"M_LIMIT_EXCEEDED","retry_after_ms":1500}`))
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	cl, err := matrixclient.New(matrixclient.Session{HomeserverURL: srv.URL, UserID: "@a:x", DeviceID: "D", AccessToken: "secret-token"})
	is.New(t).NoErr(err)
	send := func() error {
		done := make(chan error, 1)
		cl.Sender().Send(signalling.OutgoingMessage{Type: event.CallHangup, Content: map[string]any{"call_id": "c"}, Target: signalling.Target{Room: "!r:x"}, TxnID: "t1"}, func(err error) { done <- err })
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			t.Fatal("send did not finish")
			return nil
		}
	}
	tests := []struct {
		rule       string
		status     int
		ok, perm   bool
		retryAfter time.Duration
	}{
		{"200 is sent", 200, true, false, 0},
		{"429 asks for the server's delay", 429, false, false, 1500 * time.Millisecond},
		{"403 is permanent", 403, false, true, 0},
		{"400 is permanent", 400, false, true, 0},
		{"500 is retried with backoff", 500, false, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			is := is.New(t)
			status = tc.status
			err := send()
			is.Equal(err == nil, tc.ok)
			var pe signalling.PermanentError
			is.Equal(errors.As(err, &pe) && pe.Permanent(), tc.perm)
			var re signalling.RetryAfterError
			if tc.retryAfter > 0 {
				is.True(errors.As(err, &re))
				is.Equal(re.RetryAfter(), tc.retryAfter)
			}
			is.Equal(gotAuth, "Bearer secret-token")            // the token goes in the header...
			is.True(!strings.Contains(gotPath, "secret-token")) // ...never in the URL
			is.True(strings.HasSuffix(gotPath, "/rooms/%21r:x/send/m.call.hangup/t1") || strings.HasSuffix(gotPath, "/rooms/!r:x/send/m.call.hangup/t1"))
		})
	}
}

type roomsHandler struct{ rooms chan []matrixclient.Room }

func (h roomsHandler) RoomBatch(id.RoomID, signalling.Batch) {}
func (h roomsHandler) RoomsChanged(r []matrixclient.Room) {
	select {
	case h.rooms <- r:
	default:
	}
}
func (h roomsHandler) ToDevice([]signalling.RoomEvent) {}
func (h roomsHandler) Status(error)                    {}

func TestSyncReadsNamesAndEncryption(t *testing.T) {
	is := is.New(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("since") != "" {
			<-r.Context().Done() // nothing new
			return
		}
		_, _ = w.Write([]byte(`{"next_batch":"s1","rooms":{"join":{"!e:hs":{"state":{"events":[
			{"type":"m.room.member","state_key":"@me:hs","sender":"@me:hs","content":{"membership":"join"}},
			{"type":"m.room.member","state_key":"@bob:hs","sender":"@bob:hs","content":{"membership":"join","displayname":"Bob"}},
			{"type":"m.room.encryption","state_key":"","sender":"@me:hs","content":{"algorithm":"m.megolm.v1.aes-sha2"}}
		]}}}}}`))
	}))
	defer srv.Close()
	c, err := matrixclient.New(matrixclient.Session{HomeserverURL: srv.URL, UserID: "@me:hs", DeviceID: "D", AccessToken: "t"})
	is.NoErr(err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := roomsHandler{rooms: make(chan []matrixclient.Room, 1)}
	go func() { _ = c.Run(ctx, h) }()
	var rooms []matrixclient.Room
	select {
	case rooms = <-h.rooms:
	case <-ctx.Done():
		t.Fatal("no rooms reported")
	}
	cancel()
	is.Equal(len(rooms), 1)
	is.True(rooms[0].Encrypted)
	is.Equal(rooms[0].DisplayName("@bob:hs"), "Bob (@bob:hs)")
	is.Equal(rooms[0].Name, "Bob") // an unnamed room is named after its other members
}
