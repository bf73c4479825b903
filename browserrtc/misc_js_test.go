package browserrtc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/pion/webrtc/v3"

	"ringo/browserrtc"
	"ringo/internal/jsutil"
	"ringo/signalling"
)

// The ICE servers (TURN included) and the relay policy reach the RTCPeerConnection,
// and a local offer can be rolled back.
func TestPeerConfigurationAndRollback(t *testing.T) {
	is := is.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg := signalling.PeerConfig{
		ICEServers: []webrtc.ICEServer{{URLs: []string{"turn:127.0.0.1:3478?transport=udp"}, Username: "u", Credential: "p"}},
		ForceRelay: true,
	}
	p := newPeer(t, cfg, newRecorder("A"))
	defer p.Close()
	conf := apply(t, "pc => pc.getConfiguration()", p.JSValue())
	is.Equal(jsutil.StringField(conf, "iceTransportPolicy"), "relay")
	urls := apply(t, "c => c.iceServers.map(s => [].concat(s.urls).join(',')).join(' ')", conf)
	s, _ := urls.String()
	is.Equal(s, "turn:127.0.0.1:3478?transport=udp")

	is.True(errors.Is(p.AddStream(foreignStream{}), browserrtc.ErrForeignStream))

	if _, err := p.JSValue().Call("addTransceiver", "audio"); err != nil {
		t.Fatal(err)
	}
	var offer webrtc.SessionDescription
	within(ctx, t, "SetLocalDescription", func() (err error) {
		offer, err = p.SetLocalDescription()
		return err
	})
	is.Equal(offer.Type, webrtc.SDPTypeOffer)
	is.Equal(p.SignalingState(), webrtc.SignalingStateHaveLocalOffer)
	within(ctx, t, "Rollback", p.Rollback)
	is.Equal(p.SignalingState(), webrtc.SignalingStateStable)
	is.True(p.LocalDescription() == nil) // the rolled-back first offer leaves no description
}

// getUserMedia failures come back as a *MediaError of the right kind.
func TestMediaErrors(t *testing.T) {
	is := is.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	mediaErr := func(m *browserrtc.Media) *browserrtc.MediaError {
		t.Helper()
		s, err := acquire(ctx, t, m, signalling.MediaKindVideo)
		if s != nil {
			s.Stop()
		}
		var me *browserrtc.MediaError
		if !errors.As(err, &me) {
			t.Fatalf("Acquire gave %v (%T), want a *MediaError", err, err)
		}
		t.Logf("%v → %q", me, me.UserMessage())
		is.True(me.UserMessage() != "")
		return me
	}

	me := mediaErr(&browserrtc.Media{Options: browserrtc.MediaOptions{AudioDeviceID: "no-such-device"}})
	is.Equal(me.Kind, browserrtc.MediaNoDevice)
	var je *jsutil.JSError
	is.True(errors.As(me, &je))
	is.Equal(je.Name, "OverconstrainedError")

	stub := func(name string) {
		t.Helper()
		eval(t, `(() => { navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException("x", "`+name+`")); })()`)
	}
	defer eval(t, `delete navigator.mediaDevices.getUserMedia`)
	for name, want := range map[string]browserrtc.MediaErrorKind{
		"NotAllowedError":  browserrtc.MediaDenied,
		"NotReadableError": browserrtc.MediaInUse,
		"NotFoundError":    browserrtc.MediaNoDevice,
		"TypeError":        browserrtc.MediaOther,
	} {
		stub(name)
		if got := mediaErr(&browserrtc.Media{}).Kind; got != want {
			t.Errorf("%s gave %s, want %s", name, got, want)
		}
	}
	eval(t, `delete navigator.mediaDevices.getUserMedia`)

	func() {
		eval(t, `Object.defineProperty(navigator, "mediaDevices", {value: undefined, configurable: true})`)
		defer eval(t, `delete navigator.mediaDevices`) // the prototype's getter is back
		me = mediaErr(&browserrtc.Media{})
	}()
	is.Equal(me.Kind, browserrtc.MediaUnsupported)
	is.True(errors.Is(me, browserrtc.ErrMediaUnsupported))

	// With the getter back, the fake devices are listed.
	devices, err := (&browserrtc.Media{}).ListDevices(ctx)
	is.NoErr(err)
	kinds := map[string]bool{}
	for _, d := range devices {
		kinds[d.Kind] = true
		is.True(d.ID != "")
	}
	is.True(kinds["audioinput"] && kinds["videoinput"])
}

// foreignStream is a LocalStream that is not a *browserrtc.Stream.
type foreignStream struct{}

func (foreignStream) ID() string           { return "foreign" }
func (foreignStream) HasAudio() bool       { return true }
func (foreignStream) HasVideo() bool       { return false }
func (foreignStream) SetAudioEnabled(bool) {}
func (foreignStream) SetVideoEnabled(bool) {}
func (foreignStream) Stop()                {}
