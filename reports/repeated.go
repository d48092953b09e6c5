package reports

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/trendtactics/loadlab/internal/stats"
	"github.com/trendtactics/loadlab/result"
)

// Verdicts of a comparison with repetitions (CompareRepeated). PASS and INVALID are the
// run verdicts' words (Pass, Invalid) with the comparison's meaning.
const (
	Regression   = "REGRESSION"   // a figure is worse beyond its allowance, with confidence
	Improvement  = "IMPROVEMENT"  // no regression, no doubt, and a figure better beyond its allowance
	Inconclusive = "INCONCLUSIVE" // the figures cannot decide: too few runs or samples, intervals too wide
)

// repeatedMetrics are the figures CompareRepeated judges, in the order they are listed.
var repeatedMetrics = []string{"p50", "p90", "p99", "errors", "throughput"}

// GateOptions say how CompareRepeated decides.
type GateOptions struct {
	Allowances Allowances
	// Resamples is the number of bootstrap resamples (default 1000); Seed seeds them
	// (default 1): the same inputs and seed give the same intervals.
	Resamples int
	Seed      uint64
	// Alpha is the family-wise error rate over the gated figures (default 0.05); the
	// intervals are two-sided at 1 − Alpha (95 %).
	Alpha float64
	// BlockSeconds is the length of the blocks the bootstrap resamples within a run
	// (default 5): consecutive seconds are correlated, blocks of them much less.
	BlockSeconds int
	// WarmupSeconds are dropped from the start of every run's timeline.
	WarmupSeconds int
	// MinRuns is the fewest runs per side that can decide (default 3: with fewer, no rank
	// test of the runs can reach 5 %).
	MinRuns int
	// MinTail is the fewest latencies beyond a percentile, pooled per side, for that
	// percentile to be judged (default 20).
	MinTail int
}

