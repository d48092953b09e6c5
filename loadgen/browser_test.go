package loadgen_test

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/reference-app/web"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// TestBrowser runs the browser kind's tests on one headless Chromium, started for them
// (it takes seconds on a loaded machine) and closed, its processes gone, when they end: the
// package's other tests, timing-sensitive ones among them, never share the machine with it.
func TestBrowser(t *testing.T) {
	c := startChromium(t)
	for _, tc := range []struct {
		name string
		test func(*testing.T, *loadgen.Chromium)
	}{
		{"LandingFigures", testBrowserLandingFigures},
		{"CountsJSErrorsAndFailedSubresources", testBrowserCountsJSErrorsAndFailedSubresources},
		{"StepsJourney", testBrowserStepsJourney},
		{"PoolTooSlowIsInvalid", testBrowserPoolTooSlowIsInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, c) })
	}
}

// startChromium starts headless Chromium for tb and closes it when tb ends; then it checks
// that the browser's process tree is gone. tb skips when no Chromium is installed, unless
// BROWSER_REQUIRED is set (CI installs Chromium and sets it): then it fails.
func startChromium(tb testing.TB) *loadgen.Chromium {
	tb.Helper()
	if _, err := loadgen.FindChromium(); err != nil {
		if os.Getenv("BROWSER_REQUIRED") == "" {
			tb.Skipf("kind browser needs Chromium (set BROWSER_REQUIRED to make this a failure): %v", err)
		}
		tb.Fatalf("BROWSER_REQUIRED is set: %v", err)
	}
	c, err := loadgen.StartChromium()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		tree := processTree(c.PID())
		c.Close()
		if len(tree) == 0 {
			tb.Errorf("no process tree of Chromium (pid %d) to check", c.PID())
		}
		// Close waits for the browser process; its children see it gone and exit. The
		// bound only keeps a stuck process from hanging the test: it is never a figure.
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			left := slices.DeleteFunc(slices.Clone(tree), func(pid int) bool { return len(processTree(pid)) == 0 })
			if len(left) == 0 {
				return
			}
			if time.Now().After(deadline) {
				tb.Errorf("Chromium closed, but processes %v of its tree %v still run", left, tree)
				return
			}
		}
	})
	return c
}

// browserOpts returns run options that use the Chromium c.
func browserOpts(c *loadgen.Chromium, base string) loadgen.Options {
	// Chromium shares the machine's cores with the generator: the generator's own lateness
	// bound is not what these tests are about (PoolTooSlowIsInvalid is the pool's).
	o := loadgen.Options{BaseURL: base, Seed: 1, Transport: scenarios.TransportNetHTTP, MaxLateness: time.Second}
	loadgen.SetChromium(&o, c)
	return o
}

// browserGet is a browser request item. Its timeout, which bounds the wait for a free
// context too, is generous: the tests' navigations wait for each other on a loaded machine.
func browserGet(name, url string, b *scenarios.BrowserOptions) *scenarios.Item {
	if b == nil {
		b = &scenarios.BrowserOptions{Cache: scenarios.BrowserCold, Contexts: 1}
	}
	return &scenarios.Item{Name: name, Weight: 1, Request: &scenarios.Request{Method: "GET", URL: scenarios.MustTemplate(url),
		Kind: scenarios.KindBrowser, Browser: b, Timeout: 30 * time.Second}}
}

