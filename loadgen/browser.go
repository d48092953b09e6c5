package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// BrowserStartBound bounds the p99 of the browser pool's start delay (an iteration's
// intended start to the start of its first navigation): above it the pool of browser
// contexts could not start navigations on schedule and the run is invalid.
const BrowserStartBound = time.Second

// ChromiumEnv names the environment variable that gives the Chromium binary's path.
const ChromiumEnv = "LOADGEN_CHROMIUM"

// chromiumNames are the binaries FindChromium looks for in PATH, in order.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"}

// FindChromium returns the path of the Chromium that browser requests drive: $LOADGEN_CHROMIUM
// when set, else the first of chromium, chromium-browser, google-chrome,
// google-chrome-stable or headless-shell found in PATH.
func FindChromium() (string, error) {
	if p := os.Getenv(ChromiumEnv); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", ChromiumEnv, p, err)
		}
		return p, nil
	}
	for _, n := range chromiumNames {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no Chromium found (looked for %s in PATH; set %s to its path): install it, e.g. apt-get install chromium",
		strings.Join(chromiumNames, ", "), ChromiumEnv)
}

// CheckBrowser reports, as a scenario error at the first browser request's kind:, that
// the spec has browser requests and no Chromium can be found; nil otherwise.
func CheckBrowser(spec *scenarios.Spec) error {
	pos, field, ok := scenarios.BrowserKindPos(spec)
	if !ok {
		return nil
	}
	if _, err := FindChromium(); err != nil {
		return &scenarios.Error{File: spec.Path, Line: pos.Line, Column: pos.Column, Field: field,
			Msg: "kind browser needs headless Chromium: " + err.Error()}
	}
	return nil
}

// DescribeBrowser says, for a dry run's plan, what a run's browser requests need: the
// Chromium found and the pool's size ("" without browser requests).
func DescribeBrowser(spec *scenarios.Spec) string {
	if !scenarios.HasBrowser(spec) {
		return ""
	}
	size := 0
	var caches []string
	for _, r := range spec.Requests() {
		if r.Kind == scenarios.KindBrowser && r.Browser != nil {
			size = max(size, r.Browser.Contexts)
			if !slices.Contains(caches, r.Browser.Cache) {
				caches = append(caches, r.Browser.Cache)
			}
		}
	}
	path, err := FindChromium()
	if err != nil {
		path = "none found"
	}
	return fmt.Sprintf("headless Chromium (%s), a pool of %d browser contexts opened before the load, %s cache",
		path, max(size, 1), strings.Join(caches, " and "))
}

// chromium is a running headless Chromium: one process tree whose browser contexts the
// pools of runs share.
type chromium struct {
	ctx        context.Context // the browser's chromedp context
	stopAlloc  context.CancelFunc
	stopBrowse context.CancelFunc
}

// startChromium starts headless Chromium and waits until it answers.
func startChromium() (*chromium, error) {
	path, err := FindChromium()
	if err != nil {
		return nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in containers and CI: the sandbox needs user namespaces
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-proxy-server", true), // traffic goes to the target, never a proxy
	)
	actx, stopAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, stopBrowse := chromedp.NewContext(actx)
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(bctx) }() // ends when the browser answers or failed to start
	select {
	case err = <-started:
	case <-time.After(60 * time.Second):
		err = errors.New("no answer within 60s")
	}
	if err != nil {
		stopBrowse()
		stopAlloc()
		return nil, fmt.Errorf("start Chromium %s: %w", path, err)
	}
	return &chromium{ctx: bctx, stopAlloc: stopAlloc, stopBrowse: stopBrowse}, nil
}

// pid is the browser process's id (0 when unknown).
func (c *chromium) pid() int {
	if p := chromedp.FromContext(c.ctx).Browser.Process(); p != nil {
		return p.Pid
	}
	return 0
}

// close stops the browser and waits for its process.
func (c *chromium) close() {
	c.stopBrowse()
	c.stopAlloc()
}

