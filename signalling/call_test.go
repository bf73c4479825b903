package signalling_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/pion/webrtc/v3"

	"ringo/signalling"
	"ringo/signalling/callevent"
)

// Spec VoIP module: invite -> answer -> select_answer, candidates batched, both connect.
func TestCallConnectsWithFewestEvents(t *testing.T) {
	is := is.New(t)
	w := newWorld(t)
	alice := w.add("@alice:localhost", "ALICE")
	bob := w.add("@bob:localhost", "BOB")
	callID := w.connectedCall(alice, bob, signalling.MediaKindVideo)

	// The caller sends invite, one candidates event ending with end-of-candidates, and
	// select_answer; the callee answer and candidates (issue 5 targets: <= 3 and <= 2).
	is.Equal(w.sentBy(alice), []string{"m.call.invite", "m.call.candidates", "m.call.select_answer"})
	is.Equal(w.sentBy(bob), []string{"m.call.answer", "m.call.candidates"})

	inv := w.lastContent(alice, "m.call.invite")
	is.Equal(inv["version"], "1")              // version goes out as the string "1"
	is.Equal(inv["invitee"], "@bob:localhost") // the invite names the callee
	is.Equal(inv["lifetime"], float64(90000))  // the spec's minimal recommended lifetime
	is.Equal(inv["party_id"], "ALICE")         // party_id is the device id
	offer := inv["offer"].(map[string]any)
	is.True(strings.Contains(offer["sdp"].(string), "a=candidate:1 1 udp")) // gathered candidates travel in the SDP
	is.True(inv["sdp_stream_metadata"] != nil)

	cands := w.lastContent(alice, "m.call.candidates")["candidates"].([]any)
	is.Equal(len(cands), 1) // only the marker: the host candidate went in the SDP
	is.Equal(cands[0].(map[string]any)["candidate"], "")

	sel := w.lastContent(alice, "m.call.select_answer")
	is.Equal(sel["selected_party_id"], "BOB")

	a := alice.info(callID)
	is.Equal(a.Peer, bob.user)
	is.Equal(a.Direction, signalling.DirectionOutbound)
	is.Equal(a.Kind, signalling.MediaKindVideo)
	is.True(!a.ConnectedAt.IsZero())
	b := bob.info(callID)
	is.Equal(b.Peer, alice.user)
	is.Equal(b.RemoteStreamID, "ALICE-stream1") // the caller's stream arrived on the callee
	is.True(b.RemoteHasVideo)
	is.Equal(alice.info(callID).RemoteStreamID, "BOB-stream1")

	is.Equal(alice.obs.States(callID), []signalling.CallState{
		signalling.StateWaitLocalMedia, signalling.StateCreateOffer, signalling.StateInviteSent,
		signalling.StateConnecting, signalling.StateConnected,
	})
	// The callee's remote candidates came from the caller's party only.
	is.Equal(len(bob.peer().RemoteCandidates), 1)

	alice.mgr.Hangup(callID)
	w.settle()
	is.Equal(alice.state(callID), signalling.StateEnded)
	is.Equal(bob.state(callID), signalling.StateEnded)
	is.Equal(bob.info(callID).EndReason, signalling.EndUserHangup)
	is.Equal(bob.info(callID).EndedBy, signalling.PartyRemote)
	is.True(alice.peer().Closed() && bob.peer().Closed())
	is.True(alice.media.Streams[0].Stopped()) // the camera light goes off
}

