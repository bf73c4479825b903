package signalling

import (
	"encoding/json"
	"time"

	"maunium.net/go/mautrix/id"

	"ringo/signalling/callevent"
)

// HandleBatch feeds one sync batch of this room's timeline into the engine. Invites ring
// only after the whole batch is seen, so an invite answered, rejected or hung up later in
// the same batch never rings (spec VoIP module, implementation notes).
func (m *Manager) HandleBatch(b Batch) {
	m.loop.Post(func() { m.handleBatch(b) })
}

// HandleMembership tells the engine that user's membership changed.
func (m *Manager) HandleMembership(user id.UserID, membership Membership) {
	m.loop.Post(func() { m.membershipChanged(user, membership) })
}

// SetMembers replaces the known membership of the room (initial state).
func (m *Manager) SetMembers(members map[id.UserID]Membership) {
	m.loop.Post(func() {
		m.members = map[id.UserID]Membership{}
		for u, ms := range members {
			m.members[u] = ms
		}
	})
}

func (m *Manager) handleBatch(b Batch) {
	var arrived []*Call
	for _, ev := range b.Events {
		if ev.Type.Type == "m.room.member" && ev.StateKey != nil {
			m.memberEvent(ev)
			continue
		}
		if !callevent.IsCallEventType(ev.Type.Type) {
			continue
		}
		content, err := callevent.Parse(ev.Type.Type, ev.Content)
		if err != nil {
			m.logf("ignoring %s %s from %s: %v", ev.Type.Type, ev.EventID, ev.Sender, err)
			continue
		}
		base := content.CallBase()
		// Our own echo: same user and same party (spec VoIP module, "Party identifiers").
		if ev.Sender == m.cfg.UserID && base.PartyID == m.party {
			continue
		}
		if inv, ok := content.(*callevent.Invite); ok {
			if c := m.inviteArrived(ev, inv, b.ServerClockOffset); c != nil {
				arrived = append(arrived, c)
			}
			continue
		}
		m.route(ev, content, b.ServerClockOffset)
	}
	for _, c := range arrived {
		m.decideRing(c)
	}
}

// age estimates how old an event is now: unsigned.age when the server sent it,
// otherwise the server's clock (ours plus the measured offset) minus origin_server_ts.
// (PROTOCOL.md Decisions: "Liveness without age".)
func (m *Manager) age(ev RoomEvent, offset time.Duration) time.Duration {
	now := m.cfg.Clock.Now()
	if ev.Age != nil {
		received := ev.ReceivedAt
		if received.IsZero() {
			received = now
		}
		return time.Duration(*ev.Age)*time.Millisecond + now.Sub(received)
	}
	serverNow := now.Add(offset)
	return serverNow.Sub(time.UnixMilli(ev.OriginServerTS))
}

func (m *Manager) inviteArrived(ev RoomEvent, inv *callevent.Invite, offset time.Duration) *Call {
	if _, known := m.calls[inv.CallID]; known {
		return nil
	}
	c := m.newCall(inv.CallID, DirectionInbound)
	c.invite = inv
	c.invitee = inv.Invitee
	c.chooseOpponent(ev.Sender, inv.PartyID, inv.Version)
	c.kind = MediaKindVoice
	if sdpHasVideo(inv.Offer.SDP) {
		c.kind = MediaKindVideo
	}
	lifetime := time.Duration(inv.Lifetime) * time.Millisecond
	if lifetime <= 0 {
		lifetime = DefaultInviteLifetime
	}
	c.inviteExpires = m.cfg.Clock.Now().Add(lifetime - m.age(ev, offset))
	c.updateRemoteMeta(inv.StreamMetadata)
	c.fire(TriggerInviteArrive)
	if m.seenEnds[inv.CallID] {
		c.end(EndUserHangup, PartyRemote, false)
	}
	return c
}

// decideRing runs once the batch that brought the invite is complete.
func (m *Manager) decideRing(c *Call) {
	ignore := func(why IgnoreReason) {
		m.cfg.Observer.InviteIgnored(c.id, c.peer, why)
		if !c.ended() {
			c.end(EndReason("ignored_"+string(why)), PartyLocal, false)
		}
	}
	switch {
	case c.ended():
		ignore(IgnoreEndedInBatch)
		return
	case c.invitee != "" && c.invitee != m.cfg.UserID:
		ignore(IgnoreNotForUs) // spec VoIP module, "invitee"
		return
	case c.inviteExpires.Sub(m.cfg.Clock.Now()) < m.cfg.MinRingTime:
		ignore(IgnoreExpired)
		return
	}
	// Glare: the user we are calling is calling us (spec VoIP module, "Glare").
	for _, ours := range m.order {
		if ours.dir != DirectionOutbound || ours.ended() || ours.peer != c.peer {
			continue
		}
		switch decideGlare(ours.state, ours.id, c.id) {
		case GlareKeepOursIgnoreTheirs:
			ignore(IgnoreGlareLoser)
			return
		case GlareCancelOursAcceptTheirs:
			m.logf("glare: %s was not sent yet, accepting %s", ours.id, c.id)
			c.polite = true // we dropped our call for theirs (spec: the loser is polite)
			m.takeOver(ours, c)
			ours.end(EndReplaced, PartyLocal, false)
			return
		case GlareReplaceOursAcceptTheirs:
			m.logf("glare: %s > %s, replacing ours", ours.id, c.id)
			c.polite = true
			m.takeOver(ours, c)
			ours.hangup(callevent.ReasonReplaced, EndReplaced, PartyLocal)
			return
		}
	}
	if !m.cfg.RingPolicy(IncomingInvite{CallID: c.id, From: c.peer, PublicRoom: m.public, Video: c.kind == MediaKindVideo}) {
		ignore(IgnorePolicy)
		return
	}
	c.shown = true
	c.fire(TriggerRing)
	c.inviteTimer = c.after(c.inviteExpires.Sub(m.cfg.Clock.Now()), c.ringExpired)
}

