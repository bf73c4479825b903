//go:build !js

package e2e

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"ringo/e2e/browser"
	"ringo/e2e/stack"
)

// joinTimer clicks Join on the page and records, in the page, when every tile is
// connected; it also counts the to-device messages the page sends, by type.
const joinTimer = `((want) => {
  window.__gdone = 0; window.__td = {};
  if (!window.__fetchWrapped) {
    const orig = window.fetch;
    window.fetch = function (url, init) {
      const m = /\/sendToDevice\/([^/]+)\//.exec(String(url));
      if (m) { const t = decodeURIComponent(m[1]); window.__td[t] = (window.__td[t] || 0) + 1; }
      return orig.apply(this, arguments);
    };
    window.__fetchWrapped = true;
  }
  const box = document.querySelector('[data-testid="group-tiles"]');
  const check = () => {
    const ts = Array.from(document.querySelectorAll('[data-testid="participant-tile"]'));
    if (!window.__gdone && ts.length === want && ts.every(e => e.getAttribute('data-state') === 'connected')) window.__gdone = Date.now();
  };
  new MutationObserver(check).observe(box, {subtree: true, childList: true, attributes: true});
  const t0 = Date.now();
  document.querySelector('[data-testid="group-join"]').click();
  return t0;
})`

func TestBenchmarkGroupJoin(t *testing.T) {
	if os.Getenv("RINGO_BENCH") != "1" {
		t.Skip("set RINGO_BENCH=1 (scripts/bench.sh) to run the benchmark")
	}
	runs := 5
	var b strings.Builder
	fmt.Fprintf(&b, "\nGroup call: click Join -> connected with every other participant (%d runs, median [min-max] ms), to-device messages sent by the joiner\n", runs)
	for _, n := range []int{2, 3, 4} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var users []*stack.User
		for i := 0; i < n; i++ {
			u, err := hs.Register(ctx, uniqueName("bg"), "BG"+uniqueName(""))
			must(t, err)
			users = append(users, u)
		}
		room, err := hs.CreateRoom(ctx, users[0], users[1:]...)
		must(t, err)
		for _, u := range users[1:] {
			must(t, hs.Join(ctx, u, room))
		}
		cancel()
		var pages []*browser.Page
		for _, u := range users {
			pages = append(pages, openLoggedIn(t, u, room, false, groupCapture...))
		}
		for _, p := range pages {
			must(t, p.WaitEnabled("group-join", 30*time.Second))
		}
		// Everyone but the last is already in the call.
		for _, p := range pages[:n-1] {
			must(t, p.Click("group-join"))
		}
		if n > 2 {
			for _, p := range pages[:n-1] {
				waitTiles(t, p, 45*time.Second, n-2)
			}
		}
		joiner := pages[n-1]
		var xs []float64
		counts := map[string][]float64{}
		for i := 0; i < runs+1; i++ {
			var t0 int64
			must(t, joiner.Eval(fmt.Sprintf("%s(%d)", joinTimer, n-1), &t0))
			deadline := time.Now().Add(45 * time.Second)
			var done int64
			for done == 0 {
				must(t, joiner.Eval(`window.__gdone`, &done))
				if time.Now().After(deadline) {
					t.Fatalf("%d participants: the joiner never connected with everyone (tiles %v)", n, tiles(t, joiner))
				}
				time.Sleep(20 * time.Millisecond)
			}
			var td map[string]float64
			must(t, joiner.Eval(`window.__td`, &td))
			if i > 0 {
				xs = append(xs, float64(done-t0))
				total := 0.0
				for typ, c := range td {
					counts[typ] = append(counts[typ], c)
					total += c
				}
				counts["total"] = append(counts["total"], total)
			}
			must(t, joiner.Click("group-leave"))
			for _, p := range pages[:n-1] {
				waitTiles(t, p, 30*time.Second, n-2)
			}
			must(t, joiner.WaitEnabled("group-join", 10*time.Second))
		}
		m, lo, hi := stats(xs)
		var parts []string
		for typ, cs := range counts {
			med, _, _ := stats(cs)
			parts = append(parts, fmt.Sprintf("%s=%.0f", strings.TrimPrefix(typ, "m.call."), med))
		}
		sort.Strings(parts)
		fmt.Fprintf(&b, "%d participants: %.0f [%.0f-%.0f]; to-device (median) %s\n", n, m, lo, hi, strings.Join(parts, " "))
		if n == 4 {
			// CPU of one page while all four are in the call (320x240-ish fake camera).
			must(t, joiner.Click("group-join"))
			for _, p := range pages {
				waitTiles(t, p, 45*time.Second, n-1)
			}
			time.Sleep(2 * time.Second) // let encoders settle
			c0, err := pages[0].CPUTime()
			must(t, err)
			const window = 10 * time.Second
			time.Sleep(window)
			c1, err := pages[0].CPUTime()
			must(t, err)
			fmt.Fprintf(&b, "CPU of one page in a 4-person video call: %.0f%% of one core (%d cores here)\n",
				100*float64(c1-c0)/float64(window), runtime.NumCPU())
		}
		for _, p := range pages {
			_ = p.Click("group-leave")
		}
	}
	fmt.Print(b.String())
}
