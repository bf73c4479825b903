package signalling

import "strings"

// sdpCandidates returns the candidate attribute values ("candidate:...") found in an SDP,
// so candidates that already went out inside an invite or answer are not sent again.
func sdpCandidates(sdp string) map[string]bool {
	out := map[string]bool{}
	for _, line := range sdpLines(sdp) {
		if strings.HasPrefix(line, "a=candidate:") {
			out[strings.TrimPrefix(line, "a=")] = true
		}
	}
	return out
}

// sdpHasVideo reports whether an SDP has a video media section that is not disabled.
func sdpHasVideo(sdp string) bool {
	for _, line := range sdpLines(sdp) {
		if strings.HasPrefix(line, "m=video ") && !strings.HasPrefix(line, "m=video 0 ") {
			return true
		}
	}
	return false
}

// sdpSenderHolds reports whether the side that wrote this SDP has put the call on hold:
// every audio/video section it has says it does not send (a=sendonly is the WebRTC way to
// hold, so the holder's description says "sendonly" and the held side's answer
// "recvonly"; the holder's own sending stops only when both hold, "inactive").
// Spec VoIP module, "Call holding": hold is signalled by the stream directions.
//
// The writer is holding us when it does not want to receive: sendonly or inactive.
func sdpSenderHolds(sdp string) bool {
	media := 0
	holding := 0
	inMedia := false
	sessionDir := "sendrecv"
	dir := ""
	flush := func() {
		if !inMedia {
			return
		}
		media++
		d := dir
		if d == "" {
			d = sessionDir
		}
		if d == "sendonly" || d == "inactive" {
			holding++
		}
	}
	for _, line := range sdpLines(sdp) {
		switch {
		case strings.HasPrefix(line, "m="):
			flush()
			kind := strings.TrimPrefix(line, "m=")
			inMedia = strings.HasPrefix(kind, "audio ") || strings.HasPrefix(kind, "video ")
			dir = ""
		case line == "a=sendonly" || line == "a=recvonly" || line == "a=inactive" || line == "a=sendrecv":
			if inMedia {
				dir = strings.TrimPrefix(line, "a=")
			} else if media == 0 {
				sessionDir = strings.TrimPrefix(line, "a=")
			}
		}
	}
	flush()
	return media > 0 && holding == media
}

func sdpLines(sdp string) []string {
	lines := strings.Split(sdp, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, "\r")
	}
	return lines
}

// validDTMF reports whether tones only holds what RTCDTMFSender accepts.
func validDTMF(tones string) bool {
	if tones == "" {
		return false
	}
	for _, r := range tones {
		switch {
		case r >= '0' && r <= '9', r == '*', r == '#', r == ',', r >= 'A' && r <= 'D', r >= 'a' && r <= 'd':
		default:
			return false
		}
	}
	return true
}