// takeOver accepts survivor on the user's behalf with the media of the call it replaces,
// whether that media is already here or still being acquired.
func (m *Manager) takeOver(from, survivor *Call) {
	kind := from.kind
	survivor.shown = true
	survivor.kind = kind
	stopTimer(&survivor.inviteTimer)
	survivor.fire(TriggerAccept)
	if from.stream != nil {
		s := from.stream
		from.stream = nil
		survivor.mediaArrived(s, nil)
		return
	}
	// The media is on its way to the call we drop; it will be handed over.
	from.streamWaiters = append(from.streamWaiters, survivor)
}

// route hands a non-invite call event to its call after checking who sent it.
func (m *Manager) route(ev RoomEvent, content callevent.Content, offset time.Duration) {
	base := content.CallBase()
	c := m.calls[base.CallID]
	if c == nil {
		switch content.(type) {
		case *callevent.Hangup, *callevent.Reject, *callevent.Answer, *callevent.SelectAnswer:
			// The invite may still come in this batch's order quirks; remember the end.
			m.seenEnds[base.CallID] = true
		}
		m.logf("ignoring %s for unknown call %s", ev.Type.Type, base.CallID)
		return
	}
	if c.ended() {
		return
	}
	fromSelf := ev.Sender == m.cfg.UserID
	switch x := content.(type) {
	case *callevent.Answer:
		switch {
		case c.dir == DirectionOutbound:
			c.answerFrom(ev.Sender, x)
		case fromSelf && (c.state == StateRinging || c.state == StateInviteReceived):
			// Another device of ours answered (spec VoIP module, "answered elsewhere").
			c.end(EndAnsweredElsewhere, PartyLocal, false)
		}
	case *callevent.Reject:
		switch {
		case c.dir == DirectionOutbound:
			c.rejectFrom(ev.Sender, x)
		case fromSelf && (c.state == StateRinging || c.state == StateInviteReceived):
			c.end(EndRejected, PartyLocal, false) // declined on another device: stop ringing here too
		}
	case *callevent.SelectAnswer:
		if c.dir != DirectionInbound || ev.Sender != c.peer || x.PartyID != c.opponentParty {
			return
		}
		if x.SelectedPartyID != m.party {
			c.end(EndAnsweredElsewhere, PartyRemote, false)
		}
	case *callevent.Candidates:
		if !m.fromOpponentSide(c, ev.Sender) {
			return
		}
		c.remoteCandidates(x.PartyID, x.Candidates)
	case *callevent.Hangup:
		if !m.fromOpponentSide(c, ev.Sender) {
			return
		}
		if c.opponentChosen && x.PartyID != c.opponentParty {
			return // another callee device hanging up its own leg
		}
		reason := EndReason(x.Reason)
		if reason == "" {
			reason = EndUserHangup
		}
		c.end(reason, PartyRemote, false)
	case *callevent.Negotiate:
		if ev.Sender != c.peer || !c.opponentChosen || x.PartyID != c.opponentParty {
			return // only from the opponent (spec VoIP module, m.call.negotiate)
		}
		expired := x.Lifetime > 0 && m.age(ev, offset) > time.Duration(x.Lifetime)*time.Millisecond
		c.remoteNegotiate(x, expired)
	case *callevent.StreamMetadataChanged:
		if ev.Sender != c.peer || (c.opponentChosen && x.PartyID != c.opponentParty) {
			return
		}
		c.updateRemoteMeta(x.StreamMetadata)
		c.notify()
	}
}

// fromOpponentSide: events of the call from its other user (any party before the opponent
// is chosen, for the caller), never from strangers.
func (m *Manager) fromOpponentSide(c *Call, sender id.UserID) bool {
	if c.dir == DirectionOutbound && !c.opponentChosen {
		return c.invitee == "" || sender == c.invitee
	}
	return sender == c.peer
}

func (m *Manager) memberEvent(ev RoomEvent) {
	var content struct {
		Membership Membership `json:"membership"`
	}
	if err := jsonUnmarshal(ev.Content, &content); err != nil || content.Membership == "" {
		return
	}
	m.membershipChanged(id.UserID(*ev.StateKey), content.Membership)
}

// membershipChanged: the opponent leaving the room counts as a hangup; the invitee
// leaving before answering, or the caller left alone, counts as a rejection (spec VoIP
// module, "leaving the room").
func (m *Manager) membershipChanged(user id.UserID, ms Membership) {
	m.members[user] = ms
	if ms == MembershipJoin || ms == MembershipInvite {
		return
	}
	for _, c := range append([]*Call(nil), m.order...) {
		if c.ended() {
			continue
		}
		if user == m.cfg.UserID {
			c.end(EndUserHangup, PartyLocal, false)
			continue
		}
		unanswered := c.dir == DirectionOutbound && !c.opponentChosen
		switch {
		case unanswered && (user == c.invitee || (c.invitee == "" && m.alone())):
			c.end(EndRejected, PartyRemote, false)
		case user == c.peer:
			c.end(EndUserHangup, PartyRemote, false)
		}
	}
}

func (m *Manager) alone() bool {
	for u, ms := range m.members {
		if u != m.cfg.UserID && ms == MembershipJoin {
			return false
		}
	}
	return true
}

var jsonUnmarshal = json.Unmarshal
