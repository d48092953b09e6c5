package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/trendtactics/loadlab/reference-app/academy"
)

// RedisOptions configure NewRedis. Zero values take the defaults.
type RedisOptions struct {
	// Timeout bounds each call (default 100ms).
	Timeout time.Duration
	// FailureThreshold consecutive failures open the breaker (default 3).
	FailureThreshold int
	// Cooldown is how long the breaker stays open before a probe (default 1s).
	Cooldown time.Duration
	// Prefix of every key (default "academy:").
	Prefix string
}

// Redis is a Redis-backed academy.Cache behind a circuit breaker. Close
// releases its connections.
type Redis struct {
	client  redis.UniversalClient
	cluster *redis.ClusterClient // the same client when it is a Redis Cluster's, else nil
	opts    RedisOptions
	br      *breaker
	m       *metrics
}

var _ academy.Cache = (*Redis)(nil)

// ErrDegraded is returned by Check while the breaker is open.
var ErrDegraded = errors.New("cache degraded: redis failing, serving from the database")

// NewRedis connects lazily to the Redis at url (redis://host:port/db).
func NewRedis(url string, opts RedisOptions, reg prometheus.Registerer) (*Redis, error) {
	ro, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parse redis url: %w", err)
	}
	opts = opts.withDefaults()
	ro.DialTimeout = opts.Timeout
	ro.ReadTimeout = opts.Timeout
	ro.WriteTimeout = opts.Timeout
	ro.PoolTimeout = opts.Timeout
	ro.MaxRetries = -1
	ro.ContextTimeoutEnabled = true
	return newRedis(redis.NewClient(ro), nil, opts, reg), nil
}

// NewRedisCluster connects lazily to the Redis Cluster whose nodes (some or all) are at
// addrs (host:port), with go-redis's cluster client: each key goes to the node that holds
// its slot, following the cluster's redirections. A dead node costs the keys of its slots
// (misses, and errors that the breaker counts), not the others'.
func NewRedisCluster(addrs []string, opts RedisOptions, reg prometheus.Registerer) (*Redis, error) {
	if len(addrs) == 0 {
		return nil, errors.New("redis cluster: no node address")
	}
	opts = opts.withDefaults()
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, DialTimeout: opts.Timeout, ReadTimeout: opts.Timeout,
		WriteTimeout: opts.Timeout, PoolTimeout: opts.Timeout, MaxRetries: -1, MaxRedirects: 3, ContextTimeoutEnabled: true})
	return newRedis(c, c, opts, reg), nil
}

func (opts RedisOptions) withDefaults() RedisOptions {
	if opts.Timeout <= 0 {
		opts.Timeout = 100 * time.Millisecond
	}
	if opts.FailureThreshold <= 0 {
		opts.FailureThreshold = 3
	}
	if opts.Cooldown <= 0 {
		opts.Cooldown = time.Second
	}
	if opts.Prefix == "" {
		opts.Prefix = "academy:"
	}
	return opts
}

func newRedis(client redis.UniversalClient, cluster *redis.ClusterClient, opts RedisOptions, reg prometheus.Registerer) *Redis {
	m := newMetrics(reg, "redis")
	r := &Redis{client: client, cluster: cluster, opts: opts, m: m}
	r.br = &breaker{threshold: opts.FailureThreshold, cooldown: opts.Cooldown, now: time.Now,
		onChange: func(open bool) {
			if open {
				m.degraded.Set(1)
			} else {
				m.degraded.Set(0)
			}
		}}
	return r
}

// Close closes the client.
func (r *Redis) Close() error { return r.client.Close() }

// do runs op under the breaker and the time-out; it reports whether op
// ran, and the error it returned.
func (r *Redis) do(ctx context.Context, name string, op func(ctx context.Context) error) (ran bool, err error) {
	if !r.br.allow() {
		r.m.inc(name, "skipped")
		return false, ErrDegraded
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.Timeout)
	defer cancel()
	if r.br.takeDirty() {
		if err := r.clear(ctx); err != nil {
			r.br.markDirty()
			r.br.failure()
			r.m.inc(name, "error")
			return true, err
		}
	}
	err = op(ctx)
	if err != nil && !errors.Is(err, redis.Nil) {
		r.br.failure()
		r.m.inc(name, "error")
		return true, err
	}
	r.br.success()
	return true, err
}

