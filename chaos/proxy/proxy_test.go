package proxy_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendtactics/loadlab/chaos/proxy"
	"github.com/trendtactics/loadlab/internal/testutil"
)

func TestForwardsDataBothWaysAndHalfCloses(t *testing.T) {
	p := startProxy(t, []string{echoServer(t, "")})
	c := dial(t, p.Addr())

	want := make([]byte, 1<<20)
	_, _ = rand.Read(want)
	go func() {
		_, _ = c.Write(want)
		_ = c.CloseWrite() // the echo server sees EOF only if the proxy passes the half-close on
	}()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read through proxy: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("echo through proxy: got %d bytes, want the %d sent", len(got), len(want))
	}
}

func TestLatencyAppliesWhileActiveOnOpenConnections(t *testing.T) {
	srv := httpServer(t, "ok")
	p := startProxy(t, []string{srv.Listener.Addr().String()})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	t.Cleanup(client.CloseIdleConnections)
	url := "http://" + p.Addr() + "/"

	var reused int
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		if i.Reused {
			reused++
		}
	}}
	roundTrip := func() time.Duration {
		t.Helper()
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", url, nil)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return time.Since(start)
	}
	fastest := func(n int) time.Duration {
		best := time.Hour
		for range n {
			best = min(best, roundTrip())
		}
		return best
	}
	const latency = 50 * time.Millisecond
	if d := fastest(3); d >= latency {
		t.Fatalf("round trip before the toxic took %v, want < %v", d, latency)
	}
	name := mustAdd(t, p, proxy.ToxicSpec{Kind: proxy.KindLatency, Latency: latency})
	for range 3 {
		if d := roundTrip(); d < latency {
			t.Fatalf("round trip with a %v latency toxic took %v", latency, d)
		}
	}
	mustRemove(t, p, name)
	if d := fastest(5); d >= latency {
		t.Fatalf("round trip after removing the toxic took %v, want < %v", d, latency)
	}
	if reused != 10 {
		t.Fatalf("%d of 11 requests reused the keep-alive connection, want 10: the test must act on an open connection", reused)
	}
}

func TestLatencyInBothDirectionsAddsTwice(t *testing.T) {
	p := startProxy(t, []string{echoServer(t, "")})
	c := dial(t, p.Addr())
	mustAdd(t, p, proxy.ToxicSpec{Kind: proxy.KindLatency, Direction: proxy.Both, Latency: 40 * time.Millisecond})
	start := time.Now()
	if got, err := roundTrip(c, "ping", 5*time.Second); err != nil || got != "ping" {
		t.Fatalf("round trip: %q, %v", got, err)
	}
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Fatalf("round trip with 40ms each way took %v, want >= 80ms", d)
	}
}

func TestBandwidthLimitsThroughputUntilRemoved(t *testing.T) {
	const size, rate = 50_000, 100_000 // half a second of data
	p := startProxy(t, []string{sendServer(t, size)})
	name := mustAdd(t, p, proxy.ToxicSpec{Kind: proxy.KindBandwidth, Rate: rate})

	fetch := func() (int, time.Duration) {
		c := dial(t, p.Addr())
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		start := time.Now()
		b, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		return len(b), time.Since(start)
	}
	n, d := fetch()
	if n != size {
		t.Fatalf("got %d bytes, want %d", n, size)
	}
	// Pieces of rate/10 bytes: the fifth and last piece leaves 0.4 s after the first.
	if d < 350*time.Millisecond {
		t.Fatalf("%d bytes at %d B/s took %v, want >= 350ms", size, rate, d)
	}
	mustRemove(t, p, name)
	best := time.Hour
	for range 3 {
		n, d := fetch()
		if n != size {
			t.Fatalf("got %d bytes, want %d", n, size)
		}
		best = min(best, d)
	}
	if best >= 350*time.Millisecond {
		t.Fatalf("without the toxic the transfer still took %v", best)
	}
}

