package signalling_test

import (
	"errors"
	"testing"
	"time"

	"github.com/matryer/is"
	"maunium.net/go/mautrix/id"

	"ringo/signalling"
)

type idUser = id.UserID

func ids(list ...string) func() string {
	i := 0
	return func() string { i++; return list[i-1] }
}

func TestGlare(t *testing.T) {
	t.Run("both invites out: the lesser call_id survives on both sides, and no page is left ringing", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE", func(c *signalling.Config) { c.NewCallID = ids("b-call") })
		bob := w.add("@bob:localhost", "BOB", func(c *signalling.Config) { c.NewCallID = ids("a-call") })
		// Both press call before either invite is delivered.
		w.room.Delay = func(signalling.RoomEvent, id.UserID, string) time.Duration { return 50 * time.Millisecond }
		alice.mgr.PlaceCall(bob.user, signalling.MediaKindVideo)
		bob.mgr.PlaceCall(alice.user, signalling.MediaKindVideo)
		w.advance(time.Second)
		w.room.Delay = nil
		connectICE(alice, bob)
		w.settle()
		// bob's call "a-call" is lesser: alice replaced hers and accepted bob's.
		is.Equal(alice.info("b-call").EndReason, signalling.EndReplaced)
		is.Equal(w.lastContent(alice, "m.call.hangup")["reason"], "replaced")
		is.Equal(alice.state("a-call"), signalling.StateConnected)
		is.Equal(bob.state("a-call"), signalling.StateConnected)
		is.Equal(bob.ringing(), "")
		is.Equal(alice.ringing(), "")
		// bob ignored alice's invite as the glare loser and never showed it.
		is.Equal(bob.obs.IgnoredList()[0].Why, signalling.IgnoreGlareLoser)
		_, shown := bob.obs.Last("b-call")
		is.True(!shown)
		// alice's media moved to the surviving call: one camera, not two.
		is.Equal(len(alice.media.Requests()), 1)
		is.True(!alice.media.Streams[0].Stopped())
	})
	t.Run("an invite while ours is still being prepared: ours is cancelled unsent and theirs accepted with our media", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE", func(c *signalling.Config) { c.NewCallID = ids("z-call") })
		bob := w.add("@bob:localhost", "BOB", func(c *signalling.Config) { c.NewCallID = ids("y-call") })
		alice.media.Manual = true // alice's camera takes a while
		alice.mgr.PlaceCall(bob.user, signalling.MediaKindVideo)
		w.settle()
		bob.mgr.PlaceCall(alice.user, signalling.MediaKindVideo)
		w.settle()
		is.Equal(alice.info("z-call").EndReason, signalling.EndReplaced)
		alice.media.Resolve()
		w.settle()
		connectICE(alice, bob)
		w.settle()
		is.Equal(alice.state("y-call"), signalling.StateConnected)
		is.Equal(bob.state("y-call"), signalling.StateConnected)
		is.Equal(w.sentBy(alice)[0], "m.call.answer") // alice never sent an invite
		is.Equal(len(alice.media.Requests()), 1)
	})
	t.Run("a call from someone else is not glare", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		carol := w.add("@carol:localhost", "CAROL")
		mine := alice.mgr.PlaceCall("@bob:localhost", signalling.MediaKindVoice)
		w.settle()
		theirs := carol.mgr.PlaceCall(alice.user, signalling.MediaKindVoice)
		w.settle()
		is.Equal(alice.state(mine), signalling.StateInviteSent)
		is.Equal(alice.ringing(), theirs)
	})
}

func TestHold(t *testing.T) {
	is := is.New(t)
	w := newWorld(t)
	alice := w.add("@alice:localhost", "ALICE")
	bob := w.add("@bob:localhost", "BOB")
	callID := w.connectedCall(alice, bob, signalling.MediaKindVideo)
	alice.mgr.SetHold(callID, true)
	w.settle()
	is.True(alice.peer().Hold()) // transceivers sendonly, not inactive
	offer := w.lastContent(alice, "m.call.negotiate")
	is.Equal(offer["description"].(map[string]any)["type"], "offer")
	is.Equal(offer["lifetime"], float64(10000))
	answer := w.lastContent(bob, "m.call.negotiate")
	is.Equal(answer["description"].(map[string]any)["type"], "answer")
	is.True(alice.info(callID).LocalHold)
	is.True(!alice.info(callID).RemoteHold) // bob's answer is recvonly: bob does not hold
	is.True(bob.info(callID).RemoteHold)
	is.True(!bob.info(callID).LocalHold)

	alice.mgr.SetHold(callID, false)
	w.settle()
	is.True(!alice.info(callID).LocalHold)
	is.True(!bob.info(callID).RemoteHold)
	is.Equal(alice.state(callID), signalling.StateConnected)
}

