package signalling

import (
	"errors"
	"fmt"
	"time"

	"github.com/pion/webrtc/v3"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"ringo/signalling/callevent"
)

// Wire type names used in switch statements.
const (
	typeInvite          = "m.call.invite"
	typeCandidates      = "m.call.candidates"
	typeAnswer          = "m.call.answer"
	typeSelectAnswer    = "m.call.select_answer"
	typeReject          = "m.call.reject"
	typeNegotiate       = "m.call.negotiate"
	typeHangup          = "m.call.hangup"
	typeMetadataChanged = "m.call.sdp_stream_metadata_changed"
)

// Sentinel errors for user commands the engine refuses.
var (
	ErrNoSuchCall             = errors.New("no such call")
	ErrCallInProgress         = errors.New("a call is already in progress")
	ErrWrongState             = errors.New("the call is not in a state that allows this")
	ErrNegotiationUnsupported = errors.New("the other side does not support renegotiation (call version 0)")
	ErrInvalidDTMF            = errors.New("invalid DTMF tones")
	ErrNegotiationTimeout     = errors.New("the other side did not answer a renegotiation in time")
)

// Call is one 1:1 call. All of its methods run on the manager's loop goroutine.
type Call struct {
	m         *Manager
	id        string
	dir       Direction
	state     CallState
	kind      MediaKind
	shown     bool // the UI has been told about this call
	createdAt time.Time

	ourParty string
	peer     id.UserID // the other user
	invitee  id.UserID // outbound: who we call; inbound: the invite's invitee

	// The opponent: for inbound calls the caller's party; for outbound calls the party
	// whose answer (or reject) we selected.
	opponentParty   string
	opponentChosen  bool
	opponentVersion callevent.Version

	invite        *callevent.Invite // inbound: the invite we got
	inviteExpires time.Time
	inviteTimer   Timer

	pc             PeerConnection
	stream         LocalStream
	streamWaiters  []*Call // glare: calls that take our media once it arrives
	remoteDescSet  bool
	remoteBuffered map[string][]callevent.Candidate // by party, until the opponent is chosen / remote description set

	gatherTimer Timer
	snapshotted bool // the invite/answer SDP has been taken
	batcher     candidateBatcher
	batchTimer  Timer

	polite                       bool
	makingOffer                  bool
	ignoreOffer                  bool
	isSettingRemoteAnswerPending bool
	negotiateTimer               Timer

	iceState      ICEConnectionState
	everConnected bool
	iceTimer      Timer
	restarting    bool

	localHold, remoteHold  bool
	audioMuted, videoMuted bool
	remoteAudioMuted       bool
	remoteVideoMuted       bool
	remoteMeta             callevent.StreamMetadataMap
	remoteStreamID         string
	remoteHasVideo         bool
	connectedAt, endedAt   time.Time
	endReason              EndReason
	endedBy                Party
	out                    outbox
}

// ID is the call's call_id.
func (c *Call) ID() string { return c.id }

// Info is the snapshot the UI gets.
func (c *Call) Info() CallInfo {
	return CallInfo{
		CallID: c.id, Room: c.m.cfg.Room, Direction: c.dir, State: c.state, Peer: c.peer, Kind: c.kind,
		LocalHold: c.localHold, RemoteHold: c.remoteHold,
		AudioMuted: c.audioMuted, VideoMuted: c.videoMuted,
		RemoteAudioMuted: c.remoteAudioMuted, RemoteVideoMuted: c.remoteVideoMuted,
		RemoteStreamID: c.remoteStreamID, RemoteHasVideo: c.remoteHasVideo,
		EndReason: c.endReason, EndedBy: c.endedBy,
		CreatedAt: c.createdAt, ConnectedAt: c.connectedAt, EndedAt: c.endedAt,
	}
}

func (c *Call) ended() bool { return c.state == StateEnded }

// fire applies a trigger through the state machine and tells the UI.
func (c *Call) fire(t Trigger) bool {
	next, err := nextState(c.state, t, c.dir)
	if err != nil {
		c.m.logf("call %s: %v", c.id, err)
		return false
	}
	c.state = next
	c.notify()
	return true
}