func TestBandwidthRemovalReleasesAnOpenTransfer(t *testing.T) {
	const size = 1 << 20 // 10 s at the limit
	p := startProxy(t, []string{sendServer(t, size)})
	name := mustAdd(t, p, proxy.ToxicSpec{Kind: proxy.KindBandwidth, Rate: 100_000})
	c := dial(t, p.Addr())
	time.AfterFunc(200*time.Millisecond, func() { _ = p.RemoveToxic(name) })
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("transfer did not speed up when the toxic was removed: %v after %d bytes", err, len(b))
	}
	if !bytes.Equal(b, pattern(size)) {
		t.Fatalf("got %d bytes, corrupted or short of %d", len(b), size)
	}
}

func TestTimeoutBlackholesAndReleasesWhenRemoved(t *testing.T) {
	p := startProxy(t, []string{echoServer(t, "")})
	c := dial(t, p.Addr())
	if got, err := roundTrip(c, "one", 2*time.Second); err != nil || got != "one" {
		t.Fatalf("before the toxic: %q, %v", got, err)
	}
	name := mustAdd(t, p, proxy.ToxicSpec{Kind: proxy.KindTimeout, Direction: proxy.Both})
	if got, err := roundTrip(c, "two", 200*time.Millisecond); !isTimeout(err) {
		t.Fatalf("with a timeout toxic the echo answered %q, %v; want a read timeout", got, err)
	}
	mustRemove(t, p, name)
	if got, err := readN(c, 3, 2*time.Second); err != nil || got != "two" {
		t.Fatalf("held data after removal: %q, %v; want \"two\"", got, err)
	}
	if got, err := roundTrip(c, "three", 2*time.Second); err != nil || got != "three" {
		t.Fatalf("after removal: %q, %v", got, err)
	}
}

func TestTimeoutClosesAfterTimeout(t *testing.T) {
	p := startProxy(t, []string{echoServer(t, "")})
	mustAdd(t, p, proxy.ToxicSpec{Kind: proxy.KindTimeout, Timeout: 100 * time.Millisecond})
	start := time.Now() // before the dial: the toxic counts from the accept
	c := dial(t, p.Addr())
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, err := c.Read(make([]byte, 1))
	if isTimeout(err) || err == nil {
		t.Fatalf("read: %v; want the proxy to close the connection", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("connection closed after %v, want >= 100ms", d)
	}
}

func TestResetGivesECONNRESET(t *testing.T) {
	for _, dir := range []proxy.Direction{proxy.Upstream, proxy.Downstream} {
		t.Run(string(dir), func(t *testing.T) {
			p := startProxy(t, []string{echoServer(t, "")})
			name := mustAdd(t, p, proxy.ToxicSpec{Kind: proxy.KindReset, Direction: dir})
			c := dial(t, p.Addr())
			_, err := roundTrip(c, "ping", 3*time.Second)
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("round trip through a reset toxic: %v, want ECONNRESET", err)
			}
			mustRemove(t, p, name)
			if got, err := roundTrip(dial(t, p.Addr()), "ping", 2*time.Second); err != nil || got != "ping" {
				t.Fatalf("after removal: %q, %v", got, err)
			}
		})
	}
}

func TestResetFailsHTTPRequests(t *testing.T) {
	srv := httpServer(t, "ok")
	p := startProxy(t, []string{srv.Listener.Addr().String()})
	client := &http.Client{Transport: &http.Transport{}, Timeout: 3 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	mustAdd(t, p, proxy.ToxicSpec{Kind: proxy.KindReset, Direction: proxy.Downstream})
	_, err := get(client, "http://"+p.Addr()+"/")
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("GET through a downstream reset toxic: %v, want ECONNRESET", err)
	}
}