func TestPerfectNegotiation(t *testing.T) {
	t.Run("colliding offers: the impolite caller ignores the callee's, the polite callee rolls back and answers", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		bob := w.add("@bob:localhost", "BOB")
		callID := w.connectedCall(alice, bob, signalling.MediaKindVideo)
		w.room.Delay = func(signalling.RoomEvent, id.UserID, string) time.Duration { return 30 * time.Millisecond }
		alice.mgr.SetHold(callID, true)
		bob.mgr.SetHold(callID, true)
		w.advance(200 * time.Millisecond)
		w.room.Delay = nil
		w.settle()
		is.Equal(bob.peer().Rollbacks, 1)   // the polite side gave way
		is.Equal(alice.peer().Rollbacks, 0) // the impolite side kept its offer
		is.Equal(alice.peer().SignalingState().String(), "stable")
		// bob re-offers once stable (the browser fires negotiationneeded again); here the
		// fake needs a nudge: resume and hold again completes bob's own hold.
		is.True(alice.info(callID).LocalHold)
		is.True(bob.info(callID).RemoteHold)
		is.Equal(len(alice.obs.ProblemList()), 0)
	})
	t.Run("a negotiate from a stranger or another party is ignored", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		bob := w.add("@bob:localhost", "BOB")
		callID := w.connectedCall(alice, bob, signalling.MediaKindVoice)
		neg := `{"call_id":"` + callID + `","party_id":"%s","version":"1","lifetime":10000,"description":{"type":"offer","sdp":"v=0\r\nm=audio 9 X 0\r\na=sendonly\r\n"}}`
		inject(alice, rawEvent("m.call.negotiate", "@mallory:localhost", w.clock.Now(), sprintf(neg, "BOB")))
		inject(alice, rawEvent("m.call.negotiate", "@bob:localhost", w.clock.Now(), sprintf(neg, "BOB2")))
		w.settle()
		is.True(!alice.info(callID).RemoteHold)
		is.Equal(w.sentBy(alice)[len(w.sentBy(alice))-1], "m.call.select_answer") // no answer sent
	})
	t.Run("a negotiate past its lifetime is ignored", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		bob := w.add("@bob:localhost", "BOB")
		callID := w.connectedCall(alice, bob, signalling.MediaKindVoice)
		neg := `{"call_id":"` + callID + `","party_id":"BOB","version":"1","lifetime":10000,"description":{"type":"offer","sdp":"v=0\r\nm=audio 9 X 0\r\na=sendonly\r\n"}}`
		inject(alice, rawEvent("m.call.negotiate", "@bob:localhost", w.clock.Now().Add(-11*time.Second), neg))
		w.settle()
		is.True(!alice.info(callID).RemoteHold)
	})
	t.Run("the offer in seed 001's schema ('offer' instead of 'description') is read too", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		bob := w.add("@bob:localhost", "BOB")
		callID := w.connectedCall(alice, bob, signalling.MediaKindVoice)
		neg := `{"call_id":"` + callID + `","party_id":"BOB","version":"1","lifetime":10000,"offer":{"type":"offer","sdp":"v=0\r\nm=audio 9 X 0\r\na=sendonly\r\n"}}`
		inject(alice, rawEvent("m.call.negotiate", "@bob:localhost", w.clock.Now(), neg))
		w.settle()
		is.True(alice.info(callID).RemoteHold)
	})
	t.Run("an unanswered renegotiation is withdrawn after its lifetime", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		bob := w.add("@bob:localhost", "BOB")
		callID := w.connectedCall(alice, bob, signalling.MediaKindVoice)
		w.room.Delay = func(_ signalling.RoomEvent, to id.UserID, _ string) time.Duration {
			if to == bob.user {
				return time.Hour // bob never gets it
			}
			return 0
		}
		alice.mgr.SetHold(callID, true)
		w.advance(11 * time.Second)
		is.Equal(alice.peer().Rollbacks, 1)
		is.True(errors.Is(alice.obs.ProblemList()[0], signalling.ErrNegotiationTimeout))
	})
	t.Run("voice to video upgrade renegotiates", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		bob := w.add("@bob:localhost", "BOB")
		callID := w.connectedCall(alice, bob, signalling.MediaKindVoice)
		alice.mgr.UpgradeToVideo(callID)
		w.settle()
		is.Equal(alice.info(callID).Kind, signalling.MediaKindVideo)
		is.Equal(w.lastContent(bob, "m.call.negotiate")["description"].(map[string]any)["type"], "answer")
		is.True(alice.media.Streams[0].Stopped()) // the voice-only stream was replaced
	})
}

