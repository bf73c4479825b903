//go:build !js

// Package browser drives Ringo pages in Debian's headless Chromium the way a person
// would, through the automation contract only (data-testid attributes), and reads what
// the browser itself reports (getStats, video elements). It never reads Ringo's logs.
package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian's chromium package puts the real binary.
const ChromiumPath = "/usr/lib/chromium/chromium"

// Browser is one headless Chromium; each Page runs in its own browser context (its own
// storage, like a separate device).
type Browser struct {
	ctx context.Context
}

// Launch checks that Chromium is installed. Each Page then runs in its own Chromium
// process with its own profile (like a separate device): new-headless Chromium 156
// refuses tabs in extra browser contexts ("no browser is open").
func Launch(ctx context.Context) (*Browser, error) {
	if _, err := os.Stat(ChromiumPath); err != nil {
		return nil, fmt.Errorf("chromium is not installed at %s (scripts/setup.sh installs it): %w", ChromiumPath, err)
	}
	return &Browser{ctx: ctx}, nil
}

// allocatorOptions give Chromium fake media devices and no traffic off the machine
// (ENVIRONMENT.md, "Headless Chromium").
func allocatorOptions() []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns,Translate"),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(640, 480),
	}
}

// Close is kept for symmetry; pages close their own processes.
func (b *Browser) Close() {}

// Page is one tab in its own browser context.
type Page struct {
	Name   string
	frame  string // CSS selector of an iframe whose document this view drives ("" = the page)
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	logs   []string
}

// pcTracker keeps every RTCPeerConnection the page makes so the test can ask the browser
// for getStats: the page's own objects, wrapped before any page script runs.
const pcTracker = `(() => {
  const Orig = window.RTCPeerConnection;
  if (!Orig || Orig.__ringoTracked) return;
  window.__pcs = [];
  function Tracked(...args) { const pc = new Orig(...args); window.__pcs.push(pc); return pc; }
  Tracked.prototype = Orig.prototype;
  Object.setPrototypeOf(Tracked, Orig);
  Tracked.__ringoTracked = true;
  window.RTCPeerConnection = Tracked;
})();`

// NewPage opens a fresh browser context (separate storage) with the tracker installed.
func (b *Browser) NewPage(name string) (*Page, error) { return b.NewPageWithFlags(name, nil) }

// NewPageWithFlags is NewPage with extra Chromium flags. The widget host page uses
// disable-web-security so the test can reach into Ringo's cross-origin iframe the way a
// person would (clicking its buttons); postMessage origins are unaffected.
func (b *Browser) NewPageWithFlags(name string, flags map[string]any) (*Page, error) {
	opts := allocatorOptions()
	for k, v := range flags {
		opts = append(opts, chromedp.Flag(k, v))
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(b.ctx, opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	cancel := func() { cancelCtx(); cancelAlloc() }
	p := &Page{Name: name, ctx: ctx, cancel: cancel}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, strings.Trim(string(a.Value), `"`))
			}
			p.addLog(string(e.Type) + ": " + strings.Join(parts, " "))
		case *runtime.EventExceptionThrown:
			p.addLog("exception: " + e.ExceptionDetails.Error())
		}
	})
	err := chromedp.Run(ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := page.AddScriptToEvaluateOnNewDocument(pcTracker).Do(ctx)
		return err
	}))
	if err != nil {
		cancel()
		return nil, err
	}
	return p, nil
}

func (p *Page) addLog(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.logs) < 500 {
		p.logs = append(p.logs, line)
	}
}

// Logs returns the page's console output so far (for failure messages only; tests
// never decide anything from it).
func (p *Page) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.logs, "\n")
}