func (c *Call) notify() {
	if c.shown {
		c.m.cfg.Observer.CallUpdated(c.Info())
	}
}

func (c *Call) base() callevent.Base {
	return callevent.Base{CallID: c.id, PartyID: c.ourParty, Version: callevent.V1}
}

func (c *Call) send(t event.Type, content any) {
	c.out.send(OutgoingMessage{Type: t, Content: content, Target: Target{Room: c.m.cfg.Room}})
}

// canNegotiate: m.call.negotiate is only used when both the invite and the selected
// answer are version "1" (spec VoIP module, m.call.negotiate).
func (c *Call) canNegotiate() bool {
	return c.opponentVersion == callevent.V1
}

func (c *Call) after(d time.Duration, f func()) Timer {
	m := c.m
	return m.cfg.Clock.AfterFunc(d, func() { m.loop.Post(f) })
}

func stopTimer(t *Timer) {
	if *t != nil {
		(*t).Stop()
		*t = nil
	}
}

// streamMetadata describes our one stream (MSC3077 sdp_stream_metadata).
func (c *Call) streamMetadata() callevent.StreamMetadataMap {
	if c.stream == nil {
		return nil
	}
	return callevent.StreamMetadataMap{c.stream.ID(): {
		Purpose: callevent.PurposeUserMedia, AudioMuted: c.audioMuted, VideoMuted: c.videoMuted || !c.stream.HasVideo(),
	}}
}

// ---- local media ----

func (c *Call) acquireMedia() {
	m := c.m
	m.cfg.Media.Acquire(c.kind, func(s LocalStream, err error) {
		m.loop.Post(func() { c.mediaArrived(s, err) })
	})
}

func (c *Call) mediaArrived(s LocalStream, err error) {
	if c.ended() {
		// Glare: the call this media was for gave way; hand it to the survivor.
		for _, w := range c.streamWaiters {
			if !w.ended() && w.state == StateWaitLocalMedia && w.stream == nil {
				w.mediaArrived(s, err)
				return
			}
		}
		if s != nil {
			s.Stop()
		}
		return
	}
	if c.state != StateWaitLocalMedia {
		if s != nil {
			s.Stop()
		}
		return
	}
	if err != nil {
		c.m.problem(c.id, err)
		c.end(EndUserMediaFailed, PartyLocal, true)
		return
	}
	c.stream = s
	c.m.logf("call %s: media ready after %s", c.id, c.m.cfg.Clock.Now().Sub(c.createdAt))
	s.SetAudioEnabled(!c.audioMuted)
	s.SetVideoEnabled(!c.videoMuted)
	c.fire(TriggerMediaReady)
	if c.dir == DirectionOutbound {
		c.createOffer()
	} else {
		c.createAnswer()
	}
}

func (c *Call) newPeer() error {
	cfg := PeerConfig{}
	if c.m.cfg.ICEServers != nil {
		cfg.ICEServers = c.m.cfg.ICEServers()
	}
	if c.m.cfg.ForceRelay != nil {
		cfg.ForceRelay = c.m.cfg.ForceRelay()
	}
	pc, err := c.m.cfg.NewPeer(cfg, &peerEvents{c: c})
	if err != nil {
		return err
	}
	c.pc = pc
	return nil
}

// ---- caller ----

func (c *Call) createOffer() {
	if err := c.newPeer(); err != nil {
		c.fail(fmt.Errorf("creating the peer connection: %w", err))
		return
	}
	if err := c.pc.AddStream(c.stream); err != nil {
		c.fail(fmt.Errorf("adding local media: %w", err))
		return
	}
	if _, err := c.pc.SetLocalDescription(); err != nil {
		c.fail(fmt.Errorf("creating the offer: %w", err))
		return
	}
	c.waitForInitialCandidates()
}

// waitForInitialCandidates gives ICE a moment to gather, so the candidates found at once
// travel inside the invite/answer SDP (spec implementation note: fewer events, faster
// set-up). Gathering completion or InitialGatherWait, whichever comes first, ends it.
func (c *Call) waitForInitialCandidates() {
	if c.batcher.complete {
		c.snapshot()
		return
	}
	c.gatherTimer = c.after(c.m.cfg.InitialGatherWait, c.snapshot)
}

