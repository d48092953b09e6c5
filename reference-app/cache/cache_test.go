package cache_test

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/reference-app/cache"
)

func TestMemory(t *testing.T) {
	ctx := context.Background()
	c := cache.NewMemory(cache.MemoryOptions{MaxBytes: 10 << 10}, prometheus.NewRegistry())
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

// The in-process cache holds at most MaxBytes, whatever is stored, and evicts the least
// recently used entries first: found when 24,000 catalog pages of 19.5 KB, each under its own
// key, took the heap from 5.6 to 740 MB (the cache was bounded to 100,000 entries, not bytes).
func TestMemoryBoundedByBytes(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	const max = 1 << 20
	c := cache.NewMemory(cache.MemoryOptions{MaxBytes: max}, reg)
	page := make([]byte, 19_500)
	c.Set(ctx, "hot", page, time.Hour)
	for i := range 2000 {
		c.Set(ctx, fmt.Sprint("page-", i), page, time.Hour)
		if _, ok := c.Get(ctx, "hot"); !ok { // read all along: never the least recently used
			t.Fatalf("the most recently read entry was evicted after %d sets", i)
		}
		if b := c.Bytes(); b > max {
			t.Fatalf("%d bytes held after %d sets, bound %d", b, i, max)
		}
	}
	if _, ok := c.Get(ctx, "page-0"); ok {
		t.Error("the least recently used entry survived 2000 sets over the bound")
	}
	if _, ok := c.Get(ctx, "page-1999"); !ok {
		t.Error("the newest entry was evicted")
	}
	if n := c.Len(); n < 40 || n > max/19_500 {
		t.Errorf("%d entries held, want 40 to %d", n, max/19_500)
	}
	if got := testutil.Value(t, reg, "academy_cache_memory_bytes", nil); got != float64(c.Bytes()) || got > max {
		t.Errorf("academy_cache_memory_bytes = %v, want %d", got, c.Bytes())
	}
	if got := testutil.Value(t, reg, "academy_cache_memory_evictions_total", nil); got < 1900 {
		t.Errorf("academy_cache_memory_evictions_total = %v, want about 1950", got)
	}
	// A value larger than the whole bound is not stored, and replaces no entry's room.
	c.Set(ctx, "huge", make([]byte, max+1), time.Hour)
	if _, ok := c.Get(ctx, "huge"); ok || c.Bytes() > max {
		t.Errorf("a value over the bound was stored (%d bytes held)", c.Bytes())
	}
	// Overwrites and deletes keep the count exact.
	c.Set(ctx, "hot", []byte("small"), time.Hour)
	c.Delete(ctx, "page-1999")
	c.Clear(ctx)
	if c.Bytes() != 0 || c.Len() != 0 {
		t.Errorf("after Clear: %d bytes, %d entries", c.Bytes(), c.Len())
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
	url, _ := testutil.StartRedis(t, 0)
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

// counts reads academy_cache_requests_total for get: the calls that failed and those skipped.
func counts(t *testing.T, reg *prometheus.Registry) (errs, skipped float64) {
	t.Helper()
	return testutil.Sum(t, reg, "academy_cache_requests_total", prometheus.Labels{"op": "get", "result": "error"}),
		testutil.Sum(t, reg, "academy_cache_requests_total", prometheus.Labels{"op": "get", "result": "skipped"})
}

func TestRedisPausedOpensBreakerAndRecoversClean(t *testing.T) {
	url, cmd := testutil.StartRedis(t, 0)
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
	if got := testutil.Value(t, reg, "academy_cache_degraded", nil); got != 1 {
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
	url, cmd := testutil.StartRedis(t, 0)
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
	testutil.StartRedis(t, p)
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
