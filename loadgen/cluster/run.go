package cluster

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// stopGrace bounds the wait for the workers' final figures after they were told to stop.
const stopGrace = 10 * time.Second

// evalWait bounds how long after a second's end its evaluation waits for every worker's
// interval of it: then a worker that is late (not yet lost) is left out of that second.
const evalWait = 2 * time.Second

// workerState is what Run knows of one worker.
type workerState struct {
	cur      *session // its current session (a rejoin replaces it)
	rejoined bool
	stats    result.WorkerStats
	fin      *final
	over     bool           // finished or lost
	planned  map[int]uint64 // planned per second, from its intervals
	sent     uint64
	uncClock time.Duration
	writes   []result.Write // its write log, as streamed with its intervals
	// unrecorded bounds the writes it sent after its last report before it was lost:
	// its iterations due from the start of its last reported second until the loss.
	unrecorded uint64
	reported   int // the seconds it reported: its intervals reached second reported-1
}

// Run merges the workers' interval records as they arrive, evaluates opts.Every on the
// merged figures once a second (abortOnFail: the workers are told to stop), marks a worker
// silent for WorkerSilence lost, and returns when every worker has finished or is lost:
// the exact merge of what they measured, their health, the write log (into
// opts.Writes) and the per-worker section (Result.Workers). Cancelling ctx stops every
// worker; their figures until then are the interrupted run's.
func (c *Coordinator) Run(ctx context.Context, spec *scenarios.Spec, opts loadgen.Options) (*result.Result, error) {
	if !opts.CapacityRamp { // the last phase: the sessions' notes are no longer read after it
		defer c.overMu.Do(func() { close(c.over) })
	}
	start := opts.StartAt
	if start.IsZero() {
		return nil, fmt.Errorf("coordinator: Run without a start time (call Ready first)")
	}
	pacer, _ := loadgen.PacerFor(spec.Load) // nil for the closed model
	var met *metrics                        // nil: no registry
	if opts.Registry != nil {
		if err := c.met.register(opts.Registry); err != nil {
			return nil, err
		}
		met = c.met
	}
	ws := make([]*workerState, c.cfg.Workers)
	c.mu.Lock()
	phase := c.phase
	for i, s := range c.sessions {
		st := &workerState{cur: s, planned: map[int]uint64{}, stats: result.WorkerStats{Index: i, Valid: true}}
		if s != nil {
			st.stats.Addr = s.addr
			if s.clock != nil {
				st.stats.ClockOffsetMS, st.stats.ClockUncertaintyMS = ms(s.clock.Offset), ms(s.clock.Uncertainty)
				st.uncClock = s.clock.Uncertainty
			}
		} else {
			st.over, st.stats.Lost, st.stats.Valid = true, true, false
			st.stats.Reasons = append(st.stats.Reasons, "left before the start")
		}
		ws[i] = st
	}
	c.mu.Unlock()

	var (
		cum      *result.Result
		pending  []*result.Result
		mergeErr error
		aborted  string
		stopAt   time.Time // when the coordinator stopped the workers (abort, interrupt)
		events   []result.Event
		deadline <-chan time.Time
		ctxDone  = ctx.Done()
	)
	// merge merges the pending intervals of the seconds up to last (all: -1).
	merge := func(last int) {
		if len(pending) == 0 || mergeErr != nil {
			return
		}
		var in, later []*result.Result
		if cum != nil {
			in = append(in, cum)
		}
		for _, iv := range pending {
			if last >= 0 && ivSecond(iv) > last {
				later = append(later, iv)
			} else {
				in = append(in, iv)
			}
		}
		pending = later
		if len(in) > 0 && (cum == nil || len(in) > 1) {
			cum, mergeErr = result.Merge(in...)
		}
	}
	// lose marks worker i lost, when s is its current session and it is not over.
	lose := func(i int, s *session, why string, at time.Time) {
		st := ws[i]
		if st.over || st.cur != s {
			return
		}
		st.over, st.stats.Lost, st.stats.Valid = true, true, false
		st.stats.LostAtS = at.Sub(start).Seconds()
		st.stats.Reasons = append(st.stats.Reasons, fmt.Sprintf("lost at %.1fs: %s", st.stats.LostAtS, why))
		c.logf("worker %d lost at %.1fs: %s", i, st.stats.LostAtS, why)
		st.unrecorded += unreported(st, loadgen.Stripe{Index: i, Count: len(ws)}, pacer, at.Sub(start))
		c.met.lose(i)
		if s != nil {
			c.mu.Lock()
			s.lost = true
			c.mu.Unlock()
			s.end() // the worker sees its stream end and stops
		}
	}
	allOver := func() bool {
		for _, st := range ws {
			if !st.over {
				return false
			}
		}
		return true
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	nextProgress := start.Add(5 * time.Second)
	// The merged figures are evaluated second by second, each once every worker's interval
	// of it has arrived (or evalWait after its end): opts.Every sees exactly the seconds up
	// to the one evaluated, as in one process.
	evalSec := 0
	secondDone := func(k int, now time.Time) bool {
		end := start.Add(time.Duration(k+1) * time.Second)
		if now.Before(end) {
			return false
		}
		if !now.Before(end.Add(evalWait)) {
			return true
		}
		for _, st := range ws {
			if !st.over && st.reported <= k {
				return false
			}
		}
		return true
	}
	evaluate := func(now time.Time) {
		for ; secondDone(evalSec, now); evalSec++ {
			merge(evalSec)
			met.second(cum, ws)
			if cum == nil {
				continue
			}
			if opts.Every != nil && aborted == "" {
				if stop, why := opts.Every(time.Duration(evalSec+1)*time.Second, cum); stop {
					aborted = why
					if aborted == "" {
						aborted = "stopped by the threshold evaluator"
					}
					elapsed := now.Sub(start)
					events = append(events, result.Event{At: elapsed.Seconds(), Kind: result.EventAbort, Name: "abortOnFail", Detail: aborted})
					c.logf("abort: %s: stopping every worker", aborted)
					stopAt = now
					c.stopAll("abort: "+aborted, phase)
					if deadline == nil {
						deadline = time.After(stopGrace)
					}
				}
			}
			if opts.Progress != nil && !now.Before(nextProgress) {
				nextProgress = nextProgress.Add(5 * time.Second)
				writeProgress(opts.Progress, cum, now.Sub(start), pacer, ws)
			}
		}
	}
	for !allOver() {
		select {
		case n := <-c.inbox:
			st := ws[n.index]
			switch n.kind {
			case noteInterval:
				if st.over {
					continue
				}
				pending = append(pending, n.iv)
				st.writes = append(st.writes, n.ws...)
				st.sent += n.iv.Generator.Sent
				for _, p := range n.iv.Timeline {
					st.planned[p.T] += p.Planned
					st.reported = max(st.reported, p.T+1)
				}
			case noteDone:
				if !st.over { // not after it was marked lost
					st.fin, st.over = n.fin, true
				}
			case noteLost:
				lose(n.index, n.s, n.why, n.at)
			case noteRejoin:
				lose(n.index, st.cur, "replaced by a rejoining worker", n.at) // if not yet marked
				st.cur, st.over, st.rejoined = n.s, false, true
				st.stats.Addr = n.s.addr
				st.stats.RejoinedAtS = n.at.Sub(start).Seconds()
				st.stats.Reasons = append(st.stats.Reasons, fmt.Sprintf("rejoined at %.1fs", st.stats.RejoinedAtS))
				c.mu.Lock()
				if n.s.clock != nil {
					st.stats.ClockOffsetMS, st.stats.ClockUncertaintyMS = ms(n.s.clock.Offset), ms(n.s.clock.Uncertainty)
					st.uncClock = max(st.uncClock, n.s.clock.Uncertainty)
				}
				c.mu.Unlock()
			}
		case <-ctxDone:
			ctxDone = nil
			if stopAt.IsZero() {
				stopAt = time.Now()
			}
			c.logf("interrupted: stopping every worker")
			c.stopAll("the coordinator was interrupted", phase)
			deadline = time.After(stopGrace)
		case <-deadline:
			for i, st := range ws {
				if !st.over {
					lose(i, st.cur, fmt.Sprintf("no final figures within %s of the stop", stopGrace), time.Now())
				}
			}
		case now := <-tick.C:
			c.mu.Lock()
			sessions := append([]*session(nil), c.sessions...)
			c.mu.Unlock()
			for i, s := range sessions {
				if s != nil && !ws[i].over && now.Sub(time.Unix(0, s.lastSeen.Load())) > WorkerSilence {
					lose(i, s, fmt.Sprintf("silent for %s", WorkerSilence), now)
				}
			}
		}
		evaluate(time.Now())
	}
	merge(-1)
	met.second(cum, ws)
	if mergeErr != nil {
		return nil, fmt.Errorf("coordinator: %w", mergeErr)
	}
	end := time.Now()
	res := cum
	if res == nil {
		res = result.NewRecorder(start, nil, opts.Windows).Result(end, true)
	}
	res.Scenario, res.Path, res.Seed = spec.Name, spec.Path, opts.Seed
	if err := c.finishResult(res, opts, ws, pacer, c.budget(spec.Load), start, end, stopAt); err != nil {
		return nil, err
	}
	res.Events = append(res.Events, events...)
	res.StopReason = aborted
	res.Interrupted = ctx.Err() != nil && aborted == ""
	c.mu.Lock()
	sink := c.results
	c.mu.Unlock()
	if err := sink.wait(stopGrace); err != nil {
		return res, err // the run completed; its results file is short
	}
	return res, nil
}

// finishResult sets res's generator health from the workers' (lost workers count with
// their shortfall), the per-worker section, the write log, and the figures only the
// workers' final messages carry.
func (c *Coordinator) finishResult(res *result.Result, opts loadgen.Options, ws []*workerState, pacer *loadgen.StagePacer, budget lostBudget, start, end, stopAt time.Time) error {
	healths := make([]*result.Result, 0, len(ws))
	transports := map[string]string{}
	for i, st := range ws {
		if opts.Writes != nil { // what it streamed, up to a loss; the rest comes with its final
			for _, w := range st.writes {
				opts.Writes.Add(w)
			}
			opts.Writes.Unrecorded(st.unrecorded)
		}
		stripe := loadgen.Stripe{Index: i, Count: len(ws)}
		h := result.Health{Valid: true}
		if st.fin != nil {
			h = st.fin.Health
			switch {
			case st.rejoined:
				// Its last incarnation's health with the whole run's counts: its share of
				// the schedule, and what its incarnations sent (their intervals).
				h.Sent, h.Planned = st.sent, st.sent
				if pacer != nil {
					until := end
					if !stopAt.IsZero() {
						until = stopAt
					}
					h.Planned = max(stripe.Share(pacer.Hits(until.Sub(start))), st.sent)
					addShortfall(res, stripe, pacer, st, end.Sub(start))
				}
				h.Dropped, h.Valid = h.Planned-h.Sent, false
				h.Reasons = []string{fmt.Sprintf("%d of its %d planned iterations were not sent", h.Planned-h.Sent, h.Planned)}
			case !stopAt.IsZero() && pacer != nil:
				h = plannedUntil(h, stripe.Share(pacer.Hits(stopAt.Sub(start))))
			}
			for name, tr := range st.fin.Transports {
				transports[name] = tr
			}
			if opts.Writes != nil {
				for _, w := range st.fin.Writes {
					opts.Writes.Add(w)
				}
				opts.Writes.Unrecorded(st.fin.WritesDropped)
			}
			for _, r := range h.Reasons {
				st.stats.Reasons = append(st.stats.Reasons, r)
				st.stats.Valid = false
			}
			if !h.Valid {
				st.stats.Valid = false
			}
		} else {
			// Lost: what it sent is what its intervals said; what it should have sent is its
			// stripe's share of the schedule until the run's end.
			h.Sent, h.Completed, h.Valid = st.sent, st.sent, false
			h.Planned = st.sent
			if pacer != nil {
				h.Planned = max(stripe.Share(pacer.Hits(end.Sub(start))), st.sent)
				addShortfall(res, stripe, pacer, st, end.Sub(start))
			}
			h.Dropped = h.Planned - h.Sent
			st.stats.Reasons = append(st.stats.Reasons, fmt.Sprintf("%d of its %d planned iterations were not sent", h.Dropped, h.Planned))
		}
		if st.uncClock > c.cfg.MaxClockUncertainty {
			st.stats.Valid = false
			st.stats.Reasons = append(st.stats.Reasons, fmt.Sprintf(
				"its clock offset is uncertain by ±%.1fms, beyond the %.1fms bound: its intended times are not known to that precision",
				ms(st.uncClock), ms(c.cfg.MaxClockUncertainty)))
		}
		st.stats.Planned, st.stats.Sent = h.Planned, h.Sent
		st.stats.LatenessP99MS, st.stats.GeneratorLatenessP99MS = h.LatenessP99MS, h.GeneratorLatenessP99MS
		hr := &result.Result{Schema: result.Schema, Scenario: res.Scenario, Seed: res.Seed, Start: res.Start, End: res.End, Generator: h}
		if st.fin != nil {
			hr.WebSocket, hr.Uptime, hr.Browser = st.fin.WebSocket, st.fin.Uptime, st.fin.Browser
		}
		healths = append(healths, hr)
	}
	merged, err := result.Merge(healths...)
	if err != nil {
		return fmt.Errorf("coordinator: merge the workers' health: %w", err)
	}
	res.Generator = merged.Generator
	res.WebSocket, res.Uptime, res.Browser = merged.WebSocket, merged.Uptime, merged.Browser
	res.Generator.Reasons = nil
	res.Generator.Valid = true
	res.Workers = nil
	lost := 0
	for _, st := range ws {
		if st.stats.Lost {
			lost++
		}
	}
	within := budget.allows(lost, len(ws))
	if !within {
		res.Generator.Valid = false
		res.Generator.Reasons = append(res.Generator.Reasons, fmt.Sprintf("%d of %d workers lost, beyond the budget of lost workers (%s)", lost, len(ws), budget))
	}
	for _, st := range ws {
		res.Workers = append(res.Workers, st.stats)
		if st.stats.Valid || (st.stats.Lost && within && st.uncClock <= c.cfg.MaxClockUncertainty) {
			continue // a lost worker within the budget: reported in Workers only
		}
		res.Generator.Valid = false
		for _, r := range st.stats.Reasons {
			res.Generator.Reasons = append(res.Generator.Reasons, fmt.Sprintf("worker %d: %s", st.stats.Index, r))
		}
	}
	for _, rq := range res.Requests {
		if tr, ok := transports[rq.Name]; ok {
			rq.Transport = tr
		}
	}
	return nil
}

// unreported is how many iterations a worker lost at elapsed may have sent after its last
// report: those due from the start of its last reported second (at least one; one for
// the closed model, whose count is not known). Their writes are not in the write log.
func unreported(st *workerState, stripe loadgen.Stripe, pacer *loadgen.StagePacer, elapsed time.Duration) uint64 {
	if pacer == nil {
		return 1 // the closed model: some, how many is not known
	}
	last := 0
	for t := range st.planned {
		last = max(last, t)
	}
	from := time.Duration(last) * time.Second
	if elapsed <= from {
		return 1
	}
	return max(1, stripe.Share(pacer.Hits(elapsed))-stripe.Share(pacer.Hits(from)))
}

// ivSecond is the second of an interval record: its timeline's last (-1: none).
func ivSecond(iv *result.Result) int {
	t := -1
	for _, p := range iv.Timeline {
		t = max(t, p.T)
	}
	return t
}

// plannedUntil is a worker's health when the coordinator stopped the run: the worker
// learnt of the stop a little later, and counted as planned (and never sent) what came due
// in between; as in one process, what was due when the run was stopped is what was
// planned.
func plannedUntil(h result.Health, due uint64) result.Health {
	if h.Planned <= due {
		return h
	}
	h.Planned = max(due, h.Sent)
	h.Dropped = h.Planned - h.Sent
	if h.Dropped == 0 {
		h.Reasons = slices.DeleteFunc(slices.Clone(h.Reasons), func(r string) bool { return strings.Contains(r, "planned iterations were never sent") })
		h.Valid = len(h.Reasons) == 0
	}
	return h
}

// addShortfall adds a lost worker's planned iterations of the seconds it did not report
// to the run's timeline, so that planned against sent shows the shortfall per second.
func addShortfall(res *result.Result, stripe loadgen.Stripe, pacer *loadgen.StagePacer, st *workerState, span time.Duration) {
	for i := range res.Timeline {
		p := &res.Timeline[i]
		from, to := time.Duration(p.T)*time.Second, min(time.Duration(p.T+1)*time.Second, span)
		if to <= from {
			continue
		}
		want := stripe.Share(pacer.Hits(to)) - stripe.Share(pacer.Hits(from))
		if got := st.planned[p.T]; want > got {
			p.Planned += want - got
		}
	}
}

// writeProgress writes the coordinator's progress line: the merged figures so far.
func writeProgress(w io.Writer, cum *result.Result, elapsed time.Duration, pacer *loadgen.StagePacer, ws []*workerState) {
	live := 0
	for _, st := range ws {
		if !st.stats.Lost {
			live++
		}
	}
	var rate, p99 float64
	if n := len(cum.Timeline); n > 0 {
		rate, p99 = float64(cum.Timeline[n-1].Count), cum.Timeline[n-1].P99
	}
	errPct := 0.0
	if cum.Total != nil && cum.Total.Count > 0 {
		errPct = 100 * float64(cum.Total.Errors) / float64(cum.Total.Count)
	}
	total := ""
	if pacer != nil {
		total = "/" + pacer.Duration().String()
	}
	fmt.Fprintf(w, "  %s%s  rate %.0f/s  p99 %.1fms  errors %.1f%%  workers %d/%d\n",
		elapsed.Truncate(time.Second), total, rate, p99, errPct, live, len(ws))
}
