package result

import (
	"cmp"
	"slices"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Recorder accumulates the samples of a run (or of one worker's share of it) second by
// second. Samples go into the second being filled; Tick closes it: its figures are added
// to the run's (exactly: counts summed, histograms merged), its timeline point is made,
// and, when asked, it is returned as an interval record, a Result of that one second that
// Merge adds to others. The run's figures are therefore the merge of its intervals by
// construction, in one process as across workers.
//
// A Recorder is not safe for concurrent use: one goroutine owns it.
type Recorder struct {
	start   time.Time
	windows []Window // the given windows, then SteadyWindow
	total   *series
	names   []*series
	t       int           // the second being filled
	touched bool          // a sample (even a skipped one) went into second t
	last    bool          // the next Tick closes the run
	slots   []*slotSeries // index of windows; nil for steady
	in      []int         // scratch: the windows of the sample being recorded
	// secIn are the windows of the samples of the second being filled while they all
	// fall in the same ones (split false): their figures are then the second's, and
	// the series keep no figures per window for it. The first sample of the second that
	// falls in other windows splits it: from then on each window's figures are kept apart
	// (series.secWin), the samples before it given to the windows they fell in.
	secIn []int
	split bool
}

// series are the figures of one request name, or of all requests.
type series struct {
	all    *RequestStats   // the closed seconds
	win    []*RequestStats // the closed seconds, per window (index of Recorder.windows)
	sec    *RequestStats   // the second being filled
	secWin []*RequestStats // a split second being filled, per window; nil until a split second needs it
	points []Point
}

func newSeries(name string, windows int) *series {
	s := &series{all: newStats(name), sec: newStats(name), secWin: make([]*RequestStats, windows)}
	for range windows {
		s.win = append(s.win, newStats(name))
	}
	return s
}

// NewRecorder returns a recorder for a run that starts at start, with the request names
// names (Sample.Name indexes them) and the named windows (offsets from start). A window
// SteadyWindow, outside all the others, is added unless windows has it.
func NewRecorder(start time.Time, names []string, windows []Window) *Recorder {
	r := &Recorder{start: start, windows: WithSteady(windows)}
	r.total = newSeries("total", len(r.windows))
	for _, w := range r.windows {
		var ss *slotSeries
		if w.Name != SteadyWindow {
			ss = newSlotSeries(w)
		}
		r.slots = append(r.slots, ss)
	}
	for _, n := range names {
		r.names = append(r.names, newSeries(n, len(r.windows)))
	}
	return r
}

// Second is the second being filled, counted from the run start.
func (r *Recorder) Second() int { return r.t }

// Pending reports whether a sample went into the second being filled, or a window slot
// is still open: whether a last Tick has anything to close.
func (r *Recorder) Pending() bool {
	if r.touched {
		return true
	}
	for _, ss := range r.slots {
		if ss != nil && len(ss.open) > 0 {
			return true
		}
	}
	return false
}

// Record counts one sample in the second being filled.
func (r *Recorder) Record(s *Sample) {
	key := s.StatusKey()
	n := r.names[s.Name]
	r.in = AppendWindowsAt(r.in[:0], r.windows, s.At)
	switch {
	case !r.touched:
		r.secIn = append(r.secIn[:0], r.in...)
	case !r.split && !slices.Equal(r.in, r.secIn):
		r.split = true
		for _, sr := range r.all() {
			for _, i := range r.secIn {
				_ = sr.window(i).add(sr.sec) // both carry live histograms: no decoding, no error
			}
		}
	}
	r.touched = true
	if r.split {
		for _, i := range r.in {
			n.window(i).record(s, key)
			r.total.window(i).record(s, key)
		}
	}
	n.sec.record(s, key)
	r.total.sec.record(s, key)
	if s.Out != OutSkipped {
		for _, ss := range r.slots {
			if ss != nil {
				ss.record(s)
			}
		}
	}
}

// all returns the series: the total, then each request name's.
func (r *Recorder) all() []*series { return append([]*series{r.total}, r.names...) }

// Last says that the next Tick is the run's last: it closes every window slot.
func (r *Recorder) Last() { r.last = true }

func (s *series) window(i int) *RequestStats {
	if s.secWin[i] == nil {
		s.secWin[i] = newStats(s.sec.Name)
	}
	return s.secWin[i]
}

// Tick closes the second being filled, which ends at end (the second's end, or earlier
// for the run's last, partial second). planned and sent are the iterations planned and
// requests sent in it, in all and by request name (index of names; nil for zeros). With
// interval, Tick returns the second as an interval record; else nil.
func (r *Recorder) Tick(end time.Time, planned, sent uint64, plannedBy, sentBy []uint64, interval bool) *Result {
	t := r.t
	var iv *Result
	if interval {
		iv = &Result{Schema: Schema, Start: r.start, End: end, Generator: Health{Planned: planned, Sent: sent, Valid: true}}
	}
	for i, n := range r.names {
		var p, s uint64
		if i < len(plannedBy) {
			p = plannedBy[i]
		}
		if i < len(sentBy) {
			s = sentBy[i]
		}
		if st := n.tick(t, p, s, interval, ""); iv != nil {
			iv.Requests = append(iv.Requests, st)
		}
	}
	// With one request name, the total's second holds the very samples of the name's
	// (Record gives every sample to both): its point takes the name's encoded histogram
	// instead of a second copy. The timeline is the one part of a run's figures that grows
	// with its length: a soak keeps one string a second, not two.
	enc := ""
	if len(r.names) == 1 {
		enc = r.names[0].lastPoint().HDR
	}
	total := r.total.tick(t, planned, sent, interval, enc)
	for _, ss := range r.slots {
		if ss != nil {
			ss.close(end.Sub(r.start)-slotLag, r.last)
		}
	}
	if iv != nil {
		iv.Total = total
		iv.Timeline = total.Timeline
		for i, w := range r.windows {
			ws := &WindowStats{Name: w.Name, Start: w.Start.Seconds(), End: w.End.Seconds(), Total: r.intervalWindow(r.total, i)}
			if ss := r.slots[i]; ss != nil {
				ws.Slots = slices.Clone(ss.closed[ss.fresh:])
			}
			for _, n := range r.names {
				ws.Requests = append(ws.Requests, r.intervalWindow(n, i))
			}
			iv.Windows = append(iv.Windows, ws)
		}
		finish(iv)
	}
	for _, n := range r.all() {
		r.closeWindows(n)
		n.sec.reset()
	}
	r.t++
	r.touched, r.split = false, false
	return iv
}

// setLatencyEncoded sets the point's percentiles, maximum and encoded histogram from h
// (zero and empty when h recorded nothing), with enc as h's encoding when known (empty:
// encode h).
func (p *Point) setLatencyEncoded(h *hdrhistogram.Histogram, enc string) {
	p.P50, p.P90, p.P99, p.Max, p.HDR = 0, 0, 0, 0, ""
	if h.TotalCount() > 0 {
		p.P50, p.P90, p.P99, p.Max = MS(h.ValueAtQuantile(50)), MS(h.ValueAtQuantile(90)), MS(h.ValueAtQuantile(99)), MS(h.Max())
		if p.HDR = enc; enc == "" {
			p.HDR = mustEncode(h)
		}
	}
}

// tick adds the second to the series' figures and makes its timeline point, with enc as
// the encoding of the second's latency histogram when known (empty: encode it). With
// interval, it returns the second's figures with that point as their timeline. The
// second's figures stay until Recorder.Tick has given them to the windows.
func (s *series) tick(t int, planned, sent uint64, interval bool, enc string) *RequestStats {
	p := Point{T: t, Planned: planned, Sent: sent, Count: s.sec.Count, Errors: s.sec.Errors}
	p.setLatencyEncoded(s.sec.LatencyHist, enc)
	s.points = append(s.points, p)
	var st *RequestStats
	if interval {
		st = s.sec.snapshot(0, false)
		st.Timeline = []Point{p}
	}
	_ = s.all.add(s.sec) // both carry live histograms: no decoding, no error
	return st
}

// lastPoint is the timeline point of the last second closed.
func (s *series) lastPoint() *Point { return &s.points[len(s.points)-1] }

// intervalWindow is window i's figures in s of the second being closed (empty when
// nothing fell in it).
func (r *Recorder) intervalWindow(s *series, i int) *RequestStats {
	switch {
	case r.split && s.secWin[i] != nil:
		return s.secWin[i].snapshot(0, false)
	case !r.split && r.touched && slices.Contains(r.secIn, i):
		return s.sec.snapshot(0, false)
	}
	return &RequestStats{Name: s.sec.Name, Statuses: map[string]uint64{}}
}

// closeWindows adds the closed second's figures in s to the windows' of the run.
func (r *Recorder) closeWindows(s *series) {
	if !r.split {
		if r.touched {
			for _, i := range r.secIn {
				_ = s.win[i].add(s.sec)
			}
		}
		return
	}
	for i, st := range s.secWin {
		if st == nil || (st.Count == 0 && st.Skipped == 0) {
			continue
		}
		_ = s.win[i].add(st)
		st.reset()
	}
}

// Live returns the figures of the closed seconds: requests with an outcome, errors, the
// p99 of all latencies (ms), and the last closed second's timeline point.
func (r *Recorder) Live() (count, errors uint64, p99 float64, last Point) {
	a := r.total.all
	if a.LatencyHist.TotalCount() > 0 {
		p99 = MS(a.LatencyHist.ValueAtQuantile(99))
	}
	if n := len(r.total.points); n > 0 {
		last = r.total.points[n-1]
	}
	return a.Count, a.Errors, p99, last
}

// Result returns the run's figures over the closed seconds, as they stand at end:
// total, requests (sorted by name), windows and timelines; the caller sets the rest.
// With final, the result shares the recorder's histograms and carries their encodings
// (record nothing after); without, it carries copies of them and no encodings.
func (r *Recorder) Result(end time.Time, final bool) *Result {
	res := &Result{Schema: Schema, Start: r.start, End: end}
	res.Total = r.total.all.snapshot(0, final)
	res.Total.Timeline = slices.Clip(r.total.points)
	res.Timeline = res.Total.Timeline
	for _, n := range r.names {
		rs := n.all.snapshot(0, final)
		rs.Timeline = slices.Clip(n.points)
		res.Requests = append(res.Requests, rs)
	}
	for i, w := range r.windows {
		ws := &WindowStats{Name: w.Name, Start: w.Start.Seconds(), End: w.End.Seconds(), Total: r.total.win[i].snapshot(0, final)}
		if ss := r.slots[i]; ss != nil {
			ws.Slots = ss.slots(final)
		}
		for _, n := range r.names {
			ws.Requests = append(ws.Requests, n.win[i].snapshot(0, final))
		}
		res.Windows = append(res.Windows, ws)
	}
	finish(res)
	return res
}

// finish orders res's requests by name, sets the steady window's end to the run's, and
// computes every summary and rate from the histograms and counts: the one computation
// of the figures derived from what was counted, shared by the recorder and Merge.
func finish(res *Result) {
	runSecs := res.End.Sub(res.Start).Seconds()
	res.DurationMS = float64(res.End.Sub(res.Start)) / float64(time.Millisecond)
	byName := func(a, b *RequestStats) int { return cmp.Compare(a.Name, b.Name) }
	if res.Total != nil {
		res.Total.summarize(runSecs)
	}
	slices.SortStableFunc(res.Requests, byName)
	for _, rs := range res.Requests {
		rs.summarize(runSecs)
	}
	for _, ws := range res.Windows {
		if ws.Name == SteadyWindow {
			ws.End = runSecs
		}
		span := min(ws.End, runSecs) - ws.Start
		if ws.Total != nil {
			ws.Total.summarize(span)
		}
		slices.SortStableFunc(ws.Requests, byName)
		for _, rs := range ws.Requests {
			rs.summarize(span)
		}
	}
}
