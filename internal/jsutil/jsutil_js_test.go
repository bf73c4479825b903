package jsutil_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hack-pad/safejs"
	"github.com/matryer/is"

	"ringo/internal/jsutil"
)

func eval(t *testing.T, src string) safejs.Value {
	t.Helper()
	fn, err := safejs.Global().Get("Function")
	if err != nil {
		t.Fatal(err)
	}
	f, err := fn.New("return " + src)
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.Invoke()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAwaitResolvedPromiseGivesItsValue(t *testing.T) {
	is := is.New(t)
	v, err := jsutil.Await(context.Background(), eval(t, "new Promise(r => setTimeout(() => r(42), 10))"))
	is.NoErr(err)
	n, _ := v.Int()
	is.Equal(n, 42)
}

func TestAwaitRejectionBecomesAnErrorWithTheDOMExceptionName(t *testing.T) {
	is := is.New(t)
	_, err := jsutil.Await(context.Background(), eval(t, `Promise.reject(new DOMException("Permission denied", "NotAllowedError"))`))
	var je *jsutil.JSError
	is.True(errors.As(err, &je))
	is.Equal(je.Name, "NotAllowedError")
	is.Equal(je.Message, "Permission denied")
}

func TestAwaitRejectionWithAPlainValue(t *testing.T) {
	is := is.New(t)
	_, err := jsutil.Await(context.Background(), eval(t, `Promise.reject("nope")`))
	is.True(err != nil)
	is.Equal(err.Error(), "nope")
}

func TestAwaitNonPromiseIsAnError(t *testing.T) {
	is := is.New(t)
	_, err := jsutil.Await(context.Background(), eval(t, "7"))
	is.True(errors.Is(err, jsutil.ErrNotAPromise))
}

func TestAwaitStopsWhenTheContextEnds(t *testing.T) {
	is := is.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := jsutil.Await(ctx, eval(t, "new Promise(() => {})"))
	is.True(errors.Is(err, context.DeadlineExceeded))
}

// The real browser: a real RTCPeerConnection's createOffer resolves through Await.
func TestAwaitARealBrowserAPI(t *testing.T) {
	is := is.New(t)
	pc := eval(t, "new RTCPeerConnection()")
	defer pc.Call("close")
	offer, err := jsutil.Await(context.Background(), eval(t, "(() => { const pc = new RTCPeerConnection(); pc.addTransceiver('audio'); return pc.createOffer().finally(() => pc.close()); })()"))
	is.NoErr(err)
	is.Equal(jsutil.StringField(offer, "type"), "offer")
}
