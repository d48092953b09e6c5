package loadgen

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// prober sends the uptime probes; its counters are safe for concurrent use.
type prober struct {
	probe  *scenarios.Probe
	url    string
	client *http.Client

	probes, ok atomic.Uint64
	mu         sync.Mutex // guards the outage bookkeeping, by probe send order
	results    map[uint64]bool
	next       uint64 // the next probe (by sequence) whose result the streak waits for
	streak     uint64
	longest    uint64
	firstFail  time.Duration
}

func newProber(p *scenarios.Probe, base string, transport http.RoundTripper) *prober {
	u := p.URL
	if strings.HasPrefix(u, "/") {
		u = strings.TrimRight(base, "/") + u
	}
	return &prober{probe: p, url: u, results: map[uint64]bool{}, firstFail: -1,
		client: &http.Client{Transport: transport, CheckRedirect: noRedirect}}
}

// run sends one probe per interval from start until ctx is done, and returns when the probes
// it sent have ended; those that ctx cancelled are not counted.
func (p *prober) run(ctx context.Context, start time.Time) {
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(p.probe.Interval)
	defer t.Stop()
	for seq := uint64(0); ; seq++ {
		wg.Add(1)
		go func() { // ends within the probe's timeout, or when ctx is done
			defer wg.Done()
			p.once(ctx, seq, time.Since(start))
		}()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *prober) once(ctx context.Context, seq uint64, at time.Duration) {
	rctx, cancel := context.WithTimeout(ctx, p.probe.Timeout)
	defer cancel()
	good := false
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, p.url, nil)
	if err == nil {
		resp, err := p.client.Do(req)
		if err == nil {
			_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			good = err == nil && resp.StatusCode >= 200 && resp.StatusCode < 400
		}
	}
	if ctx.Err() != nil { // the run ended: not a measurement
		p.mu.Lock()
		delete(p.results, seq)
		p.mu.Unlock()
		return
	}
	p.probes.Add(1)
	if good {
		p.ok.Add(1)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !good && (p.firstFail < 0 || at < p.firstFail) {
		p.firstFail = at
	}
	p.results[seq] = good
	for { // streaks in send order, as results may complete out of order
		r, done := p.results[p.next]
		if !done {
			break
		}
		delete(p.results, p.next)
		p.next++
		if r {
			p.streak = 0
		} else {
			p.streak++
			p.longest = max(p.longest, p.streak)
		}
	}
}

func (p *prober) stats() *result.UptimeStats {
	s := &result.UptimeStats{URL: p.probe.URL, IntervalMS: float64(p.probe.Interval) / float64(time.Millisecond),
		Probes: p.probes.Load(), OK: p.ok.Load(), Rate: 1, FirstFailureS: -1}
	s.Failed = s.Probes - s.OK
	if s.Probes > 0 {
		s.Rate = float64(s.OK) / float64(s.Probes)
	}
	p.mu.Lock()
	longest := p.longest
	for _, r := range p.results { // failures still waiting for an earlier probe's result
		if !r {
			longest = max(longest, 1)
		}
	}
	if p.firstFail >= 0 {
		s.FirstFailureS = p.firstFail.Seconds()
	}
	p.mu.Unlock()
	s.LongestOutageS = float64(longest) * p.probe.Interval.Seconds()
	return s
}
