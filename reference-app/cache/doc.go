// Package cache implements academy.Cache: Redis (go-redis/v9) when a Redis
// URL is configured, an in-process cache otherwise.
//
// The Redis cache never makes the service wait on a broken Redis: every
// call has a short time-out, and a circuit breaker opens after a few
// consecutive failures, turning calls into immediate misses for a cool-down
// period, after which a single probe decides whether to close it again.
// Invalidations that could not be delivered mark the cache dirty; the first
// successful call after recovery clears the academy's keys, so that no stale
// entry outlives an outage. Degradation is visible in Status and in the
// metrics (academy_cache_requests_total{result="error"|"skipped"},
// academy_cache_degraded).
package cache