func TestInviteLifetime(t *testing.T) {
	t.Run("no answer within the lifetime: the caller hangs up with invite_timeout and the callee stops ringing", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		bob := w.add("@bob:localhost", "BOB")
		callID := alice.mgr.PlaceCall(bob.user, signalling.MediaKindVoice)
		w.settle()
		is.Equal(bob.state(callID), signalling.StateRinging)
		w.advance(89 * time.Second)
		is.Equal(alice.state(callID), signalling.StateInviteSent)
		w.advance(2 * time.Second)
		is.Equal(alice.info(callID).EndReason, signalling.EndInviteTimeout)
		is.Equal(w.lastContent(alice, "m.call.hangup")["reason"], "invite_timeout")
		is.Equal(bob.state(callID), signalling.StateEnded)
	})
	t.Run("the callee stops ringing when the lifetime ends even if the hangup never comes", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		bob := w.add("@bob:localhost", "BOB")
		now := w.clock.Now()
		inject(bob, rawEvent("m.call.invite", "@alice:localhost", now.Add(-10*time.Second),
			`{"call_id":"c1","party_id":"A","version":"1","lifetime":30000,"offer":{"type":"offer","sdp":"v=0\r\nm=audio 9 X 0\r\n"}}`))
		w.settle()
		is.Equal(bob.state("c1"), signalling.StateRinging)
		w.advance(19 * time.Second)
		is.Equal(bob.state("c1"), signalling.StateRinging)
		w.advance(2 * time.Second)
		is.Equal(bob.state("c1"), signalling.StateEnded)
		is.Equal(bob.info("c1").EndReason, signalling.EndInviteTimeout)
		is.Equal(len(w.room.Events()), 0) // nothing sent
	})
	t.Run("a custom lifetime goes on the wire", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE", func(c *signalling.Config) { c.InviteLifetime = 15 * time.Second })
		w.add("@bob:localhost", "BOB")
		alice.mgr.PlaceCall("@bob:localhost", signalling.MediaKindVoice)
		w.settle()
		is.Equal(w.lastContent(alice, "m.call.invite")["lifetime"], float64(15000))
	})
}

const offerSDP = `{"type":"offer","sdp":"v=0\r\nm=audio 9 X 0\r\na=sendrecv\r\n"}`

func invite(callID, party, extra string) string {
	return `{"call_id":"` + callID + `","party_id":"` + party + `","version":"1","lifetime":60000,"offer":` + offerSDP + extra + `}`
}

func TestWhenInvitesRing(t *testing.T) {
	tests := []struct {
		rule   string
		events func(now time.Time) []signalling.RoomEvent
		public bool
		offset time.Duration
		ring   bool
		why    signalling.IgnoreReason
	}{
		{"a live invite for us rings", func(now time.Time) []signalling.RoomEvent {
			return []signalling.RoomEvent{rawEvent("m.call.invite", "@alice:localhost", now, invite("c1", "A", `,"invitee":"@bob:localhost"`))}
		}, false, 0, true, ""},
		{"an invite without invitee rings any member", func(now time.Time) []signalling.RoomEvent {
			return []signalling.RoomEvent{rawEvent("m.call.invite", "@alice:localhost", now, invite("c1", "A", ""))}
		}, false, 0, true, ""},
		{"an invite for another user does not ring", func(now time.Time) []signalling.RoomEvent {
			return []signalling.RoomEvent{rawEvent("m.call.invite", "@alice:localhost", now, invite("c1", "A", `,"invitee":"@carol:localhost"`))}
		}, false, 0, false, signalling.IgnoreNotForUs},
		{"an invite followed by its hangup in the same batch never rings", func(now time.Time) []signalling.RoomEvent {
			return []signalling.RoomEvent{
				rawEvent("m.call.invite", "@alice:localhost", now, invite("c1", "A", "")),
				rawEvent("m.call.hangup", "@alice:localhost", now, `{"call_id":"c1","party_id":"A","version":"1","reason":"user_hangup"}`),
			}
		}, false, 0, false, signalling.IgnoreEndedInBatch},
		{"an invite answered by our other device in the same batch never rings", func(now time.Time) []signalling.RoomEvent {
			return []signalling.RoomEvent{
				rawEvent("m.call.invite", "@alice:localhost", now, invite("c1", "A", "")),
				rawEvent("m.call.answer", "@bob:localhost", now, `{"call_id":"c1","party_id":"OTHER","version":"1","answer":{"type":"answer","sdp":"v=0"}}`),
			}
		}, false, 0, false, signalling.IgnoreEndedInBatch},
		{"an invite rejected by our other device in the same batch never rings", func(now time.Time) []signalling.RoomEvent {
			return []signalling.RoomEvent{
				rawEvent("m.call.invite", "@alice:localhost", now, invite("c1", "A", "")),
				rawEvent("m.call.reject", "@bob:localhost", now, `{"call_id":"c1","party_id":"OTHER","version":"1"}`),
			}
		}, false, 0, false, signalling.IgnoreEndedInBatch},
		{"an invite whose lifetime has passed (origin_server_ts, no age) does not ring", func(now time.Time) []signalling.RoomEvent {
			return []signalling.RoomEvent{rawEvent("m.call.invite", "@alice:localhost", now.Add(-61*time.Second), invite("c1", "A", ""))}
		}, false, 0, false, signalling.IgnoreExpired},
		{"an invite with too little time left to answer does not ring", func(now time.Time) []signalling.RoomEvent {
			return []signalling.RoomEvent{rawEvent("m.call.invite", "@alice:localhost", now.Add(-57*time.Second), invite("c1", "A", ""))}
		}, false, 0, false, signalling.IgnoreExpired},
		{"unsigned.age wins over origin_server_ts", func(now time.Time) []signalling.RoomEvent {
			ev := rawEvent("m.call.invite", "@alice:localhost", now.Add(-time.Hour), invite("c1", "A", ""))
			age := int64(1000)
			ev.Age = &age
			ev.ReceivedAt = now // age counts from when we received it
			return []signalling.RoomEvent{ev}
		}, false, 0, true, ""},
		{"age is measured on the server's clock: a server 2 minutes ahead makes a fresh invite look fresh", func(now time.Time) []signalling.RoomEvent {
			return []signalling.RoomEvent{rawEvent("m.call.invite", "@alice:localhost", now.Add(2*time.Minute), invite("c1", "A", ""))}
		}, false, 2 * time.Minute, true, ""},
		{"without the server clock offset the same invite would be judged wrongly", func(now time.Time) []signalling.RoomEvent {
			return []signalling.RoomEvent{rawEvent("m.call.invite", "@alice:localhost", now.Add(-2*time.Minute), invite("c1", "A", ""))}
		}, false, 0, false, signalling.IgnoreExpired},
		{"invites in public rooms do not ring by default but are reported", func(now time.Time) []signalling.RoomEvent {
			return []signalling.RoomEvent{rawEvent("m.call.invite", "@alice:localhost", now, invite("c1", "A", ""))}
		}, true, 0, false, signalling.IgnorePolicy},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			is := is.New(t)
			w := newWorld(t)
			bob := w.add("@bob:localhost", "BOB")
			bob.mgr.SetPublic(tc.public)
			bob.mgr.HandleBatch(signalling.Batch{Events: tc.events(w.clock.Now()), ServerClockOffset: tc.offset})
			w.settle()
			is.Equal(bob.ringing() == "c1", tc.ring)
			if !tc.ring {
				ign := bob.obs.IgnoredList()
				is.Equal(len(ign), 1)
				is.Equal(ign[0].Why, tc.why)
				is.Equal(len(bob.obs.Updates), 0) // the UI never saw it
			} else {
				is.Equal(bob.info("c1").Peer, signalling.RoomEvent{Sender: "@alice:localhost"}.Sender)
			}
		})
	}
}