func TestSendingRetriesAndLosesNothing(t *testing.T) {
	t.Run("failed sends are retried with backoff, in order, with the same transaction id", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		bob := w.add("@bob:localhost", "BOB")
		fails := 2
		var txns []string
		realSender := alice.sender
		rs := &retrySender{inner: realSender, fail: func(msg signalling.OutgoingMessage) error {
			txns = append(txns, msg.TxnID)
			if fails > 0 {
				fails--
				return errors.New("homeserver down")
			}
			return nil
		}}
		w2 := newWorld(t)
		_ = w2
		alice = w.replaceSender(alice, rs)
		callID := alice.mgr.PlaceCall(bob.user, signalling.MediaKindVoice)
		w.settle()
		is.Equal(len(w.room.Events()), 0) // first attempt failed
		w.advance(400 * time.Millisecond)
		is.Equal(len(txns), 1) // backoff 0.5 s not yet over
		w.advance(200 * time.Millisecond)
		is.Equal(len(txns), 2) // second attempt failed too; next in 1 s
		w.advance(time.Second)
		is.Equal(txns[0], txns[1])
		is.Equal(txns[1], txns[2])
		is.Equal(w.sentBy(alice), []string{"m.call.invite", "m.call.candidates"})
		is.Equal(bob.ringing(), callID)
	})
	t.Run("a 429 is retried after the delay the server asked for", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		w.add("@bob:localhost", "BOB")
		first := true
		alice = w.replaceSender(alice, &retrySender{inner: alice.sender, fail: func(signalling.OutgoingMessage) error {
			if first {
				first = false
				return rateLimited(3 * time.Second)
			}
			return nil
		}})
		alice.mgr.PlaceCall("@bob:localhost", signalling.MediaKindVoice)
		w.settle()
		w.advance(2900 * time.Millisecond)
		is.Equal(len(w.room.Events()), 0)
		w.advance(200 * time.Millisecond)
		is.Equal(w.sentBy(alice)[0], "m.call.invite")
	})
	t.Run("a permanent failure is reported and the queue moves on", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		w.add("@bob:localhost", "BOB")
		alice = w.replaceSender(alice, &retrySender{inner: alice.sender, fail: func(m signalling.OutgoingMessage) error {
			if m.Type.Type == "m.call.invite" {
				return forbidden{}
			}
			return nil
		}})
		alice.mgr.PlaceCall("@bob:localhost", signalling.MediaKindVoice)
		w.settle()
		var se *signalling.SendError
		is.True(errors.As(alice.obs.ProblemList()[0], &se))
		is.Equal(se.Type, "m.call.invite")
		is.True(se.Error() != "" && errors.Unwrap(se) != nil)
	})
	t.Run("candidates queued behind a failing send are merged into one event", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		bob := w.add("@bob:localhost", "BOB")
		down := true
		alice = w.replaceSender(alice, &retrySender{inner: alice.sender, fail: func(signalling.OutgoingMessage) error {
			if down {
				return errors.New("down")
			}
			return nil
		}})
		alice.peers.Setup = func(p *signallingtestPeer) { p.AutoCandidates = nil } // gather slowly
		callID := alice.mgr.PlaceCall(bob.user, signalling.MediaKindVoice)
		w.advance(300 * time.Millisecond) // invite snapshot taken, send failing
		alice.peer().EmitCandidate("candidate:2 1 udp 1 127.0.0.1 2 typ host")
		w.advance(2100 * time.Millisecond) // batch timer fires: candidates queued
		alice.peer().EmitCandidate("candidate:3 1 udp 1 127.0.0.1 3 typ host")
		alice.peer().CompleteGathering()
		w.settle()
		down = false
		w.advance(15 * time.Second)
		is.Equal(w.sentBy(alice), []string{"m.call.invite", "m.call.candidates"})
		cands := w.lastContent(alice, "m.call.candidates")["candidates"].([]any)
		is.Equal(len(cands), 3) // both late candidates and the marker, in one event
		is.Equal(bob.ringing(), callID)
	})
	t.Run("a hangup after a failed invite sends nothing at all", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		w.add("@bob:localhost", "BOB")
		alice = w.replaceSender(alice, &retrySender{inner: alice.sender, fail: func(signalling.OutgoingMessage) error { return errors.New("down") }})
		callID := alice.mgr.PlaceCall("@bob:localhost", signalling.MediaKindVoice)
		w.advance(700 * time.Millisecond) // one retry failed too; invite waiting for the next
		alice.mgr.Hangup(callID)
		w.advance(30 * time.Second)
		is.Equal(len(w.room.Events()), 0)
	})
}

