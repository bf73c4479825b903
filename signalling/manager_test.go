package signalling_test

import (
	"context"
	"testing"
	"time"

	"github.com/matryer/is"

	"ringo/signalling"
)

func TestManagerAPI(t *testing.T) {
	t.Run("closing the page hangs up every call and rejects ringing ones", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		bob := w.add("@bob:localhost", "BOB")
		carol := w.add("@carol:localhost", "CAROL")
		first := w.connectedCall(alice, bob, signalling.MediaKindVoice)
		second := carol.mgr.PlaceCall(bob.user, signalling.MediaKindVoice)
		w.settle()
		bob.mgr.HangupAll()
		w.settle()
		is.Equal(alice.info(first).EndReason, signalling.EndUserHangup)
		is.Equal(carol.info(second).EndReason, signalling.EndRejected)
	})
	t.Run("Info and SentCounts report from the loop", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		bob := w.add("@bob:localhost", "BOB")
		callID := w.connectedCall(alice, bob, signalling.MediaKindVideo)
		var infos []signalling.CallInfo
		var counts map[string]int
		alice.mgr.Info(func(i []signalling.CallInfo) { infos = i })
		alice.mgr.SentCounts(callID, func(c map[string]int) { counts = c })
		ran := false
		alice.mgr.Do(func() { ran = true })
		w.settle()
		is.Equal(len(infos), 1)
		is.Equal(infos[0].CallID, callID)
		is.Equal(counts, map[string]int{"m.call.invite": 1, "m.call.candidates": 1, "m.call.select_answer": 1})
		is.True(ran)
	})
	t.Run("Run processes posted inputs until its context ends", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { alice.mgr.Run(ctx); close(done) }()
		got := make(chan int, 1)
		alice.mgr.Do(func() { got <- 1 })
		select {
		case <-got:
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not process the input")
		}
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not stop")
		}
		is.True(true)
	})
}
