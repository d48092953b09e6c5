package loadgen_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/scenarios"
)

// transportPrefix names, in a test's name, the transport its runs use (see run).
const transportPrefix = "transport="

// transportOf returns the transport a "transport=NAME" element of t's name names, or "".
func transportOf(t testing.TB) string {
	for _, part := range strings.Split(t.Name(), "/") {
		if tr, ok := strings.CutPrefix(part, transportPrefix); ok {
			return tr
		}
	}
	return ""
}

// Every truth test runs on both transports: as written, with the default transport (auto),
// which sends their plain HTTP requests with the fast client (TestDefaultTransportIsFast),
// and here once more with net/http. Each reuses its own servers and short durations.
func TestTruthOnNetHTTP(t *testing.T) {
	t.Run(transportPrefix+scenarios.TransportNetHTTP, func(t *testing.T) {
		for name, test := range map[string]func(*testing.T){
			"KnownLatencyDistribution":      TestKnownLatencyDistribution,
			"StallShowsInLatency":           TestStallShowsInLatency,
			"GeneratorThatCannotKeepUp":     TestGeneratorThatCannotKeepUpIsInvalid,
			"SlowGeneratorIsInvalid":        TestSlowGeneratorIsInvalid,
			"FlowCapturesCookiesAndSkips":   TestFlowCapturesCookiesAndSkips,
			"TimeoutsAndTransportErrors":    TestTimeoutsAndTransportErrors,
			"OwnLatenessIsNotTargetLatency": TestOwnLatenessIsNotTargetLatency,
			"InterruptStalledRequests":      TestInterruptStalledRequests,
		} {
			t.Run(name, test)
		}
	})
}

