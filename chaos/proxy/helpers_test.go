package proxy_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/chaos/proxy"
)

// startProxy starts a proxy in front of upstreams. When the test ends it closes the proxy and
// then checks that none of its goroutines is left.
func startProxy(t testing.TB, upstreams []string, opts ...proxy.Option) *proxy.Proxy {
	t.Helper()
	checkNoLeaks(t)
	p, err := proxy.New("test", "", upstreams, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// checkNoLeaks fails the test if goroutines running proxy code outlive it (bounded wait).
func checkNoLeaks(t testing.TB) {
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Second)
		for {
			left := proxyGoroutines()
			if left == "" {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("goroutines of the proxy still running after the test:\n%s", left)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func proxyGoroutines() string {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var left []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "loadlab/chaos/proxy.") {
			left = append(left, g)
		}
	}
	return strings.Join(left, "\n\n")
}

// serveTCP runs handle for every connection to a new loopback listener until the test ends.
func serveTCP(t testing.TB, handle func(c *net.TCPConn)) (addr string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c.(*net.TCPConn))
			}()
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = ln.Close()
			mu.Lock()
			for c := range conns {
				_ = c.Close()
			}
			mu.Unlock()
			wg.Wait()
		})
	}
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

// echoServer echoes what it reads, after sending greeting; it half-closes on EOF.
func echoServer(t testing.TB, greeting string) string {
	addr, _ := serveTCP(t, func(c *net.TCPConn) {
		if greeting != "" {
			if _, err := io.WriteString(c, greeting); err != nil {
				return
			}
		}
		_, _ = io.Copy(c, c)
		_ = c.CloseWrite()
	})
	return addr
}

// sendServer sends n bytes to every client and closes the connection.
func sendServer(t testing.TB, n int) string {
	addr, _ := serveTCP(t, func(c *net.TCPConn) {
		_, _ = c.Write(pattern(n))
	})
	return addr
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

// httpServer is a real net/http server that answers every request with its id.
func httpServer(t testing.TB, id string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, id)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func dial(t testing.TB, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c.(*net.TCPConn)
}

// roundTrip writes msg and reads as many bytes back, within timeout.
func roundTrip(c net.Conn, msg string, timeout time.Duration) (string, error) {
	_ = c.SetDeadline(time.Now().Add(timeout))
	defer func() { _ = c.SetDeadline(time.Time{}) }()
	if _, err := io.WriteString(c, msg); err != nil {
		return "", err
	}
	buf := make([]byte, len(msg))
	n, err := io.ReadFull(c, buf)
	return string(buf[:n]), err
}

func readN(c net.Conn, n int, timeout time.Duration) (string, error) {
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	defer func() { _ = c.SetReadDeadline(time.Time{}) }()
	buf := make([]byte, n)
	k, err := io.ReadFull(c, buf)
	return string(buf[:k]), err
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func mustAdd(t testing.TB, p *proxy.Proxy, spec proxy.ToxicSpec) string {
	t.Helper()
	name, err := p.AddToxic(spec)
	if err != nil {
		t.Fatal(err)
	}
	return name
}

func mustRemove(t testing.TB, p *proxy.Proxy, name string) {
	t.Helper()
	if err := p.RemoveToxic(name); err != nil {
		t.Fatal(err)
	}
}

func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("status %d", resp.StatusCode)
	}
	return string(b), nil
}

// waitFor polls cond for up to 3 seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