func TestOwnEchoIsDropped(t *testing.T) {
	is := is.New(t)
	w := newWorld(t)
	alice := w.add("@alice:localhost", "ALICE")
	callID := alice.mgr.PlaceCall("@bob:localhost", signalling.MediaKindVoice)
	w.settle()
	// The room delivered alice's own invite back to her: it must not ring.
	is.Equal(alice.ringing(), "")
	is.Equal(len(alice.obs.IgnoredList()), 0)
	is.Equal(alice.state(callID), signalling.StateInviteSent)
}

func TestCallingYourselfFromAnotherDeviceRings(t *testing.T) {
	is := is.New(t)
	w := newWorld(t)
	phone := w.add("@alice:localhost", "PHONE")
	laptop := w.add("@alice:localhost", "LAPTOP")
	callID := phone.mgr.PlaceCall("", signalling.MediaKindVoice)
	w.settle()
	is.Equal(laptop.ringing(), callID) // same user, other party: not an echo
	is.Equal(phone.ringing(), "")
}

func TestReject(t *testing.T) {
	is := is.New(t)
	w := newWorld(t)
	alice := w.add("@alice:localhost", "ALICE")
	bob := w.add("@bob:localhost", "BOB")
	bob2 := w.add("@bob:localhost", "BOB2")
	callID := alice.mgr.PlaceCall(bob.user, signalling.MediaKindVoice)
	w.settle()
	is.Equal(bob2.ringing(), callID)
	bob.mgr.Reject(callID)
	w.settle()
	is.Equal(w.sentBy(bob), []string{"m.call.reject"})
	is.Equal(bob.info(callID).EndReason, signalling.EndRejected)
	// The caller selects the rejecting party, as for an answer (seed 001), and ends.
	is.Equal(w.lastContent(alice, "m.call.select_answer")["selected_party_id"], "BOB")
	is.Equal(alice.info(callID).EndReason, signalling.EndRejected)
	is.Equal(alice.info(callID).EndedBy, signalling.PartyRemote)
	// A reject stops the ringing everywhere: bob's other device too.
	is.Equal(bob2.state(callID), signalling.StateEnded)
	is.True(w.lastContent(bob2, "m.call.hangup") == nil)
	// Nothing rings afterwards.
	w.advance(time.Minute)
	is.Equal(bob.ringing(), "")
}