// landing serves the academy's landing page and assets (its web handler) with the course
// list its script fetches.
func landing(t testing.TB) string {
	mux := http.NewServeMux()
	mux.Handle("/", web.Handler())
	mux.HandleFunc("/v1/courses", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"courses":[{"title":"Trend basics","description":"The first course"}]}`)
	})
	return serve(t, mux).URL
}

func browserStats(t *testing.T, res *result.Result, name string) *result.BrowserRequestStats {
	t.Helper()
	if res.Browser == nil {
		t.Fatalf("no browser stats")
	}
	for _, r := range res.Browser.Requests {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no browser stats for %s", name)
	return nil
}

// testBrowserLandingFigures: four iterations load the landing page; every figure is
// measured in each, in all and in the window (first: 0 to 400 ms, or steady) of each.
func testBrowserLandingFigures(t *testing.T, c *loadgen.Chromium) {
	base := landing(t)
	spec := constant(4, time.Second, 0, browserGet("landing", "/", nil))
	opts := browserOpts(c, base)
	opts.Windows = []result.Window{{Name: "first", End: 400 * time.Millisecond}}
	res := run(t, spec, opts)
	st := res.Requests[0]
	if st.Count != 4 || st.Errors != 0 {
		t.Fatalf("landing: %d requests, %d errors; statuses %v; generator %+v", st.Count, st.Errors, st.Statuses, res.Generator)
	}
	b := browserStats(t, res, "landing")
	if b.Navigations != 4 || b.JSErrors != 0 || b.FailedResources != 0 {
		t.Errorf("browser stats %+v", b)
	}
	for _, m := range scenarios.BrowserMetrics() {
		f := b.Figure(m)
		if f == nil || f.Histogram() == nil || f.Histogram().TotalCount() != 4 {
			t.Errorf("%s: %+v", m, f)
			continue
		}
		t.Logf("%s p50 %.1fms max %.1fms", m, f.Summary.P50, f.Summary.Max)
	}
	// A navigation is in the windows its request's sample is in (the latency origin: the
	// intended start, moved on by the generator's own lateness): the same count per window,
	// whichever window the machine's speed put each in.
	var navs uint64
	for _, w := range res.Windows {
		var want uint64
		for _, r := range w.Requests {
			if r.Name == "landing" {
				want = r.Count
			}
		}
		var got uint64
		bw := res.Browser.Window(w.Name)
		if bw != nil {
			r := bw.Requests[0]
			got = r.Navigations
			for _, m := range scenarios.BrowserMetrics() {
				if f := r.Figure(m); f == nil || f.Histogram() == nil || f.Histogram().TotalCount() != int64(got) {
					t.Errorf("window %s %s: %+v, want %d values", w.Name, m, f, got)
				}
			}
		}
		if got != want {
			t.Errorf("window %s: %d navigations, but %d landing requests", w.Name, got, want)
		}
		navs += got
		t.Logf("window %s: %d navigations", w.Name, got)
	}
	if len(res.Windows) != 2 || navs != 4 {
		t.Errorf("%d navigations in %d windows (first, steady), want 4", navs, len(res.Windows))
	}
	// Whether one context kept up with 4 pages a second is the machine's speed, not the
	// mechanism: reported, not judged (PoolTooSlowIsInvalid judges the self-check).
	t.Logf("generator valid %v %v; start delay p99 %.0fms", res.Generator.Valid, res.Generator.Reasons, res.Browser.StartDelay.P99)
}

func testBrowserCountsJSErrorsAndFailedSubresources(t *testing.T, c *loadgen.Chromium) {
	mux := http.NewServeMux()
	mux.HandleFunc("/throws", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>t</title><p>hello</p><script>null.boom()</script>`)
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>m</title><p>hello</p><img src="/nope.png">`)
	})
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>o</title><p>hello</p>`)
	})
	base := serve(t, mux).URL
	spec := constant(6, time.Second, 0, browserGet("throws", "/throws", nil), browserGet("missing", "/missing", nil), browserGet("ok", "/ok", nil))
	res := run(t, spec, browserOpts(c, base))
	by := map[string]*result.RequestStats{}
	for _, r := range res.Requests {
		by[r.Name] = r
	}
	for _, n := range []string{"throws", "missing", "ok"} {
		if by[n] == nil || by[n].Count == 0 {
			t.Fatalf("%s not sent: %v", n, names(res.Requests))
		}
	}
	if by["throws"].Errors != by["throws"].Count || by["missing"].Errors != by["missing"].Count || by["ok"].Errors != 0 {
		t.Errorf("errors: throws %d/%d, missing %d/%d, ok %d/%d", by["throws"].Errors, by["throws"].Count,
			by["missing"].Errors, by["missing"].Count, by["ok"].Errors, by["ok"].Count)
	}
	th, mi, ok := browserStats(t, res, "throws"), browserStats(t, res, "missing"), browserStats(t, res, "ok")
	if th.JSErrors != th.Navigations || th.FailedResources != 0 {
		t.Errorf("throws: %+v", th)
	}
	if mi.FailedResources != mi.Navigations || mi.JSErrors != 0 {
		t.Errorf("missing: %+v", mi)
	}
	if ok.JSErrors != 0 || ok.FailedResources != 0 {
		t.Errorf("ok: %+v", ok)
	}
	if res.Browser.JSErrors != th.JSErrors || res.Browser.FailedResources != mi.FailedResources {
		t.Errorf("totals: %+v", res.Browser)
	}
}

