package signalling

// GlareAction is what to do when an invite arrives from the user we are calling ourselves.
type GlareAction int

const (
	GlareNone GlareAction = iota
	// GlareCancelOursAcceptTheirs: our invite was not sent yet; drop ours silently and
	// accept theirs on the user's behalf with the media we were getting.
	GlareCancelOursAcceptTheirs
	// GlareKeepOursIgnoreTheirs: both invites are out and ours has the lesser call_id;
	// ours survives and theirs is ignored (their client drops it and answers ours).
	GlareKeepOursIgnoreTheirs
	// GlareReplaceOursAcceptTheirs: both invites are out and theirs has the lesser
	// call_id; hang ours up (reason "replaced") and accept theirs on the user's behalf.
	GlareReplaceOursAcceptTheirs
)

var glareActionNames = [...]string{"none", "cancel_ours_accept_theirs", "keep_ours_ignore_theirs", "replace_ours_accept_theirs"}

func (a GlareAction) String() string {
	if a < 0 || int(a) >= len(glareActionNames) {
		return "unknown"
	}
	return glareActionNames[a]
}

// decideGlare is the spec's glare rule (VoIP module, "Glare"): an invite arriving while we
// are still preparing ours cancels ours; once ours is sent, the call with the
// lexicographically lesser call_id survives. ours is our outbound call's state.
func decideGlare(ours CallState, ourCallID, theirCallID string) GlareAction {
	switch ours {
	case StateWaitLocalMedia, StateCreateOffer:
		return GlareCancelOursAcceptTheirs
	case StateInviteSent:
		if ourCallID < theirCallID {
			return GlareKeepOursIgnoreTheirs
		}
		if ourCallID > theirCallID {
			return GlareReplaceOursAcceptTheirs
		}
	}
	return GlareNone
}
