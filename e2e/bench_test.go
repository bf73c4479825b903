//go:build !js

package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"ringo/e2e/browser"
	"ringo/e2e/stack"
)

// The benchmark (scripts/bench.sh, RINGO_BENCH=1): call set-up latencies and signalling
// event counts over real Dendrite and Chromium, printed as a table. Measured through the
// automation contract (data-state changes, timestamped in the page by a MutationObserver)
// and the homeserver (origin_server_ts of the invite and answer), never Ringo's logs.

// stateMarks records every data-state change with Date.now(); on the callee it answers
// as soon as the page rings (an immediate answer).
const stateMarks = `(() => {
  window.__marks = [];
  const el = document.querySelector('[data-testid="call-state"]');
  const rec = () => {
    const s = el.getAttribute('data-state');
    const last = window.__marks[window.__marks.length - 1];
    if (!last || last.s !== s) window.__marks.push({s, t: Date.now()});
    if (s === 'ringing' && window.__autoAnswer) {
      const b = document.querySelector('[data-testid="answer-voice"]');
      if (b && !b.hidden) b.click();
    }
  };
  new MutationObserver(rec).observe(el, {attributes: true, attributeFilter: ['data-state']});
  return true;
})()`

type mark struct {
	S string `json:"s"`
	T int64  `json:"t"`
}

func marks(t *testing.T, p *browser.Page) []mark {
	t.Helper()
	var m []mark
	must(t, p.Eval(`window.__marks || []`, &m))
	return m
}

func firstMark(ms []mark, s string, after int64) int64 {
	for _, m := range ms {
		if m.S == s && m.T >= after {
			return m.T
		}
	}
	return 0
}

type roomEvent struct {
	Type    string `json:"type"`
	Sender  string `json:"sender"`
	TS      int64  `json:"origin_server_ts"`
	Content struct {
		CallID string `json:"call_id"`
	} `json:"content"`
}

// callEvents reads the room's call events for callID from the homeserver.
func callEvents(ctx context.Context, t *testing.T, u *stack.User, room, callID string) []roomEvent {
	t.Helper()
	var resp struct {
		Chunk []roomEvent `json:"chunk"`
	}
	must(t, hs.Do(ctx, u, "GET", "/_matrix/client/v3/rooms/"+url.PathEscape(room)+"/messages?dir=b&limit=100", nil, &resp))
	var out []roomEvent
	for i := len(resp.Chunk) - 1; i >= 0; i-- {
		if resp.Chunk[i].Content.CallID == callID {
			out = append(out, resp.Chunk[i])
		}
	}
	return out
}

type sample struct {
	ringMS, answerMS, clickMS  float64
	toInviteMS, toAnswerMS     float64 // click -> invite stamped; ring -> answer stamped
	callerEvents, calleeEvents map[string]int
	eoc                        bool
}

func TestBenchmarkCalls(t *testing.T) {
	if os.Getenv("RINGO_BENCH") != "1" {
		t.Skip("set RINGO_BENCH=1 (scripts/bench.sh) to run the benchmark")
	}
	runs := 5
	results := map[string][]sample{}
	for _, relay := range []bool{false, true} {
		alice, bob, room := twoUsersInARoom(t)
		pa := openLoggedIn(t, alice, room, relay)
		pb := openLoggedIn(t, bob, room, relay)
		ready(t, pa, pb)
		label := "direct"
		if relay {
			label = "relay only"
		}
		for i := 0; i < runs+1; i++ { // the first run warms up and is not counted
			must(t, pa.Eval(stateMarks, nil))
			must(t, pb.Eval(stateMarks+`; window.__autoAnswer = true`, nil))
			var t0 int64
			must(t, pa.Eval(`(() => { const t = Date.now(); document.querySelector('[data-testid="call-voice"]').click(); return t; })()`, &t0))
			waitState(t, pa, 30*time.Second, "connected")
			waitState(t, pb, 30*time.Second, "connected")
			ma, mb := marks(t, pa), marks(t, pb)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			// The call id is the newest invite's in the room.
			var callID string
			var resp struct {
				Chunk []roomEvent `json:"chunk"`
			}
			must(t, hs.Do(ctx, alice, "GET", "/_matrix/client/v3/rooms/"+url.PathEscape(room)+"/messages?dir=b&limit=50", nil, &resp))
			for _, e := range resp.Chunk {
				if e.Type == "m.call.invite" {
					callID = e.Content.CallID
					break
				}
			}
			evs := callEvents(ctx, t, alice, room, callID)
			cancel()
			s := sample{callerEvents: map[string]int{}, calleeEvents: map[string]int{}}
			var inviteTS, answerTS int64
			for _, e := range evs {
				switch e.Type {
				case "m.call.invite":
					inviteTS = e.TS
				case "m.call.answer":
					answerTS = e.TS
				case "m.call.hangup", "m.call.negotiate", "m.call.sdp_stream_metadata_changed":
					continue // not counted (PROTOCOL.md §7)
				}
				if e.Sender == alice.UserID {
					s.callerEvents[e.Type]++
				} else {
					s.calleeEvents[e.Type]++
				}
			}
			connA, connB := firstMark(ma, "connected", t0), firstMark(mb, "connected", t0)
			both := max(connA, connB)
			s.clickMS = float64(both - t0)
			if ring := firstMark(mb, "ringing", t0); ring > 0 && inviteTS > 0 {
				s.ringMS = float64(ring - inviteTS)
			}
			if answerTS > 0 {
				s.answerMS = float64(both - answerTS)
			}
			if inviteTS > 0 {
				s.toInviteMS = float64(inviteTS - t0)
			}
			if ring := firstMark(mb, "ringing", t0); ring > 0 && answerTS > 0 {
				s.toAnswerMS = float64(answerTS - ring)
			}
			s.eoc = endOfCandidatesSent(t, alice, room, callID)
			must(t, pa.Click("hangup"))
			waitState(t, pa, 15*time.Second, "ended")
			waitState(t, pb, 15*time.Second, "ended")
			if i > 0 {
				results[label] = append(results[label], s)
			}
		}
	}
	printTable(results, runs)
}