func (o GateOptions) withDefaults() GateOptions {
	if o.Allowances.ByMetric == nil {
		o.Allowances = DefaultAllowances()
	}
	if o.Resamples <= 0 {
		o.Resamples = 1000
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Alpha <= 0 || o.Alpha >= 1 {
		o.Alpha = 0.05
	}
	if o.BlockSeconds <= 0 {
		o.BlockSeconds = 5
	}
	if o.MinRuns <= 0 {
		o.MinRuns = 3
	}
	if o.MinTail <= 0 {
		o.MinTail = 20
	}
	return o
}

// Repeated is the comparison of several base runs with several new runs.
type Repeated struct {
	Base, New []*result.Result
	Options   GateOptions
	// Verdict is PASS, REGRESSION, IMPROVEMENT, INCONCLUSIVE or INVALID.
	Verdict string
	// Invalid says why the runs cannot be compared (INVALID).
	Invalid []string
	// Figures lists every figure: per request present in every run (by name), then total.
	Figures []Figure
	// Gated counts the figures judged (not off, with data): Holm's family.
	Gated int
	// MoreRuns is, for INCONCLUSIVE, how many more runs per side would likely decide
	// (the largest over the undecided figures); -1 when no number would (a change right at
	// its allowance).
	MoreRuns int
	// OnlyInBase and OnlyInNew name the requests missing from some run: not judged.
	OnlyInBase, OnlyInNew []string
}

// Figure is one figure of one request over all runs.
type Figure struct {
	Request string
	Metric  string // p50, p90, p99 (ms), errors (a rate 0..1), throughput (responses/s)
	// Base and New are the figure of the pooled runs of each side.
	Base, New float64
	// Change is New against Base in the allowance's unit: a fraction (0.1 = +10 %) for a
	// relative allowance, ms for an absolute latency one, rate points for errors; Low and
	// High bound it (95 % bootstrap interval).
	Change, Low, High float64
	Relative          bool
	Allowed           string  // the allowance, as --allow writes it; "off": listed, not judged
	allowance         float64 // in Change's unit
	// BaseRuns and NewRuns are the figure of each run.
	BaseRuns, NewRuns []float64
	// PRank is the one-sided Mann-Whitney p-value of the runs' figures being worse beyond
	// the allowance (better beyond it, for an improvement); PBoot the bootstrap's; PHolm
	// the larger of the two after Holm's correction over the gated figures.
	PRank, PBoot, PHolm float64
	Verdict             string // PASS, REGRESSION, IMPROVEMENT, INCONCLUSIVE; "" when not judged
	Reason              string // why INCONCLUSIVE
	MoreRuns            int    // runs per side to add to decide; -1: none would
	NoData              bool
	bootstrap           []float64 // the resampled changes, sorted
}

// worse is +1 when a growing figure is worse (latency, errors), −1 for throughput.
func (f *Figure) worse() float64 {
	if f.Metric == "throughput" {
		return -1
	}
	return 1
}

// block is BlockSeconds of one run's timeline: counts and the latency histogram as
// cumulative counts over the request's bucket grid.
type block struct {
	count, errors uint64
	secs          int
	hist          []result.Bucket // non-empty latency buckets
	cum           []int64         // cumulative counts over the grid (filled by prepare)
	latencies     int64
}

// side is one side's runs of one request, cut into blocks.
type side struct{ runs [][]*block }

// CompareRepeated compares base runs with new runs (one or more each) figure by figure,
// with bootstrap intervals, rank tests and Holm's correction (see reports/CI.md). An error
// means a run cannot be read this way: a request's timeline has no per-second histograms.
func CompareRepeated(base, next []*result.Result, opts GateOptions) (*Repeated, error) {
	o := opts.withDefaults()
	r := &Repeated{Base: base, New: next, Options: o, MoreRuns: 0}
	if len(base) == 0 || len(next) == 0 {
		return nil, errors.New("compare: want at least one base and one new result")
	}
	r.Invalid = invalidReasons(base, next)
	names, onlyBase, onlyNew := commonRequests(base, next)
	r.OnlyInBase, r.OnlyInNew = onlyBase, onlyNew
	for i, name := range append(names, "total") {
		bs, err := sideOf(base, name, o)
		if err != nil {
			return nil, err
		}
		ns, err := sideOf(next, name, o)
		if err != nil {
			return nil, err
		}
		rng := rand.New(rand.NewPCG(o.Seed, uint64(i)))
		r.Figures = append(r.Figures, compareSides(name, bs, ns, o, rng)...)
	}
	r.decide()
	return r, nil
}

// invalidReasons says why the runs cannot be compared: a run not valid and complete,
// or runs of different scenarios, seeds or loadlab versions.
func invalidReasons(base, next []*result.Result) []string {
	var out []string
	all := slices.Concat(base, next)
	for i, res := range all {
		which, k := "base", i+1
		if i >= len(base) {
			which, k = "new", i-len(base)+1
		}
		switch res.Verdict {
		case Invalid:
			out = append(out, fmt.Sprintf("%s run %d is INVALID: the generator could not hold its schedule", which, k))
		case Interrupted:
			out = append(out, fmt.Sprintf("%s run %d was interrupted", which, k))
		}
	}
	differ := func(what string, key func(*result.Result) string) {
		seen := map[string]bool{}
		var vals []string
		for _, res := range all {
			if v := key(res); !seen[v] {
				seen[v] = true
				vals = append(vals, v)
			}
		}
		if len(vals) > 1 {
			out = append(out, fmt.Sprintf("the runs are of different %s (%s)", what, joinQuoted(vals)))
		}
	}
	differ("scenarios", func(r *result.Result) string { return r.Scenario })
	differ("seeds", func(r *result.Result) string { return fmt.Sprint(r.Seed) })
	differ("loadlab versions", func(r *result.Result) string {
		if r.Version == "" {
			return "unknown"
		}
		return r.Version
	})
	return out
}

func joinQuoted(v []string) string {
	s := ""
	for i, x := range v {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%q", x)
	}
	return s
}

// commonRequests are the request names in every run, sorted, and those in only some.
func commonRequests(base, next []*result.Result) (common, onlyBase, onlyNew []string) {
	count := func(rs []*result.Result) map[string]int {
		m := map[string]int{}
		for _, res := range rs {
			for _, st := range res.Requests {
				if st != nil {
					m[st.Name]++
				}
			}
		}
		return m
	}
	b, n := count(base), count(next)
	for name, k := range b {
		if k == len(base) && n[name] == len(next) {
			common = append(common, name)
		} else {
			onlyBase = append(onlyBase, name)
		}
	}
	for name, k := range n {
		if !(k == len(next) && b[name] == len(base)) && b[name] == 0 {
			onlyNew = append(onlyNew, name)
		}
	}
	sort.Strings(common)
	sort.Strings(onlyBase)
	sort.Strings(onlyNew)
	return common, onlyBase, onlyNew
}

// sideOf cuts each run's timeline of request name ("total": all) into blocks.
func sideOf(runs []*result.Result, name string, o GateOptions) (*side, error) {
	s := &side{}
	for i, res := range runs {
		var tl []result.Point
		if name == "total" {
			tl = res.Timeline
			if tl == nil && res.Total != nil {
				tl = res.Total.Timeline
			}
		} else {
			for _, st := range res.Requests {
				if st != nil && st.Name == name {
					tl = st.Timeline
				}
			}
		}
		blocks, err := blocksOf(tl, o)
		if err != nil {
			return nil, fmt.Errorf("%s run %d (%s), request %s: %w", "compare", i+1, runLabel(res), name, err)
		}
		s.runs = append(s.runs, blocks)
	}
	return s, nil
}

// blocksOf cuts a timeline, after the warm-up and without its last second (the load
// stops within it: a partial second), into blocks of o.BlockSeconds seconds; a last
// partial block is kept only when it is the only one.
func blocksOf(tl []result.Point, o GateOptions) ([]*block, error) {
	var pts []result.Point
	if len(tl) > 1 {
		tl = tl[:len(tl)-1]
	}
	for _, p := range tl {
		if p.T >= o.WarmupSeconds {
			pts = append(pts, p)
		}
	}
	var out []*block
	for from := 0; from < len(pts); from += o.BlockSeconds {
		to := min(from+o.BlockSeconds, len(pts))
		if to-from < o.BlockSeconds && len(out) > 0 {
			break
		}
		b := &block{secs: to - from}
		var encs []string
		for _, p := range pts[from:to] {
			b.count += p.Count
			b.errors += p.Errors
			if p.HDR != "" {
				encs = append(encs, p.HDR)
			} else if p.Count > p.Errors {
				return nil, fmt.Errorf("second %d has responses but no histogram (a result written before per-second histograms?)", p.T)
			}
		}
		h, err := result.Buckets(encs)
		if err != nil {
			return nil, fmt.Errorf("seconds %d-%d: %w", pts[from].T, pts[to-1].T, err)
		}
		b.hist = h
		for _, bk := range h {
			b.latencies += bk.Count
		}
		out = append(out, b)
	}
	return out, nil
}

// grid is the sorted union of the bucket values of every block of both sides; prepare
// fills each block's cumulative counts over it.
func prepare(sides ...*side) []int64 {
	seen := map[int64]bool{}
	for _, s := range sides {
		for _, run := range s.runs {
			for _, b := range run {
				for _, bk := range b.hist {
					seen[bk.Value] = true
				}
			}
		}
	}
	grid := make([]int64, 0, len(seen))
	for v := range seen {
		grid = append(grid, v)
	}
	slices.Sort(grid)
	for _, s := range sides {
		for _, run := range s.runs {
			for _, b := range run {
				b.cum = make([]int64, len(grid))
				for _, bk := range b.hist {
					i, _ := slices.BinarySearch(grid, bk.Value)
					b.cum[i] += bk.Count
				}
				for i := 1; i < len(b.cum); i++ {
					b.cum[i] += b.cum[i-1]
				}
			}
		}
	}
	return grid
}

// weighted is a resample of one side: each block with its multiplicity.
type weighted struct {
	blocks []*block
	w      []int64
}

// figs are one side's figures of a weighting; ok[m] says figure m has data.
type figs struct {
	v  [5]float64 // in repeatedMetrics' order: p50, p90, p99 (ms), errors, throughput
	ok [5]bool
}

var metricIndex = map[string]int{"p50": 0, "p90": 1, "p99": 2, "errors": 3, "throughput": 4}

// figures computes the side's p50, p90, p99 (ms), error rate and throughput of a weighting.
func (ws weighted) figures(grid []int64) (f figs, latencies int64) {
	var count, errs, lat, secs int64
	for i, b := range ws.blocks {
		w := ws.w[i]
		count += w * int64(b.count)
		errs += w * int64(b.errors)
		secs += w * int64(b.secs)
		lat += w * b.latencies
	}
	if count > 0 {
		f.v[3], f.ok[3] = float64(errs)/float64(count), true
	}
	if secs > 0 {
		f.v[4], f.ok[4] = float64(count)/float64(secs), true
	}
	if lat == 0 {
		return f, 0
	}
	for k, q := range [3]float64{0.50, 0.90, 0.99} {
		// As hdrhistogram's ValueAtQuantile: the first bucket whose cumulative count
		// reaches q of the total, rounded, at least 1.
		target := max(int64(q*float64(lat)+0.5), 1)
		i := sort.Search(len(grid), func(u int) bool {
			var c int64
			for j, b := range ws.blocks {
				if w := ws.w[j]; w != 0 {
					c += w * b.cum[u]
				}
			}
			return c >= target
		})
		if i < len(grid) {
			f.v[k], f.ok[k] = result.MS(grid[i]), true
		}
	}
	return f, lat
}

// all weights every block of every run once; run weights only run k's.
func (s *side) all() weighted {
	var ws weighted
	for _, run := range s.runs {
		for _, b := range run {
			ws.blocks = append(ws.blocks, b)
			ws.w = append(ws.w, 1)
		}
	}
	return ws
}

func (s *side) run(k int) weighted {
	ws := weighted{blocks: s.runs[k], w: make([]int64, len(s.runs[k]))}
	for i := range ws.w {
		ws.w[i] = 1
	}
	return ws
}

// resample draws runs with replacement, and within each drawn run its blocks with
// replacement: the two levels of variation (between runs, within a run).
func (s *side) resample(rng *rand.Rand, ws weighted) {
	clear(ws.w)
	// ws.blocks is s.all()'s order: run k's blocks start at offset[k].
	off := 0
	offsets := make([]int, len(s.runs))
	for k, run := range s.runs {
		offsets[k] = off
		off += len(run)
	}
	for range s.runs {
		k := rng.IntN(len(s.runs))
		n := len(s.runs[k])
		for range n {
			ws.w[offsets[k]+rng.IntN(n)]++
		}
	}
}

// change is the figure's change from b to n in the allowance's unit.
func change(metric string, a Allowance, b, n float64) float64 {
	switch {
	case metric == "errors":
		return n - b
	case metric != "throughput" && !a.Relative:
		return n - b
	case b == 0:
		if n == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return n/b - 1
}

// compareSides computes the figures of one request.
func compareSides(name string, bs, ns *side, o GateOptions, rng *rand.Rand) []Figure {
	grid := prepare(bs, ns)
	bfig, blat := bs.all().figures(grid)
	nfig, nlat := ns.all().figures(grid)
	perRun := func(sd *side) []figs {
		out := make([]figs, len(sd.runs))
		for k := range sd.runs {
			out[k], _ = sd.run(k).figures(grid)
		}
		return out
	}
	bruns, nruns := perRun(bs), perRun(ns)
	var out []Figure
	for _, m := range repeatedMetrics {
		mi := metricIndex[m]
		a, ok := o.Allowances.ByMetric[m]
		if !ok {
			a = Allowance{Off: true}
		}
		f := Figure{Request: name, Metric: m, Base: bfig.v[mi], New: nfig.v[mi], Allowed: a.string(m),
			Relative: m == "throughput" || (m != "errors" && a.Relative), allowance: a.Value}
		f.Change = change(m, a, f.Base, f.New)
		f.NoData = !bfig.ok[mi] || !nfig.ok[mi] || (f.Relative && f.Base == 0)
		for _, r := range bruns {
			f.BaseRuns = append(f.BaseRuns, r.v[mi])
		}
		for _, r := range nruns {
			f.NewRuns = append(f.NewRuns, r.v[mi])
		}
		if q := [5]float64{0.5, 0.9, 0.99}[mi]; q > 0 && !f.NoData {
			tail := min(float64(blat), float64(nlat)) * (1 - q)
			if tail < float64(o.MinTail) {
				per := tail / float64(min(len(bs.runs), len(ns.runs)))
				f.Verdict, f.Reason = Inconclusive, fmt.Sprintf("%.0f latencies beyond %s on the smaller side, want %d", tail, m, o.MinTail)
				f.MoreRuns = -1
				if per > 0 {
					f.MoreRuns = int(math.Ceil(float64(o.MinTail)/per)) - min(len(bs.runs), len(ns.runs))
				}
			}
		}
		out = append(out, f)
	}
	// The bootstrap: every resample draws both sides once, for all figures.
	bw, nw := bs.all(), ns.all()
	for i := range out {
		if !out[i].NoData {
			out[i].bootstrap = make([]float64, 0, o.Resamples)
		}
	}
	for range o.Resamples {
		bs.resample(rng, bw)
		ns.resample(rng, nw)
		b, _ := bw.figures(grid)
		n, _ := nw.figures(grid)
		for i := range out {
			f := &out[i]
			if f.NoData {
				continue
			}
			mi := metricIndex[f.Metric]
			f.bootstrap = append(f.bootstrap, change(f.Metric, o.Allowances.ByMetric[f.Metric], b.v[mi], n.v[mi]))
		}
	}
	lo, hi := o.Alpha/2, 1-o.Alpha/2
	for i := range out {
		f := &out[i]
		if f.NoData {
			continue
		}
		slices.Sort(f.bootstrap)
		f.Low, f.High = quantile(f.bootstrap, lo), quantile(f.bootstrap, hi)
	}
	return out
}

// quantile is the q-quantile of sorted v (linear interpolation, as numpy's default).
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(v)-1)
	i := int(pos)
	if i+1 >= len(v) {
		return v[len(v)-1]
	}
	return v[i] + (pos-float64(i))*(v[i+1]-v[i])
}

