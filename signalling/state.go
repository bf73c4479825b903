package signalling

import (
	"errors"
	"fmt"
)

// CallState is where a 1:1 call is in its life (spec VoIP module, version "1").
type CallState int

const (
	StateUnknown CallState = iota
	// StateWaitLocalMedia: we are acquiring microphone/camera, to call or to answer.
	StateWaitLocalMedia
	// StateCreateOffer: the caller is creating the offer and gathering the candidates
	// that go into the invite's SDP.
	StateCreateOffer
	// StateInviteSent: the invite is out; waiting for an answer or a reject.
	StateInviteSent
	// StateInviteReceived: an invite arrived in the current sync batch and is not shown
	// yet (an answer, reject or hangup later in the same batch must stop it ringing).
	StateInviteReceived
	// StateRinging: a live invite for us is shown to the user.
	StateRinging
	// StateCreateAnswer: the user accepted; the answer is being created.
	StateCreateAnswer
	// StateConnecting: offer and answer are exchanged; ICE has not connected yet.
	StateConnecting
	// StateConnected: ICE connected at least once and is connected now.
	StateConnected
	// StateEnded is final.
	StateEnded
)

var callStateNames = [...]string{
	StateUnknown:        "unknown",
	StateWaitLocalMedia: "wait_local_media",
	StateCreateOffer:    "create_offer",
	StateInviteSent:     "invite_sent",
	StateInviteReceived: "invite_received",
	StateRinging:        "ringing",
	StateCreateAnswer:   "create_answer",
	StateConnecting:     "connecting",
	StateConnected:      "connected",
	StateEnded:          "ended",
}

func (s CallState) String() string {
	if s < 0 || int(s) >= len(callStateNames) {
		return "unknown"
	}
	return callStateNames[s]
}

// Trigger is what moves a call from one state to another.
type Trigger int

const (
	TriggerUnknown      Trigger = iota
	TriggerPlace                // the user places a call
	TriggerAccept               // the user accepts a ringing call (or glare accepts on their behalf)
	TriggerMediaReady           // local media acquired
	TriggerInviteSent           // the invite with our offer was handed to the sender
	TriggerInviteArrive         // a remote invite arrived
	TriggerRing                 // the batch ended and the invite is live and for us
	TriggerAnswerSent           // our answer was handed to the sender
	TriggerAnswerChosen         // the caller took an answer (and sent select_answer)
	TriggerICEConnected         // ICE reached connected or completed
	TriggerICELost              // ICE went disconnected or failed after connecting
	TriggerEnd                  // hangup, reject, timeout, answered elsewhere, ...
)

var triggerNames = [...]string{
	TriggerUnknown:      "unknown",
	TriggerPlace:        "place",
	TriggerAccept:       "accept",
	TriggerMediaReady:   "media_ready",
	TriggerInviteSent:   "invite_sent",
	TriggerInviteArrive: "invite_arrive",
	TriggerRing:         "ring",
	TriggerAnswerSent:   "answer_sent",
	TriggerAnswerChosen: "answer_chosen",
	TriggerICEConnected: "ice_connected",
	TriggerICELost:      "ice_lost",
	TriggerEnd:          "end",
}

func (t Trigger) String() string {
	if t < 0 || int(t) >= len(triggerNames) {
		return "unknown"
	}
	return triggerNames[t]
}

// ErrInvalidTransition is returned (wrapped in a *TransitionError) for an edge the state
// machine does not have.
var ErrInvalidTransition = errors.New("invalid call state transition")

// TransitionError names the refused edge.
type TransitionError struct {
	From    CallState
	Trigger Trigger
	Dir     Direction
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("%s call: %s->%s: %v", e.Dir, e.From, e.Trigger, ErrInvalidTransition)
}

func (e *TransitionError) Unwrap() error { return ErrInvalidTransition }

// nextState is the whole call state machine as one pure function. Each valid edge is
// written as a comment "from->trigger->to"; the table test uses the same strings.
func nextState(cur CallState, t Trigger, dir Direction) (CallState, error) {
	if t == TriggerEnd {
		// any->end->ended, except from ended itself.
		if cur == StateEnded {
			return cur, &TransitionError{From: cur, Trigger: t, Dir: dir}
		}
		return StateEnded, nil
	}
	switch dir {
	case DirectionOutbound:
		switch {
		case cur == StateUnknown && t == TriggerPlace:
			return StateWaitLocalMedia, nil // unknown->place->wait_local_media
		case cur == StateWaitLocalMedia && t == TriggerMediaReady:
			return StateCreateOffer, nil // wait_local_media->media_ready->create_offer
		case cur == StateCreateOffer && t == TriggerInviteSent:
			return StateInviteSent, nil // create_offer->invite_sent->invite_sent
		case cur == StateInviteSent && t == TriggerAnswerChosen:
			return StateConnecting, nil // invite_sent->answer_chosen->connecting
		}
	case DirectionInbound:
		switch {
		case cur == StateUnknown && t == TriggerInviteArrive:
			return StateInviteReceived, nil // unknown->invite_arrive->invite_received
		case cur == StateInviteReceived && t == TriggerRing:
			return StateRinging, nil // invite_received->ring->ringing
		case cur == StateInviteReceived && t == TriggerAccept:
			return StateWaitLocalMedia, nil // invite_received->accept->wait_local_media (glare: accepted for the user)
		case cur == StateRinging && t == TriggerAccept:
			return StateWaitLocalMedia, nil // ringing->accept->wait_local_media
		case cur == StateWaitLocalMedia && t == TriggerMediaReady:
			return StateCreateAnswer, nil // wait_local_media->media_ready->create_answer
		case cur == StateCreateAnswer && t == TriggerAnswerSent:
			return StateConnecting, nil // create_answer->answer_sent->connecting
		}
	}
	switch {
	case cur == StateConnecting && t == TriggerICEConnected:
		return StateConnected, nil // connecting->ice_connected->connected
	case cur == StateConnected && t == TriggerICELost:
		return StateConnecting, nil // connected->ice_lost->connecting
	}
	return cur, &TransitionError{From: cur, Trigger: t, Dir: dir}
}
