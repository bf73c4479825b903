package signalling

import (
	"time"

	"ringo/signalling/callevent"
)

// candidateBatcher decides when local ICE candidates go out (spec VoIP module,
// "Trickle ICE" and its implementation notes):
//   - candidates gathered before the invite/answer is sent travel inside its SDP and are
//     never sent again;
//   - later ones are held and sent as one batch a short time after the invite (2 s) or
//     answer (500 ms);
//   - when gathering completes, whatever remains goes out at once, ending with the
//     end-of-candidates marker (a candidate whose "candidate" is ""), which is always sent.
//
// It is pure: the call feeds it events and sends what flush returns.
type candidateBatcher struct {
	delay     time.Duration
	released  bool // the invite/answer carrying the SDP has been sent
	inSDP     map[string]bool
	pending   []callevent.Candidate
	complete  bool // gathering complete, marker not yet sent
	markerOut bool // the end-of-candidates marker of the current generation went out
	lastMid   *string
	lastIndex *uint16
	timerOn   bool
}

// batchAction is what the call must do after feeding the batcher.
type batchAction struct {
	send       []callevent.Candidate // send now (nil: nothing)
	startTimer bool                  // start the batch timer (delay)
	stopTimer  bool
}

func (b *candidateBatcher) local(c callevent.Candidate) batchAction {
	if c.Candidate == "" {
		return b.gatheringComplete()
	}
	if b.inSDP[c.Candidate] {
		return batchAction{}
	}
	if c.SDPMid != nil && *c.SDPMid != "" { // native pion reports "" when it does not know
		b.lastMid = c.SDPMid
	}
	if c.SDPMLineIndex != nil {
		b.lastIndex = c.SDPMLineIndex
	}
	if b.markerOut || b.complete {
		// A new gathering generation (ICE restart) started after the last marker.
		b.markerOut = false
		b.complete = false
	}
	b.pending = append(b.pending, c)
	if b.released && !b.timerOn {
		b.timerOn = true
		return batchAction{startTimer: true}
	}
	return batchAction{}
}

func (b *candidateBatcher) gatheringComplete() batchAction {
	if b.markerOut && len(b.pending) == 0 {
		return batchAction{} // a repeated report of the same completion
	}
	b.complete = true
	if !b.released {
		return batchAction{}
	}
	return b.flush(true)
}

// release is called when the invite or answer goes out with sdp.
func (b *candidateBatcher) release(sdp string) batchAction {
	b.released = true
	b.inSDP = sdpCandidates(sdp)
	kept := b.pending[:0]
	for _, c := range b.pending {
		if !b.inSDP[c.Candidate] {
			kept = append(kept, c)
		}
	}
	b.pending = kept
	if b.complete {
		return b.flush(true)
	}
	if len(b.pending) > 0 && !b.timerOn {
		b.timerOn = true
		return batchAction{startTimer: true}
	}
	return batchAction{}
}

// timer is called when the batch delay has passed.
func (b *candidateBatcher) timer() batchAction {
	b.timerOn = false
	if !b.released || len(b.pending) == 0 {
		return batchAction{}
	}
	return b.flush(false)
}

func (b *candidateBatcher) flush(withMarker bool) batchAction {
	out := b.pending
	b.pending = nil
	if withMarker {
		marker := callevent.Candidate{Candidate: "", SDPMid: b.lastMid, SDPMLineIndex: b.lastIndex}
		out = append(out, marker)
		b.markerOut = true
		b.complete = false
	}
	act := batchAction{send: out}
	if b.timerOn {
		b.timerOn = false
		act.stopTimer = true
	}
	if len(out) == 0 {
		act.send = nil
	}
	return act
}
