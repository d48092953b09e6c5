package loadgen_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// academy is a tiny login → profile service: POST /login sets a session cookie and returns a
// token; GET /me wants both, and they must belong together.
func academy(t *testing.T) (url string, logins *atomic.Int64) {
	logins = new(atomic.Int64)
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			n := logins.Add(1)
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: fmt.Sprint(n), Path: "/"})
			fmt.Fprintf(w, `{"token":"t%d"}`, n)
		case "/me":
			c, err := r.Cookie("sid")
			if err != nil || r.Header.Get("Authorization") != "Bearer t"+c.Value {
				http.Error(w, `{"error":"unauthorized"}`, 401)
				return
			}
			fmt.Fprintf(w, `{"id":%s,"role":"student"}`, c.Value)
		default:
			http.NotFound(w, r)
		}
	}))
	return srv.URL, logins
}

func TestFlowCapturesCookiesAndSkips(t *testing.T) {
	url, logins := academy(t)
	login := func() *scenarios.Request {
		return &scenarios.Request{Method: "POST", URL: scenarios.MustTemplate("/login")}
	}
	me := &scenarios.Request{Method: "GET", URL: scenarios.MustTemplate("/me"),
		Headers: map[string]*scenarios.Template{"Authorization": scenarios.MustTemplate("Bearer {{ token }}")},
		Expect:  &scenarios.Expect{JSON: []*scenarios.JSONCheck{{Path: "$.role", Equals: ptr("student")}}}}
	wrongRole := &scenarios.Request{Method: "GET", URL: scenarios.MustTemplate("/me"),
		Headers: map[string]*scenarios.Template{"Authorization": scenarios.MustTemplate("Bearer {{ token }}")},
		Expect:  &scenarios.Expect{JSON: []*scenarios.JSONCheck{{Path: "$.role", Equals: ptr("admin")}}}}
	spec := constant(100, time.Second, 0,
		&scenarios.Item{Name: "profile", Weight: 1, Flow: []*scenarios.Step{
			{Name: "login", Request: login(), Capture: []*scenarios.Capture{{Name: "token", From: "$.token"}}},
			{Name: "me", Request: me},
		}},
		&scenarios.Item{Name: "broken", Weight: 1, Flow: []*scenarios.Step{
			{Name: "login-broken", Request: login(), Capture: []*scenarios.Capture{{Name: "token", From: "$.nope"}}},
			{Name: "me-never", Request: me},
			{Name: "me-never-2", Request: me},
		}},
		&scenarios.Item{Name: "checked", Weight: 1, Flow: []*scenarios.Step{
			{Name: "login-2", Request: login(), Capture: []*scenarios.Capture{{Name: "token", From: "$.token"}}},
			{Name: "me-admin", Request: wrongRole},
		}},
	)
	res := run(t, spec, loadgen.Options{BaseURL: url, Seed: 3})
	by := map[string]*result.RequestStats{}
	for _, r := range res.Requests {
		by[r.Name] = r
	}
	for _, n := range []string{"login", "me", "login-broken", "me-never", "me-never-2", "login-2", "me-admin"} {
		if by[n] == nil {
			t.Fatalf("no stats for %s: %v", n, names(res.Requests))
		}
	}
	if by["login"].Count == 0 || by["me"].Count != by["login"].Count || by["me"].Errors != 0 || by["me"].Checks != by["me"].Count || by["me"].CheckFailures != 0 {
		t.Errorf("profile flow: login %+v, me %+v", by["login"], by["me"])
	}
	b := by["login-broken"]
	if b.Count == 0 || b.Errors != 0 || b.CheckFailures != b.Count {
		t.Errorf("a missing capture must count as a check failure: %+v", b)
	}
	if n := by["me-never"]; n.Count != 0 || n.Skipped != b.Count || by["me-never-2"].Skipped != b.Count {
		t.Errorf("steps after a failed capture: %+v %+v", n, by["me-never-2"])
	}
	if a := by["me-admin"]; a.Count == 0 || a.Errors != 0 || a.CheckFailures != a.Count || a.Statuses["200"] != a.Count {
		t.Errorf("a failed JSON check must be a check failure, not an error: %+v", a)
	}
	if got := uint64(logins.Load()); got != by["login"].Count+b.Count+by["login-2"].Count {
		t.Errorf("server saw %d logins", got)
	}
	if res.Total.Skipped != 2*b.Count {
		t.Errorf("total skipped %d, want %d", res.Total.Skipped, 2*b.Count)
	}
}