// endOfCandidatesSent reports whether every candidates sender ended with "".
func endOfCandidatesSent(t *testing.T, u *stack.User, room, callID string) bool {
	t.Helper()
	var resp struct {
		Chunk []struct {
			Type    string `json:"type"`
			Sender  string `json:"sender"`
			Content struct {
				CallID     string `json:"call_id"`
				Candidates []struct {
					Candidate string `json:"candidate"`
				} `json:"candidates"`
			} `json:"content"`
		} `json:"chunk"`
	}
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Do(c, u, "GET", "/_matrix/client/v3/rooms/"+url.PathEscape(room)+"/messages?dir=b&limit=100", nil, &resp); err != nil {
		return false
	}
	ended := map[string]bool{}
	senders := map[string]bool{}
	for _, e := range resp.Chunk {
		if e.Type != "m.call.candidates" || e.Content.CallID != callID {
			continue
		}
		senders[e.Sender] = true
		for _, cand := range e.Content.Candidates {
			if cand.Candidate == "" {
				ended[e.Sender] = true
			}
		}
	}
	for s := range senders {
		if !ended[s] {
			return false
		}
	}
	return len(senders) > 0
}

func stats(xs []float64) (med, lo, hi float64) {
	if len(xs) == 0 {
		return 0, 0, 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	med = s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return med, s[0], s[n-1]
}

func printTable(results map[string][]sample, runs int) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nCall set-up over real Dendrite + Chromium, %d runs each (median [min-max], ms)\n", runs)
	fmt.Fprintf(&b, "%-12s %-26s %-26s %-26s\n", "path", "invite sent -> rings", "answer -> both connected", "click -> both connected")
	for _, label := range []string{"direct", "relay only"} {
		rs := results[label]
		var ring, ans, click []float64
		for _, s := range rs {
			ring = append(ring, s.ringMS)
			ans = append(ans, s.answerMS)
			click = append(click, s.clickMS)
		}
		f := func(xs []float64) string { m, lo, hi := stats(xs); return fmt.Sprintf("%.0f [%.0f-%.0f]", m, lo, hi) }
		fmt.Fprintf(&b, "%-12s %-26s %-26s %-26s\n", label, f(ring), f(ans), f(click))
	}
	fmt.Fprintf(&b, "\nWhere the time goes (median ms): click -> invite on the server; callee ringing -> answer on the server (immediate answer)\n")
	for _, label := range []string{"direct", "relay only"} {
		var a, c []float64
		for _, s := range results[label] {
			a = append(a, s.toInviteMS)
			c = append(c, s.toAnswerMS)
		}
		ma, _, _ := stats(a)
		mc, _, _ := stats(c)
		fmt.Fprintf(&b, "%-12s %.0f; %.0f\n", label, ma, mc)
	}
	fmt.Fprintf(&b, "\nSignalling events per call (hangup and mid-call events excluded), median over runs\n")
	for _, label := range []string{"direct", "relay only"} {
		rs := results[label]
		count := func(get func(sample) map[string]int) string {
			var totals []float64
			types := map[string][]float64{}
			for _, s := range rs {
				n := 0
				for typ, c := range get(s) {
					n += c
					types[typ] = append(types[typ], float64(c))
				}
				totals = append(totals, float64(n))
			}
			m, _, _ := stats(totals)
			var parts []string
			for typ, cs := range types {
				tm, _, _ := stats(cs)
				parts = append(parts, fmt.Sprintf("%s=%.0f", strings.TrimPrefix(typ, "m.call."), tm))
			}
			sort.Strings(parts)
			return fmt.Sprintf("%.0f (%s)", m, strings.Join(parts, " "))
		}
		eoc := 0
		for _, s := range rs {
			if s.eoc {
				eoc++
			}
		}
		fmt.Fprintf(&b, "%-12s caller %s; callee %s; end-of-candidates sent in %d/%d calls\n", label,
			count(func(s sample) map[string]int { return s.callerEvents }), count(func(s sample) map[string]int { return s.calleeEvents }), eoc, len(rs))
	}
	fmt.Print(b.String())
}

// TestBenchmarkPageLoad: page load to the login form being interactive (the app's
// "ringo-interactive" performance mark, set after its first usable render).
func TestBenchmarkPageLoad(t *testing.T) {
	if os.Getenv("RINGO_BENCH") != "1" {
		t.Skip("set RINGO_BENCH=1 (scripts/bench.sh) to run the benchmark")
	}
	base := servedApp(t)
	p, err := chrome.NewPage("load")
	must(t, err)
	defer p.Close()
	var xs []float64
	for i := 0; i < 6; i++ {
		must(t, p.Open(base+"/"))
		must(t, p.WaitEnabled("login-submit", 20*time.Second))
		var ms float64
		must(t, p.Eval(`(() => { const m = performance.getEntriesByName('ringo-interactive')[0]; return m ? m.startTime : -1; })()`, &ms))
		if i > 0 { // the first load fills the HTTP cache
			xs = append(xs, ms)
		}
	}
	m, lo, hi := stats(xs)
	fmt.Printf("\nPage load -> login form interactive (headless Chromium, %d loads): median %.0f ms [%.0f-%.0f]\n", len(xs), m, lo, hi)
}