// snapshot sends the invite or answer with the local description as it is now.
func (c *Call) snapshot() {
	stopTimer(&c.gatherTimer)
	if c.snapshotted || c.ended() {
		return
	}
	c.snapshotted = true
	c.m.logf("call %s: description ready to send after %s", c.id, c.m.cfg.Clock.Now().Sub(c.createdAt))
	desc := c.pc.LocalDescription()
	if desc == nil {
		c.fail(errors.New("no local description after creating it"))
		return
	}
	d := callevent.FromWebRTC(*desc)
	if c.dir == DirectionOutbound {
		inv := &callevent.Invite{
			Base: c.base(), Offer: d, Lifetime: c.m.cfg.InviteLifetime.Milliseconds(), Invitee: c.invitee,
			Capabilities: &callevent.Capabilities{DTMF: true}, StreamMetadata: c.streamMetadata(),
		}
		c.send(event.CallInvite, inv)
		c.fire(TriggerInviteSent)
		c.batcher.delay = c.m.cfg.CallerBatchDelay
		c.inviteTimer = c.after(c.m.cfg.InviteLifetime, c.inviteTimedOut)
	} else {
		ans := &callevent.Answer{
			Base: c.base(), Answer: d,
			Capabilities: &callevent.Capabilities{DTMF: true}, StreamMetadata: c.streamMetadata(),
		}
		c.send(event.CallAnswer, ans)
		c.fire(TriggerAnswerSent)
		c.batcher.delay = c.m.cfg.CalleeBatchDelay
		c.connectIfICEUp()
	}
	c.applyBatch(c.batcher.release(desc.SDP))
}

func (c *Call) inviteTimedOut() {
	c.inviteTimer = nil
	if c.state != StateInviteSent {
		return
	}
	c.hangup(callevent.ReasonInviteTimeout, EndInviteTimeout, PartyLocal)
}

// answerFrom handles m.call.answer arriving for our outbound call.
func (c *Call) answerFrom(sender id.UserID, a *callevent.Answer) {
	if c.dir != DirectionOutbound || c.opponentChosen || c.state != StateInviteSent {
		return // the first answer wins; later ones see our select_answer
	}
	if c.invitee != "" && sender != c.invitee {
		c.m.logf("call %s: ignoring an answer from %s, we called %s", c.id, sender, c.invitee)
		return
	}
	c.chooseOpponent(sender, a.PartyID, a.Version)
	stopTimer(&c.inviteTimer)
	c.updateRemoteMeta(a.StreamMetadata)
	if err := c.pc.SetRemoteDescription(a.Answer.ToWebRTC()); err != nil {
		c.fail(fmt.Errorf("applying the answer: %w", err))
		return
	}
	c.remoteDescSet = true
	c.remoteHold = sdpSenderHolds(a.Answer.SDP)
	if a.Version == callevent.V1 {
		c.send(event.CallSelectAnswer, &callevent.SelectAnswer{Base: c.base(), SelectedPartyID: a.PartyID})
	}
	c.fire(TriggerAnswerChosen)
	c.applyBufferedCandidates()
	c.connectIfICEUp()
}

func (c *Call) chooseOpponent(user id.UserID, party string, v callevent.Version) {
	c.peer = user
	c.opponentParty = party
	c.opponentVersion = v
	c.opponentChosen = true
}

// rejectFrom handles m.call.reject for our outbound call: the caller selects the
// rejecting party, as for an answer (seed 001), and ends the call. A reject after we took
// an answer is disregarded.
func (c *Call) rejectFrom(sender id.UserID, r *callevent.Reject) {
	if c.dir != DirectionOutbound || c.opponentChosen || c.state != StateInviteSent {
		return
	}
	if c.invitee != "" && sender != c.invitee {
		return
	}
	c.chooseOpponent(sender, r.PartyID, r.Version)
	c.send(event.CallSelectAnswer, &callevent.SelectAnswer{Base: c.base(), SelectedPartyID: r.PartyID})
	c.end(EndRejected, PartyRemote, false)
}

// ---- callee ----