// The truth tests' plain requests go by the fast client unless told otherwise, and the
// result says which client sent each request.
func TestDefaultTransportIsFast(t *testing.T) {
	srv := serve(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	spec := constant(20, 200*time.Millisecond, 0, get("x", "/"))
	for tr, want := range map[string]string{"": "fast", scenarios.TransportFast: "fast", scenarios.TransportNetHTTP: "nethttp"} {
		res := run(t, spec, loadgen.Options{BaseURL: srv.URL, Transport: tr})
		if got := stats(t, res, "x"); got.Transport != want || got.Count != 4 || got.Errors != 0 {
			t.Errorf("transport %q: request sent by %q, %d responses, %d errors; want %s, 4, 0", tr, got.Transport, got.Count, got.Errors, want)
		}
	}
}

// auto sends what the fast client can serve with it and the rest with net/http; fast
// refuses a request it cannot serve instead of falling back.
func TestTransportChoice(t *testing.T) {
	spec := load(t, "http://127.0.0.1:1", `workload:
  - {name: plain, request: {url: /}}
  - {name: landing, request: {kind: page, url: /}}
  - {name: secure, request: {url: "https://127.0.0.1:2/"}}
  - {name: rendered, request: {url: "{{ seq }}"}}
load: {executor: constant-arrival-rate, rate: 1, duration: 1s}
`)
	got, err := loadgen.Transports(spec, "http://127.0.0.1:1", "")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, c := range got {
		b.WriteString(c.Request + "=" + c.Transport + " ")
	}
	if want := "plain=fast landing=nethttp secure=nethttp rendered=nethttp "; b.String() != want {
		t.Errorf("auto: %s, want %s", b.String(), want)
	}
	if got, _ := loadgen.Transports(spec, "https://127.0.0.1:1", ""); got[0].Transport != "nethttp" {
		t.Errorf("auto against an https target sends %s with %s, want nethttp", got[0].Request, got[0].Transport)
	}
	_, err = loadgen.Run(context.Background(), spec, loadgen.Options{Transport: scenarios.TransportFast})
	var es scenarios.Errors
	if !errors.As(err, &es) || len(es) != 1 || !strings.Contains(es[0].Error(), "workload[1].request.kind: transport fast cannot send a page request") {
		t.Fatalf("fast with a page request: %v", err)
	}
}

// The generator's own send lateness (here 60 ms injected before every dispatch while
// workers are free) is its own figure and not the target's latency: the server answers at
// once, so the latency is its service time. Before, the latency counted from the intended
// time and read at least 60 ms.
func TestOwnLatenessIsNotTargetLatency(t *testing.T) {
	srv := serve(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	opts := loadgen.Options{BaseURL: srv.URL}
	loadgen.SetSlowDispatch(&opts, 60*time.Millisecond)
	res := run(t, constant(10, time.Second, 0, get("x", "/")), opts)
	g, lat := res.Generator, res.Total.Latency
	if g.GeneratorLatenessP99MS < 55 || g.LatenessP99MS < 55 {
		t.Fatalf("own lateness p99 %.1fms, lateness p99 %.1fms: want the injected 60ms", g.GeneratorLatenessP99MS, g.LatenessP99MS)
	}
	// Compared with the service time of the same requests, not with a figure of the
	// machine's: the injected 60 ms would add 60 ms to every latency.
	if svc := res.Total.ServiceTime; lat.Max >= svc.Max+30 || lat.P50 >= svc.P50+30 {
		t.Errorf("latency p50 %.1fms max %.1fms, service p50 %.1fms max %.1fms: the generator's own 60ms is in the latency", lat.P50, lat.Max, svc.P50, svc.Max)
	}
	if g.Valid {
		t.Errorf("a generator 60ms late on its own must be invalid: %+v", g)
	}
}

// An interrupt ends requests in flight at once on both transports (fasthttp takes no context:
// its connections are closed), and they are counted as cancelled, not as errors.
func TestInterruptStalledRequests(t *testing.T) {
	release := make(chan struct{})
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	res, err := loadgen.Run(ctx, constant(50, 10*time.Second, 0, get("x", "/")), loadgen.Options{BaseURL: srv.URL, Transport: transportOf(t)})
	if err != nil {
		t.Fatal(err)
	}
	// Interrupted after 300 ms; stalled requests that were not ended would keep the run
	// until they time out, 10 s after they were sent.
	if took := time.Since(start); took >= 10*time.Second {
		t.Fatalf("the interrupted run returned after %v (requests time out after 10s)", took)
	}
	if !res.Interrupted || res.Total.Count != 0 || res.Generator.Cancelled == 0 || res.Generator.Cancelled != res.Generator.Sent {
		t.Fatalf("interrupted %v, counted %d, generator %+v: want every sent request cancelled, none counted", res.Interrupted, res.Total.Count, res.Generator)
	}
}

// Both transports write the same vegeta results (method, URL, bytes in and out, code,
// error), verify certificates the same way, send cookies of a flow across transports
// (a fast login, then a page on net/http), and render requests alike.
func TestTransportsAgree(t *testing.T) {
	var bodies atomic.Int64
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies.Add(int64(len(b)))
		switch r.URL.Path {
		case "/login":
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "s1", Path: "/"})
			w.Header().Set("X-Token", "t-"+r.Header.Get("X-Seq"))
			w.Write([]byte(`{"ok":true}`))
		case "/page":
			if c, err := r.Cookie("sid"); err != nil || c.Value != "s1" || r.Header.Get("X-Token") == "" {
				http.Error(w, "no session", http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`<html><link rel="stylesheet" href="/a.css"></html>`))
		case "/a.css":
			w.Write([]byte("body{}"))
		default:
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes fail on purpose
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	untrusted := load(t, tlsSrv.URL, `workload: [{name: untrusted, request: {url: /}}]
load: {executor: constant-arrival-rate, rate: 20, duration: 200ms}
`)
	spec := load(t, srv.URL, `workload:
  - name: journey
    flow:
      - name: login
        request: {method: POST, url: /login, body: "hello", headers: {X-Seq: "{{ seq }}"}, expect: {json: [{path: $.ok, equals: "true"}]}}
        capture: {token: "header:X-Token"}
      - name: page
        request: {kind: page, url: /page, headers: {X-Token: "{{ token }}"}}
      - name: teapot
        request: {url: /teapot}
load: {executor: constant-arrival-rate, rate: 20, duration: 500ms}
`)
	type row struct {
		Method, URL    string
		Code           uint16
		BytesIn, Out   uint64
		Error, Request string
	}
	results := map[string][]row{}
	for _, tr := range []string{scenarios.TransportNetHTTP, scenarios.TransportFast} {
		var buf bytes.Buffer
		res := run(t, spec, loadgen.Options{BaseURL: srv.URL, Results: &buf, Transport: autoOr(tr)})
		if got := stats(t, res, "login").Transport; got != tr {
			t.Errorf("login sent by %s, want %s", got, tr)
		}
		for _, name := range []string{"login", "page", "teapot"} {
			if st := stats(t, res, name); st.Count == 0 || (name != "teapot" && st.Errors != 0) || (name == "teapot" && st.Statuses["418"] != st.Count) {
				t.Errorf("%s: %s: count %d errors %d statuses %v", tr, name, st.Count, st.Errors, st.Statuses)
			}
		}
		u := run(t, untrusted, loadgen.Options{BaseURL: tlsSrv.URL, Transport: tr})
		if st := stats(t, u, "untrusted"); st.Count == 0 || st.Statuses["error"] != st.Count {
			t.Errorf("%s: a server with an unknown certificate: statuses %v, want errors", tr, st.Statuses)
		}
		dec := vegeta.NewDecoder(&buf)
		for {
			var r vegeta.Result
			if err := dec.Decode(&r); err != nil {
				break
			}
			e := ""
			if r.Error != "" {
				e = "error"
			}
			results[tr] = append(results[tr], row{r.Method, r.URL, r.Code, r.BytesIn, r.BytesOut, e, ""})
		}
	}
	a, b := results[scenarios.TransportNetHTTP], results[scenarios.TransportFast]
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("%d results with net/http, %d with the fast transport", len(a), len(b))
	}
	count := func(rs []row) map[row]int {
		m := map[row]int{}
		for _, r := range rs {
			m[r]++
		}
		return m
	}
	ca, cb := count(a), count(b)
	for r, n := range ca {
		if cb[r] != n {
			t.Errorf("result %+v: %d with net/http, %d with the fast transport", r, n, cb[r])
		}
	}
	if bodies.Load() == 0 {
		t.Error("no request body arrived")
	}
}

