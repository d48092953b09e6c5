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
	var timelines timelineMerge
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
			if total, err = addStats(total, r.Total, &timelines, ""); err != nil {
				return nil, fmt.Errorf("merge results: %w", err)
			}
		}
		for _, rq := range r.Requests {
			if requests[rq.Name], err = addStats(requests[rq.Name], rq, &timelines, rq.Name); err != nil {
				return nil, fmt.Errorf("merge results: %w", err)
			}
		}
		for _, w := range r.Windows {
			if err := addWindow(windows, &order, w); err != nil {
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

// addStats adds src to dst (nil: a new copy), and src's timeline to dst's.
func addStats(dst, src *RequestStats, tl *timelineMerge, key string) (*RequestStats, error) {
	if dst == nil {
		dst = &RequestStats{Name: src.Name, Statuses: map[string]uint64{}}
		tl.start(dst, key)
	}
	if err := dst.add(src); err != nil {
		return nil, err
	}
	tl.add(key, src.Timeline)
	return dst, nil
}

func addWindow(windows map[string]*WindowStats, order *[]string, w *WindowStats) error {
	dst, ok := windows[w.Name]
	if !ok {
		dst = &WindowStats{Name: w.Name, Start: w.Start, End: w.End}
		windows[w.Name] = dst
		*order = append(*order, w.Name)
	}
	dst.Start, dst.End = min(dst.Start, w.Start), max(dst.End, w.End)
	var err error
	if dst.Slots, err = mergeSlots(dst.Slots, w.Slots); err != nil {
		return err
	}
	if w.Total != nil {
		if dst.Total == nil {
			dst.Total = &RequestStats{Name: w.Total.Name, Statuses: map[string]uint64{}}
		}
		if err = dst.Total.add(w.Total); err != nil {
			return err
		}
	}
	for _, rq := range w.Requests {
		i := slices.IndexFunc(dst.Requests, func(d *RequestStats) bool { return d.Name == rq.Name })
		if i < 0 {
			dst.Requests = append(dst.Requests, &RequestStats{Name: rq.Name, Statuses: map[string]uint64{}})
			i = len(dst.Requests) - 1
		}
		if err = dst.Requests[i].add(rq); err != nil {
			return err
		}
	}
	return nil
}

// timelineMerge merges the per-second points of every series (total: key "").
type timelineMerge struct {
	owners map[string]*RequestStats
	points map[string]map[int]*pointMerge
}

type pointMerge struct {
	p       Point
	sources int
	hist    *hdrhistogram.Histogram
	err     error // a source's latency had no (or a corrupt) histogram
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
		m.sources++
		m.p.Planned += p.Planned
		m.p.Sent += p.Sent
		m.p.Count += p.Count
		m.p.Errors += p.Errors
		if m.hist == nil {
			m.hist = NewHistogram()
			m.add(m.p.HDR, m.p.Max)
		}
		m.add(p.HDR, p.Max)
	}
}

// add merges one source's encoded histogram of the second; max says whether it recorded
// a latency (a point without latency carries no histogram).
func (m *pointMerge) add(enc string, max float64) {
	switch {
	case m.hist == nil || m.err != nil:
	case enc != "":
		m.err = AddEncoded(m.hist, enc)
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
				if m.err != nil {
					return fmt.Errorf("timeline second %d of %q: %w", p.T, owner.Name, m.err)
				}
				p.setLatency(m.hist)
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
