package cache

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendtactics/loadlab/reference-app/academy"
)

// DefaultMemoryMaxBytes is the default of MemoryOptions.MaxBytes: 64 MiB.
const DefaultMemoryMaxBytes = 64 << 20

// entryOverhead is what an entry costs beyond its key and value: the map
// slot, the list element and the entry itself (about 150 bytes on 64-bit
// platforms; counted generously so that the bound holds for the heap).
const entryOverhead = 160

// MemoryOptions configure NewMemory. Zero values take the defaults.
type MemoryOptions struct {
	// MaxBytes bounds what the cache holds: the bytes of its keys and
	// values plus a fixed overhead per entry (default
	// DefaultMemoryMaxBytes). Past it, the least recently used entries are
	// evicted; a value larger than the bound alone is not stored.
	MaxBytes int64
}

// Memory is an in-process cache bounded by bytes, evicting the least
// recently used entries. It is safe for concurrent use.
type Memory struct {
	mu      sync.Mutex
	entries map[string]*list.Element // of *memEntry
	lru     list.List                // front: most recently used
	bytes   int64                    // held, as counted by size
	max     int64
	now     func() time.Time
	m       *metrics
	evicted prometheus.Counter
}

type memEntry struct {
	key     string
	value   []byte
	expires time.Time
}

func (e *memEntry) size() int64 { return int64(len(e.key) + len(e.value) + entryOverhead) }

var _ academy.Cache = (*Memory)(nil)

// NewMemory returns an in-process cache bounded by opts.MaxBytes; metrics
// go to reg (nil for none).
func NewMemory(opts MemoryOptions, reg prometheus.Registerer) *Memory {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMemoryMaxBytes
	}
	c := &Memory{entries: make(map[string]*list.Element), max: opts.MaxBytes, now: time.Now, m: newMetrics(reg, "memory"),
		evicted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "academy_cache_memory_evictions_total",
			Help: "Entries of the in-process cache evicted to stay within its byte bound (least recently used first).",
		})}
	if reg != nil {
		reg.MustRegister(c.evicted,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "academy_cache_memory_bytes",
				Help: "Bytes held by the in-process cache: keys, values and a fixed overhead per entry.",
			}, func() float64 { return float64(c.Bytes()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "academy_cache_memory_max_bytes",
				Help: "The in-process cache's bound (serve --cache-max-bytes).",
			}, func() float64 { return float64(c.max) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "academy_cache_memory_entries",
				Help: "Entries held by the in-process cache.",
			}, func() float64 { return float64(c.Len()) }))
	}
	return c
}

// Get implements academy.Cache.
func (c *Memory) Get(_ context.Context, key string) ([]byte, bool) {
	now := c.now()
	c.mu.Lock()
	el, ok := c.entries[key]
	if ok && now.After(el.Value.(*memEntry).expires) {
		c.remove(el)
		ok = false
	}
	var v []byte
	if ok {
		c.lru.MoveToFront(el)
		v = el.Value.(*memEntry).value
	}
	c.mu.Unlock()
	if !ok {
		c.m.inc("get", "miss")
		return nil, false
	}
	c.m.inc("get", "hit")
	return v, true
}

// Set implements academy.Cache.
func (c *Memory) Set(_ context.Context, key string, value []byte, ttl time.Duration) {
	e := &memEntry{key: key, value: value, expires: c.now().Add(ttl)}
	evicted := 0
	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		c.remove(el)
	}
	if e.size() <= c.max {
		c.entries[key] = c.lru.PushFront(e)
		c.bytes += e.size()
		for c.bytes > c.max {
			c.remove(c.lru.Back())
			evicted++
		}
	}
	c.mu.Unlock()
	c.evicted.Add(float64(evicted))
	c.m.inc("set", "ok")
}

// remove drops el; the caller holds the lock.
func (c *Memory) remove(el *list.Element) {
	e := c.lru.Remove(el).(*memEntry)
	delete(c.entries, e.key)
	c.bytes -= e.size()
}

// Delete implements academy.Cache.
func (c *Memory) Delete(_ context.Context, keys ...string) {
	c.mu.Lock()
	for _, k := range keys {
		if el, ok := c.entries[k]; ok {
			c.remove(el)
		}
	}
	c.mu.Unlock()
	c.m.inc("delete", "ok")
}

// Clear implements academy.Cache.
func (c *Memory) Clear(context.Context) {
	c.mu.Lock()
	clear(c.entries)
	c.lru.Init()
	c.bytes = 0
	c.mu.Unlock()
}

// Bytes returns what the cache holds, as counted against MaxBytes.
func (c *Memory) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// Len returns the number of entries held (expired ones included until
// they are read or evicted).
func (c *Memory) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Status is always "memory".
func (c *Memory) Status() string { return "memory" }

// Check never fails.
func (c *Memory) Check(context.Context) error { return nil }
