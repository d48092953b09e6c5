package cache

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendtactics/loadlab/reference-app/academy"
)

// Memory is an in-process cache bounded to a number of entries. It is safe
// for concurrent use.
type Memory struct {
	mu      sync.RWMutex
	entries map[string]entry
	max     int
	now     func() time.Time
	m       *metrics
}

type entry struct {
	value   []byte
	expires time.Time
}

var _ academy.Cache = (*Memory)(nil)

// NewMemory returns an in-process cache holding at most maxEntries entries
// (default 100000); metrics go to reg (nil for none).
func NewMemory(maxEntries int, reg prometheus.Registerer) *Memory {
	if maxEntries <= 0 {
		maxEntries = 100_000
	}
	return &Memory{entries: make(map[string]entry), max: maxEntries, now: time.Now, m: newMetrics(reg, "memory")}
}

// Get implements academy.Cache.
func (c *Memory) Get(_ context.Context, key string) ([]byte, bool) {
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if !ok || c.now().After(e.expires) {
		c.m.inc("get", "miss")
		return nil, false
	}
	c.m.inc("get", "hit")
	return e.value, true
}

// Set implements academy.Cache.
func (c *Memory) Set(_ context.Context, key string, value []byte, ttl time.Duration) {
	now := c.now()
	c.mu.Lock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		c.evict(now)
	}
	c.entries[key] = entry{value: value, expires: now.Add(ttl)}
	c.mu.Unlock()
	c.m.inc("set", "ok")
}

// evict drops expired entries, or else about a tenth of the entries (map
// order is random). The caller holds the lock.
func (c *Memory) evict(now time.Time) {
	for k, e := range c.entries {
		if now.After(e.expires) {
			delete(c.entries, k)
		}
	}
	for k := range c.entries {
		if len(c.entries) < c.max-c.max/10 {
			break
		}
		delete(c.entries, k)
	}
}

// Delete implements academy.Cache.
func (c *Memory) Delete(_ context.Context, keys ...string) {
	c.mu.Lock()
	for _, k := range keys {
		delete(c.entries, k)
	}
	c.mu.Unlock()
	c.m.inc("delete", "ok")
}

// Clear implements academy.Cache.
func (c *Memory) Clear(context.Context) {
	c.mu.Lock()
	clear(c.entries)
	c.mu.Unlock()
}

// Status is always "memory".
func (c *Memory) Status() string { return "memory" }

// Check never fails.
func (c *Memory) Check(context.Context) error { return nil }