func TestRejectAfterAnswerIsDisregarded(t *testing.T) {
	is := is.New(t)
	w := newWorld(t)
	alice := w.add("@alice:localhost", "ALICE")
	bob := w.add("@bob:localhost", "BOB")
	bob2 := w.add("@bob:localhost", "BOB2")
	callID := alice.mgr.PlaceCall(bob.user, signalling.MediaKindVoice)
	w.settle()
	bob.mgr.Answer(callID, signalling.MediaKindVoice)
	w.settle()
	// bob2 stopped ringing when bob answered; a late reject from it changes nothing.
	is.Equal(bob2.info(callID).EndReason, signalling.EndAnsweredElsewhere)
	inject(alice, rawEvent("m.call.reject", "@bob:localhost", w.clock.Now(), `{"call_id":"`+callID+`","party_id":"BOB2","version":"1"}`))
	w.settle()
	is.Equal(alice.state(callID), signalling.StateConnecting)
}

func TestAnsweredElsewhere(t *testing.T) {
	is := is.New(t)
	w := newWorld(t)
	alice := w.add("@alice:localhost", "ALICE")
	bob := w.add("@bob:localhost", "BOB")
	bob2 := w.add("@bob:localhost", "BOB2")
	bob2.media.Manual = true // bob2 is slow to get its camera
	callID := alice.mgr.PlaceCall(bob.user, signalling.MediaKindVideo)
	w.settle()
	is.Equal(bob.ringing(), callID)
	is.Equal(bob2.ringing(), callID)
	bob2.mgr.Answer(callID, signalling.MediaKindVideo) // bob2 also accepts, but late
	bob.mgr.Answer(callID, signalling.MediaKindVideo)
	w.settle()
	bob2.media.Resolve()
	w.settle()
	// The caller took bob's answer first; bob2 sent its answer too and was not selected.
	is.Equal(w.lastContent(alice, "m.call.select_answer")["selected_party_id"], "BOB")
	is.Equal(bob2.info(callID).EndReason, signalling.EndAnsweredElsewhere)
	// Ending as answered elsewhere sends nothing.
	is.Equal(w.sentBy(bob), []string{"m.call.answer", "m.call.candidates", "m.call.answer", "m.call.candidates"}[:2])
	for _, typ := range w.room.Types(bob2.user) {
		is.True(typ != "m.call.hangup")
	}
	connectICE(alice, bob)
	w.settle()
	is.Equal(alice.state(callID), signalling.StateConnected)
	is.Equal(bob.state(callID), signalling.StateConnected)
	// Late candidates from the unselected party are not used by the caller.
	is.Equal(len(alice.peers.All()), 1)
	for _, c := range alice.peer().RemoteCandidates {
		is.True(!strings.Contains(c.Candidate, "BOB2"))
	}
}

func TestAnsweredElsewhereWhileRinging(t *testing.T) {
	is := is.New(t)
	w := newWorld(t)
	alice := w.add("@alice:localhost", "ALICE")
	bob := w.add("@bob:localhost", "BOB")
	bob2 := w.add("@bob:localhost", "BOB2")
	callID := alice.mgr.PlaceCall(bob.user, signalling.MediaKindVideo)
	w.settle()
	bob.mgr.Answer(callID, signalling.MediaKindVideo)
	w.settle()
	is.Equal(bob2.state(callID), signalling.StateEnded)
	is.Equal(bob2.info(callID).EndReason, signalling.EndAnsweredElsewhere)
	for _, ev := range w.room.Events() { // bob2 shares bob's user: look at party ids
		is.True(!strings.Contains(string(ev.Content), `"party_id":"BOB2"`))
	}
	is.Equal(len(bob2.peers.All()), 0) // it never even made a peer connection
}

