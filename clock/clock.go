// Package clock is the wall-clock adapter of the engine's Clock port. It is the only
// place the running app reads real time; tests use signallingtest.Clock instead.
package clock

import (
	"time"

	"ringo/signalling"
)

// Wall is signalling.Clock on the real clock.
type Wall struct{}

var _ signalling.Clock = Wall{}

func (Wall) Now() time.Time { return time.Now() }

func (Wall) AfterFunc(d time.Duration, f func()) signalling.Timer { return time.AfterFunc(d, f) }