// accept answers a ringing call (or one accepted on the user's behalf after glare).
func (c *Call) accept(kind MediaKind, stream LocalStream) error {
	if c.state != StateRinging && c.state != StateInviteReceived {
		return ErrWrongState
	}
	c.kind = kind
	stopTimer(&c.inviteTimer)
	c.shown = true
	if !c.fire(TriggerAccept) {
		return ErrWrongState
	}
	if stream != nil {
		c.mediaArrived(stream, nil)
	} else {
		c.acquireMedia()
	}
	return nil
}

func (c *Call) createAnswer() {
	if err := c.newPeer(); err != nil {
		c.fail(fmt.Errorf("creating the peer connection: %w", err))
		return
	}
	if err := c.pc.SetRemoteDescription(c.invite.Offer.ToWebRTC()); err != nil {
		c.fail(fmt.Errorf("applying the offer: %w", err))
		return
	}
	c.remoteDescSet = true
	c.remoteHold = sdpSenderHolds(c.invite.Offer.SDP)
	if err := c.pc.AddStream(c.stream); err != nil {
		c.fail(fmt.Errorf("adding local media: %w", err))
		return
	}
	c.applyBufferedCandidates()
	if _, err := c.pc.SetLocalDescription(); err != nil {
		c.fail(fmt.Errorf("creating the answer: %w", err))
		return
	}
	c.waitForInitialCandidates()
}

// reject declines a ringing call: m.call.reject for a version 1 caller, a hangup for a
// version 0 one (spec VoIP module, m.call.reject). Declining a second call during a call
// ("call waiting") says we are busy.
func (c *Call) reject(busy bool) error {
	if c.state != StateRinging {
		return ErrWrongState
	}
	switch {
	case busy:
		c.send(event.CallHangup, &callevent.Hangup{Base: c.base(), Reason: callevent.ReasonUserBusy})
		c.end(EndUserBusy, PartyLocal, false)
	case c.opponentVersion == callevent.V1:
		c.send(event.CallReject, &callevent.Reject{Base: c.base()})
		c.end(EndRejected, PartyLocal, false)
	default:
		c.send(event.CallHangup, &callevent.Hangup{Base: c.base(), Reason: callevent.ReasonUserHangup})
		c.end(EndRejected, PartyLocal, false)
	}
	return nil
}

func (c *Call) ringExpired() {
	c.inviteTimer = nil
	if c.state == StateRinging || c.state == StateInviteReceived {
		c.end(EndInviteTimeout, PartyRemote, false)
	}
}

// ---- both ----

// hangup sends m.call.hangup and ends the call. Nothing is sent for a call whose invite
// never went out.
func (c *Call) hangup(reason callevent.HangupReason, end EndReason, by Party) {
	if c.ended() {
		return
	}
	preparing := c.dir == DirectionOutbound && (c.state == StateWaitLocalMedia || c.state == StateCreateOffer)
	if !preparing {
		c.send(event.CallHangup, &callevent.Hangup{Base: c.base(), Reason: reason})
	}
	c.end(end, by, false)
}

// fail ends the call after a local error, telling the other side.
func (c *Call) fail(err error) {
	c.m.problem(c.id, err)
	c.hangup(callevent.ReasonUnknownError, EndUnknownError, PartyLocal)
}

// end moves to ended and releases everything. mediaFailed hangs up with
// user_media_failed where an invite/answer was expected of us.
func (c *Call) end(reason EndReason, by Party, mediaFailed bool) {
	if c.ended() {
		return
	}
	if mediaFailed {
		// Acquiring media failed: the caller has sent nothing yet; the callee tells the
		// caller it cannot take the call.
		if c.dir == DirectionInbound {
			c.send(event.CallHangup, &callevent.Hangup{Base: c.base(), Reason: callevent.ReasonUserMediaFailed})
		}
	}
	c.endReason = reason
	c.endedBy = by
	c.endedAt = c.m.cfg.Clock.Now()
	for _, t := range []*Timer{&c.inviteTimer, &c.gatherTimer, &c.batchTimer, &c.negotiateTimer, &c.iceTimer} {
		stopTimer(t)
	}
	if c.out.dropUnsentAfterEnd() {
		c.m.logf("call %s: ended before its invite left; nothing sent", c.id)
	}
	if c.pc != nil {
		if err := c.pc.Close(); err != nil {
			c.m.logf("call %s: closing the peer connection: %v", c.id, err)
		}
	}
	if c.stream != nil && !c.handsOverStream() {
		c.stream.Stop()
	}
	c.fire(TriggerEnd)
	c.m.callEnded(c)
}

