package browserrtc

import (
	"context"
	"errors"
	"fmt"

	"github.com/hack-pad/safejs"

	"ringo/internal/jsutil"
	"ringo/signalling"
)

// ErrMediaUnsupported is the cause of a MediaUnsupported error: the page has no
// navigator.mediaDevices (an insecure origin or an old browser).
var ErrMediaUnsupported = errors.New("browserrtc: navigator.mediaDevices is not available")

// MediaErrorKind says, in terms a user can act on, why getUserMedia failed.
type MediaErrorKind int

const (
	// MediaOther is any failure not listed below.
	MediaOther MediaErrorKind = iota
	// MediaDenied: the user or the browser refused access (NotAllowedError, SecurityError).
	MediaDenied
	// MediaNoDevice: no device matches (NotFoundError, OverconstrainedError).
	MediaNoDevice
	// MediaInUse: the device could not be opened (NotReadableError, AbortError).
	MediaInUse
	// MediaUnsupported: the page cannot ask for media at all.
	MediaUnsupported
)

func (k MediaErrorKind) String() string {
	switch k {
	case MediaDenied:
		return "denied"
	case MediaNoDevice:
		return "no-device"
	case MediaInUse:
		return "in-use"
	case MediaUnsupported:
		return "unsupported"
	default:
		return "other"
	}
}

// UserMessage is the plain-words explanation for the user.
func (k MediaErrorKind) UserMessage() string {
	switch k {
	case MediaDenied:
		return "Ringo was not allowed to use your microphone or camera. Allow access in the browser and try again."
	case MediaNoDevice:
		return "No microphone or camera was found."
	case MediaInUse:
		return "Your microphone or camera is in use by another application."
	case MediaUnsupported:
		return "This browser cannot use a microphone or camera on this page."
	default:
		return "Ringo could not start your microphone or camera."
	}
}

// mediaErrorKind maps a DOMException name from getUserMedia to a kind.
func mediaErrorKind(name string) MediaErrorKind {
	switch name {
	case "NotAllowedError", "SecurityError":
		return MediaDenied
	case "NotFoundError", "OverconstrainedError":
		return MediaNoDevice
	case "NotReadableError", "AbortError":
		return MediaInUse
	default:
		return MediaOther
	}
}

// MediaError is how Acquire reports a failure.
type MediaError struct {
	Kind MediaErrorKind
	Err  error // a *jsutil.JSError from the browser, or ErrMediaUnsupported
}

func (e *MediaError) Error() string {
	return fmt.Sprintf("browserrtc: getUserMedia (%s): %v", e.Kind, e.Err)
}

func (e *MediaError) Unwrap() error { return e.Err }

// UserMessage is the plain-words explanation for the user.
func (e *MediaError) UserMessage() string { return e.Kind.UserMessage() }

// newMediaError classifies err by its DOMException name.
func newMediaError(err error) *MediaError {
	var je *jsutil.JSError
	if errors.As(err, &je) {
		return &MediaError{Kind: mediaErrorKind(je.Name), Err: err}
	}
	return &MediaError{Kind: MediaOther, Err: err}
}

// MediaOptions selects devices and asks for a video format; zero values mean the
// browser's default.
type MediaOptions struct {
	AudioDeviceID string
	VideoDeviceID string
	Width         int
	Height        int
	FrameRate     int
}

// audioConstraint is the getUserMedia audio constraint.
func (o MediaOptions) audioConstraint() any {
	if o.AudioDeviceID == "" {
		return true
	}
	return map[string]any{"deviceId": map[string]any{"exact": o.AudioDeviceID}}
}

// videoConstraint is the getUserMedia video constraint for kind (false for voice).
func (o MediaOptions) videoConstraint(kind signalling.MediaKind) any {
	if kind != signalling.MediaKindVideo {
		return false
	}
	c := map[string]any{}
	if o.VideoDeviceID != "" {
		c["deviceId"] = map[string]any{"exact": o.VideoDeviceID}
	}
	for name, v := range map[string]int{"width": o.Width, "height": o.Height, "frameRate": o.FrameRate} {
		if v > 0 {
			c[name] = map[string]any{"ideal": v}
		}
	}
	if len(c) == 0 {
		return true
	}
	return c
}

// Media implements signalling.Media with navigator.mediaDevices.getUserMedia.
type Media struct {
	Options MediaOptions
}

// NewMedia returns a Media using opts.
func NewMedia(opts MediaOptions) *Media { return &Media{Options: opts} }

// Acquire asks for a microphone, and a camera for a video call, in a goroutine; done
// gets a *Stream or a *MediaError.
func (m *Media) Acquire(kind signalling.MediaKind, done func(signalling.LocalStream, error)) {
	go func() {
		s, err := m.getUserMedia(kind)
		if err != nil {
			done(nil, err)
			return
		}
		done(s, nil)
	}()
}

// getUserMedia runs getUserMedia and waits for it (no timeout: the user may take a
// while to answer the permission prompt).
func (m *Media) getUserMedia(kind signalling.MediaKind) (*Stream, error) {
	md, err := mediaDevices()
	if err != nil {
		return nil, err
	}
	constraints := map[string]any{
		"audio": m.Options.audioConstraint(),
		"video": m.Options.videoConstraint(kind),
	}
	promise, err := call(md, "getUserMedia", constraints)
	if err != nil {
		return nil, newMediaError(err)
	}
	v, err := jsutil.Await(context.Background(), promise)
	if err != nil {
		return nil, newMediaError(err)
	}
	return NewStream(v), nil
}

// mediaDevices returns navigator.mediaDevices, or a MediaUnsupported error.
func mediaDevices() (safejs.Value, error) {
	nav, err := safejs.Global().Get("navigator")
	if err != nil {
		return safejs.Undefined(), &MediaError{Kind: MediaUnsupported, Err: ErrMediaUnsupported}
	}
	md := get(nav, "mediaDevices")
	if absent(md) {
		return safejs.Undefined(), &MediaError{Kind: MediaUnsupported, Err: ErrMediaUnsupported}
	}
	return md, nil
}

// Device is one microphone or camera. Labels are empty until the user has granted
// access once.
type Device struct {
	ID    string
	Kind  string // "audioinput" or "videoinput"
	Label string
}

// ListDevices lists the microphones and cameras (enumerateDevices).
func (m *Media) ListDevices(ctx context.Context) ([]Device, error) {
	md, err := mediaDevices()
	if err != nil {
		return nil, err
	}
	list, err := awaitCall(ctx, md, "enumerateDevices")
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	var out []Device
	for _, d := range items(list) {
		kind := jsutil.StringField(d, "kind")
		if kind != "audioinput" && kind != "videoinput" {
			continue
		}
		out = append(out, Device{ID: jsutil.StringField(d, "deviceId"), Kind: kind, Label: jsutil.StringField(d, "label")})
	}
	return out, nil
}
