package result

import (
	"cmp"
	"fmt"
	"slices"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Merge merges results of one scenario and seed into one: the results of several workers
// of a run, or interval records (Recorder.Tick) of one or more sources. Counts are the
// sums, and every percentile comes from the merged histograms, never from averaged
// percentiles: merging the intervals of a run gives back the run's figures exactly, and
// merging the results of two sources gives what one source recording both would have.
//
// Requests, windows and timeline seconds are matched by name and second. Start is the
// earliest, End the latest; every summary and rate is computed again over the merged
// span. Generator health sums its counts (MaxInFlight and InFlightLimit too: a bound of
// the run's concurrency) and merges its lateness histograms where every source has them
// (else it keeps the worst p99, an upper bound). Events are merged in time order,
// WebSocket, uptime and browser counts summed (browser figures merged per request),
// memory samples kept per process.
//
// What the finish step decides (thresholds, faults, verification, verdict) is not merged:
// the merged result has none. Figures without histograms (a result written before they
// were kept) cannot be merged exactly and are an error where two sources meet. The inputs
// are not modified.
func Merge(rs ...*Result) (*Result, error) {
	if len(rs) == 0 {
		return nil, fmt.Errorf("merge results: nothing to merge")
	}
	first := rs[0]
	out := &Result{Schema: Schema, Scenario: first.Scenario, Path: first.Path, Seed: first.Seed, Start: first.Start, End: first.End}
	var err error
	var total *RequestStats
	requests := map[string]*RequestStats{}
	windows := map[string]*WindowStats{}
	var order []string // windows in order of first appearance
	m := &merger{cache: &hdrCache{}, accs: map[*RequestStats]*statsAcc{}}
	timelines := timelineMerge{cache: m.cache}
	var health healthMerge
	for i, r := range rs {
		if r == nil {
			return nil, fmt.Errorf("merge results: result %d is nil", i)
		}
		if r.Schema != "" && r.Schema != Schema {
			return nil, fmt.Errorf("merge results: result %d has schema %q (want %q)", i, r.Schema, Schema)
		}
		if r.Scenario != first.Scenario || r.Seed != first.Seed {
			return nil, fmt.Errorf("merge results: result %d is of scenario %q seed %d, result 0 of %q seed %d",
				i, r.Scenario, r.Seed, first.Scenario, first.Seed)
		}
		if r.Start.Before(out.Start) {
			out.Start = r.Start
		}
		if r.End.After(out.End) {
			out.End = r.End
		}
		out.Interrupted = out.Interrupted || r.Interrupted
		out.StopReason = cmp.Or(out.StopReason, r.StopReason)
		out.Path = cmp.Or(out.Path, r.Path)
		if r.Total != nil {
			if total, err = m.addStats(total, r.Total, &timelines, ""); err != nil {
				return nil, fmt.Errorf("merge results: %w", err)
			}
		}
		for _, rq := range r.Requests {
			if requests[rq.Name], err = m.addStats(requests[rq.Name], rq, &timelines, rq.Name); err != nil {
				return nil, fmt.Errorf("merge results: %w", err)
			}
		}
		for _, w := range r.Windows {
			if err := m.addWindow(windows, &order, w); err != nil {
				return nil, fmt.Errorf("merge results: window %q: %w", w.Name, err)
			}
		}
		health.add(r.Generator)
		out.Events = append(out.Events, r.Events...)
		out.WebSocket = addWebSocket(out.WebSocket, r.WebSocket)
		out.Uptime = addUptime(out.Uptime, r.Uptime)
		if out.Browser, err = addBrowser(out.Browser, r.Browser); err != nil {
			return nil, fmt.Errorf("merge results: %w", err)
		}
		if out.Capacity == nil {
			out.Capacity = r.Capacity
		}
		out.Memory = append(out.Memory, r.Memory...)
	}
	if err := m.finish(windows); err != nil {
		return nil, fmt.Errorf("merge results: %w", err)
	}
	out.Total = total
	for _, rq := range requests {
		out.Requests = append(out.Requests, rq)
	}
	for _, name := range order {
		out.Windows = append(out.Windows, windows[name])
	}
	if err := timelines.finish(); err != nil {
		return nil, fmt.Errorf("merge results: %w", err)
	}
	if out.Total != nil {
		out.Timeline = out.Total.Timeline
	}
	if out.Generator, err = health.finish(); err != nil {
		return nil, fmt.Errorf("merge results: generator: %w", err)
	}
	slices.SortStableFunc(out.Events, func(a, b Event) int { return cmp.Compare(a.At, b.At) })
	finish(out)
	return out, nil
}

// merger is the state of one Merge: the decoded encodings, and the encoded histograms
// added to each RequestStats and window slot, summed until finish.
type merger struct {
	cache *hdrCache
	accs  map[*RequestStats]*statsAcc
	slots map[string]map[float64]*slotMerge // by window name, slot start
}

// slotMerge is one window slot as merged so far.
type slotMerge struct {
	s       Slot
	sources int // sources with a histogram
	acc     histAcc
}

// add adds src to dst (nil: a new one), its histograms summed until finish.
func (m *merger) add(dst, src *RequestStats) (*RequestStats, error) {
	if dst == nil {
		dst = &RequestStats{Name: src.Name, Statuses: map[string]uint64{}}
	}
	acc := m.accs[dst]
	if acc == nil {
		acc = &statsAcc{cache: m.cache}
		m.accs[dst] = acc
	}
	return dst, dst.addWith(src, acc)
}

// addStats adds src to dst (nil: a new copy), and src's timeline to dst's.
func (m *merger) addStats(dst, src *RequestStats, tl *timelineMerge, key string) (*RequestStats, error) {
	if dst == nil {
		dst = &RequestStats{Name: src.Name, Statuses: map[string]uint64{}}
		tl.start(dst, key)
	}
	if _, err := m.add(dst, src); err != nil {
		return nil, err
	}
	tl.add(key, src.Timeline)
	return dst, nil
}

func (m *merger) addWindow(windows map[string]*WindowStats, order *[]string, w *WindowStats) error {
	dst, ok := windows[w.Name]
	if !ok {
		dst = &WindowStats{Name: w.Name, Start: w.Start, End: w.End}
		windows[w.Name] = dst
		*order = append(*order, w.Name)
	}
	dst.Start, dst.End = min(dst.Start, w.Start), max(dst.End, w.End)
	m.addSlots(w.Name, w.Slots)
	var err error
	if w.Total != nil {
		if dst.Total, err = m.add(dst.Total, w.Total); err != nil {
			return err
		}
	}
	for _, rq := range w.Requests {
		i := slices.IndexFunc(dst.Requests, func(d *RequestStats) bool { return d.Name == rq.Name })
		if i < 0 {
			dst.Requests = append(dst.Requests, nil)
			i = len(dst.Requests) - 1
		}
		if dst.Requests[i], err = m.add(dst.Requests[i], rq); err != nil {
			return err
		}
	}
	return nil
}

// addSlots merges slots of a window by their start: counts summed, histograms summed.
func (m *merger) addSlots(window string, src []Slot) {
	if len(src) == 0 {
		return
	}
	if m.slots == nil {
		m.slots = map[string]map[float64]*slotMerge{}
	}
	byT := m.slots[window]
	if byT == nil {
		byT = map[float64]*slotMerge{}
		m.slots[window] = byT
	}
	for _, s := range src {
		d := byT[s.T]
		if d == nil {
			d = &slotMerge{s: s}
			if s.HDR != "" {
				d.sources = 1
			}
			byT[s.T] = d
			continue
		}
		d.s.Count += s.Count
		d.s.Errors += s.Errors
		if s.HDR == "" {
			continue
		}
		switch d.sources {
		case 0:
			d.s.HDR = s.HDR
		case 1:
			d.acc.addEncoded(m.cache, d.s.HDR)
			fallthrough
		default:
			d.acc.addEncoded(m.cache, s.HDR)
		}
		d.sources++
	}
}

// finish adds the summed histograms to every merged RequestStats and sets the windows'
// slots, each slot's histogram encoded once.
func (m *merger) finish(windows map[string]*WindowStats) error {
	for st, acc := range m.accs {
		if err := acc.flush(st); err != nil {
			return err
		}
	}
	for name, byT := range m.slots {
		w := windows[name]
		w.Slots = w.Slots[:0]
		for _, d := range byT {
			if d.sources > 1 {
				var err error
				if _, d.s.HDR, err = d.acc.encode(false); err != nil {
					return fmt.Errorf("window %q: slot at %gs: %w", name, d.s.T, err)
				}
			}
			w.Slots = append(w.Slots, d.s)
		}
		slices.SortFunc(w.Slots, func(a, b Slot) int { return cmp.Compare(a.T, b.T) })
	}
	return nil
}

// emptyHist is an empty histogram, never written to.
var emptyHist = NewHistogram()

// timelineMerge merges the per-second points of every series (total: key "").
type timelineMerge struct {
	cache  *hdrCache
	owners map[string]*RequestStats
	points map[string]map[int]*pointMerge
}

type pointMerge struct {
	p       Point
	sources int
	acc     histAcc
	err     error // a source's latency had no histogram
}

func (tl *timelineMerge) start(owner *RequestStats, key string) {
	if tl.owners == nil {
		tl.owners, tl.points = map[string]*RequestStats{}, map[string]map[int]*pointMerge{}
	}
	tl.owners[key] = owner
	tl.points[key] = map[int]*pointMerge{}
}

func (tl *timelineMerge) add(key string, points []Point) {
	for _, p := range points {
		m := tl.points[key][p.T]
		if m == nil {
			tl.points[key][p.T] = &pointMerge{p: p, sources: 1}
			continue
		}
		if m.sources == 1 {
			m.add(tl.cache, m.p.HDR, m.p.Max)
		}
		m.sources++
		m.p.Planned += p.Planned
		m.p.Sent += p.Sent
		m.p.Count += p.Count
		m.p.Errors += p.Errors
		m.add(tl.cache, p.HDR, p.Max)
	}
}

// add merges one source's encoded histogram of the second; max says whether it recorded
// a latency (a point without latency carries no histogram).
func (m *pointMerge) add(c *hdrCache, enc string, max float64) {
	switch {
	case m.err != nil:
	case enc != "":
		m.acc.addEncoded(c, enc)
	case max > 0:
		m.err = errNoHistogram
	}
}

// finish sets every merged series' timeline, seconds in order.
func (tl *timelineMerge) finish() error {
	for key, owner := range tl.owners {
		var pts []Point
		for _, m := range tl.points[key] {
			p := m.p
			if m.sources > 1 {
				h, enc, err := m.acc.encode(true)
				if err = cmp.Or(m.err, err); err != nil {
					return fmt.Errorf("timeline second %d of %q: %w", p.T, owner.Name, err)
				}
				if h == nil {
					h = emptyHist
				}
				p.setLatencyEncoded(h, enc)
			}
			pts = append(pts, p)
		}
		slices.SortFunc(pts, func(a, b Point) int { return cmp.Compare(a.T, b.T) })
		owner.Timeline = pts
	}
	return nil
}

// healthMerge merges the generators' health.
type healthMerge struct {
	h                 Health
	n                 int
	lateAll, lateOwn  *hdrhistogram.Histogram
	noHist            bool
	maxP99, maxOwnP99 float64
	maxLate           float64
	err               error
}

func (m *healthMerge) add(h Health) {
	m.n++
	if m.n == 1 {
		m.h.Valid = true
	}
	m.h.Planned += h.Planned
	m.h.Sent += h.Sent
	m.h.Completed += h.Completed
	m.h.MaxInFlight += h.MaxInFlight
	m.h.InFlightLimit += h.InFlightLimit
	m.h.Dropped += h.Dropped
	m.h.Cancelled += h.Cancelled
	m.h.PoolFull += h.PoolFull
	m.h.Valid = m.h.Valid && h.Valid
	m.h.LatenessBound = max(m.h.LatenessBound, h.LatenessBound)
	for _, r := range h.Reasons {
		if !slices.Contains(m.h.Reasons, r) {
			m.h.Reasons = append(m.h.Reasons, r)
		}
	}
	m.maxP99, m.maxOwnP99 = max(m.maxP99, h.LatenessP99MS), max(m.maxOwnP99, h.GeneratorLatenessP99MS)
	m.maxLate = max(m.maxLate, h.LatenessMaxMS)
	if h.LatenessHDR == "" || h.GeneratorLatenessHDR == "" {
		m.noHist = m.noHist || h.LatenessP99MS > 0 || h.GeneratorLatenessP99MS > 0
		return
	}
	if m.lateAll == nil {
		m.lateAll, m.lateOwn = NewHistogram(), NewHistogram()
	}
	for _, x := range []struct {
		dst *hdrhistogram.Histogram
		enc string
	}{{m.lateAll, h.LatenessHDR}, {m.lateOwn, h.GeneratorLatenessHDR}} {
		src, err := DecodeHistogram(x.enc)
		if err != nil {
			m.err = cmp.Or(m.err, err)
			continue
		}
		x.dst.Merge(src)
	}
}

func (m *healthMerge) finish() (Health, error) {
	h := m.h
	h.LatenessMaxMS = m.maxLate
	if m.lateAll == nil || m.noHist {
		h.LatenessP99MS, h.GeneratorLatenessP99MS = m.maxP99, m.maxOwnP99
		return h, m.err
	}
	if m.lateAll.TotalCount() > 0 {
		h.LatenessP99MS = MS(m.lateAll.ValueAtQuantile(99))
	}
	if m.lateOwn.TotalCount() > 0 {
		h.GeneratorLatenessP99MS = MS(m.lateOwn.ValueAtQuantile(99))
	}
	h.LatenessHDR, h.GeneratorLatenessHDR = mustEncode(m.lateAll), mustEncode(m.lateOwn)
	return h, m.err
}

func addWebSocket(dst, src *WebSocketStats) *WebSocketStats {
	if src == nil {
		return dst
	}
	if dst == nil {
		c := *src
		return &c
	}
	dst.Opened += src.Opened
	dst.ConnectFailures += src.ConnectFailures
	dst.Open += src.Open
	dst.Peak += src.Peak // a bound: the sources' peaks need not coincide
	dst.Drops += src.Drops
	dst.Sent += src.Sent
	dst.Delivered += src.Delivered
	dst.Lost += src.Lost
	return dst
}

func addUptime(dst, src *UptimeStats) *UptimeStats {
	if src == nil {
		return dst
	}
	if dst == nil {
		c := *src
		return &c
	}
	dst.Probes += src.Probes
	dst.OK += src.OK
	dst.Failed += src.Failed
	dst.Rate = 1
	if dst.Probes > 0 {
		dst.Rate = float64(dst.OK) / float64(dst.Probes)
	}
	dst.LongestOutageS = max(dst.LongestOutageS, src.LongestOutageS)
	if src.FirstFailureS >= 0 && (dst.FirstFailureS < 0 || src.FirstFailureS < dst.FirstFailureS) {
		dst.FirstFailureS = src.FirstFailureS
	}
	return dst
}