// handsOverStream reports whether a glare survivor takes this call's media.
func (c *Call) handsOverStream() bool {
	for _, w := range c.streamWaiters {
		if !w.ended() && w.stream == nil && w.state == StateWaitLocalMedia {
			s := c.stream
			c.stream = nil
			c.m.loop.Post(func() { w.mediaArrived(s, nil) })
			return true
		}
	}
	return false
}

// ---- candidates ----

func (c *Call) localCandidate(ci webrtc.ICECandidateInit) {
	if c.ended() {
		return
	}
	c.applyBatch(c.batcher.local(callevent.CandidateFromICE(ci)))
}

func (c *Call) gatheringComplete() {
	if c.ended() {
		return
	}
	c.applyBatch(c.batcher.gatheringComplete())
	if !c.snapshotted && c.gatherTimer != nil {
		c.snapshot()
	}
}

func (c *Call) applyBatch(a batchAction) {
	if a.stopTimer {
		stopTimer(&c.batchTimer)
	}
	if a.startTimer {
		stopTimer(&c.batchTimer)
		c.batchTimer = c.after(c.batcher.delay, func() {
			c.batchTimer = nil
			c.applyBatch(c.batcher.timer())
		})
	}
	if len(a.send) > 0 {
		c.send(event.CallCandidates, &callevent.Candidates{Base: c.base(), Candidates: a.send})
	}
}

// remoteCandidates handles m.call.candidates from party. They are used only from the
// opponent; until the opponent is chosen (caller) or the offer applied (callee) they wait.
func (c *Call) remoteCandidates(party string, cands []callevent.Candidate) {
	if c.opponentChosen && party != c.opponentParty {
		return
	}
	if !c.opponentChosen || !c.remoteDescSet {
		if c.remoteBuffered == nil {
			c.remoteBuffered = map[string][]callevent.Candidate{}
		}
		c.remoteBuffered[party] = append(c.remoteBuffered[party], cands...)
		return
	}
	c.addRemoteCandidates(cands)
}

func (c *Call) applyBufferedCandidates() {
	if !c.opponentChosen || !c.remoteDescSet {
		return
	}
	buf := c.remoteBuffered[c.opponentParty]
	c.remoteBuffered = nil
	c.addRemoteCandidates(buf)
}

func (c *Call) addRemoteCandidates(cands []callevent.Candidate) {
	for _, cand := range cands {
		if err := c.pc.AddICECandidate(cand.ToICE()); err != nil {
			if cand.IsEndOfCandidates() {
				continue // browsers differ on the marker; it only ends gathering early
			}
			c.m.logf("call %s: adding a remote candidate: %v", c.id, err)
		}
	}
}

// ---- ICE outcomes ----

func (c *Call) iceChanged(s ICEConnectionState) {
	if c.ended() {
		return
	}
	c.iceState = s
	switch s {
	case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted:
		stopTimer(&c.iceTimer)
		c.restarting = false
		c.connectIfICEUp()
	case webrtc.ICEConnectionStateDisconnected:
		if c.everConnected && c.iceTimer == nil {
			// A blip often heals by itself; restart only if it lasts.
			c.iceTimer = c.after(c.m.cfg.ICEDisconnectGrace, c.iceLost)
		}
	case webrtc.ICEConnectionStateFailed:
		if !c.everConnected {
			// No media path was ever made: ice_failed (spec VoIP module, hangup reasons).
			if c.state == StateConnecting {
				c.hangup(callevent.ReasonICEFailed, EndICEFailed, PartyLocal)
			}
			return
		}
		stopTimer(&c.iceTimer)
		c.iceLost()
	}
}

