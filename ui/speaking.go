package ui

import "time"

// Speaking indicator (issue: group call tiles show who is talking). The browser reports
// each remote stream's audio level; these rules turn the samples into a steady signal.
const (
	// SpeakingLevel is the audioLevel (linear, 1 = 0 dBov) from which a participant
	// counts as speaking: about -36 dBov, above room noise, below quiet speech.
	SpeakingLevel = 0.016
	// SpeakingHold keeps the indicator on through the short pauses between words, so it
	// does not flicker.
	SpeakingHold = 800 * time.Millisecond
)

// Speaking remembers, per remote stream, when it was last loud enough.
type Speaking struct {
	loud map[string]time.Time
}

// Observe records one audio level sample of a stream.
func (s *Speaking) Observe(stream string, level float64, at time.Time) {
	if level < SpeakingLevel {
		return
	}
	if s.loud == nil {
		s.loud = map[string]time.Time{}
	}
	s.loud[stream] = at
}

// Now lists the streams speaking at now.
func (s *Speaking) Now(now time.Time) map[string]bool {
	out := map[string]bool{}
	for id, at := range s.loud {
		if now.Sub(at) <= SpeakingHold {
			out[id] = true
		} else {
			delete(s.loud, id)
		}
	}
	return out
}
