package loadgen

import (
	"bufio"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trendtactics/loadlab/result"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// outcome is a request's outcome as the recorder counts it.
type outcome = result.Out

const (
	outOK        = result.OutOK
	outStatus    = result.OutStatus
	outTransport = result.OutTransport
	outTimeout   = result.OutTimeout
	outSkipped   = result.OutSkipped
)

// sample is what a worker reports of one request to the recorder.
type sample struct {
	name             int32
	out              outcome
	code             uint16
	checked          bool
	checkFailed      bool
	at               time.Duration // the latency origin, as an offset from the run start
	latency, service time.Duration
	bytesIn          uint64
	bytesOut         uint64
	method, url, err string // url only when results are written
	// noLatency marks a sample that counts (as an error) but has no latency: a WebSocket
	// connection dropped by the server is not a message and must not sit among the
	// delivery latencies.
	noLatency bool
}

// live is what the progress line shows, published by the recorder each second.
type live struct {
	elapsed time.Duration
	rate    float64 // responses in the last second
	p99     float64 // ms, last second
	count   uint64
	errors  uint64
}

// recorder owns every histogram: workers send samples over e.samples and only the
// recorder goroutine reads or writes the stats (a result.Recorder), so recording needs
// no lock.
type recorder struct {
	e        *engine
	stop     func()
	acc      *result.Recorder
	lastSent uint64   // e.sent at the previous tick
	lastBy   []uint64 // e.sentBy at the previous tick
	planBy   []uint64 // scratch: iterations planned in a second, by first request name
	sentBy   []uint64 // scratch: requests sent in a second, by name

	enc      vegeta.Encoder
	buf      *bufio.Writer
	seq      uint64
	writeErr error

	end time.Time // when the last second was closed: the run's end

	mu        sync.Mutex // guards abortWhy, events
	abortWhy  string
	events    []result.Event
	published atomic.Pointer[live]
}

func newRecorder(e *engine, stop func()) *recorder {
	r := &recorder{e: e, stop: stop, acc: result.NewRecorder(e.start, e.names, e.opts.Windows)}
	r.lastBy = make([]uint64, len(e.names))
	r.planBy = make([]uint64, len(e.names))
	r.sentBy = make([]uint64, len(e.names))
	if e.opts.Results != nil {
		r.buf = bufio.NewWriterSize(e.opts.Results, 64<<10)
		r.enc = vegeta.NewEncoder(r.buf)
	}
	r.published.Store(&live{})
	return r
}

// recordEvery is how often the recorder takes the samples queued on e.samples: it does not
// wake up for each sample (a wake-up costs more than recording one), and the queue holds
// 4096, enough for 800,000 a second.
const recordEvery = 5 * time.Millisecond

// run records samples until e.samples is closed, closing one timeline second per second.
func (r *recorder) run() {
	next := time.NewTimer(r.untilTick())
	defer next.Stop()
	poll := time.NewTicker(recordEvery)
	defer poll.Stop()
	for {
		if len(r.e.samples) < cap(r.e.samples)/2 { // else a backlog: record on at once
			select {
			case <-poll.C:
			case <-next.C:
			case <-r.e.loadDone:
			}
		}
		if !r.drain(cap(r.e.samples)) {
			r.finish()
			return
		}
		if r.untilTick() <= 0 {
			r.tick(r.secondEnd())
			next.Reset(r.untilTick())
		}
	}
}

// secondEnd is when the second being filled ends.
func (r *recorder) secondEnd() time.Time {
	return r.e.start.Add(time.Duration(r.acc.Second()+1) * time.Second)
}

// untilTick is the time until the second being filled ends.
func (r *recorder) untilTick() time.Duration { return time.Until(r.secondEnd()) }

// drain records up to n queued samples without waiting; it returns false once e.samples is
// closed and empty.
func (r *recorder) drain(n int) bool {
	for range n {
		select {
		case s, ok := <-r.e.samples:
			if !ok {
				return false
			}
			r.record(&s)
		default:
			return true
		}
	}
	return true
}

func (r *recorder) record(s *sample) {
	rs := result.Sample{Name: int(s.name), Out: s.out, Code: s.code, Checked: s.checked, CheckFailed: s.checkFailed,
		At: s.at, Latency: s.latency, Service: s.service, NoLatency: s.noLatency}
	r.acc.Record(&rs)
	if s.out == outSkipped {
		return
	}
	if m := r.e.met; m != nil {
		m.observe(r.e.names[s.name], rs.StatusKey(), s)
	}
	if r.enc != nil && r.writeErr == nil {
		res := vegeta.Result{
			Attack:    r.e.spec.Name,
			Seq:       r.seq,
			Code:      s.code,
			Timestamp: r.e.start.Add(s.at),
			Latency:   s.latency,
			BytesOut:  s.bytesOut,
			BytesIn:   s.bytesIn,
			Error:     s.err,
			Method:    s.method,
			URL:       s.url,
		}
		if err := r.enc.Encode(&res); err != nil {
			r.writeErr = fmt.Errorf("write results: %w", err)
		}
	}
	r.seq++
}

// tick closes the current second, which ends at end: timeline points, the interval
// record (Options.Intervals), live metrics, progress, Every.
func (r *recorder) tick(end time.Time) {
	t := r.acc.Second()
	planned := r.plannedIn(t)
	sent := r.e.sent.Load()
	r.plannedByName(t)
	for i := range r.e.names {
		by := r.e.sentBy[i].Load()
		r.sentBy[i] = by - r.lastBy[i]
		r.lastBy[i] = by
	}
	iv := r.acc.Tick(end, planned, sent-r.lastSent, r.planBy, r.sentBy, r.e.opts.Intervals != nil)
	r.lastSent = sent
	count, errs, _, last := r.acc.Live()
	r.published.Store(&live{
		elapsed: time.Duration(t+1) * time.Second,
		rate:    float64(last.Count),
		p99:     last.P99,
		count:   count,
		errors:  errs,
	})
	if m := r.e.met; m != nil {
		m.tick(r.e, time.Duration(t+1)*time.Second, planned, last.Sent)
	}
	if iv != nil { // after the metrics' tick: a snapshot of them taken now has this second
		iv.Scenario, iv.Path, iv.Seed = r.e.spec.Name, r.e.spec.Path, r.e.opts.Seed
		r.setTransports(iv)
		r.e.opts.Intervals(iv)
	}
	if r.e.opts.Every != nil && !r.aborted() {
		elapsed := time.Since(r.e.start)
		if stop, why := r.e.opts.Every(elapsed, r.result(false, time.Now())); stop {
			r.mu.Lock()
			r.abortWhy = why
			if r.abortWhy == "" {
				r.abortWhy = "stopped by the threshold evaluator"
			}
			r.events = append(r.events, result.Event{At: elapsed.Seconds(), Kind: result.EventAbort, Name: "abortOnFail", Detail: r.abortWhy})
			r.mu.Unlock()
			r.stop()
		}
	}
}

// plannedByName fills r.planBy with the iterations due in second t by the name of their
// first request (the choice of item is a function of the iteration number, so this is exact;
// later flow steps are not planned, they follow). The closed model plans what it sent.
func (r *recorder) plannedByName(t int) {
	clear(r.planBy)
	p := r.e.pacer
	if p == nil {
		for i := range r.planBy {
			r.planBy[i] = r.e.sentBy[i].Load() - r.lastBy[i]
		}
		return
	}
	from, to := p.Hits(time.Duration(t)*time.Second), p.Hits(time.Duration(t+1)*time.Second)
	for seq := from; seq < to; seq++ {
		r.planBy[r.e.firstStep[r.e.work.pickIndex(r.e.opts.Stripe.global(seq))]]++
	}
}

// plannedIn is the number of iterations whose intended time falls in second t.
func (r *recorder) plannedIn(t int) uint64 {
	if p := r.e.pacer; p != nil {
		from, to := time.Duration(t)*time.Second, time.Duration(t+1)*time.Second
		return p.Hits(to) - p.Hits(from)
	}
	return r.e.sent.Load() - r.lastSent // closed model: what was started is what was planned
}

func (r *recorder) aborted() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.abortWhy != ""
}

