package cache_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendtactics/loadlab/reference-app/cache"
)

const redisServer = "/usr/bin/redis-server"

// startRedis starts a throwaway redis-server on a free loopback port (or
// port, when non-zero) and returns its URL and process.
func startRedis(t *testing.T, port int) (string, *exec.Cmd) {
	t.Helper()
	if _, err := os.Stat(redisServer); err != nil {
		t.Skipf("redis-server not installed at %s (apt-get install redis-server)", redisServer)
	}
	if port == 0 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	cmd := exec.Command(redisServer, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i > 200 {
			t.Fatalf("redis did not start: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return "redis://" + addr + "/0", cmd
}

func TestMemory(t *testing.T) {
	ctx := context.Background()
	c := cache.NewMemory(10, prometheus.NewRegistry())
	c.Set(ctx, "a", []byte("1"), time.Hour)
	if v, ok := c.Get(ctx, "a"); !ok || string(v) != "1" {
		t.Fatalf("get a = %q %v", v, ok)
	}
	c.Set(ctx, "b", []byte("2"), -time.Second)
	if _, ok := c.Get(ctx, "b"); ok {
		t.Fatal("expired entry returned")
	}
	for i := range 100 {
		c.Set(ctx, fmt.Sprint(i), []byte("x"), time.Hour)
	}
	c.Delete(ctx, "99")
	if _, ok := c.Get(ctx, "99"); ok {
		t.Fatal("deleted entry returned")
	}
	c.Clear(ctx)
	if _, ok := c.Get(ctx, "98"); ok {
		t.Fatal("entry survived Clear")
	}
}

func newRedis(t *testing.T, url string, reg prometheus.Registerer) *cache.Redis {
	t.Helper()
	r, err := cache.NewRedis(url, cache.RedisOptions{Timeout: 100 * time.Millisecond, Cooldown: 200 * time.Millisecond}, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestRedisBasics(t *testing.T) {
	url, _ := startRedis(t, 0)
	ctx := context.Background()
	r := newRedis(t, url, prometheus.NewRegistry())
	r.Set(ctx, "k", []byte("v"), time.Minute)
	if v, ok := r.Get(ctx, "k"); !ok || string(v) != "v" {
		t.Fatalf("get = %q %v", v, ok)
	}
	r.Delete(ctx, "k")
	if _, ok := r.Get(ctx, "k"); ok {
		t.Fatal("deleted key returned")
	}
	r.Set(ctx, "a", []byte("1"), time.Minute)
	r.Set(ctx, "b", []byte("1"), time.Minute)
	r.Clear(ctx)
	if _, ok := r.Get(ctx, "a"); ok {
		t.Fatal("key survived Clear")
	}
	if err := r.Check(ctx); err != nil || r.Status() != "ok" {
		t.Fatalf("check %v status %s", err, r.Status())
	}
}

// errorsAndSkips reads academy_cache_requests_total for get.
func counts(t *testing.T, reg *prometheus.Registry) (errs, skipped float64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "academy_cache_requests_total" {
			continue
		}
		for _, m := range mf.Metric {
			var op, result string
			for _, l := range m.Label {
				switch l.GetName() {
				case "op":
					op = l.GetValue()
				case "result":
					result = l.GetValue()
				}
			}
			if op != "get" {
				continue
			}
			switch result {
			case "error":
				errs += m.Counter.GetValue()
			case "skipped":
				skipped += m.Counter.GetValue()
			}
		}
	}
	return errs, skipped
}

func TestRedisPausedOpensBreakerAndRecoversClean(t *testing.T) {
	url, cmd := startRedis(t, 0)
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	r := newRedis(t, url, reg)
	r.Set(ctx, "stale", []byte("old"), time.Minute)

	// A hung Redis: every call would wait for the time-out.
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	for range 30 {
		if _, ok := r.Get(ctx, "stale"); ok {
			t.Fatal("hit from a paused redis")
		}
	}
	r.Delete(ctx, "stale") // lost invalidation: must not leave a stale entry
	errs, skipped := counts(t, reg)
	if errs > 3 || skipped < 27 {
		t.Fatalf("while paused: %v calls waited on redis, %v skipped; want at most 3 and the rest skipped", errs, skipped)
	}
	if r.Status() != "degraded" || r.Check(ctx) == nil {
		t.Fatalf("status %q while paused, want degraded", r.Status())
	}
	if got := degraded(t, reg); got != 1 {
		t.Fatalf("academy_cache_degraded = %v, want 1", got)
	}
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.Check(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatal("breaker did not close after redis resumed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if v, ok := r.Get(ctx, "stale"); ok {
		t.Fatalf("stale entry %q survived a lost invalidation", v)
	}
	if r.Status() != "ok" {
		t.Fatalf("status %q after recovery", r.Status())
	}
}

func TestRedisKilled(t *testing.T) {
	url, cmd := startRedis(t, 0)
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	r := newRedis(t, url, reg)
	r.Set(ctx, "k", []byte("v"), time.Minute)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	for range 20 {
		if _, ok := r.Get(ctx, "k"); ok {
			t.Fatal("hit from a dead redis")
		}
	}
	if errs, _ := counts(t, reg); errs > 3 {
		t.Fatalf("%v calls went to a dead redis, want at most 3", errs)
	}
	// Restart on the same port: the cache comes back.
	port := strings.TrimSuffix(strings.TrimPrefix(url, "redis://127.0.0.1:"), "/0")
	var p int
	fmt.Sscan(port, &p)
	startRedis(t, p)
	deadline := time.Now().Add(5 * time.Second)
	for r.Check(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatal("cache did not recover after restart")
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.Set(ctx, "k2", []byte("v2"), time.Minute)
	if _, ok := r.Get(ctx, "k2"); !ok {
		t.Fatal("miss after recovery")
	}
}

// degraded reads the academy_cache_degraded gauge.
func degraded(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "academy_cache_degraded" {
			return mf.Metric[0].Gauge.GetValue()
		}
	}
	t.Fatal("academy_cache_degraded not exported")
	return 0
}