func ptr[T any](v T) *T { return &v }

func TestTimeoutsAndTransportErrors(t *testing.T) {
	// The server answers after 2 s, or when the client gives up: a request that ends sooner
	// ended by its 50 ms timeout.
	srv := serve(t, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	slow := get("slow", "/")
	slow.Request.Timeout = 50 * time.Millisecond
	dead := get("dead", "http://127.0.0.1:1/") // nothing listens on port 1
	spec := constant(20, time.Second, 0, slow, dead)
	res := run(t, spec, loadgen.Options{BaseURL: srv.URL})
	by := map[string]*result.RequestStats{}
	for _, r := range res.Requests {
		by[r.Name] = r
	}
	s, d := by["slow"], by["dead"]
	if s.Count == 0 || s.Statuses["timeout"] != s.Count || s.Errors != s.Count {
		t.Errorf("slow: %+v", s)
	}
	if s.ServiceTime.P50 < 45 || s.ServiceTime.Max >= 2000 {
		t.Errorf("timeouts should take about 50ms, less than the server's 2 s: %+v", s.ServiceTime)
	}
	if d.Count == 0 || d.Statuses["error"] != d.Count || d.Errors != d.Count {
		t.Errorf("dead: %+v", d)
	}
	if res.Total.Errors != 20 {
		t.Errorf("total errors %d, want 20", res.Total.Errors)
	}
}

func TestWindows(t *testing.T) {
	srv := serve(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	res := run(t, constant(100, 2*time.Second, 0, get("a", "/a"), get("b", "/b")), loadgen.Options{BaseURL: srv.URL,
		Windows: []result.Window{{Name: "slow-db", Start: 500 * time.Millisecond, End: 1500 * time.Millisecond}}})
	if len(res.Windows) != 2 || res.Windows[0].Name != "slow-db" || res.Windows[1].Name != "steady" {
		t.Fatalf("windows: %+v", res.Windows)
	}
	fault, steady := res.Windows[0], res.Windows[1]
	// 100 iterations are due in the window. A request's window is that of its latency origin,
	// its intended time moved on by the generator's own send lateness, so one due less than
	// that lateness before a boundary (one every 10 ms) crosses it: on a loaded machine a few may.
	cross := uint64(res.Generator.LatenessMaxMS / 10)
	if fault.Total.Count+steady.Total.Count != 200 || fault.Total.Count+cross < 100 || fault.Total.Count > 100+cross {
		t.Errorf("window counts: fault %d steady %d, want 100 and 100 (± %d: send lateness up to %.1fms)",
			fault.Total.Count, steady.Total.Count, cross, res.Generator.LatenessMaxMS)
	}
	if uint64(fault.Total.LatencyHist.TotalCount()) != fault.Total.Count || len(fault.Requests) != 2 || fault.Requests[0].Count+fault.Requests[1].Count != fault.Total.Count {
		t.Errorf("fault window requests: %+v", fault.Requests)
	}
	if fault.Start != 0.5 || fault.End != 1.5 {
		t.Errorf("fault window span %v..%v", fault.Start, fault.End)
	}
}

func TestEveryAbortsTheRun(t *testing.T) {
	srv := serve(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	var calls int
	every := func(elapsed time.Duration, snap *result.Result) (bool, string) {
		calls++
		if snap.Total.LatencyHist == nil || snap.Total.Count == 0 {
			t.Errorf("snapshot without data at %v", elapsed)
		}
		return calls == 2, "latency p(99) < 1ms failed"
	}
	start := time.Now()
	res := run(t, constant(50, 10*time.Second, 0, get("a", "/")), loadgen.Options{BaseURL: srv.URL, Every: every})
	// Aborted at the second evaluation, the run ends before its planned 10 s (how soon is
	// the machine's; the count below says how much of the plan was sent).
	if took := time.Since(start); took >= 10*time.Second {
		t.Fatalf("aborted run took %v, its full length", took)
	}
	if res.Interrupted || res.StopReason != "latency p(99) < 1ms failed" || len(res.Events) != 1 || res.Events[0].Kind != "abort" {
		t.Fatalf("interrupted %v, stop reason %q, events %+v", res.Interrupted, res.StopReason, res.Events)
	}
	if res.Total.Count == 0 || res.Total.Count > 200 || calls != 2 {
		t.Fatalf("count %d after abort, %d calls", res.Total.Count, calls)
	}
}

func TestProgress(t *testing.T) {
	srv := serve(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	var tty, plain bytes.Buffer
	run(t, constant(50, 1200*time.Millisecond, 0, get("a", "/")), loadgen.Options{BaseURL: srv.URL, Progress: &tty, TTY: true})
	run(t, constant(50, 500*time.Millisecond, 0, get("a", "/")), loadgen.Options{BaseURL: srv.URL, Progress: &plain})
	out := tty.String()
	if strings.Count(out, "\r") < 3 || !strings.HasSuffix(out, "\n") || !strings.Contains(out, "/1.2s  rate ") || !strings.Contains(out, "in-flight ") {
		t.Errorf("tty progress: %q", out)
	}
	if p := plain.String(); strings.Contains(p, "\r") || strings.Count(p, "\n") != 1 || !strings.Contains(p, "errors 0.0%") {
		t.Errorf("plain progress: %q", p)
	}
}

func TestConstantVUs(t *testing.T) {
	var inFlight, maxSeen atomic.Int64
	srv := serve(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := maxSeen.Load(); n > m && !maxSeen.CompareAndSwap(m, n); m = maxSeen.Load() {
		}
		time.Sleep(10 * time.Millisecond)
	}))
	spec := &scenarios.Spec{Name: "vus", Load: scenarios.Load{Executor: "constant-vus", VUs: 3, Duration: 500 * time.Millisecond},
		Workload: []*scenarios.Item{get("a", "/")}}
	res := run(t, spec, loadgen.Options{BaseURL: srv.URL})
	g := res.Generator
	if res.Total.Count < 30 || res.Total.Count > 160 || g.Planned != g.Sent || g.Sent != res.Total.Count || !g.Valid || maxSeen.Load() > 3 {
		t.Fatalf("count %d, max concurrency %d, generator %+v", res.Total.Count, maxSeen.Load(), g)
	}
}

func TestRunRejectsUnrunnableSpecs(t *testing.T) {
	ctx := context.Background()
	for name, spec := range map[string]*scenarios.Spec{
		"nil":          nil,
		"empty":        constant(10, time.Second, 0),
		"bad executor": {Load: scenarios.Load{Executor: "shared-iterations"}, Workload: []*scenarios.Item{get("a", "/")}},
		"vus":          {Load: scenarios.Load{Executor: "constant-vus"}, Workload: []*scenarios.Item{get("a", "/")}},
		"no url":       constant(10, time.Second, 0, &scenarios.Item{Name: "a", Request: &scenarios.Request{}}),
	} {
		if _, err := loadgen.Run(ctx, spec, loadgen.Options{BaseURL: "http://127.0.0.1:1"}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := loadgen.Run(ctx, constant(10, time.Second, 0, get("a", "/")), loadgen.Options{}); err == nil {
		t.Error("no base URL: no error")
	}
}