// browserPool is the bounded pool of browser contexts of a run: an iteration takes one at
// its first browser request and gives it back when it ends, so the steps of a flow share
// one profile (cookies, cache) as one user's journey.
type browserPool struct {
	e      *engine
	chrome *chromium
	own    bool          // the pool started chrome and stops it
	tokens chan struct{} // one per context that may be open
	size   int

	windows []result.Window // the run's windows and steady (result.WithSteady)

	mu         sync.Mutex
	idle       []*bslot // contexts made and free
	held       map[*scenarios.Iteration]*bslot
	figs       figsByName   // the run's
	winFigs    []figsByName // per window (index of windows)
	in         []int        // scratch: the windows of the navigation being recorded
	startDelay *hdrhistogram.Histogram
	navs       uint64
	notStarted uint64
}

// figsByName are the figures of browser requests by name index.
type figsByName map[int32]*browserFigs

// browserFigs are the figures of one browser request name.
type browserFigs struct {
	hists           [5]*hdrhistogram.Histogram // in scenarios.BrowserMetrics order
	navs            uint64
	jsErrors        uint64
	failedResources uint64
}

// bslot is one browser context (a fresh profile with one tab) and what its listener saw
// since its current navigation started.
type bslot struct {
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	urls     map[network.RequestID]string
	jsErrors []string
	failed   []string
	bytesIn  float64
}

// newBrowserPool makes the pool of a run with browser requests; it starts Chromium unless
// the options bring one.
func newBrowserPool(e *engine) (*browserPool, error) {
	size := 0
	for _, r := range e.spec.Requests() {
		if r.Kind == scenarios.KindBrowser {
			n := scenarios.DefaultBrowserContexts
			if r.Browser != nil && r.Browser.Contexts > 0 {
				n = r.Browser.Contexts
			}
			size = max(size, n)
		}
	}
	p := &browserPool{e: e, size: size, tokens: make(chan struct{}, size), held: map[*scenarios.Iteration]*bslot{},
		figs: figsByName{}, windows: result.WithSteady(e.opts.Windows), startDelay: result.NewHistogram(), chrome: e.opts.chrome}
	for range p.windows {
		p.winFigs = append(p.winFigs, figsByName{})
	}
	for range size {
		p.tokens <- struct{}{}
	}
	if p.chrome == nil {
		c, err := startChromium()
		if err != nil {
			return nil, err
		}
		p.chrome, p.own = c, true
	}
	if err := p.open(); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// open opens the pool's contexts before the run, in parallel, so that the first
// navigations don't wait for them.
func (p *browserPool) open() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	slots := make([]*bslot, p.size)
	errs := make([]error, p.size)
	var wg sync.WaitGroup
	for i := range p.size {
		wg.Go(func() { slots[i], errs[i] = p.newSlot(ctx) }) // ends when the tab opened or ctx ended
	}
	wg.Wait()
	for _, s := range slots {
		if s != nil {
			p.idle = append(p.idle, s)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("open %d browser contexts: %w", p.size, err)
	}
	return nil
}

// close closes the pool's contexts, and Chromium when the pool started it.
func (p *browserPool) close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range idle {
		wg.Go(s.cancel) // closes the tab and disposes of the context; bounded by chromedp's close timeout
	}
	wg.Wait()
	if p.own {
		p.chrome.close()
	}
}

// newSlot opens a browser context with one tab and listens to its events.
func (p *browserPool) newSlot(ctx context.Context) (*bslot, error) {
	bctx, cancel := chromedp.NewContext(p.chrome.ctx, chromedp.WithNewBrowserContext())
	s := &bslot{ctx: bctx, cancel: cancel, urls: map[network.RequestID]string{}}
	done := make(chan error, 1)
	go func() { // ends when the tab is open or failed to open
		done <- chromedp.Listen(bctx, s.event)
	}()
	select {
	case err := <-done:
		if err != nil {
			cancel()
			return nil, err
		}
		return s, nil
	case <-ctx.Done():
		go func() { <-done; cancel() }() // ends when the tab opened or failed
		return nil, ctx.Err()
	}
}

