// Package groupcall is Ringo's MSC3401 full-mesh group call engine on top of the 1:1
// engine: every pair of participating devices runs one ordinary call ("leg") whose
// m.call.* events travel as to-device messages carrying conf_id, device_id,
// sender_session_id, dest_session_id and seq (PROTOCOL.md §3). This package holds the
// pure parts (state parsing, participants, who calls whom, the seq reorder buffer) and
// the Session that runs the legs. UI, state-event writing and the homeserver/widget
// transports wire in from outside.
package groupcall

// Reorder releases messages of one (sender device, call) stream in seq order: to-device
// delivery is not ordered. Duplicates and already released seqs are dropped. It holds at
// most Limit messages; when full, it skips the oldest gap (a lost message) rather than
// stall the call forever.
type Reorder[T any] struct {
	next    uint64
	held    map[uint64]T
	started bool
	Limit   int // default 64
	Dropped int // duplicates and stale messages
}

// Push adds message seq and returns what can now be released, in order.
func (r *Reorder[T]) Push(seq uint64, msg T) []T {
	if r.held == nil {
		r.held = map[uint64]T{}
	}
	if r.Limit <= 0 {
		r.Limit = 64
	}
	if seq < r.next {
		r.Dropped++
		return nil
	}
	if _, dup := r.held[seq]; dup {
		r.Dropped++
		return nil
	}
	r.held[seq] = msg
	out := r.release()
	if len(r.held) > r.Limit {
		// Skip the gap: jump to the lowest held seq.
		lowest := seq
		for s := range r.held {
			if s < lowest {
				lowest = s
			}
		}
		r.next = lowest
		out = append(out, r.release()...)
	}
	return out
}

func (r *Reorder[T]) release() []T {
	var out []T
	for {
		m, ok := r.held[r.next]
		if !ok {
			return out
		}
		delete(r.held, r.next)
		r.next++
		out = append(out, m)
	}
}

// Held is how many messages wait for a gap to fill.
func (r *Reorder[T]) Held() int { return len(r.held) }