// iceLost: the media path that worked is gone. Try an ICE restart over m.call.negotiate;
// if that does not bring it back in time, hang up with ice_timeout.
func (c *Call) iceLost() {
	c.iceTimer = nil
	if c.ended() || c.restarting {
		return
	}
	if c.iceState == webrtc.ICEConnectionStateConnected || c.iceState == webrtc.ICEConnectionStateCompleted {
		return
	}
	if c.state == StateConnected {
		c.fire(TriggerICELost)
	}
	if !c.canNegotiate() {
		c.hangup(callevent.ReasonICETimeout, EndICETimeout, PartyLocal)
		return
	}
	c.restarting = true
	if err := c.pc.RestartICE(); err != nil {
		c.m.logf("call %s: ICE restart: %v", c.id, err)
	}
	c.iceTimer = c.after(c.m.cfg.ICERestartTimeout, func() {
		c.iceTimer = nil
		if c.state != StateConnected {
			c.hangup(callevent.ReasonICETimeout, EndICETimeout, PartyLocal)
		}
	})
}

func (c *Call) connectIfICEUp() {
	up := c.iceState == webrtc.ICEConnectionStateConnected || c.iceState == webrtc.ICEConnectionStateCompleted
	if !up || c.state != StateConnecting {
		return
	}
	if !c.everConnected {
		c.everConnected = true
		c.connectedAt = c.m.cfg.Clock.Now()
	}
	c.fire(TriggerICEConnected)
}

// ---- renegotiation (spec VoIP module, m.call.negotiate; W3C perfect negotiation) ----

func (c *Call) negotiationNeeded() {
	if c.ended() || (c.state != StateConnecting && c.state != StateConnected) {
		return // the first offer/answer goes in the invite/answer
	}
	if !c.canNegotiate() {
		c.m.problem(c.id, ErrNegotiationUnsupported)
		return
	}
	if c.pc.SignalingState() != webrtc.SignalingStateStable {
		return // the browser fires it again once stable
	}
	c.makingOffer = true
	desc, err := c.pc.SetLocalDescription()
	c.makingOffer = false
	if err != nil {
		c.m.problem(c.id, fmt.Errorf("renegotiating: %w", err))
		return
	}
	if desc.Type != webrtc.SDPTypeOffer {
		return
	}
	c.send(event.CallNegotiate, &callevent.Negotiate{
		Base: c.base(), Description: callevent.FromWebRTC(desc),
		Lifetime: c.m.cfg.NegotiateLifetime.Milliseconds(), StreamMetadata: c.streamMetadata(),
	})
	stopTimer(&c.negotiateTimer)
	c.negotiateTimer = c.after(c.m.cfg.NegotiateLifetime, c.negotiationTimedOut)
}

// negotiationTimedOut: once a negotiate's lifetime has passed the sender considers it
// failed (spec VoIP module, m.call.negotiate "lifetime"); we withdraw our offer.
func (c *Call) negotiationTimedOut() {
	c.negotiateTimer = nil
	if c.ended() || c.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		return
	}
	if err := c.pc.Rollback(); err != nil {
		c.m.logf("call %s: rolling back a timed-out offer: %v", c.id, err)
	}
	c.m.problem(c.id, ErrNegotiationTimeout)
}

// remoteNegotiate applies a negotiate from the opponent, the W3C perfect negotiation way:
// an offer that collides with ours is ignored by the impolite side and wins on the
// polite side, which rolls its own offer back.
func (c *Call) remoteNegotiate(n *callevent.Negotiate, expired bool) {
	if c.state != StateConnecting && c.state != StateConnected {
		return
	}
	if !c.canNegotiate() {
		return
	}
	if expired {
		c.m.logf("call %s: ignoring a negotiate past its lifetime", c.id)
		return
	}
	desc := n.Description.ToWebRTC()
	readyForOffer := !c.makingOffer && (c.pc.SignalingState() == webrtc.SignalingStateStable || c.isSettingRemoteAnswerPending)
	offerCollision := desc.Type == webrtc.SDPTypeOffer && !readyForOffer
	c.ignoreOffer = !c.polite && offerCollision
	if c.ignoreOffer {
		c.m.logf("call %s: offer collision, we are impolite: ignoring theirs", c.id)
		return
	}
	if offerCollision {
		stopTimer(&c.negotiateTimer)
		if err := c.pc.Rollback(); err != nil {
			c.m.problem(c.id, fmt.Errorf("rolling back our offer: %w", err))
			return
		}
	}
	c.isSettingRemoteAnswerPending = desc.Type == webrtc.SDPTypeAnswer
	err := c.pc.SetRemoteDescription(desc)
	c.isSettingRemoteAnswerPending = false
	if err != nil {
		c.m.problem(c.id, fmt.Errorf("applying their %s: %w", desc.Type, err))
		return
	}
	c.remoteHold = sdpSenderHolds(n.Description.SDP)
	c.updateRemoteMeta(n.StreamMetadata)
	if desc.Type == webrtc.SDPTypeAnswer {
		stopTimer(&c.negotiateTimer)
		c.notify()
		return
	}
	answer, err := c.pc.SetLocalDescription()
	if err != nil {
		c.m.problem(c.id, fmt.Errorf("answering their offer: %w", err))
		return
	}
	c.send(event.CallNegotiate, &callevent.Negotiate{
		Base: c.base(), Description: callevent.FromWebRTC(answer),
		Lifetime: c.m.cfg.NegotiateLifetime.Milliseconds(), StreamMetadata: c.streamMetadata(),
	})
	c.notify()
}

func (c *Call) setHold(hold bool) error {
	if c.state != StateConnected && c.state != StateConnecting {
		return ErrWrongState
	}
	if !c.canNegotiate() {
		return ErrNegotiationUnsupported
	}
	if c.localHold == hold {
		return nil
	}
	if err := c.pc.SetHold(hold); err != nil {
		return err
	}
	c.localHold = hold
	c.notify()
	return nil
}

func (c *Call) setMuted(audio, video bool) {
	c.audioMuted, c.videoMuted = audio, video
	if c.stream != nil {
		c.stream.SetAudioEnabled(!audio)
		c.stream.SetVideoEnabled(!video)
	}
	if (c.state == StateConnecting || c.state == StateConnected) && c.opponentVersion == callevent.V1 && c.stream != nil {
		c.send(callevent.TypeSDPStreamMetadataChanged, &callevent.StreamMetadataChanged{Base: c.base(), StreamMetadata: c.streamMetadata()})
	}
	c.notify()
}

func (c *Call) updateRemoteMeta(meta callevent.StreamMetadataMap) {
	if meta == nil {
		return
	}
	c.remoteMeta = meta
	c.applyRemoteMeta()
}

func (c *Call) applyRemoteMeta() {
	if c.remoteMeta == nil {
		return
	}
	md, ok := c.remoteMeta[c.remoteStreamID]
	if !ok && len(c.remoteMeta) == 1 {
		for _, v := range c.remoteMeta {
			md, ok = v, true
		}
	}
	if ok {
		c.remoteAudioMuted, c.remoteVideoMuted = md.AudioMuted, md.VideoMuted
	}
}

func (c *Call) remoteTrack(kind MediaKind, streams []string) {
	if c.ended() || len(streams) == 0 {
		return // tracks outside a stream are ignored (spec VoIP module, "Streams")
	}
	if c.remoteStreamID == "" {
		c.remoteStreamID = streams[0]
	}
	inStream := false
	for _, s := range streams {
		if s == c.remoteStreamID {
			inStream = true
		}
	}
	if !inStream {
		return // only the first stream is used
	}
	if kind == MediaKindVideo {
		c.remoteHasVideo = true
	}
	c.applyRemoteMeta()
	c.notify()
}

// peerEvents posts what the peer connection reports into the loop.
type peerEvents struct{ c *Call }

func (p *peerEvents) post(f func()) { p.c.m.loop.Post(f) }
func (p *peerEvents) ICECandidate(ci webrtc.ICECandidateInit) {
	p.post(func() { p.c.localCandidate(ci) })
}
func (p *peerEvents) ICEGatheringComplete() { p.post(p.c.gatheringComplete) }
func (p *peerEvents) ICEConnectionStateChange(s ICEConnectionState) {
	p.post(func() { p.c.iceChanged(s) })
}
func (p *peerEvents) NegotiationNeeded() { p.post(p.c.negotiationNeeded) }
func (p *peerEvents) RemoteTrack(kind MediaKind, streamIDs []string) {
	p.post(func() { p.c.remoteTrack(kind, streamIDs) })
}