func TestStrangersCannotTouchACall(t *testing.T) {
	is := is.New(t)
	w := newWorld(t)
	alice := w.add("@alice:localhost", "ALICE")
	w.add("@bob:localhost", "BOB")
	callID := alice.mgr.PlaceCall("@bob:localhost", signalling.MediaKindVoice)
	w.settle()
	now := w.clock.Now()
	inject(alice,
		rawEvent("m.call.answer", "@mallory:localhost", now, `{"call_id":"`+callID+`","party_id":"M","version":"1","answer":{"type":"answer","sdp":"v=0"}}`),
		rawEvent("m.call.hangup", "@mallory:localhost", now, `{"call_id":"`+callID+`","party_id":"M","version":"1","reason":"user_hangup"}`),
		rawEvent("m.call.candidates", "@mallory:localhost", now, `{"call_id":"`+callID+`","party_id":"M","version":"1","candidates":[{"candidate":"candidate:evil","sdpMid":"0","sdpMLineIndex":0}]}`),
		rawEvent("m.call.reject", "@mallory:localhost", now, `{"call_id":"`+callID+`","party_id":"M","version":"1"}`),
	)
	w.settle()
	is.Equal(alice.state(callID), signalling.StateInviteSent)
	is.Equal(len(alice.peer().RemoteCandidates), 0)
}

func TestMalformedEventsAreIgnored(t *testing.T) {
	is := is.New(t)
	w := newWorld(t)
	bob := w.add("@bob:localhost", "BOB")
	now := w.clock.Now()
	for _, content := range []string{
		`not json`, `null`, `[]`, `{"call_id":"bad id!","party_id":"A","version":"1","lifetime":1,"offer":` + offerSDP + `}`,
		`{"call_id":"c1","version":"1","lifetime":60000}`,
		`{"call_id":"c1","version":"1","lifetime":"soon","offer":` + offerSDP + `}`,
		`{"call_id":"` + strings.Repeat("x", 256) + `","version":"1","lifetime":60000,"offer":` + offerSDP + `}`,
	} {
		inject(bob, rawEvent("m.call.invite", "@alice:localhost", now, content))
	}
	inject(bob, rawEvent("m.call.hangup", "@alice:localhost", now, `{"call_id":5}`))
	inject(bob, rawEvent("m.room.message", "@alice:localhost", now, `{"body":"hi"}`))
	w.settle()
	is.Equal(len(bob.obs.Updates), 0)
	is.Equal(bob.ringing(), "")
}

func TestOpponentLeavingTheRoom(t *testing.T) {
	t.Run("the opponent leaving during a call is a hangup", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		bob := w.add("@bob:localhost", "BOB")
		callID := w.connectedCall(alice, bob, signalling.MediaKindVoice)
		alice.mgr.HandleMembership(bob.user, signalling.MembershipLeave)
		w.settle()
		is.Equal(alice.info(callID).EndReason, signalling.EndUserHangup)
		is.Equal(alice.info(callID).EndedBy, signalling.PartyRemote)
	})
	t.Run("the invitee leaving before answering is a rejection", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		callID := alice.mgr.PlaceCall("@bob:localhost", signalling.MediaKindVoice)
		w.settle()
		leave := rawEvent("m.room.member", "@bob:localhost", w.clock.Now(), `{"membership":"leave"}`)
		key := "@bob:localhost"
		leave.StateKey = &key
		inject(alice, leave)
		w.settle()
		is.Equal(alice.info(callID).EndReason, signalling.EndRejected)
	})
	t.Run("the caller left alone in the room counts as a rejection", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		alice.mgr.SetMembers(map[idUser]signalling.Membership{"@alice:localhost": signalling.MembershipJoin, "@bob:localhost": signalling.MembershipJoin})
		callID := alice.mgr.PlaceCall("", signalling.MediaKindVoice)
		w.settle()
		alice.mgr.HandleMembership("@bob:localhost", signalling.MembershipLeave)
		w.settle()
		is.Equal(alice.info(callID).EndReason, signalling.EndRejected)
	})
	t.Run("the caller leaving ends the ringing", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		bob := w.add("@bob:localhost", "BOB")
		callID := alice.mgr.PlaceCall(bob.user, signalling.MediaKindVoice)
		w.settle()
		bob.mgr.HandleMembership(alice.user, signalling.MembershipLeave)
		w.settle()
		is.Equal(bob.state(callID), signalling.StateEnded)
	})
	t.Run("leaving the room ourselves ends our calls", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		bob := w.add("@bob:localhost", "BOB")
		callID := w.connectedCall(alice, bob, signalling.MediaKindVoice)
		bob.mgr.HandleMembership(bob.user, signalling.MembershipLeave)
		w.settle()
		is.Equal(bob.state(callID), signalling.StateEnded)
	})
}

