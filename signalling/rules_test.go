package signalling

import (
	"errors"
	"testing"
	"time"

	"github.com/matryer/is"

	"ringo/signalling/callevent"
)

func TestNextState(t *testing.T) {
	valid := []struct {
		edge string
		from CallState
		tr   Trigger
		dir  Direction
		to   CallState
	}{
		{"unknown->place->wait_local_media", StateUnknown, TriggerPlace, DirectionOutbound, StateWaitLocalMedia},
		{"wait_local_media->media_ready->create_offer", StateWaitLocalMedia, TriggerMediaReady, DirectionOutbound, StateCreateOffer},
		{"create_offer->invite_sent->invite_sent", StateCreateOffer, TriggerInviteSent, DirectionOutbound, StateInviteSent},
		{"invite_sent->answer_chosen->connecting", StateInviteSent, TriggerAnswerChosen, DirectionOutbound, StateConnecting},
		{"unknown->invite_arrive->invite_received", StateUnknown, TriggerInviteArrive, DirectionInbound, StateInviteReceived},
		{"invite_received->ring->ringing", StateInviteReceived, TriggerRing, DirectionInbound, StateRinging},
		{"invite_received->accept->wait_local_media (glare: accepted for the user)", StateInviteReceived, TriggerAccept, DirectionInbound, StateWaitLocalMedia},
		{"ringing->accept->wait_local_media", StateRinging, TriggerAccept, DirectionInbound, StateWaitLocalMedia},
		{"wait_local_media->media_ready->create_answer", StateWaitLocalMedia, TriggerMediaReady, DirectionInbound, StateCreateAnswer},
		{"create_answer->answer_sent->connecting", StateCreateAnswer, TriggerAnswerSent, DirectionInbound, StateConnecting},
		{"connecting->ice_connected->connected (outbound)", StateConnecting, TriggerICEConnected, DirectionOutbound, StateConnected},
		{"connecting->ice_connected->connected (inbound)", StateConnecting, TriggerICEConnected, DirectionInbound, StateConnected},
		{"connected->ice_lost->connecting", StateConnected, TriggerICELost, DirectionInbound, StateConnecting},
		{"ringing->end->ended", StateRinging, TriggerEnd, DirectionInbound, StateEnded},
		{"invite_sent->end->ended", StateInviteSent, TriggerEnd, DirectionOutbound, StateEnded},
		{"connected->end->ended", StateConnected, TriggerEnd, DirectionOutbound, StateEnded},
	}
	for _, tc := range valid {
		t.Run(tc.edge, func(t *testing.T) {
			is := is.New(t)
			got, err := nextState(tc.from, tc.tr, tc.dir)
			is.NoErr(err)
			is.Equal(got, tc.to)
		})
	}
	invalid := []struct {
		edge string
		from CallState
		tr   Trigger
		dir  Direction
	}{
		{"ended->end is refused: a call ends once", StateEnded, TriggerEnd, DirectionOutbound},
		{"a caller cannot ring", StateInviteReceived, TriggerRing, DirectionOutbound},
		{"a callee cannot place", StateUnknown, TriggerPlace, DirectionInbound},
		{"no answer can be chosen before the invite is sent", StateCreateOffer, TriggerAnswerChosen, DirectionOutbound},
		{"ringing cannot connect without answering", StateRinging, TriggerICEConnected, DirectionInbound},
		{"an ended call cannot be accepted", StateEnded, TriggerAccept, DirectionInbound},
	}
	for _, tc := range invalid {
		t.Run(tc.edge, func(t *testing.T) {
			is := is.New(t)
			got, err := nextState(tc.from, tc.tr, tc.dir)
			is.True(errors.Is(err, ErrInvalidTransition))
			is.Equal(got, tc.from) // state unchanged
			var te *TransitionError
			is.True(errors.As(err, &te))
			is.True(te.Error() != "")
		})
	}
}

func TestEnumStrings(t *testing.T) {
	is := is.New(t)
	is.Equal(StateRinging.String(), "ringing")
	is.Equal(CallState(99).String(), "unknown")
	is.Equal(TriggerRing.String(), "ring")
	is.Equal(Trigger(-1).String(), "unknown")
	is.Equal(DirectionInbound.String(), "inbound")
	is.Equal(Direction(9).String(), "unknown")
	is.Equal(MediaKindVideo.String(), "video")
	is.Equal(MediaKindVoice.String(), "voice")
	is.Equal(MediaKind(0).String(), "unknown")
	is.Equal(PartyRemote.String(), "remote")
	is.Equal(PartyLocal.String(), "local")
	is.Equal(Party(0).String(), "unknown")
	is.Equal(GlareKeepOursIgnoreTheirs.String(), "keep_ours_ignore_theirs")
	is.Equal(GlareAction(42).String(), "unknown")
	is.Equal(DirectionOutbound.String(), "outbound")
}

func TestDecideGlare(t *testing.T) {
	tests := []struct {
		rule         string
		ours         CallState
		ourID, their string
		want         GlareAction
	}{
		{"invite while we get media: cancel ours, accept theirs", StateWaitLocalMedia, "b", "a", GlareCancelOursAcceptTheirs},
		{"invite while we create the offer: cancel ours, accept theirs", StateCreateOffer, "a", "b", GlareCancelOursAcceptTheirs},
		{"both sent, ours is lesser: ours survives", StateInviteSent, "a1", "b2", GlareKeepOursIgnoreTheirs},
		{"both sent, theirs is lesser: replace ours", StateInviteSent, "b2", "a1", GlareReplaceOursAcceptTheirs},
		{"comparison is lexicographic, not numeric", StateInviteSent, "10", "9", GlareKeepOursIgnoreTheirs},
		{"same call id is no glare", StateInviteSent, "x", "x", GlareNone},
		{"a connected call is no glare", StateConnected, "a", "b", GlareNone},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			is.New(t).Equal(decideGlare(tc.ours, tc.ourID, tc.their), tc.want)
		})
	}
}