func TestLocalCandidateBatchingTimes(t *testing.T) {
	is := is.New(t)
	w := newWorld(t)
	alice := w.add("@alice:localhost", "ALICE")
	bob := w.add("@bob:localhost", "BOB")
	slow := func(p *signallingtestPeer) { p.AutoCandidates = nil; p.AutoComplete = false }
	alice.peers.Setup = slow
	bob.peers.Setup = slow
	callID := alice.mgr.PlaceCall(bob.user, signalling.MediaKindVoice)
	w.settle()
	w.advance(200 * time.Millisecond) // no candidates in 200 ms: the invite goes anyway
	is.Equal(w.sentBy(alice), []string{"m.call.invite"})
	alice.peer().EmitCandidate("candidate:a 1 udp 1 127.0.0.1 7 typ relay")
	w.advance(1900 * time.Millisecond)
	is.Equal(len(w.sentBy(alice)), 1)
	w.advance(200 * time.Millisecond) // about 2 s after the invite
	is.Equal(w.sentBy(alice), []string{"m.call.invite", "m.call.candidates"})

	bob.mgr.Answer(callID, signalling.MediaKindVoice)
	w.settle()
	w.advance(200 * time.Millisecond)
	is.Equal(w.sentBy(bob), []string{"m.call.answer"})
	is.Equal(len(bob.peer().RemoteCandidates), 1) // alice's buffered candidate applied after the offer
	bob.peer().EmitCandidate("candidate:b 1 udp 1 127.0.0.1 8 typ srflx")
	w.advance(450 * time.Millisecond)
	is.Equal(len(w.sentBy(bob)), 1)
	w.advance(100 * time.Millisecond) // about 500 ms after the answer
	is.Equal(w.sentBy(bob), []string{"m.call.answer", "m.call.candidates"})
	// Completion sends the marker at once.
	bob.peer().CompleteGathering()
	w.settle()
	is.Equal(len(w.sentBy(bob)), 3)
	is.Equal(len(alice.peer().RemoteCandidates), 2) // bob's candidate and marker, after selection
}

func TestCallerBuffersCandidatesUntilTheAnswerIsChosen(t *testing.T) {
	is := is.New(t)
	w := newWorld(t)
	alice := w.add("@alice:localhost", "ALICE")
	callID := alice.mgr.PlaceCall("@bob:localhost", signalling.MediaKindVoice)
	w.settle()
	now := w.clock.Now()
	cands := func(party, c string) signalling.RoomEvent {
		return rawEvent("m.call.candidates", "@bob:localhost", now,
			`{"call_id":"`+callID+`","party_id":"`+party+`","version":"1","candidates":[{"candidate":"`+c+`","sdpMid":"0","sdpMLineIndex":0}]}`)
	}
	inject(alice, cands("PHONE", "candidate:phone"), cands("LAPTOP", "candidate:laptop"))
	w.settle()
	is.Equal(len(alice.peer().RemoteCandidates), 0) // nobody chosen yet
	inject(alice, rawEvent("m.call.answer", "@bob:localhost", now,
		`{"call_id":"`+callID+`","party_id":"LAPTOP","version":"1","answer":{"type":"answer","sdp":"v=0\r\nm=audio 9 X 0\r\n"}}`))
	w.settle()
	got := alice.peer().RemoteCandidates
	is.Equal(len(got), 1)
	is.Equal(got[0].Candidate, "candidate:laptop") // only the chosen party's
	inject(alice, cands("PHONE", "candidate:phone2"))
	w.settle()
	is.Equal(len(alice.peer().RemoteCandidates), 1)
}