// finish closes the seconds that ended before now, then the last, partial one, and
// flushes the results file. A recorder that ran late (a process starved of CPU, a worker
// resuming a run after its load's end) finds several seconds not yet closed: each is
// closed with its planned iterations, as the timeline, the interval records and the
// planned counter must add up to the run's.
func (r *recorder) finish() {
	now := time.Now()
	r.end = now
	for end := r.secondEnd(); !end.After(now); end = r.secondEnd() {
		r.tick(end)
	}
	r.acc.Last()
	if now.Sub(r.e.start.Add(time.Duration(r.acc.Second())*time.Second)) > 10*time.Millisecond || r.acc.Pending() {
		r.tick(now)
	}
	// The progress line's last word is about the whole run.
	count, errs, p99, _ := r.acc.Live()
	l := live{elapsed: time.Since(r.e.start), count: count, errors: errs, p99: p99}
	if secs := l.elapsed.Seconds(); secs > 0 {
		l.rate = float64(l.count) / secs
	}
	r.published.Store(&l)
	if r.buf != nil && r.writeErr == nil {
		if err := r.buf.Flush(); err != nil {
			r.writeErr = fmt.Errorf("write results: %w", err)
		}
	}
}

// setTransports records in res which transport carried each request name.
func (r *recorder) setTransports(res *result.Result) {
	for _, rq := range res.Requests {
		if i := slices.Index(r.e.names, rq.Name); i >= 0 {
			rq.Transport = r.e.transports[i]
		}
	}
}

