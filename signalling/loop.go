package signalling

import (
	"context"
	"sync"
)

// Loop serializes every input of the engine onto one goroutine. Post may be called from
// any goroutine and never blocks; Run (or, in tests, Drain) executes the posted functions
// in order. Nothing else touches call state.
type Loop struct {
	mu    sync.Mutex
	queue []func()
	wake  chan struct{}
}

// NewLoop returns an empty loop.
func NewLoop() *Loop {
	return &Loop{wake: make(chan struct{}, 1)}
}

// Post queues f to run on the loop goroutine.
func (l *Loop) Post(f func()) {
	l.mu.Lock()
	l.queue = append(l.queue, f)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Drain runs queued functions, including ones they post, until the queue is empty, and
// returns how many ran. Tests use it to step the engine by hand; it must not run
// concurrently with Run.
func (l *Loop) Drain() int {
	n := 0
	for {
		l.mu.Lock()
		if len(l.queue) == 0 {
			l.mu.Unlock()
			return n
		}
		f := l.queue[0]
		l.queue[0] = nil
		l.queue = l.queue[1:]
		l.mu.Unlock()
		f()
		n++
	}
}

// Run executes posted functions until ctx is done.
func (l *Loop) Run(ctx context.Context) {
	for {
		l.Drain()
		select {
		case <-ctx.Done():
			return
		case <-l.wake:
		}
	}
}
