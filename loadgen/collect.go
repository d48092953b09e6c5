package loadgen

import (
	"runtime"
	rtmetrics "runtime/metrics"
	"time"
)

// collectEvery is how often a run collects its garbage when the runtime has not.
//
// A run allocates little (about 8 bytes a request at 2000/s on the fast transport), so
// the runtime's own collections came only at its forced one every two minutes: by then
// two minutes of garbage had been written into fresh pages, and the heap kept them
// resident afterwards. RSS rose over a soak's first collections (+7 % to +14 % at minute
// 10 against minute 1, the heap in use after each collection flat): a generator whose
// footprint grows for minutes reads as a leak. A collection every 10 s holds the heap
// near what is live, for a few milliseconds of CPU per 10 MB live.
var collectEvery = 10 * time.Second

// gcCycles is the number of completed collections since the process started.
func gcCycles() uint64 {
	s := []rtmetrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	rtmetrics.Read(s)
	return s[0].Value.Uint64()
}

// collector collects garbage every period in which no collection completed (one the
// runtime made itself is enough), until done is closed. cycles and collect are
// gcCycles and runtime.GC but in tests.
type collector struct {
	every   time.Duration
	cycles  func() uint64
	collect func()
}

func newCollector(every time.Duration) *collector {
	return &collector{every: every, cycles: gcCycles, collect: runtime.GC}
}

// run collects until done is closed.
func (c *collector) run(done <-chan struct{}) {
	t := time.NewTicker(c.every)
	defer t.Stop()
	last := c.cycles()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		last, _ = c.step(last)
	}
}

// step is one period's end: it collects unless a collection completed since last (the
// count of collections at the previous period's end), and returns the count now.
func (c *collector) step(last uint64) (uint64, bool) {
	if n := c.cycles(); n != last {
		return n, false
	}
	c.collect()
	return c.cycles(), true
}
