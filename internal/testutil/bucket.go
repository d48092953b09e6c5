package testutil

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Bucket is a service of known capacity for tests: a token bucket of Rate tokens a second
// (Burst at most, full at the start). A request that finds a token is served (200); one
// that does not is shed (503 with Retry-After), as a service that sheds beyond its
// capacity does. Served and Shed count them.
type Bucket struct {
	Rate, Burst float64

	mu           sync.Mutex
	tokens       float64
	last         time.Time
	Served, Shed atomic.Int64
}

// NewBucket returns a full bucket of rate tokens a second and burst at most.
func NewBucket(rate, burst float64) *Bucket {
	return &Bucket{Rate: rate, Burst: burst, tokens: burst}
}

func (b *Bucket) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	b.mu.Lock()
	now := time.Now()
	if !b.last.IsZero() {
		b.tokens = min(b.Burst, b.tokens+now.Sub(b.last).Seconds()*b.Rate)
	}
	b.last = now
	ok := b.tokens >= 1
	if ok {
		b.tokens--
	}
	b.mu.Unlock()
	if !ok {
		b.Shed.Add(1)
		w.Header().Set("Retry-After", "1")
		http.Error(w, `{"error":"overloaded"}`, http.StatusServiceUnavailable)
		return
	}
	b.Served.Add(1)
	_, _ = w.Write([]byte("ok"))
}