func TestLimitDataCutsAtBytes(t *testing.T) {
	p := startProxy(t, []string{sendServer(t, 10_000)})
	name := mustAdd(t, p, proxy.ToxicSpec{Kind: proxy.KindLimitData, Bytes: 1000})
	read := func() []byte {
		c := dial(t, p.Addr())
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		b, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if b := read(); !bytes.Equal(b, pattern(1000)) {
		t.Fatalf("with limit-data 1000 the client got %d bytes, want the first 1000", len(b))
	}
	mustRemove(t, p, name)
	if b := read(); len(b) != 10_000 {
		t.Fatalf("after removal the client got %d bytes, want 10000", len(b))
	}
}

func TestDownRefusesAndClosesUntilRemoved(t *testing.T) {
	p := startProxy(t, []string{echoServer(t, "")})
	open := dial(t, p.Addr())
	if got, err := roundTrip(open, "ping", 2*time.Second); err != nil || got != "ping" {
		t.Fatalf("before the toxic: %q, %v", got, err)
	}
	addr := p.Addr()
	name := mustAdd(t, p, proxy.ToxicSpec{Kind: proxy.KindDown})
	_ = open.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := open.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("open connection while down: read %v, want it closed", err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		if c != nil {
			_ = c.Close()
		}
		t.Fatalf("dial while down: %v, want ECONNREFUSED", err)
	}
	if got := p.Toxics(); len(got) != 1 || got[0].Direction != proxy.Both {
		t.Fatalf("Toxics() = %+v", got)
	}
	mustRemove(t, p, name)
	if p.Addr() != addr {
		t.Fatalf("address changed from %s to %s", addr, p.Addr())
	}
	if got, err := roundTrip(dial(t, addr), "back", 2*time.Second); err != nil || got != "back" {
		t.Fatalf("after removal: %q, %v", got, err)
	}
}

func TestSlowCloseDelaysTheClose(t *testing.T) {
	p := startProxy(t, []string{sendServer(t, 3)})
	// The clock starts before the dial: the server writes and closes as soon as the
	// connection is made, so the proxy's delay may start before the dial returns (timed
	// from after it, a 200 ms delay once read 198 ms).
	fetch := func() (string, time.Duration) {
		start := time.Now()
		c := dial(t, p.Addr())
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		b, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		return string(b), time.Since(start)
	}
	const delay = 200 * time.Millisecond
	name := mustAdd(t, p, proxy.ToxicSpec{Kind: proxy.KindSlowClose, Delay: delay})
	if got, d := fetch(); got != "abc" || d < delay {
		t.Fatalf("with slow-close %v: got %q and EOF after %v", delay, got, d)
	}
	mustRemove(t, p, name)
	best := time.Hour
	for range 3 {
		got, d := fetch()
		if got != "abc" {
			t.Fatalf("got %q", got)
		}
		best = min(best, d)
	}
	if best >= delay {
		t.Fatalf("after removal the close still took %v", best)
	}
}

// affected opens n connections one after another and reports which a toxic with toxicity
// 0.5 cut (limit-data 0 upstream: the echo never comes back).
func affected(t *testing.T, seed uint64, n int) []bool {
	p := startProxy(t, []string{echoServer(t, "")}, proxy.WithSeed(seed))
	mustAdd(t, p, proxy.ToxicSpec{Kind: proxy.KindLimitData, Direction: proxy.Upstream, Toxicity: 0.5})
	defer p.Close() // before the next call starts its own proxy
	hit := make([]bool, n)
	for i := range hit {
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		got, err := roundTrip(c, "x", 3*time.Second)
		_ = c.Close()
		switch {
		case err == nil && got == "x":
		case err != nil && !isTimeout(err):
			hit[i] = true
		default:
			t.Fatalf("connection %d: %q, %v", i, got, err)
		}
	}
	return hit
}

func TestToxicityCoversAShareDeterministically(t *testing.T) {
	const n = 200
	a := affected(t, 7, n)
	count := 0
	for _, h := range a {
		if h {
			count++
		}
	}
	if count < 70 || count > 130 {
		t.Fatalf("toxicity 0.5 covered %d of %d connections", count, n)
	}
	if b := affected(t, 7, n); !slices.Equal(a, b) {
		t.Fatal("the same seed covered different connections")
	}
	if c := affected(t, 8, n); slices.Equal(a, c) {
		t.Fatal("another seed covered the very same connections")
	}
}

func TestDirectionMatters(t *testing.T) {
	for _, tc := range []struct {
		dir                 proxy.Direction
		wantGreet, wantEcho bool
	}{
		{proxy.Upstream, true, false},
		{proxy.Downstream, false, false},
		{"", false, false}, // the default is downstream
	} {
		t.Run(string(tc.dir), func(t *testing.T) {
			p := startProxy(t, []string{echoServer(t, "hi")})
			mustAdd(t, p, proxy.ToxicSpec{Kind: proxy.KindTimeout, Direction: tc.dir})
			c := dial(t, p.Addr())
			got, err := readN(c, 2, 300*time.Millisecond)
			if gotGreet := err == nil && got == "hi"; gotGreet != tc.wantGreet {
				t.Fatalf("greeting from the server: %q, %v; want it: %v", got, err, tc.wantGreet)
			}
			if !tc.wantGreet {
				return
			}
			if _, err := roundTrip(c, "ping", 300*time.Millisecond); !isTimeout(err) {
				t.Fatalf("echo through an upstream timeout: %v, want a timeout", err)
			}
		})
	}
}

func TestPartialDownClosesCoveredConnectionsOnly(t *testing.T) {
	p := startProxy(t, []string{echoServer(t, "")})
	mustAdd(t, p, proxy.ToxicSpec{Kind: proxy.KindDown, Toxicity: 0.5})
	var ok, closed int
	for range 40 {
		c, err := net.Dial("tcp", p.Addr()) // the listener stays open
		if err != nil {
			t.Fatal(err)
		}
		if _, err := roundTrip(c, "x", 2*time.Second); err == nil {
			ok++
		} else if !isTimeout(err) {
			closed++
		}
		_ = c.Close()
	}
	if ok == 0 || closed == 0 || ok+closed != 40 {
		t.Fatalf("partial down: %d connections worked, %d closed, of 40", ok, closed)
	}
}

func TestBalancesRoundRobinAndFailsOver(t *testing.T) {
	srvs := []*httptest.Server{httpServer(t, "a"), httpServer(t, "b"), httpServer(t, "c")}
	var addrs []string
	for _, s := range srvs {
		addrs = append(addrs, s.Listener.Addr().String())
	}
	reg := prometheus.NewRegistry()
	p := startProxy(t, addrs, proxy.WithRegisterer(reg))
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 3 * time.Second}
	count := func(n int) map[string]int {
		seen := map[string]int{}
		for range n {
			body, err := get(client, "http://"+p.Addr()+"/")
			if err != nil {
				t.Fatal(err)
			}
			seen[body]++
		}
		return seen
	}
	if got := count(30); got["a"] != 10 || got["b"] != 10 || got["c"] != 10 {
		t.Fatalf("30 connections over 3 upstreams: %v, want 10 each", got)
	}
	srvs[1].Close() // a killed replica
	got := count(30)
	if got["b"] != 0 || got["a"]+got["c"] != 30 || got["a"] < 10 || got["c"] < 10 {
		t.Fatalf("with b down: %v, want all 30 on a and c", got)
	}
	if v := testutil.Value(t, reg, "loadlab_proxy_dial_errors_total", map[string]string{"proxy": "test"}); v < 1 {
		t.Fatalf("dial errors = %v, want some for the dead upstream", v)
	}
}