func testBrowserStepsJourney(t *testing.T, c *loadgen.Chromium) {
	var mu sync.Mutex
	var seen []string // "email password" of each sign-in
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>in</title><form method=post action=/session>
<input id=email name=email><input id=password name=password type=password><button id=go>Sign in</button></form>`)
	})
	mux.HandleFunc("/session", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.PostFormValue("email")+" "+r.PostFormValue("password"))
		mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "s-" + r.PostFormValue("email"), Path: "/"})
		http.Redirect(w, r, "/course", http.StatusSeeOther)
	})
	mux.HandleFunc("/course", func(w http.ResponseWriter, r *http.Request) {
		if _, err := r.Cookie("sid"); err != nil {
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `<!doctype html><title>course</title><h1>Course</h1><button id=play>Play</button>
<div id=player hidden>playing</div><script>document.getElementById('play').onclick = () => { document.getElementById('player').hidden = false; };</script>`)
	})
	base := serve(t, mux).URL
	spec := constant(2, time.Second, 0, browserGet("journey", "/login", &scenarios.BrowserOptions{Cache: scenarios.BrowserCold, Contexts: 1,
		Steps: []*scenarios.BrowserStep{
			{Action: scenarios.StepType, Selector: "#email", Text: scenarios.MustTemplate("u{{ seq }}@academy.test")},
			{Action: scenarios.StepType, Selector: "#password", Text: scenarios.MustTemplate("secret")},
			{Action: scenarios.StepClick, Selector: "#go"},
			{Action: scenarios.StepWait, Selector: "#play"},
			{Action: scenarios.StepClick, Selector: "#play"},
			{Action: scenarios.StepWait, Selector: "#player"},
		}}))
	res := run(t, spec, browserOpts(c, base))
	st := res.Requests[0]
	if st.Count != 2 || st.Errors != 0 {
		t.Fatalf("journey: %d requests, %d errors, statuses %v", st.Count, st.Errors, st.Statuses)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || !strings.HasSuffix(seen[0], "@academy.test secret") || seen[0] == seen[1] {
		t.Errorf("sign-ins %q", seen)
	}
}

// testBrowserPoolTooSlowIsInvalid: one browser context, pages that answer after 300 ms,
// 20 iterations in a second that each wait at most 2 s for the context. Navigations on one
// context are one after another and each takes at least 300 ms whatever the machine's
// speed, so at most 1 + 2.95 s / 300 ms = 10 start before the last waiting iteration gives
// up: at least 10 find no context, and the run is INVALID by mechanism (a slower machine
// only starts fewer).
func testBrowserPoolTooSlowIsInvalid(t *testing.T, c *loadgen.Chromium) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		fmt.Fprint(w, `<!doctype html><title>slow</title><p>hello</p>`)
	})
	base := serve(t, mux).URL
	item := browserGet("slow", "/", nil) // one context
	item.Request.Timeout = 2 * time.Second
	res := run(t, constant(20, time.Second, 0, item), browserOpts(c, base))
	if res.Generator.Valid {
		t.Fatalf("20 navigations of 300 ms a second on one browser context are valid: %+v, browser %+v", res.Generator, res.Browser)
	}
	var why string
	for _, r := range res.Generator.Reasons {
		if strings.HasPrefix(r, "browser pool: ") && strings.Contains(r, "found no free browser context") {
			why = r
		}
	}
	if why == "" || res.Browser.NotStarted < 10 || res.Browser.Navigations > 10 {
		t.Fatalf("want at least 10 of 20 iterations without a context (%d not started, %d navigations), and a reason among %q",
			res.Browser.NotStarted, res.Browser.Navigations, res.Generator.Reasons)
	}
	t.Logf("reason: %s; start delay p99 %.0fms", why, res.Browser.StartDelay.P99)
}

func TestBrowserWithoutChromiumIsAnError(t *testing.T) {
	t.Setenv(loadgen.ChromiumEnv, "/nonexistent/chromium")
	spec := constant(1, time.Second, 0, browserGet("landing", "/", nil))
	err := loadgen.CheckBrowser(spec)
	if err == nil || !strings.Contains(err.Error(), "needs headless Chromium") || !strings.Contains(err.Error(), "workload[0].request.kind") {
		t.Fatalf("CheckBrowser: %v", err)
	}
	if _, err := loadgen.Run(t.Context(), spec, loadgen.Options{BaseURL: "http://127.0.0.1:1"}); err == nil || !strings.Contains(err.Error(), loadgen.ChromiumEnv) {
		t.Fatalf("Run: %v", err)
	}
	if err := loadgen.CheckBrowser(constant(1, time.Second, 0, get("plain", "/"))); err != nil {
		t.Fatalf("a spec without browser requests: %v", err)
	}
}