// autoOr returns auto for fast: the spec has a page step, which auto sends with net/http.
func autoOr(tr string) string {
	if tr == scenarios.TransportFast {
		return scenarios.TransportAuto
	}
	return tr
}

// TestLiteralRequestSentAsRendered: the fast transport sends a literal request (the same
// for every iteration) from copies of one rendered once, each sent again and again; what
// arrives is what the request rendered for each iteration sends: method, URL, Host,
// headers and body (a copy that kept anything of an earlier send fails it).
func TestLiteralRequestSentAsRendered(t *testing.T) {
	var mu sync.Mutex
	got := map[bool][]string{} // by literal
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seq := r.Header.Get("X-Seq")
		r.Header.Del("X-Seq")
		dump, err := httputil.DumpRequest(r, true)
		if err != nil {
			t.Error(err)
		}
		mu.Lock()
		got[seq == ""] = append(got[seq == ""], string(dump))
		mu.Unlock()
	}))
	const item = `{name: %s, request: {method: PUT, url: "/lit?q=1", body: "hello", headers: {Host: example.test, X-A: b%s}}}`
	for _, extra := range []string{"", `, X-Seq: "{{ seq }}"`} {
		spec := load(t, srv.URL, fmt.Sprintf("workload: ["+item+"]\nload: {executor: constant-arrival-rate, rate: 50, duration: 200ms}\n", "put", extra))
		res := run(t, spec, loadgen.Options{BaseURL: srv.URL, Transport: scenarios.TransportFast})
		if st := stats(t, res, "put"); st.Count == 0 || st.Errors != 0 || st.Transport != scenarios.TransportFast {
			t.Fatalf("%q: count %d, errors %d, transport %s", extra, st.Count, st.Errors, st.Transport)
		}
	}
	literal, rendered := got[true], got[false]
	if len(literal) == 0 || len(rendered) == 0 {
		t.Fatalf("%d literal and %d rendered requests arrived", len(literal), len(rendered))
	}
	for _, l := range literal {
		if l != rendered[0] {
			t.Errorf("a literal request arrived as\n%s\nthe rendered one as\n%s", l, rendered[0])
		}
	}
	if !strings.Contains(rendered[0], "Host: example.test") || !strings.HasSuffix(rendered[0], "hello") {
		t.Errorf("the request lacks its Host header or body:\n%s", rendered[0])
	}
}