// Get implements academy.Cache.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool) {
	var v []byte
	_, err := r.do(ctx, "get", func(ctx context.Context) (err error) {
		v, err = r.client.Get(ctx, r.opts.Prefix+key).Bytes()
		return err
	})
	switch {
	case errors.Is(err, redis.Nil):
		r.m.inc("get", "miss")
		return nil, false
	case err != nil:
		return nil, false
	}
	r.m.inc("get", "hit")
	return v, true
}

// Set implements academy.Cache.
func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) {
	if _, err := r.do(ctx, "set", func(ctx context.Context) error {
		return r.client.Set(ctx, r.opts.Prefix+key, value, ttl).Err()
	}); err == nil {
		r.m.inc("set", "ok")
	}
}

// Delete implements academy.Cache. An invalidation that fails marks the
// cache dirty: it is cleared as soon as Redis answers again.
func (r *Redis) Delete(ctx context.Context, keys ...string) {
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = r.opts.Prefix + k
	}
	if _, err := r.do(ctx, "delete", func(ctx context.Context) error { return r.unlink(ctx, r.client, full) }); err != nil {
		r.br.markDirty()
		return
	}
	r.m.inc("delete", "ok")
}

// Clear implements academy.Cache: it deletes every key under the prefix.
func (r *Redis) Clear(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := r.clear(ctx); err != nil {
		r.br.markDirty()
	}
}

// clear unlinks every key under the prefix: of each master of a cluster (SCAN sees one
// node's keys only), else of the one server.
func (r *Redis) clear(ctx context.Context) error {
	if r.cluster != nil {
		return r.cluster.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return r.clearNode(ctx, node) })
	}
	return r.clearNode(ctx, r.client)
}

func (r *Redis) clearNode(ctx context.Context, c redis.UniversalClient) error {
	iter := c.Scan(ctx, 0, r.opts.Prefix+"*", 500).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 500 {
			if err := r.unlink(ctx, c, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	return r.unlink(ctx, c, batch)
}

// unlink removes keys in one round trip. In a cluster the keys of one command must share a
// slot (else CROSSSLOT), so each key has its own UNLINK, pipelined (go-redis sends each to
// its node).
func (r *Redis) unlink(ctx context.Context, c redis.UniversalClient, keys []string) error {
	switch {
	case len(keys) == 0:
		return nil
	case r.cluster == nil:
		return c.Unlink(ctx, keys...).Err()
	}
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Unlink(ctx, k)
		}
		return nil
	})
	return err
}

// Status is "ok", or "degraded" while the breaker is open.
func (r *Redis) Status() string {
	if r.br.isOpen() {
		return "degraded"
	}
	return "ok"
}

// Check pings Redis (through the breaker); ErrDegraded while it is open.
func (r *Redis) Check(ctx context.Context) error {
	_, err := r.do(ctx, "ping", func(ctx context.Context) error { return r.client.Ping(ctx).Err() })
	return err
}

// breaker is a consecutive-failure circuit breaker with a half-open probe.
type breaker struct {
	threshold int
	cooldown  time.Duration
	now       func() time.Time
	onChange  func(open bool)

	mu        sync.Mutex
	failures  int
	openUntil time.Time // zero when closed
	probing   bool
	dirty     bool
}

func (b *breaker) allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.openUntil.IsZero() {
		return true
	}
	if b.now().Before(b.openUntil) || b.probing {
		return false
	}
	b.probing = true // half-open: one probe at a time
	return true
}

func (b *breaker) success() {
	b.mu.Lock()
	defer b.mu.Unlock()
	wasOpen := !b.openUntil.IsZero()
	b.failures, b.openUntil, b.probing = 0, time.Time{}, false
	if wasOpen {
		b.onChange(false)
	}
}

func (b *breaker) failure() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	if b.probing || b.failures >= b.threshold {
		wasOpen := !b.openUntil.IsZero()
		b.openUntil, b.probing = b.now().Add(b.cooldown), false
		if !wasOpen {
			b.onChange(true)
		}
	}
}

func (b *breaker) isOpen() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.openUntil.IsZero()
}

func (b *breaker) markDirty() {
	b.mu.Lock()
	b.dirty = true
	b.mu.Unlock()
}

func (b *breaker) takeDirty() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := b.dirty
	b.dirty = false
	return d
}