// event records what counts against a navigation: uncaught JavaScript exceptions and
// subresources that failed or answered 4xx/5xx. It runs on the tab's reading goroutine.
func (s *bslot) event(ev any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if ev.Request != nil {
			s.urls[ev.RequestID] = ev.Request.URL
		}
	case *network.EventLoadingFailed:
		if u := s.urls[ev.RequestID]; !ev.Canceled && !ownFavicon(ev.Type, u) {
			s.failed = append(s.failed, u+": "+ev.ErrorText)
		}
	case *network.EventResponseReceived:
		if r := ev.Response; ev.Type != network.ResourceTypeDocument && r != nil && r.Status >= 400 && !ownFavicon(ev.Type, r.URL) {
			s.failed = append(s.failed, fmt.Sprintf("%s: %d", r.URL, r.Status))
		}
	case *network.EventLoadingFinished:
		s.bytesIn += ev.EncodedDataLength
	case *runtime.EventExceptionThrown:
		msg := "exception"
		if d := ev.ExceptionDetails; d != nil {
			msg = d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg = d.Exception.Description
			}
		}
		s.jsErrors = append(s.jsErrors, firstLine(msg))
	}
}

// begin forgets what the slot saw before a navigation.
func (s *bslot) begin() {
	s.mu.Lock()
	clear(s.urls)
	s.jsErrors, s.failed, s.bytesIn = nil, nil, 0
	s.mu.Unlock()
}

// seen returns what the slot saw since begin.
func (s *bslot) seen() (jsErrors, failed []string, bytesIn float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.jsErrors), slices.Clone(s.failed), s.bytesIn
}

// ownFavicon reports whether a request is the browser's own fetch of /favicon.ico (of
// type Other), which a page that declares no icon did not ask for.
func ownFavicon(t network.ResourceType, u string) bool {
	if t != network.ResourceTypeOther {
		return false
	}
	pu, err := url.Parse(u)
	return err == nil && pu.Path == "/favicon.ico"
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// acquire gives the iteration its context: the one it holds, else a free one once the pool
// has one (made on first use), reset for a new visitor: cookies cleared, and the HTTP cache
// too when cache is cold. fresh says the context was taken now.
func (p *browserPool) acquire(ctx context.Context, it *scenarios.Iteration, cache string, wait time.Duration) (s *bslot, fresh bool, err error) {
	p.mu.Lock()
	s = p.held[it]
	p.mu.Unlock()
	if s != nil {
		return s, false, nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-p.tokens:
	case <-t.C:
		return nil, false, fmt.Errorf("no free browser context within %s (a pool of %d)", wait, p.size)
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		s, p.idle = p.idle[n-1], p.idle[:n-1]
	}
	p.mu.Unlock()
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if s == nil {
		if s, err = p.newSlot(wctx); err != nil {
			p.tokens <- struct{}{}
			return nil, false, fmt.Errorf("open a browser context: %w", err)
		}
	}
	err = chromedp.Do(boundTo(s.ctx, wctx), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if cache != scenarios.BrowserWarm {
			if _, err := cdp.Call(ctx, t, network.ClearBrowserCache, cdp.Empty{}); err != nil {
				return err
			}
		}
		_, err := cdp.Call(ctx, t, network.ClearBrowserCookies, cdp.Empty{})
		return err
	}))
	if err != nil {
		s.cancel() // a context that failed its reset is not reused
		p.tokens <- struct{}{}
		return nil, false, fmt.Errorf("reset a browser context: %w", err)
	}
	p.mu.Lock()
	p.held[it] = s
	p.mu.Unlock()
	return s, true, nil
}