func cand(s string) callevent.Candidate { return callevent.Candidate{Candidate: s} }

func TestCandidateBatcher(t *testing.T) {
	t.Run("candidates gathered before the invite travel in its SDP and are not sent again", func(t *testing.T) {
		is := is.New(t)
		var b candidateBatcher
		is.Equal(b.local(cand("candidate:1 1 udp 1 127.0.0.1 1 typ host")), batchAction{})
		a := b.release("m=audio 9 X 0\r\na=candidate:1 1 udp 1 127.0.0.1 1 typ host\r\n")
		is.Equal(a, batchAction{}) // nothing left to send, gathering not complete
		is.Equal(len(b.pending), 0)
	})
	t.Run("gathering complete before the invite: the marker goes right after it", func(t *testing.T) {
		is := is.New(t)
		var b candidateBatcher
		b.local(cand("candidate:1"))
		is.Equal(b.gatheringComplete(), batchAction{})
		a := b.release("a=candidate:1\r\n")
		is.Equal(len(a.send), 1)
		is.True(a.send[0].IsEndOfCandidates())
	})
	t.Run("late candidates wait for the batch timer", func(t *testing.T) {
		is := is.New(t)
		var b candidateBatcher
		b.release("")
		a := b.local(cand("candidate:2"))
		is.True(a.startTimer)
		is.Equal(b.local(cand("candidate:3")), batchAction{}) // timer already running
		a = b.timer()
		is.Equal(len(a.send), 2)
		is.True(!a.send[1].IsEndOfCandidates())
	})
	t.Run("gathering complete flushes at once, ending with the marker", func(t *testing.T) {
		is := is.New(t)
		var b candidateBatcher
		b.release("")
		b.local(cand("candidate:2"))
		a := b.gatheringComplete()
		is.True(a.stopTimer)
		is.Equal(len(a.send), 2)
		is.Equal(a.send[0].Candidate, "candidate:2")
		is.True(a.send[1].IsEndOfCandidates())
		is.Equal(b.timer(), batchAction{}) // a late timer sends nothing
	})
	t.Run("the marker carries the sdpMid of the candidates", func(t *testing.T) {
		is := is.New(t)
		var b candidateBatcher
		b.release("")
		mid, idx := "0", uint16(0)
		b.local(callevent.Candidate{Candidate: "candidate:9", SDPMid: &mid, SDPMLineIndex: &idx})
		a := b.local(callevent.Candidate{Candidate: ""}) // the null candidate
		is.Equal(*a.send[1].SDPMid, "0")
		is.Equal(*a.send[1].SDPMLineIndex, uint16(0))
	})
	t.Run("a repeated completion report sends nothing twice", func(t *testing.T) {
		is := is.New(t)
		var b candidateBatcher
		b.release("")
		is.Equal(len(b.gatheringComplete().send), 1)
		is.Equal(b.gatheringComplete(), batchAction{})
	})
	t.Run("an ICE restart starts a new generation that ends with its own marker", func(t *testing.T) {
		is := is.New(t)
		var b candidateBatcher
		b.release("")
		b.gatheringComplete()
		b.local(cand("candidate:restart"))
		a := b.gatheringComplete()
		is.Equal(len(a.send), 2)
		is.True(a.send[1].IsEndOfCandidates())
	})
}

func TestSDPHelpers(t *testing.T) {
	hold := "v=0\r\nm=audio 9 X 0\r\na=sendonly\r\nm=video 9 X 0\r\na=sendonly\r\n"
	tests := []struct {
		rule string
		sdp  string
		want bool
	}{
		{"every section sendonly: the writer holds us", hold, true},
		{"inactive also means hold", "m=audio 9 X 0\r\na=inactive\r\n", true},
		{"recvonly is the held side's answer, not a hold", "m=audio 9 X 0\r\na=recvonly\r\n", false},
		{"one section still sending both ways is not a hold", "m=audio 9 X 0\r\na=sendonly\r\nm=video 9 X 0\r\na=sendrecv\r\n", false},
		{"session-level direction applies to sections without one", "v=0\r\na=sendonly\r\nm=audio 9 X 0\r\n", true},
		{"data channels do not count", "m=audio 9 X 0\r\na=sendonly\r\nm=application 9 X 0\r\n", true},
		{"no media is no hold", "v=0\r\n", false},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) { is.New(t).Equal(sdpSenderHolds(tc.sdp), tc.want) })
	}
	t.Run("video sections with port 0 are disabled", func(t *testing.T) {
		is := is.New(t)
		is.True(sdpHasVideo("m=video 9 X 0\n"))
		is.True(!sdpHasVideo("m=video 0 X 0\n"))
		is.True(!sdpHasVideo("m=audio 9 X 0\n"))
	})
	t.Run("DTMF tones are what RTCDTMFSender takes", func(t *testing.T) {
		is := is.New(t)
		is.True(validDTMF("0123456789*#ABCD,abcd"))
		is.True(!validDTMF(""))
		is.True(!validDTMF("5x"))
	})
}

func TestBackoff(t *testing.T) {
	is := is.New(t)
	is.Equal(backoff(1), 500*time.Millisecond)
	is.Equal(backoff(2), time.Second)
	is.Equal(backoff(3), 2*time.Second)
	is.Equal(backoff(10), 10*time.Second) // capped
}
