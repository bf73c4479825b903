package ui_test

import (
	"testing"
	"time"

	"github.com/matryer/is"

	"ringo/ui"
)

func TestSpeakingIndicatorRules(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		rule    string
		level   float64
		after   time.Duration
		talking bool
	}{
		{"silence is not speaking", 0.001, 0, false},
		{"a level at the threshold is speaking", ui.SpeakingLevel, 0, true},
		{"speech stays on through a short pause", 0.2, ui.SpeakingHold / 2, true},
		{"it goes off after the hold", 0.2, ui.SpeakingHold + time.Millisecond, false},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			var s ui.Speaking
			s.Observe("s1", tt.level, t0)
			is.New(t).Equal(s.Now(t0.Add(tt.after))["s1"], tt.talking)
		})
	}
}

func TestSpeakingIsPerStream(t *testing.T) {
	is := is.New(t)
	t0 := time.Unix(1000, 0)
	var s ui.Speaking
	s.Observe("a", 0.3, t0)
	s.Observe("b", 0.0, t0)
	now := s.Now(t0)
	is.True(now["a"] && !now["b"])
}
