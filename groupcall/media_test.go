package groupcall

import (
	"errors"
	"testing"

	"github.com/matryer/is"

	"ringo/signalling"
	"ringo/signalling/signallingtest"
)

func acquire(m signalling.Media, kind signalling.MediaKind) (got signalling.LocalStream, err error, called bool) {
	m.Acquire(kind, func(s signalling.LocalStream, e error) { got, err, called = s, e, true })
	return
}

func TestSharedMedia(t *testing.T) {
	t.Run("every leg gets the one capture", func(t *testing.T) {
		is := is.New(t)
		under := &signallingtest.Media{}
		m := newSharedMedia(under)
		a, err, _ := acquire(m, signalling.MediaKindVideo)
		is.NoErr(err)
		b, err, _ := acquire(m, signalling.MediaKindVideo)
		is.NoErr(err)
		is.Equal(len(under.Requests()), 1)
		is.Equal(signalling.UnwrapStream(a), signalling.UnwrapStream(b))
	})
	t.Run("a leg stopping leaves the tracks to the others; leaving stops them", func(t *testing.T) {
		is := is.New(t)
		under := &signallingtest.Media{}
		m := newSharedMedia(under)
		a, _, _ := acquire(m, signalling.MediaKindVoice)
		a.Stop()
		is.True(!under.Streams[0].Stopped())
		m.release()
		is.True(under.Streams[0].Stopped())
	})
	t.Run("legs asking while the devices open all get the result", func(t *testing.T) {
		is := is.New(t)
		under := &signallingtest.Media{Manual: true}
		m := newSharedMedia(under)
		_, _, c1 := acquire(m, signalling.MediaKindVideo)
		_, _, c2 := acquire(m, signalling.MediaKindVideo)
		is.True(!c1 && !c2)
		var n int
		for i := 0; i < 3; i++ {
			m.Acquire(signalling.MediaKindVideo, func(s signalling.LocalStream, err error) {
				if err == nil && s != nil {
					n++
				}
			})
		}
		under.Resolve()
		is.Equal(n, 3)
		is.Equal(len(under.Requests()), 1)
	})
	t.Run("a failure is not kept: the next leg asks again", func(t *testing.T) {
		is := is.New(t)
		under := &signallingtest.Media{Err: errors.New("denied")}
		m := newSharedMedia(under)
		_, err, _ := acquire(m, signalling.MediaKindVoice)
		is.True(err != nil)
		under.Err = nil
		s, err, _ := acquire(m, signalling.MediaKindVoice)
		is.NoErr(err)
		is.True(s != nil)
		is.Equal(len(under.Requests()), 2)
	})
	t.Run("leaving while the devices open stops the late stream", func(t *testing.T) {
		is := is.New(t)
		under := &signallingtest.Media{Manual: true}
		m := newSharedMedia(under)
		var err error
		m.Acquire(signalling.MediaKindVoice, func(_ signalling.LocalStream, e error) { err = e })
		m.release()
		under.Resolve()
		is.True(errors.Is(err, errLeft))
		is.True(under.Streams[0].Stopped())
	})
	t.Run("another kind than the call's is not shared", func(t *testing.T) {
		is := is.New(t)
		under := &signallingtest.Media{}
		m := newSharedMedia(under)
		v, _, _ := acquire(m, signalling.MediaKindVoice)
		w, _, _ := acquire(m, signalling.MediaKindVideo)
		is.True(signalling.UnwrapStream(v) != signalling.UnwrapStream(w))
		is.True(!under.Streams[0].Stopped()) // the shared voice stream keeps going
	})
}