func TestMediaFailure(t *testing.T) {
	denied := errors.New("NotAllowedError: denied")
	t.Run("the caller's media failing ends the call with user_media_failed and sends nothing", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		alice.media.Err = denied
		callID := alice.mgr.PlaceCall("@bob:localhost", signalling.MediaKindVideo)
		w.settle()
		is.Equal(alice.info(callID).EndReason, signalling.EndUserMediaFailed)
		is.Equal(len(w.room.Events()), 0)
		is.True(errors.Is(alice.obs.ProblemList()[0], denied)) // the UI can say why
	})
	t.Run("the callee's media failing tells the caller user_media_failed", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		bob := w.add("@bob:localhost", "BOB")
		bob.media.Err = denied
		callID := alice.mgr.PlaceCall(bob.user, signalling.MediaKindVideo)
		w.settle()
		bob.mgr.Answer(callID, signalling.MediaKindVideo)
		w.settle()
		is.Equal(bob.info(callID).EndReason, signalling.EndUserMediaFailed)
		is.Equal(alice.info(callID).EndReason, signalling.EndUserMediaFailed)
	})
}

func TestICEOutcomes(t *testing.T) {
	t.Run("no media path ever: hangup ice_failed", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		bob := w.add("@bob:localhost", "BOB")
		callID := alice.mgr.PlaceCall(bob.user, signalling.MediaKindVoice)
		w.settle()
		bob.mgr.Answer(callID, signalling.MediaKindVoice)
		w.settle()
		alice.peer().SetICE(webrtc.ICEConnectionStateFailed)
		w.settle()
		is.Equal(alice.info(callID).EndReason, signalling.EndICEFailed)
		is.Equal(w.lastContent(alice, "m.call.hangup")["reason"], "ice_failed")
		is.Equal(bob.info(callID).EndReason, signalling.EndICEFailed)
	})
	t.Run("lost after media flowed: ICE restart over negotiate, and it comes back", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		bob := w.add("@bob:localhost", "BOB")
		callID := w.connectedCall(alice, bob, signalling.MediaKindVoice)
		alice.peer().SetICE(webrtc.ICEConnectionStateDisconnected)
		w.advance(time.Second)
		is.Equal(alice.state(callID), signalling.StateConnected) // a blip is not yet a loss
		w.advance(1500 * time.Millisecond)
		is.Equal(alice.peer().Restarts, 1)
		is.Equal(alice.state(callID), signalling.StateConnecting)
		// The restart offer went out as m.call.negotiate and bob answered it.
		neg := w.lastContent(bob, "m.call.negotiate")
		is.Equal(neg["description"].(map[string]any)["type"], "answer")
		alice.peer().SetICE(webrtc.ICEConnectionStateConnected)
		w.settle()
		is.Equal(alice.state(callID), signalling.StateConnected)
		w.advance(20 * time.Second)
		is.Equal(alice.state(callID), signalling.StateConnected)
	})
	t.Run("lost after media flowed and the restart fails: hangup ice_timeout", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		bob := w.add("@bob:localhost", "BOB")
		callID := w.connectedCall(alice, bob, signalling.MediaKindVoice)
		alice.peer().SetICE(webrtc.ICEConnectionStateFailed)
		w.settle()
		is.Equal(alice.peer().Restarts, 1)
		w.advance(11 * time.Second)
		is.Equal(alice.info(callID).EndReason, signalling.EndICETimeout)
		is.Equal(w.lastContent(alice, "m.call.hangup")["reason"], "ice_timeout")
		is.Equal(bob.info(callID).EndReason, signalling.EndICETimeout)
	})
}