// decide tests each gated figure, corrects over the family and sets the verdicts.
func (r *Repeated) decide() {
	o := r.Options
	runs := min(len(r.Base), len(r.New))
	var gated []int
	for i, f := range r.Figures {
		if !f.NoData && f.Allowed != "off" {
			gated = append(gated, i)
		}
	}
	r.Gated = len(gated)
	pReg, pImp := make([]float64, len(gated)), make([]float64, len(gated))
	bootReg, bootImp := make([]float64, len(gated)), make([]float64, len(gated))
	rankReg, rankImp := make([]float64, len(gated)), make([]float64, len(gated))
	for k, i := range gated {
		f := &r.Figures[i]
		w, a := f.worse(), f.allowance
		var atMostA, atLeastMinusA int
		for _, c := range f.bootstrap {
			if w*c <= a {
				atMostA++
			}
			if w*c >= -a {
				atLeastMinusA++
			}
		}
		b := float64(len(f.bootstrap) + 1)
		bootReg[k], bootImp[k] = float64(1+atMostA)/b, float64(1+atLeastMinusA)/b
		rankReg[k], rankImp[k] = f.rankP(+1), f.rankP(-1)
		// Both tests must reject (an intersection-union test: its level is the larger p).
		pReg[k], pImp[k] = max(bootReg[k], rankReg[k]), max(bootImp[k], rankImp[k])
	}
	hReg, hImp := stats.Holm(pReg), stats.Holm(pImp)
	for k, i := range gated {
		f := &r.Figures[i]
		w, a := f.worse(), f.allowance
		wl, wh := f.Low, f.High
		if w < 0 {
			wl, wh = -f.High, -f.Low
		}
		wc := w * f.Change
		f.PBoot, f.PRank, f.PHolm = bootReg[k], rankReg[k], hReg[k]
		if wc < 0 {
			f.PBoot, f.PRank, f.PHolm = bootImp[k], rankImp[k], hImp[k]
		}
		switch {
		case f.Verdict == Inconclusive: // too few latencies beyond the percentile
		case runs < o.MinRuns:
			f.Verdict = Inconclusive
			f.Reason = fmt.Sprintf("%d base and %d new runs: the rank test needs %d a side", len(r.Base), len(r.New), o.MinRuns)
			f.MoreRuns = o.MinRuns - runs
		case wl > a && hReg[k] <= o.Alpha:
			f.Verdict = Regression
		case wh < -a && hImp[k] <= o.Alpha:
			f.Verdict = Improvement
		case wh <= a:
			f.Verdict = Pass
		case wl > a:
			f.Verdict = Inconclusive
			f.Reason = fmt.Sprintf("the interval lies beyond the allowance, but the runs' ranks do not agree enough (Holm p %.3g)", hReg[k])
			f.MoreRuns = max(runsForRank(runs, o.Alpha/float64(len(gated))), 1)
		default:
			f.Verdict = Inconclusive
			f.Reason = "the interval reaches beyond the allowance"
			f.MoreRuns = runsForInterval(runs, (wh-wl)/2, math.Abs(wc-a))
		}
		if floor := o.Allowances.LatencyFloorMS; floor > 0 && f.Metric[0] == 'p' && f.New-f.Base < floor &&
			(f.Verdict == Regression || f.Verdict == Inconclusive) {
			f.Verdict, f.MoreRuns = Pass, 0
			f.Reason = fmt.Sprintf("grew by less than the latency floor of %gms", floor)
		}
	}
	var undecided, regressed, improved int
	for _, f := range r.Figures {
		switch f.Verdict {
		case Regression:
			regressed++
		case Improvement:
			improved++
		case Inconclusive:
			undecided++
			if f.MoreRuns < 0 && r.MoreRuns == 0 {
				r.MoreRuns = -1
			}
			if f.MoreRuns > r.MoreRuns {
				r.MoreRuns = f.MoreRuns
			}
		}
	}
	switch {
	case len(r.Invalid) > 0:
		r.Verdict = Invalid
	case regressed > 0:
		r.Verdict = Regression
	case undecided > 0:
		r.Verdict = Inconclusive
	case improved > 0:
		r.Verdict = Improvement
	default:
		r.Verdict = Pass
	}
}

