package academy

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// ReadAfter is a client's causal token for read-your-writes over read replicas: per
// shard, the WAL position (LSN) its last write reached on the primary. A store with read
// replicas records the position of each write made under it (Advance) and serves a read
// under it only from a replica that has replayed at least that far, else from the primary
// (Need). The HTTP layer carries it between requests in a cookie (Token, ParseReadAfter),
// so that it holds whichever academy replica serves the next request. It is safe for
// concurrent use; a nil *ReadAfter needs nothing and records nothing.
type ReadAfter struct {
	mu      sync.Mutex
	lsn     map[int]uint64
	changed bool
}

// maxTokenShards bounds the shards a token may name (a forged token costs nothing).
const maxTokenShards = 64

// ParseReadAfter reads a token made by Token ("0-16B374D848.1-3000": shard, dash, LSN in
// hex, dot-separated). A malformed token, or a malformed part, needs nothing: the worst a
// client can do with a forged token is send its own reads to the primary.
func ParseReadAfter(token string) *ReadAfter {
	ra := &ReadAfter{}
	if token == "" {
		return ra // most requests: no map until a write records a position
	}
	ra.lsn = map[int]uint64{}
	for i, part := range strings.Split(token, ".") {
		if i == maxTokenShards {
			break
		}
		s, l, ok := strings.Cut(part, "-")
		shard, err1 := strconv.Atoi(s)
		lsn, err2 := strconv.ParseUint(l, 16, 64)
		if ok && err1 == nil && err2 == nil && shard >= 0 && shard < maxTokenShards {
			ra.lsn[shard] = max(ra.lsn[shard], lsn)
		}
	}
	return ra
}

// Need returns the position a replica of shard must have replayed to serve a read.
func (ra *ReadAfter) Need(shard int) uint64 {
	if ra == nil {
		return 0
	}
	ra.mu.Lock()
	defer ra.mu.Unlock()
	return ra.lsn[shard]
}

// Advance records that a write on shard reached lsn.
func (ra *ReadAfter) Advance(shard int, lsn uint64) {
	if ra == nil {
		return
	}
	ra.mu.Lock()
	defer ra.mu.Unlock()
	if ra.lsn == nil {
		ra.lsn = map[int]uint64{}
	}
	if lsn > ra.lsn[shard] {
		ra.lsn[shard] = lsn
		ra.changed = true
	}
}

// Changed reports whether a write advanced the token since it was parsed.
func (ra *ReadAfter) Changed() bool {
	if ra == nil {
		return false
	}
	ra.mu.Lock()
	defer ra.mu.Unlock()
	return ra.changed
}

// Token encodes the token for ParseReadAfter, shards in order.
func (ra *ReadAfter) Token() string {
	if ra == nil {
		return ""
	}
	ra.mu.Lock()
	defer ra.mu.Unlock()
	shards := make([]int, 0, len(ra.lsn))
	for s := range ra.lsn {
		shards = append(shards, s)
	}
	sort.Ints(shards)
	parts := make([]string, len(shards))
	for i, s := range shards {
		parts[i] = strconv.Itoa(s) + "-" + strconv.FormatUint(ra.lsn[s], 16)
	}
	return strings.Join(parts, ".")
}

type readAfterKey struct{}

// WithReadAfter returns ctx carrying ra.
func WithReadAfter(ctx context.Context, ra *ReadAfter) context.Context {
	return context.WithValue(ctx, readAfterKey{}, ra)
}

// ReadAfterFrom returns the token ctx carries, or nil.
func ReadAfterFrom(ctx context.Context) *ReadAfter {
	ra, _ := ctx.Value(readAfterKey{}).(*ReadAfter)
	return ra
}

type cacheFillKey struct{}

// ForCacheFill marks ctx as the read of a value the service is about to store in its
// shared cache: a store with replicas then serves it only from a replica that had
// replayed everything the primary had written when it was last asked (CacheFill), so that
// a lagging replica's answer does not outlive its lag in the cache.
func ForCacheFill(ctx context.Context) context.Context {
	return context.WithValue(ctx, cacheFillKey{}, true)
}

// CacheFill reports whether ctx is marked by ForCacheFill.
func CacheFill(ctx context.Context) bool { v, _ := ctx.Value(cacheFillKey{}).(bool); return v }