// release gives back the context an iteration holds, if any.
func (p *browserPool) release(it *scenarios.Iteration) {
	p.mu.Lock()
	s := p.held[it]
	delete(p.held, it)
	if s != nil {
		p.idle = append(p.idle, s)
	}
	p.mu.Unlock()
	if s != nil {
		p.tokens <- struct{}{}
	}
}

// boundTo returns a chromedp context for the tab of tab that ends when bound ends.
func boundTo(tab, bound context.Context) context.Context {
	ctx, cancel := context.WithCancel(tab)
	stop := context.AfterFunc(bound, cancel)
	context.AfterFunc(ctx, func() { stop() })
	return ctx
}

// pageFigures are the Navigation Timing and paint figures of a page, in milliseconds from
// its time origin (0: not measured); Origin is the time origin in ms since the epoch.
type pageFigures struct {
	Origin float64 `json:"origin"`
	TTFB   float64 `json:"ttfb"`
	DCL    float64 `json:"dcl"`
	Load   float64 `json:"load"`
	FCP    float64 `json:"fcp"`
	LCP    float64 `json:"lcp"`
}

// figuresJS reads the figures once the first contentful paint and a largest contentful
// paint were reported (buffered observers), or after a second without them.
const figuresJS = `new Promise(resolve => {
  let fcp = 0, lcp = 0, done = false;
  const finish = () => {
    if (done) return;
    done = true;
    const n = performance.getEntriesByType('navigation')[0] || {};
    resolve({origin: performance.timeOrigin, ttfb: n.responseStart || 0, dcl: n.domContentLoadedEventEnd || 0,
      load: n.loadEventEnd || 0, fcp, lcp});
  };
  const check = () => { if (fcp > 0 && lcp > 0) setTimeout(finish, 0); };
  try {
    new PerformanceObserver(l => { for (const e of l.getEntries()) if (e.name === 'first-contentful-paint') fcp = e.startTime; check(); })
      .observe({type: 'paint', buffered: true});
    new PerformanceObserver(l => { const es = l.getEntries(); if (es.length) lcp = es[es.length - 1].startTime; check(); })
      .observe({type: 'largest-contentful-paint', buffered: true});
  } catch (e) {}
  setTimeout(finish, 1000);
})`

// values returns the figures from the latency origin (originWall), in scenarios.BrowserMetrics
// order; a figure not measured is negative.
func (f *pageFigures) values(originWall time.Time) [5]time.Duration {
	base := time.UnixMicro(int64(f.Origin * 1000)).Sub(originWall)
	var out [5]time.Duration
	for i, ms := range []float64{f.TTFB, f.DCL, f.Load, f.FCP, f.LCP} {
		out[i] = -1
		if ms > 0 {
			out[i] = max(base+time.Duration(ms*float64(time.Millisecond)), 0)
		}
	}
	return out
}