func TestSetUpstreams(t *testing.T) {
	a, b := httpServer(t, "a"), httpServer(t, "b")
	p := startProxy(t, []string{a.Listener.Addr().String()})
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 3 * time.Second}
	if got, err := get(client, "http://"+p.Addr()+"/"); err != nil || got != "a" {
		t.Fatalf("before: %q, %v", got, err)
	}
	if err := p.SetUpstreams([]string{b.Listener.Addr().String()}); err != nil {
		t.Fatal(err)
	}
	if got, err := get(client, "http://"+p.Addr()+"/"); err != nil || got != "b" {
		t.Fatalf("after SetUpstreams: %q, %v", got, err)
	}
	if err := p.SetUpstreams(nil); err == nil {
		t.Fatal("SetUpstreams(nil) succeeded")
	}
	if got := p.Upstreams(); len(got) != 1 || got[0] != b.Listener.Addr().String() {
		t.Fatalf("Upstreams() = %v", got)
	}
}

func TestConcurrentToxicChangesKeepDataIntact(t *testing.T) {
	p := startProxy(t, []string{echoServer(t, "")})
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", p.Addr())
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for i := 0; ctx.Err() == nil; i++ {
				msg := strings.Repeat(string(rune('a'+w)), 1+(i*977)%20000)
				got, err := roundTrip(c, msg, 5*time.Second)
				if err != nil || got != msg {
					errs <- errors.New("echo corrupted or failed under changing toxics")
					return
				}
			}
		}()
	}
	specs := []proxy.ToxicSpec{
		{Kind: proxy.KindLatency, Latency: time.Millisecond, Jitter: time.Millisecond, Direction: proxy.Both},
		{Kind: proxy.KindBandwidth, Rate: 50 << 20, Direction: proxy.Upstream},
		{Kind: proxy.KindSlowClose, Delay: time.Millisecond},
		{Kind: proxy.KindTimeout, Direction: proxy.Downstream},
		{Kind: proxy.KindLatency, Latency: 2 * time.Millisecond, Toxicity: 0.5},
	}
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; ctx.Err() == nil; i++ {
				name, err := p.AddToxic(specs[i%len(specs)])
				if err != nil {
					errs <- err
					return
				}
				_ = p.Toxics()
				time.Sleep(time.Millisecond)
				// The other goroutine's RemoveAll may have taken it already.
				if err := p.RemoveToxic(name); err != nil && !strings.Contains(err.Error(), "no toxic named") {
					errs <- err
					return
				}
				if i%7 == 0 {
					_ = p.RemoveAll()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	echo := echoServer(t, "")
	p := startProxy(t, []string{echo}, proxy.WithRegisterer(reg))
	q, err := proxy.New("other", "", []string{echo}, proxy.WithRegisterer(reg))
	if err != nil {
		t.Fatalf("second proxy on the same registry: %v", err)
	}
	_ = q.Close()

	var conns []net.Conn
	for range 3 {
		c := dial(t, p.Addr())
		conns = append(conns, c)
		if _, err := roundTrip(c, "hello", 2*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	mustAdd(t, p, proxy.ToxicSpec{Kind: proxy.KindLatency, Latency: time.Millisecond})
	c := dial(t, p.Addr())
	conns = append(conns, c)
	if _, err := roundTrip(c, "slow", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		_ = c.Close()
	}
	waitFor(t, "all connections to end", func() bool {
		return testutil.Value(t, reg, "loadlab_proxy_active_connections", map[string]string{"proxy": "test"}) == 0
	})
	lbl := map[string]string{"proxy": "test"}
	if v := testutil.Value(t, reg, "loadlab_proxy_connections_total", lbl); v != 4 {
		t.Errorf("connections_total = %v, want 4", v)
	}
	if v := testutil.Value(t, reg, "loadlab_proxy_active_toxics", lbl); v != 1 {
		t.Errorf("active_toxics = %v, want 1", v)
	}
	for _, dir := range []string{"upstream", "downstream"} {
		if v := testutil.Value(t, reg, "loadlab_proxy_bytes_total", map[string]string{"proxy": "test", "direction": dir}); v != 19 {
			t.Errorf("bytes_total{direction=%s} = %v, want 19", dir, v)
		}
	}
	if err := p.RemoveAll(); err != nil {
		t.Fatal(err)
	}
	if v := testutil.Value(t, reg, "loadlab_proxy_active_toxics", lbl); v != 0 {
		t.Errorf("active_toxics after RemoveAll = %v, want 0", v)
	}
}

func TestCloseEndsStalledConnections(t *testing.T) {
	checkNoLeaks(t)
	p, err := proxy.New("test", "", []string{echoServer(t, "")})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, p, proxy.ToxicSpec{Kind: proxy.KindTimeout, Direction: proxy.Both})
	mustAdd(t, p, proxy.ToxicSpec{Kind: proxy.KindLatency, Latency: time.Hour, Direction: proxy.Upstream})
	for range 5 {
		c := dial(t, p.Addr())
		_, _ = c.Write(pattern(200_000)) // fills the queue: the reader blocks too
	}
	time.Sleep(50 * time.Millisecond)
	done := make(chan struct{})
	go func() {
		_ = p.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("Close did not return:\n%s", proxyGoroutines())
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := p.Start(context.Background()); err == nil {
		t.Fatal("Start after Close succeeded")
	}
	if _, err := p.AddToxic(proxy.ToxicSpec{Kind: proxy.KindDown}); err == nil {
		t.Fatal("AddToxic after Close succeeded")
	}
}

func TestContextEndStopsTheProxy(t *testing.T) {
	checkNoLeaks(t)
	p, err := proxy.New("test", "", []string{echoServer(t, "")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c := dial(t, p.Addr())
	if _, err := roundTrip(c, "x", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	cancel()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("read after the context ended: %v, want the connection closed", err)
	}
	_ = p.Close()
}

func TestUnreachableUpstreamClosesClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	_ = ln.Close()
	p := startProxy(t, []string{dead})
	c := dial(t, p.Addr())
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("read with no upstream: %v, want the connection closed", err)
	}
}

func TestToxicNames(t *testing.T) {
	p := startProxy(t, []string{echoServer(t, "")})
	a := mustAdd(t, p, proxy.ToxicSpec{Kind: proxy.KindLatency, Latency: time.Millisecond})
	b := mustAdd(t, p, proxy.ToxicSpec{Name: "slow-db", Kind: proxy.KindLatency, Latency: time.Millisecond})
	if a != "latency-1" || b != "slow-db" {
		t.Fatalf("names %q, %q", a, b)
	}
	if _, err := p.AddToxic(proxy.ToxicSpec{Name: "slow-db", Kind: proxy.KindDown}); err == nil || !strings.Contains(err.Error(), `"slow-db" exists`) {
		t.Fatalf("duplicate name: %v", err)
	}
	if err := p.RemoveToxic("nope"); err == nil || !strings.Contains(err.Error(), `no toxic named "nope"`) {
		t.Fatalf("remove unknown: %v", err)
	}
	got := p.Toxics()
	if len(got) != 2 || got[0].Name != a || got[1].Name != b || got[0].Toxicity != 1 || got[0].Direction != proxy.Downstream {
		t.Fatalf("Toxics() = %+v", got)
	}
}

func TestTimeoutRemovedBeforeItFiresKeepsTheConnection(t *testing.T) {
	p := startProxy(t, []string{echoServer(t, "")})
	name := mustAdd(t, p, proxy.ToxicSpec{Kind: proxy.KindTimeout, Timeout: 150 * time.Millisecond})
	c := dial(t, p.Addr())
	mustRemove(t, p, name)
	time.Sleep(250 * time.Millisecond)
	if got, err := roundTrip(c, "alive", 2*time.Second); err != nil || got != "alive" {
		t.Fatalf("after the removed timeout would have fired: %q, %v", got, err)
	}
}

func TestDownBeforeStart(t *testing.T) {
	checkNoLeaks(t)
	p, err := proxy.New("test", "", []string{echoServer(t, "")})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	name := mustAdd(t, p, proxy.ToxicSpec{Kind: proxy.KindDown})
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", p.Addr(), time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		if c != nil {
			_ = c.Close()
		}
		t.Fatalf("dial a proxy started down: %v, want ECONNREFUSED", err)
	}
	mustRemove(t, p, name)
	if got, err := roundTrip(dial(t, p.Addr()), "up", 2*time.Second); err != nil || got != "up" {
		t.Fatalf("after removal: %q, %v", got, err)
	}
}

func TestLatencyJitterVariesTheDelay(t *testing.T) {
	p := startProxy(t, []string{echoServer(t, "")})
	mustAdd(t, p, proxy.ToxicSpec{Kind: proxy.KindLatency, Latency: 10 * time.Millisecond, Jitter: 10 * time.Millisecond})
	c := dial(t, p.Addr())
	fastest, slowest := time.Hour, time.Duration(0)
	for range 30 {
		start := time.Now()
		if _, err := roundTrip(c, "j", 2*time.Second); err != nil {
			t.Fatal(err)
		}
		d := time.Since(start)
		fastest, slowest = min(fastest, d), max(slowest, d)
	}
	// Delays are uniform in [0, 20ms]: some fall below 10ms, some above.
	if fastest >= 10*time.Millisecond || slowest < 10*time.Millisecond {
		t.Fatalf("30 round trips with latency 10ms ± 10ms took between %v and %v", fastest, slowest)
	}
}

func TestPassesAResetOn(t *testing.T) {
	addr, _ := serveTCP(t, func(c *net.TCPConn) {
		_, _ = c.Read(make([]byte, 1))
		_ = c.SetLinger(0) // the server resets the connection
	})
	p := startProxy(t, []string{addr})
	if _, err := roundTrip(dial(t, p.Addr()), "x", 3*time.Second); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("client of a server that reset: %v, want ECONNRESET", err)
	}
}
