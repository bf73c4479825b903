package signalling

import (
	"errors"
	"strconv"
	"time"

	"ringo/signalling/callevent"
)

// outbox delivers one call's outgoing events in order, one in flight at a time, retrying
// failures with backoff so nothing is lost (spec VoIP module: candidates must arrive, and
// a lost hangup leaves the other side ringing). Queued candidates events are merged so a
// slow homeserver sees fewer, larger events instead of a flood.
type outbox struct {
	call     *Call
	queue    []*OutgoingMessage
	inFlight bool
	attempt  int
	retry    Timer
	nextTxn  int
	sent     map[string]int // event type -> events delivered, for measurements and tests
}

const (
	retryBase = 500 * time.Millisecond
	retryMax  = 10 * time.Second
)

// backoff is the delay before retry number attempt (1-based): 0.5 s doubling to 10 s.
func backoff(attempt int) time.Duration {
	d := retryBase
	for i := 1; i < attempt && d < retryMax; i++ {
		d *= 2
	}
	if d > retryMax {
		d = retryMax
	}
	return d
}

func (o *outbox) send(msg OutgoingMessage) {
	if c, ok := msg.Content.(*callevent.Candidates); ok && len(o.queue) > 0 {
		last := o.queue[len(o.queue)-1]
		queuedNotSending := !(o.inFlight && len(o.queue) == 1)
		if prev, ok := last.Content.(*callevent.Candidates); ok && queuedNotSending {
			prev.Candidates = append(prev.Candidates, c.Candidates...)
			return
		}
	}
	o.nextTxn++
	msg.TxnID = o.call.id + "." + o.call.ourParty + "." + strconv.Itoa(o.nextTxn)
	o.queue = append(o.queue, &msg)
	o.pump()
}

func (o *outbox) pump() {
	if o.inFlight || o.retry != nil || len(o.queue) == 0 {
		return
	}
	o.inFlight = true
	msg := *o.queue[0]
	m := o.call.m
	m.cfg.Sender.Send(msg, func(err error) {
		m.loop.Post(func() { o.done(err) })
	})
}

func (o *outbox) done(err error) {
	o.inFlight = false
	if len(o.queue) == 0 {
		return
	}
	head := o.queue[0]
	var perm PermanentError
	switch {
	case err == nil:
		o.queue = o.queue[1:]
		o.attempt = 0
		if o.sent == nil {
			o.sent = map[string]int{}
		}
		o.sent[head.Type.Type]++
	case errors.As(err, &perm) && perm.Permanent():
		o.queue = o.queue[1:]
		o.attempt = 0
		o.call.m.problem(o.call.id, &SendError{Type: head.Type.Type, Err: err})
	default:
		o.attempt++
		delay := backoff(o.attempt)
		var ra RetryAfterError
		if errors.As(err, &ra) && ra.RetryAfter() > 0 {
			delay = ra.RetryAfter()
		}
		o.call.m.logf("call %s: sending %s failed (attempt %d), retrying in %s: %v", o.call.id, head.Type.Type, o.attempt, delay, err)
		m := o.call.m
		o.retry = m.cfg.Clock.AfterFunc(delay, func() {
			m.loop.Post(func() {
				o.retry = nil
				o.pump()
			})
		})
		return
	}
	o.pump()
}

// dropUnsentAfterEnd removes queued messages that mean nothing once the call has ended
// (candidates, negotiation, metadata), keeping what the other side must still see. If
// the invite itself never left (it is queued and not in flight: the homeserver was
// unreachable), nothing about this call is sent at all. An invite in flight may arrive,
// so its hangup stays.
func (o *outbox) dropUnsentAfterEnd() (inviteNeverSent bool) {
	for i, msg := range o.queue {
		if msg.Type.Type == typeInvite && !(i == 0 && o.inFlight) {
			o.queue = nil
			o.stop()
			return true
		}
	}
	kept := o.queue[:0]
	for i, msg := range o.queue {
		sending := i == 0 && o.inFlight
		switch msg.Type.Type {
		case typeCandidates, typeNegotiate, typeMetadataChanged:
			if !sending {
				continue
			}
		}
		kept = append(kept, msg)
	}
	o.queue = kept
	return false
}

func (o *outbox) stop() {
	if o.retry != nil {
		o.retry.Stop()
		o.retry = nil
	}
}

// SendError reports an event that could not be delivered and will not be retried.
type SendError struct {
	Type string
	Err  error
}

func (e *SendError) Error() string { return "could not send " + e.Type + ": " + e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }
