package loadgen

import (
	"bufio"
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Histogram geometry: microseconds, 1 µs to 1 h, 3 significant digits.
const (
	histMin    = 1
	histMax    = int64(time.Hour / time.Microsecond)
	histDigits = 3
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histDigits) }

// toMicros converts a duration to a histogram value, clamped to the histogram's range.
func toMicros(d time.Duration) int64 {
	us := int64(d / time.Microsecond)
	return min(max(us, histMin), histMax)
}

// DecodeHistogram decodes a histogram encoded in LatencyHDR or ServiceHDR
// (hdrhistogram V2 compressed, base64).
func DecodeHistogram(s string) (*hdrhistogram.Histogram, error) {
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("decode histogram: %w", err)
	}
	return h, nil
}

// EncodeHistogram encodes a histogram as DecodeHistogram reads it.
func EncodeHistogram(h *hdrhistogram.Histogram) (string, error) {
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("encode histogram: %w", err)
	}
	return string(b), nil
}

type outcome uint8

const (
	outOK        outcome = iota // expected status
	outStatus                   // unexpected status: an error
	outTransport                // no response: connection error, build error
	outTimeout                  // no response within the request timeout
	outSkipped                  // not sent: an earlier step of the flow failed
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

// shedStatus reports whether a status is a shed: the service refused the request to
// protect itself (429 Too Many Requests, 503 Service Unavailable) rather than served it.
func shedStatus(code uint16) bool { return code == 429 || code == 503 }

// stats accumulate the figures of one request name (or all) over a span.
type stats struct {
	count, errors, checks, checkFailures, skipped uint64
	// shed counts 429 and 503 answers; good counts the expected answers that were not
	// sheds (the goodput).
	shed, good uint64
	statuses   map[string]uint64
	lat, svc   *hdrhistogram.Histogram
	// adm is the latency of the admitted requests (every sample but the sheds). It is
	// nil until the first shed: until then it equals lat, and the first shed copies lat.
	adm *hdrhistogram.Histogram
}

func newStats() *stats {
	return &stats{statuses: map[string]uint64{}, lat: newHist(), svc: newHist()}
}

func statusKey(s *sample) string {
	switch s.out {
	case outTransport:
		return "error"
	case outTimeout:
		return "timeout"
	}
	return strconv.Itoa(int(s.code))
}

func (st *stats) add(s *sample, key string) {
	if s.out == outSkipped {
		st.skipped++
		return
	}
	st.count++
	if s.out != outOK {
		st.errors++
	}
	if s.checked {
		st.checks++
		if s.checkFailed {
			st.checkFailures++
		}
	}
	st.statuses[key]++
	shed := s.out != outTransport && s.out != outTimeout && shedStatus(s.code)
	switch {
	case shed:
		st.shed++
		if st.adm == nil {
			st.adm = st.lat.Clone()
		}
	case s.out == outOK:
		st.good++
	}
	if s.noLatency {
		return
	}
	us := toMicros(s.latency)
	_ = st.lat.RecordValue(us)
	_ = st.svc.RecordValue(toMicros(s.service))
	if st.adm != nil && !shed {
		_ = st.adm.RecordValue(us)
	}
}

// series is a name's (or the total's) cumulative stats, per-window stats and timeline.
type series struct {
	name    string
	all     *stats
	windows []*stats // index = recorder.windows
	sec     *hdrhistogram.Histogram
	secN    uint64
	secErr  uint64
	points  []Point
}

func newSeries(name string, windows int) *series {
	s := &series{name: name, all: newStats(), sec: newHist()}
	for range windows {
		s.windows = append(s.windows, newStats())
	}
	return s
}

// tick closes second t of the timeline.
func (s *series) tick(t int, planned, sent uint64) {
	p := Point{T: t, Planned: planned, Sent: sent, Count: s.secN, Errors: s.secErr}
	if s.secN > 0 {
		p.P50 = ms(s.sec.ValueAtQuantile(50))
		p.P90 = ms(s.sec.ValueAtQuantile(90))
		p.P99 = ms(s.sec.ValueAtQuantile(99))
		p.Max = ms(s.sec.Max())
	}
	s.points = append(s.points, p)
	s.sec.Reset()
	s.secN, s.secErr = 0, 0
}

func ms(us int64) float64 { return float64(us) / 1000 }

// live is what the progress line shows, published by the recorder each second.
type live struct {
	elapsed time.Duration
	rate    float64 // responses in the last second
	p99     float64 // ms, last second
	count   uint64
	errors  uint64
}

// recorder owns every histogram: workers send samples over e.samples and only the
// recorder goroutine reads or writes the stats, so recording needs no lock.
type recorder struct {
	e        *engine
	stop     func()
	total    *series
	names    []*series
	windows  []Window
	secT     int      // the second being filled
	lastSent uint64   // e.sent at the previous tick
	lastBy   []uint64 // e.sentBy at the previous tick
	planBy   []uint64 // scratch: iterations planned in a second, by first request name

	enc      vegeta.Encoder
	buf      *bufio.Writer
	seq      uint64
	writeErr error

	mu        sync.Mutex // guards abortWhy, events
	abortWhy  string
	events    []Event
	published atomic.Pointer[live]
}

func newRecorder(e *engine, stop func()) *recorder {
	r := &recorder{e: e, stop: stop}
	r.windows = append(r.windows, e.opts.Windows...)
	if !slices.ContainsFunc(r.windows, func(w Window) bool { return w.Name == SteadyWindow }) {
		r.windows = append(r.windows, Window{Name: SteadyWindow, Start: 0, End: e.duration})
	}
	r.total = newSeries("", len(r.windows))
	r.lastBy = make([]uint64, len(e.names))
	r.planBy = make([]uint64, len(e.names))
	for _, n := range e.names {
		r.names = append(r.names, newSeries(n, len(r.windows)))
	}
	if e.opts.Results != nil {
		r.buf = bufio.NewWriterSize(e.opts.Results, 64<<10)
		r.enc = vegeta.NewEncoder(r.buf)
	}
	r.published.Store(&live{})
	return r
}

// run records samples until e.samples is closed, closing one timeline second per second.
func (r *recorder) run() {
	next := time.NewTimer(time.Until(r.e.start.Add(time.Second)))
	defer next.Stop()
	for {
		select {
		case s, ok := <-r.e.samples:
			if !ok {
				r.finish()
				return
			}
			r.record(&s)
		case <-next.C:
			r.tick()
			next.Reset(time.Until(r.e.start.Add(time.Duration(r.secT+1) * time.Second)))
		}
	}
}

func (r *recorder) record(s *sample) {
	key := statusKey(s)
	n := r.names[s.name]
	n.all.add(s, key)
	r.total.all.add(s, key)
	inWindow := false
	for i, w := range r.windows {
		if w.Name == SteadyWindow {
			continue
		}
		if s.at >= w.Start && s.at < w.End {
			n.windows[i].add(s, key)
			r.total.windows[i].add(s, key)
			inWindow = true
		}
	}
	if !inWindow {
		if i := slices.IndexFunc(r.windows, func(w Window) bool { return w.Name == SteadyWindow }); i >= 0 {
			n.windows[i].add(s, key)
			r.total.windows[i].add(s, key)
		}
	}
	if s.out == outSkipped {
		return
	}
	us := toMicros(s.latency)
	for _, se := range [2]*series{n, r.total} {
		se.secN++
		if s.out != outOK {
			se.secErr++
		}
		if !s.noLatency {
			_ = se.sec.RecordValue(us)
		}
	}
	if m := r.e.met; m != nil {
		m.observe(n.name, key, s)
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

// tick closes the current second: timeline points, live metrics, progress, Every.
func (r *recorder) tick() {
	t := r.secT
	r.secT++
	planned := r.plannedIn(t)
	sent := r.e.sent.Load()
	r.total.tick(t, planned, sent-r.lastSent)
	r.lastSent = sent
	r.plannedByName(t)
	for i, n := range r.names {
		by := r.e.sentBy[i].Load()
		n.tick(t, r.planBy[i], by-r.lastBy[i])
		r.lastBy[i] = by
	}
	last := r.total.points[len(r.total.points)-1]
	r.published.Store(&live{
		elapsed: time.Duration(r.secT) * time.Second,
		rate:    float64(last.Count),
		p99:     last.P99,
		count:   r.total.all.count,
		errors:  r.total.all.errors,
	})
	if m := r.e.met; m != nil {
		m.tick(r.e, time.Duration(r.secT)*time.Second, planned, last.Sent)
	}
	if r.e.opts.Every != nil && !r.aborted() {
		elapsed := time.Since(r.e.start)
		if stop, why := r.e.opts.Every(elapsed, r.result(false, time.Now())); stop {
			r.mu.Lock()
			r.abortWhy = why
			if r.abortWhy == "" {
				r.abortWhy = "stopped by the threshold evaluator"
			}
			r.events = append(r.events, Event{At: elapsed.Seconds(), Kind: "abort", Name: "abortOnFail", Detail: r.abortWhy})
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
		r.planBy[r.e.firstStep[r.e.work.pickIndex(seq)]]++
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

// finish closes the last, partial second and flushes the results file.
func (r *recorder) finish() {
	if time.Since(r.e.start.Add(time.Duration(r.secT)*time.Second)) > 10*time.Millisecond || r.total.secN > 0 {
		r.tick()
	}
	// The progress line's last word is about the whole run.
	l := live{elapsed: time.Since(r.e.start), count: r.total.all.count, errors: r.total.all.errors}
	if secs := l.elapsed.Seconds(); secs > 0 {
		l.rate = float64(l.count) / secs
	}
	if r.total.all.count > 0 {
		l.p99 = ms(r.total.all.lat.ValueAtQuantile(99))
	}
	r.published.Store(&l)
	if r.buf != nil && r.writeErr == nil {
		if err := r.buf.Flush(); err != nil {
			r.writeErr = fmt.Errorf("write results: %w", err)
		}
	}
}

// result builds the Result. final results carry the live histograms and their encodings;
// snapshots (final=false, for Every) carry copies and no encodings.
func (r *recorder) result(final bool, end time.Time) *Result {
	e := r.e
	res := &Result{
		Schema:     ResultSchema,
		Scenario:   e.spec.Name,
		Path:       e.spec.Path,
		Seed:       e.opts.Seed,
		Start:      e.start,
		End:        end,
		DurationMS: float64(end.Sub(e.start)) / float64(time.Millisecond),
	}
	secs := end.Sub(e.start).Seconds()
	res.Total = requestStats("total", r.total.all, secs, final)
	res.Total.Timeline = slices.Clip(r.total.points)
	res.Timeline = res.Total.Timeline
	for _, n := range r.names {
		rs := requestStats(n.name, n.all, secs, final)
		rs.Timeline = slices.Clip(n.points)
		res.Requests = append(res.Requests, rs)
	}
	slices.SortFunc(res.Requests, func(a, b *RequestStats) int { return cmp.Compare(a.Name, b.Name) })
	for i, w := range r.windows {
		wEnd := w.End
		if w.Name == SteadyWindow {
			wEnd = end.Sub(e.start)
		}
		span := (min(wEnd, end.Sub(e.start)) - w.Start).Seconds()
		ws := &WindowStats{Name: w.Name, Start: w.Start.Seconds(), End: wEnd.Seconds(),
			Total: requestStats("total", r.total.windows[i], span, final)}
		for _, n := range r.names {
			ws.Requests = append(ws.Requests, requestStats(n.name, n.windows[i], span, final))
		}
		slices.SortFunc(ws.Requests, func(a, b *RequestStats) int { return cmp.Compare(a.Name, b.Name) })
		res.Windows = append(res.Windows, ws)
	}
	res.Generator = e.health(final)
	if e.ws != nil {
		res.WebSocket = e.ws.stats()
	}
	if e.probe != nil {
		res.Uptime = e.probe.stats()
	}
	r.mu.Lock()
	res.Events = slices.Clone(r.events)
	if r.abortWhy != "" {
		res.StopReason = r.abortWhy
	}
	r.mu.Unlock()
	return res
}

func requestStats(name string, st *stats, secs float64, final bool) *RequestStats {
	rs := &RequestStats{
		Name:          name,
		Count:         st.count,
		Errors:        st.errors,
		Checks:        st.checks,
		CheckFailures: st.checkFailures,
		Skipped:       st.skipped,
		Shed:          st.shed,
		Good:          st.good,
		Statuses:      make(map[string]uint64, len(st.statuses)),
		Latency:       summary(st.lat),
		ServiceTime:   summary(st.svc),
	}
	for k, v := range st.statuses {
		rs.Statuses[k] = v
	}
	if secs > 0 {
		rs.Rate = float64(st.count) / secs
	}
	if st.adm != nil {
		a := summary(st.adm)
		rs.Admitted = &a
	}
	if final {
		rs.LatencyHist, rs.ServiceHist, rs.AdmittedHist = st.lat, st.svc, st.adm
		rs.LatencyHDR, _ = EncodeHistogram(st.lat) // V2 encoding of a valid histogram doesn't fail
		rs.ServiceHDR, _ = EncodeHistogram(st.svc)
		if st.adm != nil {
			rs.AdmittedHDR, _ = EncodeHistogram(st.adm)
		}
	} else {
		rs.LatencyHist, rs.ServiceHist = st.lat.Clone(), st.svc.Clone()
		if st.adm != nil {
			rs.AdmittedHist = st.adm.Clone()
		}
	}
	return rs
}

// summary returns a histogram's distribution in milliseconds.
func summary(h *hdrhistogram.Histogram) Summary {
	if h.TotalCount() == 0 {
		return Summary{}
	}
	v := h.ValueAtPercentiles([]float64{50, 90, 95, 99, 99.9})
	mean := h.Mean() / 1000
	if math.IsNaN(mean) {
		mean = 0
	}
	return Summary{
		Min:  ms(h.Min()),
		Mean: mean,
		P50:  ms(v[50]),
		P90:  ms(v[90]),
		P95:  ms(v[95]),
		P99:  ms(v[99]),
		P999: ms(v[99.9]),
		Max:  ms(h.Max()),
	}
}

// health judges whether the generator held its schedule (see doc.go).
func (e *engine) health(final bool) Health {
	h := Health{
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
	h.LatenessP99MS = ms(e.lateAll.ValueAtQuantile(99))
	h.LatenessMaxMS = ms(e.lateAll.Max())
	h.GeneratorLatenessP99MS = ms(e.lateOwn.ValueAtQuantile(99))
	h.PoolFull = e.poolFull
	own := e.lateOwn.TotalCount()
	e.lateMu.Unlock()
	if e.pacer == nil { // closed model: there is no schedule to hold
		h.LatenessP99MS, h.LatenessMaxMS, h.GeneratorLatenessP99MS = 0, 0, 0
	}
	if !final {
		return h
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