// doBrowser loads a page in the iteration's browser context, measures it, and runs the
// request's steps. One sample: latency from the latency origin and service time from the
// navigation's start to the end of the last step. A status not expected, a failed step,
// a JavaScript exception or a failed subresource makes it an error.
func (e *engine) doBrowser(k kindRun) bool {
	p, r := e.browser, k.st.req
	opts := r.Browser
	if opts == nil {
		opts = &scenarios.BrowserOptions{Cache: scenarios.BrowserCold}
	}
	s := sample{name: k.st.idx, at: k.origin, method: http.MethodGet}
	if e.opts.Results != nil {
		s.url = k.req.URL.String()
	}
	timeout := e.timeoutOf(r)
	slot, fresh, err := p.acquire(k.ctx, k.it, opts.Cache, timeout)
	now := time.Since(e.start)
	if err != nil {
		if k.ctx.Err() != nil {
			e.cancelled.Add(1)
			return false
		}
		p.mu.Lock()
		p.notStarted++
		p.mu.Unlock()
		s.out, s.err = outTimeout, err.Error()
		s.latency, s.service = now-k.origin, now-k.sendAt
		e.samples <- s
		return false
	}
	p.mu.Lock()
	p.navs++
	if fresh {
		_ = p.startDelay.RecordValue(result.Micros(now - k.origin))
	}
	p.mu.Unlock()
	e.sentBy[k.st.idx].Add(1)
	sendAt := now
	slot.begin()
	rctx, cancel := context.WithTimeout(k.ctx, timeout)
	defer cancel()
	tab := boundTo(slot.ctx, rctx)
	var (
		status int
		figs   pageFigures
	)
	err = chromedp.Do(tab, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		hdr := network.Headers{}
		for name, v := range k.req.Header {
			if len(v) > 0 {
				hdr[name] = v[0]
			}
		}
		_, err := cdp.Call(ctx, t, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: hdr})
		if err != nil {
			return err
		}
		resp, err := chromedp.NavigateResponse(k.req.URL.String())(ctx, t)
		if err != nil {
			return err
		}
		if resp != nil {
			status = int(resp.Status)
		}
		figs, err = chromedp.Evaluate[pageFigures](figuresJS, chromedp.EvalAwaitPromise)(ctx, t)
		return err
	}))
	if err == nil && statusExpected(r.Expect, status) {
		for i, st := range opts.Steps {
			if err = e.browserStep(tab, k.it, st); err != nil {
				err = fmt.Errorf("step %d (%s %s): %w", i+1, st.Action, st.Selector, err)
				break
			}
		}
	}
	end := time.Since(e.start)
	s.latency, s.service, s.code = end-k.origin, end-sendAt, uint16(status)
	jsErrs, failed, bytesIn := slot.seen()
	s.bytesIn = uint64(bytesIn)
	if err == nil && status != 0 {
		p.record(k.st.idx, k.origin, figs.values(e.start.Add(k.origin)), len(jsErrs), len(failed))
	} else {
		p.record(k.st.idx, k.origin, [5]time.Duration{-1, -1, -1, -1, -1}, len(jsErrs), len(failed))
	}
	switch {
	case err != nil:
		if k.ctx.Err() != nil {
			e.cancelled.Add(1)
			return false
		}
		s.out, s.err = outTransport, "browser: "+err.Error()
		if rctx.Err() == context.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded) {
			s.out, s.err = outTimeout, fmt.Sprintf("browser: not done within %s: %v", timeout, err)
		}
	case !statusExpected(r.Expect, status):
		s.out, s.err = outStatus, fmt.Sprintf("browser: document answered %d", status)
	case len(jsErrs) > 0:
		s.out, s.err = outStatus, fmt.Sprintf("browser: %d JavaScript error(s), first: %s", len(jsErrs), jsErrs[0])
	case len(failed) > 0:
		s.out, s.err = outStatus, fmt.Sprintf("browser: %d failed subresource(s), first: %s", len(failed), failed[0])
	}
	if s.out != outOK {
		e.samples <- s
		return false
	}
	checkMaxLatency(&s, r.Expect, "browser request")
	e.samples <- s
	return true
}

// browserStep runs one step of a browser request in its tab.
func (e *engine) browserStep(tab context.Context, it *scenarios.Iteration, st *scenarios.BrowserStep) error {
	sel := chromedp.CSS(st.Selector)
	switch st.Action {
	case scenarios.StepClick:
		return chromedp.Do(tab, chromedp.Click(sel))
	case scenarios.StepType:
		text, err := st.Text.Execute(it)
		if err != nil {
			return err
		}
		return chromedp.Do(tab, chromedp.SendKeys(sel, text))
	case scenarios.StepWait:
		return chromedp.Do(tab, chromedp.WaitVisible(sel))
	}
	return fmt.Errorf("unknown step %q", st.Action)
}

