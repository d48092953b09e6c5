package loadgen

import (
	"fmt"
	"math"
	"time"

	"github.com/trendtactics/loadlab/scenarios"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// DefaultMaxInFlight bounds concurrent iterations when Load.MaxInFlight is zero.
const DefaultMaxInFlight = 1000

// eps absorbs floating point error when the cumulative count of a stage is an integer
// in exact arithmetic (100/s for 10 s is 1000 hits, not 999.9999999).
const eps = 1e-6

// StagePacer is a vegeta.Pacer for a piecewise linear arrival rate: each stage ramps
// linearly from the previous stage's target (or the start rate) to its own target, as
// k6's ramping-arrival-rate does; a constant rate is one flat stage.
//
// The schedule is exact: with H(t) the integral of the rate from 0 to t, hit k (k = 1, 2, ...)
// is due at the time t_k where H(t_k) = k, so the number of hits due in any interval [a, b]
// is floor(H(b)) − floor(H(a)) and a stage gets exactly its planned count. Pace returns
// t_k − elapsed, which is negative when the caller is behind: unlike vegeta's pacers it never
// rounds a late hit to "now", so elapsed+wait is always the intended time of the hit.
//
// A striped StagePacer (Striped) is one worker's share of the schedule: its hit k is the
// schedule's hit number global(k-1)+1, at that hit's time, and its counts are the
// stripe's shares of the schedule's.
//
// A StagePacer is immutable and safe for concurrent use.
type StagePacer struct {
	stages []pstage
	total  uint64
	end    time.Duration
	stripe Stripe
}

type pstage struct {
	start, dur time.Duration
	r0, r1     float64 // hits per second at start and end
	h0         float64 // H(start)
	c0, c1     uint64  // hits due by start, by end (floor of H)
}

var _ vegeta.Pacer = (*StagePacer)(nil)

// RateStage is one segment of a StagePacer: the rate goes linearly from From to To
// (hits per second) over Duration.
type RateStage struct {
	Duration time.Duration
	From, To float64
}

// NewStagePacer returns the pacer of the given segments, run one after the other.
// Negative or non-finite rates are read as zero.
func NewStagePacer(segs []RateStage) *StagePacer {
	p := &StagePacer{}
	var at time.Duration
	h := 0.0
	for _, s := range segs {
		if s.Duration <= 0 {
			continue
		}
		r0, r1 := clampRate(s.From), clampRate(s.To)
		ps := pstage{start: at, dur: s.Duration, r0: r0, r1: r1, h0: h, c0: floorHits(h)}
		h += (r0 + r1) / 2 * s.Duration.Seconds()
		ps.c1 = floorHits(h)
		p.stages = append(p.stages, ps)
		at += s.Duration
	}
	p.end = at
	p.total = floorHits(h)
	return p
}

func clampRate(r float64) float64 {
	if math.IsNaN(r) || r < 0 || math.IsInf(r, 0) {
		return 0
	}
	return r
}

func floorHits(h float64) uint64 { return uint64(math.Floor(h + eps)) }

// PacerFor returns the pacer of an arrival-rate load. It returns an error for
// constant-vus, which has no arrival schedule, and for an unknown executor.
func PacerFor(l scenarios.Load) (*StagePacer, error) {
	unit := l.TimeUnit
	if unit <= 0 {
		unit = time.Second
	}
	perSec := func(r float64) float64 { return r / unit.Seconds() }
	switch executorOf(l) {
	case scenarios.ExecutorConstantArrivalRate:
		r := perSec(l.Rate)
		return NewStagePacer([]RateStage{{Duration: l.Duration, From: r, To: r}}), nil
	case scenarios.ExecutorRampingArrivalRate:
		segs := make([]RateStage, 0, len(l.Stages))
		prev := perSec(l.StartRate)
		for _, s := range l.Stages {
			to := perSec(s.Target)
			segs = append(segs, RateStage{Duration: s.Duration, From: prev, To: to})
			prev = to
		}
		return NewStagePacer(segs), nil
	case scenarios.ExecutorConstantVUs:
		return nil, fmt.Errorf("executor %s has no arrival rate", scenarios.ExecutorConstantVUs)
	default:
		return nil, fmt.Errorf("unknown executor %q", l.Executor)
	}
}

// executorOf returns the executor, inferring it when the field is empty.
func executorOf(l scenarios.Load) string {
	if l.Executor != "" {
		return l.Executor
	}
	switch {
	case len(l.Stages) > 0:
		return scenarios.ExecutorRampingArrivalRate
	case l.VUs > 0:
		return scenarios.ExecutorConstantVUs
	default:
		return scenarios.ExecutorConstantArrivalRate
	}
}

// Striped returns the pacer of stripe s of p's schedule (s's share of it; see Stripe).
func (p *StagePacer) Striped(s Stripe) *StagePacer {
	c := *p
	c.stripe = s
	return &c
}

// Total returns the number of hits the whole schedule plans.
func (p *StagePacer) Total() uint64 { return p.stripe.Share(p.total) }

// Duration returns the length of the schedule.
func (p *StagePacer) Duration() time.Duration { return p.end }

// Hits returns the number of hits due by elapsed (hits whose intended time is <= elapsed).
func (p *StagePacer) Hits(elapsed time.Duration) uint64 { return p.stripe.Share(p.hits(elapsed)) }

// hits is Hits of the whole schedule.
func (p *StagePacer) hits(elapsed time.Duration) uint64 {
	if elapsed <= 0 || len(p.stages) == 0 {
		return 0
	}
	if elapsed >= p.end {
		return p.total
	}
	for _, s := range p.stages {
		if elapsed < s.start+s.dur {
			tau := (elapsed - s.start).Seconds()
			a := (s.r1 - s.r0) / s.dur.Seconds()
			h := s.h0 + s.r0*tau + a*tau*tau/2
			return min(floorHits(h), s.c1)
		}
	}
	return p.total
}

// At returns the intended time of hit k (1-based); ok is false when k is past the schedule.
func (p *StagePacer) At(k uint64) (at time.Duration, ok bool) {
	if k == 0 {
		return 0, false
	}
	return p.at(p.stripe.global(k-1) + 1)
}

// at is At of the whole schedule.
func (p *StagePacer) at(k uint64) (at time.Duration, ok bool) {
	if k == 0 || k > p.total {
		return 0, false
	}
	for _, s := range p.stages {
		if k > s.c1 {
			continue
		}
		// Solve h0 + r0 τ + a τ²/2 = k for τ in [0, dur], in the form that is stable for a ≈ 0.
		d := float64(k) - s.h0
		a := (s.r1 - s.r0) / s.dur.Seconds()
		var tau float64
		disc := s.r0*s.r0 + 2*a*d
		if disc < 0 {
			disc = 0
		}
		den := s.r0 + math.Sqrt(disc)
		if den > 0 {
			tau = 2 * d / den
		}
		t := s.start + time.Duration(tau*1e9)
		if lim := s.start + s.dur; t > lim {
			t = lim
		}
		if t < s.start {
			t = s.start
		}
		return t, true
	}
	return 0, false
}

// Pace implements vegeta.Pacer: it returns the wait until hit number hits+1 is due, which is
// negative when that hit is already late, and stop once all planned hits were handed out.
func (p *StagePacer) Pace(elapsed time.Duration, hits uint64) (wait time.Duration, stop bool) {
	at, ok := p.At(hits + 1)
	if !ok {
		return 0, true
	}
	return at - elapsed, false
}

// Rate implements vegeta.Pacer: the planned rate in hits per second at elapsed.
func (p *StagePacer) Rate(elapsed time.Duration) float64 {
	for _, s := range p.stages {
		if elapsed >= s.start && elapsed < s.start+s.dur {
			f := float64(elapsed-s.start) / float64(s.dur)
			return (s.r0 + (s.r1-s.r0)*f) / float64(p.stripe.stride())
		}
	}
	return 0
}

// PeakRate returns the highest planned rate of the schedule, hits per second.
func (p *StagePacer) PeakRate() float64 {
	var r float64
	for _, s := range p.stages {
		r = max(r, s.r0, s.r1)
	}
	return r / float64(p.stripe.stride())
}

// PlanInfo is what a scenario's load will do, for --dry-run and validate.
type PlanInfo struct {
	Executor    string
	Stages      []PlanStage
	Iterations  uint64        // planned iterations (0 for constant-vus: closed model, not planned)
	Requests    float64       // expected requests: iterations × weighted mean steps per workload item
	StepsPerIt  float64       // weighted mean steps per iteration
	Duration    time.Duration // length of the schedule
	VUs         int           // constant-vus only
	MaxInFlight int           // bound on concurrent iterations
}

// PlanStage is one stage of the schedule; rates are iterations per second.
type PlanStage struct {
	Start      time.Duration
	Duration   time.Duration
	From, To   float64
	Iterations uint64
}

// Plan returns the schedule of a spec without running anything.
func Plan(spec *scenarios.Spec) PlanInfo {
	l := spec.Load
	pi := PlanInfo{Executor: executorOf(l), MaxInFlight: maxInFlight(l), StepsPerIt: meanSteps(spec.Workload)}
	if pi.Executor == scenarios.ExecutorConstantVUs {
		pi.VUs = l.VUs
		pi.Duration = l.Duration
		pi.Stages = []PlanStage{{Duration: l.Duration}}
		return pi
	}
	p, err := PacerFor(l)
	if err != nil {
		return pi
	}
	for _, s := range p.stages {
		pi.Stages = append(pi.Stages, PlanStage{Start: s.start, Duration: s.dur, From: s.r0, To: s.r1, Iterations: s.c1 - s.c0})
	}
	pi.Iterations = p.total
	pi.Duration = p.end
	pi.Requests = float64(pi.Iterations) * pi.StepsPerIt
	return pi
}

func maxInFlight(l scenarios.Load) int {
	if l.MaxInFlight > 0 {
		return l.MaxInFlight
	}
	return DefaultMaxInFlight
}

// meanSteps is the weighted mean number of requests per iteration.
func meanSteps(items []*scenarios.Item) float64 {
	var w, s float64
	var valid []*scenarios.Item
	for _, it := range items {
		if it != nil && len(stepsOf(it)) > 0 {
			valid = append(valid, it)
		}
	}
	for i, wt := range weights(valid) {
		w += float64(wt)
		s += float64(wt) * float64(len(stepsOf(valid[i])))
	}
	if w == 0 {
		return 0
	}
	return s / w
}