func TestDTMF(t *testing.T) {
	is := is.New(t)
	w := newWorld(t)
	alice := w.add("@alice:localhost", "ALICE")
	bob := w.add("@bob:localhost", "BOB")
	callID := w.connectedCall(alice, bob, signalling.MediaKindVoice)
	alice.mgr.SendDTMF(callID, "5#")
	alice.mgr.SendDTMF(callID, "<script>")
	w.settle()
	is.Equal(alice.peer().DTMF, []string{"5#"}) // through the audio sender
	is.True(errors.Is(alice.obs.ProblemList()[0], signalling.ErrInvalidDTMF))
}

func TestMuteIsSignalledWithoutRenegotiation(t *testing.T) {
	is := is.New(t)
	w := newWorld(t)
	alice := w.add("@alice:localhost", "ALICE")
	bob := w.add("@bob:localhost", "BOB")
	callID := w.connectedCall(alice, bob, signalling.MediaKindVideo)
	alice.mgr.SetMuted(callID, true, false)
	w.settle()
	is.True(!alice.media.Streams[0].AudioEnabled())
	is.True(alice.info(callID).AudioMuted)
	is.Equal(w.sentBy(alice)[len(w.sentBy(alice))-1], "m.call.sdp_stream_metadata_changed")
	is.True(bob.info(callID).RemoteAudioMuted)
	is.True(!bob.info(callID).RemoteVideoMuted)
	for _, typ := range w.sentBy(alice) {
		is.True(typ != "m.call.negotiate")
	}
}

func TestStreamsOutsideAStreamAreIgnored(t *testing.T) {
	is := is.New(t)
	w := newWorld(t)
	alice := w.add("@alice:localhost", "ALICE")
	bob := w.add("@bob:localhost", "BOB")
	callID := w.connectedCall(alice, bob, signalling.MediaKindVoice)
	first := bob.info(callID).RemoteStreamID
	bob.peer().Track(signalling.MediaKindVideo)               // streamless
	bob.peer().Track(signalling.MediaKindVideo, "second-one") // another stream
	w.settle()
	is.Equal(bob.info(callID).RemoteStreamID, first)
	is.True(!bob.info(callID).RemoteHasVideo)
}

func TestCallWaiting(t *testing.T) {
	is := is.New(t)
	w := newWorld(t)
	alice := w.add("@alice:localhost", "ALICE")
	bob := w.add("@bob:localhost", "BOB")
	carol := w.add("@carol:localhost", "CAROL")
	callID := w.connectedCall(alice, bob, signalling.MediaKindVoice)
	second := carol.mgr.PlaceCall(bob.user, signalling.MediaKindVoice)
	w.settle()
	is.Equal(bob.ringing(), second) // a second call rings as call waiting
	is.Equal(bob.state(callID), signalling.StateConnected)
	bob.mgr.Reject(second)
	w.settle()
	// Declining call waiting says we are busy (PROTOCOL.md Decisions, "Busy").
	is.Equal(w.lastContent(bob, "m.call.hangup")["reason"], "user_busy")
	is.Equal(carol.info(second).EndReason, signalling.EndUserBusy)
	is.Equal(bob.state(callID), signalling.StateConnected)
}

func TestAnsweringCallWaitingEndsTheFirstCall(t *testing.T) {
	is := is.New(t)
	w := newWorld(t)
	alice := w.add("@alice:localhost", "ALICE")
	bob := w.add("@bob:localhost", "BOB")
	carol := w.add("@carol:localhost", "CAROL")
	first := w.connectedCall(alice, bob, signalling.MediaKindVoice)
	second := carol.mgr.PlaceCall(bob.user, signalling.MediaKindVoice)
	w.settle()
	bob.mgr.Answer(second, signalling.MediaKindVoice)
	w.settle()
	is.Equal(alice.info(first).EndReason, signalling.EndUserHangup)
	is.Equal(bob.state(second), signalling.StateConnecting)
}

func TestCommandsOnUnknownCallsReportAProblem(t *testing.T) {
	is := is.New(t)
	w := newWorld(t)
	alice := w.add("@alice:localhost", "ALICE")
	alice.mgr.Hangup("nope")
	alice.mgr.SetHold("nope", true)
	w.settle()
	is.Equal(len(alice.obs.ProblemList()), 2)
	is.True(errors.Is(alice.obs.ProblemList()[0], signalling.ErrNoSuchCall))
}