// WaitEnabled waits until the element with the test id is visible and not disabled.
func (p *Page) WaitEnabled(testID string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var ok bool
		err := p.Eval(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && !e.disabled && !e.hidden && !e.closest('[hidden]'); })()`, sel(testID)), &ok)
		if err == nil && ok {
			return nil
		}
		if time.Now().After(deadline) {
			errText, _ := p.ErrorText()
			return fmt.Errorf("%s: %s not enabled: %w (error shown: %q)", p.Name, testID, ErrTimeout, errText)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Text is the element's text content.
func (p *Page) Text(testID string) (string, error) {
	var v string
	err := p.Eval(fmt.Sprintf(`(document.querySelector(%q)?.textContent) ?? ""`, sel(testID)), &v)
	return v, err
}

// Close closes the tab and its context.
func (p *Page) Close() { p.cancel() }

func (p *Page) run(timeout time.Duration, actions ...chromedp.Action) error {
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	return chromedp.Run(ctx, actions...)
}

func sel(testID string) string { return `[data-testid="` + testID + `"]` }

// Open navigates to url and waits for the document.
func (p *Page) Open(url string) error {
	return p.run(30*time.Second, chromedp.Navigate(url))
}

// Reload reloads the page, as the browser's reload button does (pagehide fires).
func (p *Page) Reload() error {
	return p.run(30*time.Second, chromedp.Reload())
}

// InFrame returns a view of the same tab that drives the document inside the iframe
// matched by selector (needs a page opened with disable-web-security when the iframe is
// cross-origin).
func (p *Page) InFrame(selector string) *Page {
	return &Page{Name: p.Name + " (frame)", frame: selector, ctx: p.ctx, cancel: func() {}, logs: nil}
}

// Click clicks the visible element with the test id.
func (p *Page) Click(testID string) error {
	if p.frame != "" {
		if err := p.WaitEnabled(testID, 20*time.Second); err != nil {
			return err
		}
		return p.Eval(fmt.Sprintf(`(() => { document.querySelector(%q).click(); return true; })()`, sel(testID)), nil)
	}
	if err := p.run(20*time.Second, chromedp.WaitVisible(sel(testID), chromedp.ByQuery), chromedp.Click(sel(testID), chromedp.ByQuery)); err != nil {
		return fmt.Errorf("%s: click %s: %w", p.Name, testID, err)
	}
	return nil
}

// Fill replaces the value of the input with the test id.
func (p *Page) Fill(testID, value string) error {
	if err := p.run(20*time.Second, chromedp.WaitVisible(sel(testID), chromedp.ByQuery), chromedp.SetValue(sel(testID), value, chromedp.ByQuery)); err != nil {
		return fmt.Errorf("%s: fill %s: %w", p.Name, testID, err)
	}
	return nil
}

// Eval runs JavaScript (awaiting a promise result) and decodes the result into out.
func (p *Page) Eval(js string, out any) error {
	if p.frame != "" {
		// Run the expression with the iframe's document and window in scope.
		js = fmt.Sprintf(`((f) => ((document, window) => (%s))(f.contentDocument, f.contentWindow))(document.querySelector(%q))`, js, p.frame)
	}
	return p.run(20*time.Second, chromedp.Evaluate(js, out, func(ep *runtime.EvaluateParams) *runtime.EvaluateParams {
		return ep.WithAwaitPromise(true)
	}))
}

// Attr reads an attribute of the element with the test id ("" when absent).
func (p *Page) Attr(testID, name string) (string, error) {
	var v string
	err := p.Eval(fmt.Sprintf(`(document.querySelector(%q)?.getAttribute(%q)) ?? ""`, sel(testID), name), &v)
	return v, err
}

// ErrTimeout is returned when a wait runs out.
var ErrTimeout = errors.New("timed out")

// WaitAttr waits until the element's attribute has one of the values.
func (p *Page) WaitAttr(testID, name string, timeout time.Duration, values ...string) (string, error) {
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		v, err := p.Attr(testID, name)
		if err == nil {
			last = v
			for _, want := range values {
				if v == want {
					return v, nil
				}
			}
		}
		if time.Now().After(deadline) {
			errText, _ := p.ErrorText()
			return last, fmt.Errorf("%s: %s[%s] is %q, want %s: %w (error shown: %q)", p.Name, testID, name, last, strings.Join(values, "|"), ErrTimeout, errText)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// WaitState waits for call-state's data-state.
func (p *Page) WaitState(timeout time.Duration, states ...string) (string, error) {
	return p.WaitAttr("call-state", "data-state", timeout, states...)
}

// ErrorText is the text of the visible error element, if any.
func (p *Page) ErrorText() (string, error) {
	var v string
	err := p.Eval(`(() => { const e = document.querySelector('[data-testid="error"]'); return e && !e.hidden ? e.textContent.trim() : ""; })()`, &v)
	return v, err
}

// Stats is what the browser's getStats says about the page's live peer connection.
type Stats struct {
	InboundAudioBytes   float64 `json:"inAudio"`
	InboundVideoBytes   float64 `json:"inVideo"`
	OutboundBytes       float64 `json:"out"`
	LocalCandidateType  string  `json:"localType"`
	RemoteCandidateType string  `json:"remoteType"`
	PeerConnections     int     `json:"pcs"`
}

// getStatsJS sums inbound bytes by kind over the newest open peer connection and reads
// the selected candidate pair's candidate types.
const getStatsJS = `(async () => {
  const pcs = (window.__pcs || []).filter(pc => pc.connectionState !== 'closed');
  const out = {inAudio: 0, inVideo: 0, out: 0, localType: '', remoteType: '', pcs: pcs.length};
  const pc = pcs[pcs.length - 1];
  if (!pc) return out;
  const stats = await pc.getStats();
  let pairId = '';
  stats.forEach(s => {
    if (s.type === 'inbound-rtp') { if (s.kind === 'audio') out.inAudio += s.bytesReceived || 0; else out.inVideo += s.bytesReceived || 0; }
    if (s.type === 'outbound-rtp') out.out += s.bytesSent || 0;
    if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  });
  if (!pairId) stats.forEach(s => { if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pairId = s.id; });
  const pair = pairId && stats.get(pairId);
  if (pair) {
    const l = stats.get(pair.localCandidateId), r = stats.get(pair.remoteCandidateId);
    out.localType = (l && l.candidateType) || ''; out.remoteType = (r && r.candidateType) || '';
  }
  return out;
})()`

// PeerStats lists inbound bytes for every open peer connection of the page (group calls).
func (p *Page) PeerStats() ([]Stats, error) {
	var out []Stats
	err := p.Eval(`(async () => {
  const pcs = (window.__pcs || []).filter(pc => pc.connectionState !== 'closed');
  const out = [];
  for (const pc of pcs) {
    const s = {inAudio: 0, inVideo: 0, out: 0, localType: '', remoteType: '', pcs: pcs.length};
    (await pc.getStats()).forEach(r => {
      if (r.type === 'inbound-rtp') { if (r.kind === 'audio') s.inAudio += r.bytesReceived || 0; else s.inVideo += r.bytesReceived || 0; }
      if (r.type === 'outbound-rtp') s.out += r.bytesSent || 0;
    });
    out.push(s);
  }
  return out;
})()`, &out)
	return out, err
}

// Stats asks the browser.
func (p *Page) Stats() (Stats, error) {
	var s Stats
	err := p.Eval(getStatsJS, &s)
	return s, err
}

// RemoteVideoSize returns the remote video element's videoWidth and videoHeight.
func (p *Page) RemoteVideoSize() (int, int, error) {
	var v [2]int
	err := p.Eval(`(() => { const v = document.querySelector('[data-testid="remote-video"]'); return v ? [v.videoWidth, v.videoHeight] : [0, 0]; })()`, &v)
	return v[0], v[1], err
}

// Screenshot saves a PNG of the page (for looking at failures).
func (p *Page) Screenshot(path string) error {
	var buf []byte
	if err := p.run(20*time.Second, chromedp.FullScreenshot(&buf, 80)); err != nil {
		return err
	}
	return os.WriteFile(path, buf, 0o644)
}

// CPUTime is the CPU time used so far by the page's Chromium (the browser process and
// all its children: renderer, GPU, network, audio), from /proc. Linux only.
func (p *Page) CPUTime() (time.Duration, error) {
	c := chromedp.FromContext(p.ctx)
	if c == nil || c.Browser == nil || c.Browser.Process() == nil {
		return 0, errors.New("browser: no Chromium process for this page")
	}
	var total int64
	var walk func(pid int) error
	walk = func(pid int) error {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return err
		}
		// Fields after the command name (which may hold spaces) start after the last ')'.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) < 13 {
			return fmt.Errorf("browser: short /proc/%d/stat", pid)
		}
		var ut, st int64
		fmt.Sscan(f[11], &ut) // utime (field 14)
		fmt.Sscan(f[12], &st) // stime (field 15)
		total += ut + st
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		for _, t := range tasks {
			kids, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
			for _, k := range strings.Fields(string(kids)) {
				var kid int
				fmt.Sscan(k, &kid)
				_ = walk(kid) // a child may exit meanwhile
			}
		}
		return nil
	}
	if err := walk(c.Browser.Process().Pid); err != nil {
		return 0, err
	}
	return time.Duration(total) * time.Second / 100, nil // USER_HZ is 100 on Linux
}