// record adds one navigation's figures (negative: not measured) and error counts, in all
// and in the windows that at, the request's latency origin, falls in (as its sample).
func (p *browserPool) record(name int32, at time.Duration, v [5]time.Duration, jsErrors, failed int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.figs.add(name, v, jsErrors, failed)
	p.in = result.AppendWindowsAt(p.in[:0], p.windows, at)
	for _, i := range p.in {
		p.winFigs[i].add(name, v, jsErrors, failed)
	}
}

func (m figsByName) add(name int32, v [5]time.Duration, jsErrors, failed int) {
	f := m[name]
	if f == nil {
		f = &browserFigs{}
		for i := range f.hists {
			f.hists[i] = result.NewHistogram()
		}
		m[name] = f
	}
	f.navs++
	f.jsErrors += uint64(jsErrors)
	f.failedResources += uint64(failed)
	for i, d := range v {
		if d >= 0 {
			_ = f.hists[i].RecordValue(result.Micros(d))
		}
	}
}

// stats returns the pool's figures; final ones carry the histograms' encodings, snapshots
// copies of the histograms.
func (p *browserPool) stats(final bool) *result.BrowserStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	bs := &result.BrowserStats{Contexts: p.size, Navigations: p.navs, NotStarted: p.notStarted,
		StartDelay: result.Summarize(p.startDelay)}
	if final {
		bs.StartDelayHDR, _ = result.EncodeHistogram(p.startDelay) // V2 encoding of a valid histogram does not fail
	}
	bs.Requests = p.figs.stats(p.e.names, final)
	for _, r := range bs.Requests {
		bs.JSErrors += r.JSErrors
		bs.FailedResources += r.FailedResources
	}
	for i, w := range p.windows {
		if len(p.winFigs[i]) > 0 {
			bs.Windows = append(bs.Windows, &result.BrowserWindowStats{Name: w.Name, Requests: p.winFigs[i].stats(p.e.names, final)})
		}
	}
	return bs
}

// stats returns the figures per request name (names by index), sorted by name; final ones
// carry the live histograms and their encodings, others copies.
func (m figsByName) stats(names []string, final bool) []*result.BrowserRequestStats {
	var out []*result.BrowserRequestStats
	metrics := scenarios.BrowserMetrics()
	for idx, f := range m {
		rs := &result.BrowserRequestStats{Name: names[idx], Navigations: f.navs, JSErrors: f.jsErrors, FailedResources: f.failedResources}
		for i, h := range f.hists {
			if h.TotalCount() == 0 {
				continue
			}
			fig := &result.BrowserFigure{Metric: metrics[i], Summary: result.Summarize(h)}
			if final {
				fig.Hist = h
				fig.HDR, _ = result.EncodeHistogram(h)
			} else {
				fig.Hist = hdrhistogram.Import(h.Export())
			}
			rs.Figures = append(rs.Figures, fig)
		}
		out = append(out, rs)
	}
	slices.SortFunc(out, func(a, b *result.BrowserRequestStats) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// judge makes the run invalid when the pool could not start navigations on schedule.
func (p *browserPool) judge(h *result.Health) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.notStarted > 0 {
		h.Valid = false
		h.Reasons = append(h.Reasons, fmt.Sprintf(
			"browser pool: %d iterations found no free browser context within their timeout (a pool of %d): raise contexts: or lower the rate",
			p.notStarted, p.size))
	}
	if p.e.pacer == nil || p.startDelay.TotalCount() == 0 {
		return // the closed model has no schedule to hold
	}
	if d := time.Duration(p.startDelay.ValueAtQuantile(99)) * time.Microsecond; d > BrowserStartBound {
		h.Valid = false
		h.Reasons = append(h.Reasons, fmt.Sprintf(
			"browser pool: navigation start delay p99 %s exceeds the %s bound: %d browser contexts could not start navigations on schedule; raise contexts: or lower the rate",
			d.Round(time.Millisecond), BrowserStartBound, p.size))
	}
}