func TestOnlyOneCallAtATime(t *testing.T) {
	is := is.New(t)
	w := newWorld(t)
	alice := w.add("@alice:localhost", "ALICE")
	alice.mgr.PlaceCall("@bob:localhost", signalling.MediaKindVoice)
	second := alice.mgr.PlaceCall("@carol:localhost", signalling.MediaKindVoice)
	w.settle()
	is.True(errors.Is(alice.obs.ProblemList()[0], signalling.ErrCallInProgress))
	is.Equal(alice.state(second), signalling.StateUnknown)
}

func TestCancelBeforeTheInviteLeavesSendsNothing(t *testing.T) {
	is := is.New(t)
	w := newWorld(t)
	alice := w.add("@alice:localhost", "ALICE")
	alice.media.Manual = true
	callID := alice.mgr.PlaceCall("@bob:localhost", signalling.MediaKindVoice)
	w.settle()
	alice.mgr.Hangup(callID)
	w.settle()
	alice.media.Resolve()
	w.settle()
	is.Equal(alice.state(callID), signalling.StateEnded)
	is.Equal(len(w.room.Events()), 0)
	is.True(alice.media.Streams[0].Stopped()) // late media is released
}

func TestV0Peers(t *testing.T) {
	v0Invite := `{"call_id":"c0","version":0,"lifetime":60000,"offer":` + offerSDP + `}`
	t.Run("rejecting a version 0 caller sends a hangup, not a reject", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		bob := w.add("@bob:localhost", "BOB")
		inject(bob, rawEvent("m.call.invite", "@old:localhost", w.clock.Now(), v0Invite))
		w.settle()
		bob.mgr.Reject("c0")
		w.settle()
		is.Equal(w.sentBy(bob), []string{"m.call.hangup"})
	})
	t.Run("a version 0 answer gets no select_answer and no renegotiation", func(t *testing.T) {
		is := is.New(t)
		w := newWorld(t)
		alice := w.add("@alice:localhost", "ALICE")
		callID := alice.mgr.PlaceCall("@old:localhost", signalling.MediaKindVoice)
		w.settle()
		inject(alice, rawEvent("m.call.answer", "@old:localhost", w.clock.Now(),
			`{"call_id":"`+callID+`","version":0,"answer":{"type":"answer","sdp":"v=0\r\nm=audio 9 X 0\r\n"}}`))
		w.settle()
		is.Equal(alice.state(callID), signalling.StateConnecting)
		for _, typ := range w.sentBy(alice) {
			is.True(typ != "m.call.select_answer")
		}
		alice.mgr.SetHold(callID, true)
		w.settle()
		is.True(errors.Is(alice.obs.ProblemList()[0], signalling.ErrNegotiationUnsupported))
		// A v0 hangup without reason means user_hangup.
		inject(alice, rawEvent("m.call.hangup", "@old:localhost", w.clock.Now(), `{"call_id":"`+callID+`","version":0}`))
		w.settle()
		is.Equal(alice.info(callID).EndReason, signalling.EndUserHangup)
	})
}

func TestUnknownHangupReasonsAreKept(t *testing.T) {
	is := is.New(t)
	w := newWorld(t)
	bob := w.add("@bob:localhost", "BOB")
	inject(bob, rawEvent("m.call.invite", "@alice:localhost", w.clock.Now(), invite("c1", "A", "")))
	w.settle()
	inject(bob, rawEvent("m.call.hangup", "@alice:localhost", w.clock.Now(), `{"call_id":"c1","party_id":"A","version":"1","reason":"signalling_timeout"}`))
	w.settle()
	is.Equal(bob.info("c1").EndReason, signalling.EndReason(callevent.ReasonSignallingTimeout))
}

func TestConfigNeedsItsPorts(t *testing.T) {
	is := is.New(t)
	_, err := signalling.NewManager(signalling.Config{})
	is.True(errors.Is(err, signalling.ErrConfig))
	w := newWorld(t)
	p := w.add("@a:localhost", "A")
	_, err = signalling.NewManager(signalling.Config{Sender: p.sender, Media: p.media, NewPeer: p.peers.Factory(), Clock: w.clock, Observer: p.obs})
	is.True(errors.Is(err, signalling.ErrConfig))
	// A device id that breaks the party_id grammar gets a random party id.
	q := w.add("@q:localhost", "bad device!")
	is.True(callevent.ValidID(q.mgr.PartyID()))
	is.True(q.mgr.PartyID() != "bad device!")
}