// result builds the Result. final results carry the live histograms and their encodings;
// snapshots (final=false, for Every) carry copies and no encodings.
func (r *recorder) result(final bool, end time.Time) *result.Result {
	e := r.e
	res := r.acc.Result(end, final)
	res.Scenario, res.Path, res.Seed = e.spec.Name, e.spec.Path, e.opts.Seed
	res.Generator = e.health(final)
	r.setTransports(res)
	if e.ws != nil {
		res.WebSocket = e.ws.stats()
	}
	if e.probe != nil {
		res.Uptime = e.probe.stats()
	}
	if e.browser != nil {
		res.Browser = e.browser.stats(final)
	}
	r.mu.Lock()
	res.Events = slices.Clone(r.events)
	if r.abortWhy != "" {
		res.StopReason = r.abortWhy
	}
	r.mu.Unlock()
	return res
}

// health judges whether the generator held its schedule (see doc.go).
func (e *engine) health(final bool) result.Health {
	h := result.Health{
		Sent:          e.sent.Load(),
		Completed:     e.completed.Load(),
		MaxInFlight:   int(e.maxSeen.Load()),
		InFlightLimit: e.maxInFlight,
		Cancelled:     e.cancelled.Load(),
		LatenessBound: float64(e.maxLateness) / float64(time.Millisecond),
		Valid:         true,
	}
	if final {
		h.Planned = e.planned.Load()
	} else if e.pacer != nil {
		h.Planned = e.pacer.Hits(time.Since(e.start))
	} else {
		h.Planned = h.Sent
	}
	e.lateMu.Lock()
	h.LatenessP99MS = result.MS(e.lateAll.ValueAtQuantile(99))
	h.LatenessMaxMS = result.MS(e.lateAll.Max())
	h.GeneratorLatenessP99MS = result.MS(e.lateOwn.ValueAtQuantile(99))
	if final && e.pacer != nil {
		h.LatenessHDR, _ = result.EncodeHistogram(e.lateAll) // V2 encoding of a valid histogram does not fail
		h.GeneratorLatenessHDR, _ = result.EncodeHistogram(e.lateOwn)
	}
	h.PoolFull = e.poolFull
	own := e.lateOwn.TotalCount()
	e.lateMu.Unlock()
	if e.pacer == nil { // closed model: there is no schedule to hold
		h.LatenessP99MS, h.LatenessMaxMS, h.GeneratorLatenessP99MS = 0, 0, 0
	}
	if !final {
		return h
	}
	if e.browser != nil {
		e.browser.judge(&h)
	}
	if h.Planned > h.Sent {
		h.Dropped = h.Planned - h.Sent
		cause := "the generator could not send fast enough (CPU-bound)"
		if e.endedWaiting {
			cause = fmt.Sprintf("all %d workers were busy (the in-flight limit load.maxInFlight was reached)", e.maxInFlight)
		}
		h.Valid = false
		h.Reasons = append(h.Reasons, fmt.Sprintf("%d of %d planned iterations were never sent: %s", h.Dropped, h.Planned, cause))
	}
	if own > 0 && h.GeneratorLatenessP99MS > h.LatenessBound {
		h.Valid = false
		h.Reasons = append(h.Reasons, fmt.Sprintf(
			"send lateness p99 %.1fms not caused by busy workers exceeds the %.0fms bound: the generator itself was too slow (CPU-bound)",
			h.GeneratorLatenessP99MS, h.LatenessBound))
	}
	return h
}