// runsForRank is how many more runs a side needs for an exact rank test to be able to
// reach level: the smallest n with 1/C(2n, n) ≤ level.
func runsForRank(runs int, level float64) int {
	for n := 1; n <= 100; n++ {
		if stats.MinP(n, n) <= level {
			return n - runs
		}
	}
	return -1
}

// runsForInterval estimates how many more runs a side needs for an interval of
// half-width half to clear a distance gap from the allowance, as an interval narrows with
// the square root of the runs; -1 when the change sits at the allowance (no count would do,
// or more than 100).
func runsForInterval(runs int, half, gap float64) int {
	if gap <= 0 || half <= 0 {
		return -1
	}
	need := math.Ceil(float64(runs) * (half / gap) * (half / gap))
	if need > 100 {
		return -1
	}
	return max(int(need)-runs, 1)
}

// rankP is the one-sided Mann-Whitney p-value of the new runs' figures being worse
// (dir +1) or better (dir −1) than the base runs' beyond the allowance: the new figures
// are moved by the allowance before they are ranked with the base ones.
func (f *Figure) rankP(dir float64) float64 {
	a := f.allowance
	w := f.worse() * dir // +1: the test asks "larger than base beyond a"
	adj := make([]float64, len(f.NewRuns))
	for i, y := range f.NewRuns {
		switch {
		case !f.Relative:
			adj[i] = y - w*a
		case w > 0:
			adj[i] = y / (1 + a)
		default:
			if a >= 1 {
				return 1 // cannot drop by 100 % or more
			}
			adj[i] = y / (1 - a)
		}
	}
	alt := stats.Greater
	if w < 0 {
		alt = stats.Less
	}
	res, err := stats.MannWhitney(adj, f.BaseRuns, alt)
	if err != nil {
		return 1
	}
	return res.P
}
