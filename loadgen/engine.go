package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// Defaults of the engine, documented in doc.go.
const (
	// DefaultTimeout is the request timeout when neither the request nor the spec sets one.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxLateness bounds the p99 of the generator's own send lateness (not accrued while
	// waiting for a free worker); above it the generator was too slow and the run is invalid.
	DefaultMaxLateness = 25 * time.Millisecond
	// DispatchGrace is how long after the schedule's end late iterations are still sent.
	DispatchGrace = time.Second
	// maxBody bounds the bytes of a response body kept for captures and JSON checks.
	maxBody = 16 << 20
)

// Options are the run-time settings of Run that don't come from the scenario.
type Options struct {
	BaseURL string // target base URL (spec.Target.URL or the lab's edge); default spec.Target.URL
	Seed    int64
	// Results, when set, receives one vegeta Result per response in vegeta's binary (gob)
	// format, readable by `vegeta report` and `vegeta plot`.
	Results io.Writer
	// Registry, when set, gets the live metrics (loadgen_*).
	Registry prometheus.Registerer
	// Progress, when set, receives progress output: a live line (\r) when TTY is true,
	// a plain line every 5 s otherwise.
	Progress io.Writer
	TTY      bool
	// Windows are named time windows (fault windows) with their own stats; the window
	// "steady" (outside all windows) is added unless one of that name is given.
	Windows []result.Window
	// Every is called once per second, on the recorder goroutine, with a snapshot of the
	// cumulative stats (histograms are copies; HDR strings are left empty); returning
	// stop=true ends the load early (abortOnFail) with the reason recorded.
	Every func(elapsed time.Duration, snap *result.Result) (stop bool, reason string)
	// Intervals, when set, is called once per second, on the recorder goroutine, with the
	// interval record of the second just closed (result.Recorder.Tick): what a worker
	// streams to its coordinator. result.Merge of a run's intervals gives the run's counts,
	// histograms and timeline exactly. The record is the callee's.
	Intervals func(*result.Result)
	// MaxLateness overrides DefaultMaxLateness.
	MaxLateness time.Duration
	// Writes, when set, records every request marked `write:` with its outcome (writes.go).
	Writes *result.WriteLog
	// Transport, when set, overrides the spec's transport: (scenarios.TransportAuto,
	// TransportNetHTTP, TransportFast); see Transports.
	Transport string
	// Stripe makes the run one worker's share of the schedule (see Stripe): the pacer's
	// hits and the iteration numbers are that stripe's. The zero Stripe is all of it.
	Stripe Stripe
	// StartAt, when set, is the run's start: Run waits until then, and intended times count
	// from it (the workers of a coordinator start together). Zero: now.
	StartAt time.Time
	// CapacityRamp marks the run of a capacity ramp (MeasureCapacityWith): its spec is
	// CapacityRampSpec of the scenario's. CapacityRPS is the capacity the spec's relative
	// rates were resolved with (Spec.WithCapacity). The engine ignores both: they tell a
	// distributed generator's workers which spec to derive from their scenario.
	CapacityRamp bool
	CapacityRPS  float64
	// CACerts are PEM CA certificates trusted for an https target beside the scenario's
	// target.tls.ca (a lab with tls: true passes its throwaway CA); see clientTLS.
	CACerts []byte

	// slowDispatch, set by tests only, delays every dispatch to simulate a starved generator.
	slowDispatch time.Duration
	// chrome, set by tests only, is a running Chromium that browser requests use (browser.go).
	chrome *chromium
}

// engine is the state of one Run.
type engine struct {
	spec  *scenarios.Spec
	opts  Options
	base  string
	work  *Workload
	steps [][]estep // per workload item (Workload.items order)
	names []string  // request names, index = estep.idx

	pacer       *StagePacer // nil for constant-vus
	vus         int
	duration    time.Duration
	maxInFlight int
	maxLateness time.Duration
	timeout     time.Duration

	start      time.Time
	tls        *tls.Config // of every client (tls.go)
	transport  *http.Transport
	client     *http.Client // shared client of single-request iterations (no cookie jar)
	fast       *fastClient  // nil when no request goes by the fast transport
	transports []string     // per name index: transportFast or transportNetHTTP
	samples    chan sample
	loadDone   chan struct{} // closed after samples: the recorder takes the last ones
	met        *metrics

	sentBy    []atomic.Uint64 // requests sent, per name index
	firstStep []int32         // name index of each workload item's first request

	inFlight, maxSeen atomic.Int64
	sent, completed   atomic.Uint64
	cancelled         atomic.Uint64
	planned           atomic.Uint64 // final planned count, set when the schedule stops

	lateMu   sync.Mutex
	lateAll  *hdrhistogram.Histogram // first request's send − intended time (µs)
	lateOwn  *hdrhistogram.Histogram // first request's send − job.ownFrom (µs)
	poolFull uint64                  // dispatches that waited for a worker

	endedWaiting bool // the schedule ended while the loop waited for a worker (read after it ends)

	ws    *wsState // websocket connection figures (nil without websocket requests)
	probe *prober  // the uptime probe (nil without spec.Probe)

	browser *browserPool // browser contexts (nil without browser requests; browser.go)
}

// estep is a request of an item with its name index.
type estep struct {
	step
	idx        int32
	extra      int32 // name index of a video request's <name>/segments series; -1 for none
	needBody   bool
	needHeader bool // a capture reads a response header
	fast       bool // sent by the fast transport
	// url is the URL of a single-request item sent by the fast transport that renders the
	// same for every iteration ("" for others): its iterations need no scenarios.Iteration.
	url string
	// literal holds that request rendered once, ready to send (nil for others): rendering it
	// and parsing its URL for every send cost 4 % of the CPU at 5000/s, copying it 2 %.
	literal *literalRequests
}

// literalRequests are copies of a literal request rendered once (proto): sending one leaves
// it as it was (fasthttp's Do only adds what it adds to every request, the same each time),
// so each worker takes a copy, sends it and puts it back, and only a new worker copies proto.
type literalRequests struct {
	proto *fasthttp.Request
	ready sync.Pool            // of *fasthttp.Request
	hc    *fasthttp.HostClient // the fast client's client of its host
}

func (l *literalRequests) get() *fasthttp.Request {
	if r, ok := l.ready.Get().(*fasthttp.Request); ok {
		return r
	}
	r := new(fasthttp.Request)
	l.proto.CopyTo(r)
	return r
}

func (l *literalRequests) put(r *fasthttp.Request) { l.ready.Put(r) }

// Run runs the load of spec against opts.BaseURL and returns what it measured.
// Cancelling ctx interrupts the run: the load stops, in-flight requests are cancelled
// (and not counted), and the partial result is returned with Interrupted set and a nil
// error. An error is returned when the spec can't run; a result together with an error
// when the run completed but writing Options.Results failed.
func Run(ctx context.Context, spec *scenarios.Spec, opts Options) (*result.Result, error) {
	e, err := newEngine(spec, opts)
	if err != nil {
		return nil, err
	}
	if opts.Registry != nil {
		if e.met, err = newMetrics(opts.Registry); err != nil {
			return nil, err
		}
	}
	if e.ws != nil {
		if e.ws, err = newWSState(opts.Registry); err != nil {
			return nil, err
		}
	}
	defer e.transport.CloseIdleConnections()
	if e.fast != nil {
		defer e.fast.closeIdle()
	}
	if scenarios.HasBrowser(spec) {
		if e.browser, err = newBrowserPool(e); err != nil {
			return nil, err
		}
		defer e.browser.close()
	}

	// The setup's garbage (the scenario's parse, the plan, the engine's construction) is
	// collected before the load starts, so that the run's allocations reuse its memory, and
	// the collector's own buffers are in place before the first request: otherwise a run's
	// first collection came at its second minute (the runtime's forced one) and added 0.8 MB
	// of RSS there.
	runtime.GC()
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	e.start = startAt(ctx, opts.StartAt)
	rec := newRecorder(e, stopLoad)
	recDone := make(chan struct{})
	go func() { // ends when e.samples and e.loadDone are closed below
		defer close(recDone)
		rec.run()
	}()
	prog := startProgress(e, rec, opts.Progress, opts.TTY) // stopped below, before Run returns
	collected := make(chan struct{})
	go func() { // ends when e.loadDone is closed below
		defer close(collected)
		newCollector(collectEvery).run(e.loadDone)
	}()
	probeCtx, stopProbe := context.WithCancel(loadCtx)
	probeDone := make(chan struct{})
	go func() { // ends when stopProbe is called below, after the load
		defer close(probeDone)
		if e.probe != nil {
			e.probe.run(probeCtx, e.start)
		}
	}()

	// fasthttp takes no context: when the load is stopped, its connections are closed so
	// that requests in flight end at once (they are counted as cancelled).
	watchCtx, stopWatch := context.WithCancel(loadCtx)
	watchDone := make(chan struct{})
	go func() { // ends when the load is over (stopWatch below) or stopped
		defer close(watchDone)
		<-watchCtx.Done()
		if e.fast != nil && loadCtx.Err() != nil {
			e.fast.stop()
		}
	}()
	if e.pacer != nil {
		e.schedule(loadCtx)
	} else {
		e.runVUs(loadCtx)
	}
	stopWatch()
	<-watchDone
	stopProbe()
	<-probeDone
	close(e.samples)
	close(e.loadDone)
	<-recDone
	<-collected
	prog.stop()

	res := rec.result(true, rec.end)
	res.Interrupted = ctx.Err() != nil && !rec.aborted()
	return res, rec.writeErr
}

func newEngine(spec *scenarios.Spec, opts Options) (*engine, error) {
	if spec == nil {
		return nil, errors.New("no scenario")
	}
	e := &engine{spec: spec, opts: opts, base: opts.BaseURL}
	if e.base == "" {
		e.base = spec.Target.URL
	}
	if e.base == "" {
		return nil, errors.New("no target URL: set target.url or Options.BaseURL")
	}
	if err := opts.Stripe.Validate(); err != nil {
		return nil, err
	}
	e.work = NewWorkload(spec, opts.Seed)
	if len(e.work.items) == 0 {
		return nil, errors.New("workload has no request")
	}
	l := spec.Load
	e.maxInFlight = maxInFlight(l)
	e.maxLateness = opts.MaxLateness
	if e.maxLateness <= 0 {
		e.maxLateness = DefaultMaxLateness
	}
	mode, err := transportMode(spec, opts.Transport)
	if err != nil {
		return nil, err
	}
	e.timeout = spec.Defaults.Timeout
	if e.timeout <= 0 {
		e.timeout = DefaultTimeout
	}
	if executorOf(l) == scenarios.ExecutorConstantVUs {
		if l.VUs <= 0 || l.Duration <= 0 {
			return nil, fmt.Errorf("%s needs vus and duration above zero", scenarios.ExecutorConstantVUs)
		}
		e.vus, e.duration = int(opts.Stripe.Share(uint64(l.VUs))), l.Duration
		e.maxInFlight = l.VUs
	} else {
		p, err := PacerFor(l)
		if err != nil {
			return nil, err
		}
		e.pacer, e.duration = p.Striped(opts.Stripe), p.Duration()
	}

	index := map[string]int32{}
	for _, it := range e.work.items {
		var ss []estep
		for _, s := range stepsOf(it) {
			if s.req.URL == nil {
				return nil, fmt.Errorf("request %s has no url", s.name)
			}
			idx, ok := index[s.name]
			if !ok {
				idx = int32(len(e.names))
				index[s.name] = idx
				e.names = append(e.names, s.name)
			}
			need := s.flow != nil && len(s.flow.Capture) > 0 ||
				s.req.Expect != nil && len(s.req.Expect.JSON) > 0
			es := estep{step: s, idx: idx, extra: -1, needBody: need}
			es.fast, _ = chooseTransport(mode, s.req, e.base)
			if es.fast && s.flow == nil && literal(s.req) {
				es.url, _ = s.req.RenderURL(spec.NewIteration(0, opts.Seed), e.base) // a literal renders
				proto := new(fasthttp.Request)
				if _, err := renderFast(proto, &es, nil, e.base); err == nil {
					es.literal = &literalRequests{proto: proto} // else each send renders it again and reports its error
				}
			}
			if s.flow != nil {
				for _, c := range s.flow.Capture {
					es.needHeader = es.needHeader || strings.HasPrefix(c.From, "header:")
				}
			}
			if !ok {
				tr := transportNetHTTP
				if es.fast {
					tr = transportFast
				}
				e.transports = append(e.transports, tr)
			}
			switch s.req.Kind {
			case scenarios.KindVideo:
				name := s.name + scenarios.SegmentsSuffix
				var seen bool
				es.extra, seen = index[name]
				if !seen {
					es.extra = int32(len(e.names))
					index[name] = es.extra
					e.names = append(e.names, name)
					e.transports = append(e.transports, transportNetHTTP)
				}
			case scenarios.KindWebSocket:
				e.ws = &wsState{} // replaced in Run, with its metrics
			}
			ss = append(ss, es)
		}
		e.steps = append(e.steps, ss)
	}

	if e.tls, err = clientTLS(spec, opts); err != nil {
		return nil, err
	}
	e.transport = newTransport(e.maxInFlight)
	e.transport.TLSClientConfig = e.tls
	e.client = &http.Client{Transport: e.transport, CheckRedirect: noRedirect}
	for _, ss := range e.steps {
		for _, st := range ss {
			if st.fast && e.fast == nil {
				e.fast = newFastClient(e.maxInFlight)
				e.fast.tls = e.tls
			}
			if st.literal != nil { // one host for every copy
				st.literal.hc = e.fast.host(st.literal.proto)
			}
		}
	}
	e.samples = make(chan sample, 4096)
	e.loadDone = make(chan struct{})
	e.sentBy = make([]atomic.Uint64, len(e.names))
	for _, ss := range e.steps {
		e.firstStep = append(e.firstStep, ss[0].idx)
	}
	e.lateAll = result.NewHistogram()
	e.lateOwn = result.NewHistogram()
	if spec.Probe != nil {
		e.probe = newProber(spec.Probe, e.base, e.transport)
	}
	return e, nil
}

// literal reports whether a request renders the same for every iteration.
func literal(r *scenarios.Request) bool {
	if !r.URL.IsLiteral() || !r.Body.IsLiteral() {
		return false
	}
	for _, h := range r.Headers {
		if !h.IsLiteral() {
			return false
		}
	}
	return true
}

// newTransport is vegeta's transport setup (keep-alive dialer, idle pool per host) with the
// pool sized to the in-flight bound and without reading proxy settings from the environment.
func newTransport(conns int) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext:           d.DialContext,
		MaxIdleConns:          conns,
		MaxIdleConnsPerHost:   conns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}
}

// noRedirect makes the client return 3xx responses as they are: each request is measured alone.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

type job struct {
	seq      uint64
	intended time.Duration // offset from e.start
	// ownFrom is max(intended, the end of the last wait for a free worker): send lateness
	// after it is the generator's own, before it the pool's.
	ownFrom time.Duration
}

// schedule runs the open model. There is no dispatching goroutine: each idle worker claims
// the next iteration (in order), sleeps until its intended time and sends it, so an
// iteration costs one wake-up and no hand-off. The pool grows, up to maxInFlight, whenever
// the last idle worker starts an iteration, so that one worker always waits for the next
// iteration's time. schedule returns when the schedule is done or ctx ends, after all
// workers have finished.
func (e *engine) schedule(ctx context.Context) {
	if e.pacer.PeakRate() >= holdMinRate { // the process idles between sends: see monitor_linux.go
		_, release := holdMonitor()
		defer release()
	}
	d := &dispatcher{e: e, ctx: ctx, deadline: e.duration + DispatchGrace}
	d.overshoot.Store(int64(500 * time.Microsecond))
	// A stop is taken when it comes, not when the first worker sees it: a worker in a plain
	// sleep sees it only at its iteration's time, which would count that iteration as planned.
	fired := make(chan struct{})
	stopAt := context.AfterFunc(ctx, func() {
		defer close(fired)
		d.interrupted()
	})
	d.grow()
	d.wg.Wait()
	if !stopAt() { // it ran or runs: what it decided is read once it is done
		<-fired
	}
}

// holdMinRate is the schedule's peak rate (iterations per second) from which a run holds the
// monitor. The hold's own wake-ups (the holding goroutine's 200 a second and the monitor's
// 100) cost less than the monitor's (one or two an iteration) from about 200/s, but below
// some thousands a second either is a small share of a core, and slower runs (most of the
// tests) keep the runtime's plain behaviour.
const holdMinRate = 1000

// dispatcher is the schedule's state shared by the workers of a run.
type dispatcher struct {
	e        *engine
	ctx      context.Context // the load's: ends every worker's wait
	deadline time.Duration   // no iteration is sent after it (offset from e.start)
	wg       sync.WaitGroup

	next    atomic.Uint64 // the next iteration to claim (0-based)
	workers atomic.Int64  // workers started
	idle    atomic.Int64  // workers not in an iteration: claiming, or waiting for their claim's time
	// full is set when the last idle worker started an iteration with the pool at its bound,
	// and cleared when a worker claims an iteration that is not yet due: while it is set, an
	// overdue iteration waited for a free worker, which slow responses cause.
	full atomic.Bool
	// unblocked is when a worker last got free for an iteration that waited for one: lateness
	// accrued before it is the pool's (a slow target's), lateness after it the generator's own.
	unblocked atomic.Int64
	overshoot atomic.Int64 // the timers' recent overshoot (a moving average, ns), see sleeper
	stopped   atomic.Bool
}

// grow starts a worker unless the pool is at its bound, where it marks the pool full.
func (d *dispatcher) grow() {
	for {
		n := d.workers.Load()
		if n >= int64(d.e.maxInFlight) {
			d.full.Store(true)
			return
		}
		if d.workers.CompareAndSwap(n, n+1) {
			break
		}
	}
	d.idle.Add(1)
	d.wg.Add(1)
	go d.work() // ends when the schedule is done, the deadline passed or ctx ended
}

// stop ends the schedule with its planned count; the first caller decides.
func (d *dispatcher) stop(planned uint64, waiting bool) {
	if d.stopped.CompareAndSwap(false, true) {
		d.e.planned.Store(planned)
		d.e.endedWaiting = waiting // read after the workers have ended
	}
}

// interrupted ends the schedule when ctx ended: what was due by now was planned.
func (d *dispatcher) interrupted() { d.interruptedBefore(math.MaxUint64) }

// interruptedBefore is interrupted for a worker that saw the stop before it sent its
// iteration seq (0-based, in order): that one and the later ones were not planned.
func (d *dispatcher) interruptedBefore(seq uint64) {
	e := d.e
	d.stop(max(e.sent.Load(), min(e.pacer.Hits(time.Since(e.start)), seq)), false)
}

// work is one worker: it claims the next iteration, waits until it is due, runs it, and
// again, until the schedule stops.
func (d *dispatcher) work() {
	defer d.wg.Done()
	e := d.e
	sl := newSleeper(&d.overshoot)
	defer sl.timer.Stop()
	for !d.stopped.Load() {
		j, ok := d.claim()
		if !ok {
			return
		}
		if !sl.until(d.ctx, e.start, j.intended, e.pacer.Rate(j.intended)) {
			d.interruptedBefore(j.seq)
			return
		}
		if e.opts.slowDispatch > 0 {
			time.Sleep(e.opts.slowDispatch)
		}
		if d.idle.Add(-1) == 0 { // nobody waits for the next iteration
			d.grow()
		}
		e.sent.Add(1)
		e.iterate(d.ctx, j)
		d.idle.Add(1)
	}
}

// claim takes the next iteration; ok is false when the schedule stopped.
func (d *dispatcher) claim() (j job, ok bool) {
	e := d.e
	seq := d.next.Add(1) - 1
	at, ok := e.pacer.At(seq + 1)
	if !ok {
		d.stop(e.pacer.Total(), false)
		return job{}, false
	}
	if d.ctx.Err() != nil {
		d.interrupted()
		return job{}, false
	}
	now := time.Since(e.start)
	if now > d.deadline {
		d.stop(e.pacer.Total(), d.full.Load())
		return job{}, false
	}
	switch {
	case at >= now:
		d.full.Store(false)
	case d.full.Load(): // due while every worker was busy: this one is the first free
		for {
			u := d.unblocked.Load()
			if u >= int64(now) || d.unblocked.CompareAndSwap(u, int64(now)) {
				break
			}
		}
		e.countPoolFull()
	}
	return job{seq: seq, intended: at, ownFrom: max(at, time.Duration(d.unblocked.Load()))}, true
}

// sleeper waits until intended times more precisely than a timer alone: an OS timer wakes
// late by up to a millisecond (the kernel's and Go's netpoller's granularity). It sleeps
// until its recent overshoot before the intended time and yields the processor in a loop
// for the rest, typically some tens of microseconds. When iterations are due less than
// spinShare overshoots apart (rates above some hundreds a second, when the busy process
// wakes up more precisely anyway), waits are plain sleeps, so the workers never spin more
// than a sixteenth of the time (a quarter cost 50 µs per request at 5000/s on one core).
// Each worker has its own sleeper (and timer); the overshoot is shared. With one processor
// for the load (GOMAXPROCS=1, not counting the one holdMonitor keeps) it never spins: a
// goroutine that yields in a loop keeps the scheduler from polling the network, so responses
// that arrive meanwhile would be read, and timed, late.
type sleeper struct {
	timer     *time.Timer
	overshoot *atomic.Int64
	solo      bool // one processor for the load (loadProcs): no spinning
	spins     int  // the yields of its waits (tests)
}

func newSleeper(overshoot *atomic.Int64) sleeper {
	return sleeper{timer: time.NewTimer(time.Hour), overshoot: overshoot, solo: loadProcs() == 1}
}

const (
	// plainSleep is the longest wait a sleeper sleeps with time.Sleep, which parks the
	// goroutine on its own timer; longer ones wait on the sleeper's timer and ctx, so that a
	// stop ends them at once. A plain sleep costs less than half of a select on a timer's channel
	// and ctx (no channel locks, no send from the timer), and a stop that comes during one
	// is seen when it ends: a worker sends nothing after a stop either way.
	plainSleep = 20 * time.Millisecond
	spinMargin = 50 * time.Microsecond
	spinShare  = 16 // spin only when iterations are due this many spins apart
)

// until returns when start+at has come, or false when ctx is done first; rate is the
// schedule's rate at at (iterations per second).
func (s *sleeper) until(ctx context.Context, start time.Time, at time.Duration, rate float64) bool {
	t0 := time.Now() // one clock reading for the wait and the overshoot
	rem := at - t0.Sub(start)
	if rem <= 0 {
		return ctx.Err() == nil
	}
	over := time.Duration(s.overshoot.Load())
	early := over + spinMargin
	spin := !s.solo && rem > early && (rate <= 0 || float64(time.Second)/rate >= float64(spinShare*early))
	d := rem
	if spin {
		d = rem - early
	}
	if d <= plainSleep {
		time.Sleep(d)
	} else {
		s.timer.Reset(d)
		select {
		case <-s.timer.C:
		case <-ctx.Done():
			return false
		}
	}
	late := min(max(time.Since(t0)-d, 0), 2*time.Millisecond)
	s.overshoot.Store(int64(over + (late-over)/8)) // racy by design: an estimate
	if !spin {
		return ctx.Err() == nil // a short wait: the sleep was all of it
	}
	for time.Since(start) < at {
		if ctx.Err() != nil {
			return false
		}
		runtime.Gosched()
		s.spins++
	}
	return ctx.Err() == nil // a stop during the last Gosched: nothing is sent after a stop
}

// recordLateness records an iteration's send lateness: late is its first request's actual
// send − intended time, own the part of it that accrued while no worker waited for a free one.
func (e *engine) recordLateness(late, own time.Duration) {
	e.lateMu.Lock()
	_ = e.lateAll.RecordValue(result.Micros(late))
	_ = e.lateOwn.RecordValue(result.Micros(own))
	e.lateMu.Unlock()
	if e.met != nil {
		e.met.lateness.Observe(max(late, 0).Seconds())
	}
}

func (e *engine) countPoolFull() {
	e.lateMu.Lock()
	e.poolFull++
	e.lateMu.Unlock()
}

// runVUs runs the closed model: vus goroutines each run iterations back to back until the
// duration ends or ctx is done; latency is measured from the actual send.
func (e *engine) runVUs(ctx context.Context) {
	var seq atomic.Uint64
	var wg sync.WaitGroup
	for range e.vus {
		wg.Add(1)
		go func() { // ends at the duration's end or when ctx is done
			defer wg.Done()
			for ctx.Err() == nil {
				now := time.Since(e.start)
				if now >= e.duration {
					return
				}
				e.sent.Add(1)
				e.iterate(ctx, job{seq: seq.Add(1) - 1, intended: now, ownFrom: now})
			}
		}()
	}
	wg.Wait()
	e.planned.Store(e.sent.Load())
}

// iterate runs one iteration: the item's steps in order, each after the previous completed.
func (e *engine) iterate(ctx context.Context, j job) {
	seq, intended := e.opts.Stripe.global(j.seq), j.intended // the schedule's iteration number
	n := e.inFlight.Add(1)
	for {
		m := e.maxSeen.Load()
		if n <= m || e.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	if e.met != nil {
		e.met.inFlight.Inc()
	}
	defer func() {
		e.inFlight.Add(-1)
		e.completed.Add(1)
		if e.met != nil {
			e.met.inFlight.Dec()
		}
	}()

	steps := e.steps[e.work.pickIndex(seq)]
	var it *scenarios.Iteration // nil for a literal request (estep.url), which reads none
	if len(steps) > 1 || steps[0].url == "" {
		it = e.spec.NewIteration(seq, e.opts.Seed)
	}
	if e.browser != nil && it != nil {
		defer e.browser.release(it)
	}
	client := e.client
	var jar *cookiejar.Jar // one per flow iteration, shared by both transports
	if len(steps) > 1 {
		jar, _ = cookiejar.New(nil) // never fails without options
		client = &http.Client{Transport: e.transport, Jar: jar, CheckRedirect: noRedirect}
	}
	for k := range steps {
		origin := intended
		if k > 0 {
			origin = -1 // from the actual send
		}
		var first *job
		if k == 0 && e.pacer != nil {
			first = &j
		}
		if !e.do(ctx, client, jar, it, &steps[k], origin, first) {
			if ctx.Err() != nil {
				return
			}
			for _, rest := range steps[k+1:] {
				e.samples <- sample{name: rest.idx, out: outSkipped}
			}
			return
		}
	}
}

// do sends one request and records it; it returns false when the iteration must end.
// origin is the intended send time, or negative to measure from the actual send; first is
// the iteration's job when this is its first request of a schedule (for the send lateness).
// jar is the flow iteration's cookie jar (client's too), nil for a single request.
func (e *engine) do(ctx context.Context, client *http.Client, jar *cookiejar.Jar, it *scenarios.Iteration, st *estep, origin time.Duration, first *job) bool {
	if st.fast {
		return e.doFast(ctx, jar, it, st, origin, first)
	}
	s := sample{name: st.idx}
	req, err := st.req.Build(it, e.base)
	sendAt, origin := e.sendTime(origin, first)
	s.at = origin
	if err != nil {
		s.out = outTransport
		s.err = err.Error()
		s.latency = sendAt - origin
		s.method = st.req.Method
		e.samples <- s
		return false
	}
	if st.req.Kind != "" {
		return e.doKind(kindRun{ctx: ctx, client: client, it: it, req: req, st: st, origin: origin, sendAt: sendAt})
	}
	e.sentBy[st.idx].Add(1)
	if e.opts.Results != nil {
		s.method, s.url = req.Method, req.URL.String()
	}
	if req.ContentLength > 0 {
		s.bytesOut = uint64(req.ContentLength)
	}
	timeout := st.req.Timeout
	if timeout <= 0 {
		timeout = e.timeout
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := client.Do(req.WithContext(rctx))
	var body []byte
	if err == nil {
		var n int64
		if st.needBody {
			body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
			n = int64(len(body))
		} else {
			n, err = io.Copy(io.Discard, resp.Body)
		}
		resp.Body.Close()
		s.bytesIn = uint64(n)
		s.code = uint16(resp.StatusCode)
	}
	end := time.Since(e.start)
	s.latency, s.service = end-origin, end-sendAt
	e.recordWrite(st.req, req, sendAt, int(s.code))
	if err != nil {
		if ctx.Err() != nil { // the run was stopped: not a measurement of the target
			e.cancelled.Add(1)
			return false
		}
		s.out = outTransport
		if rctx.Err() == context.DeadlineExceeded || errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err) {
			s.out = outTimeout
		}
		s.err = err.Error()
		e.samples <- s
		return false
	}
	if !statusExpected(st.req.Expect, resp.StatusCode) {
		s.out = outStatus
		s.err = resp.Status
	}
	ok := e.judge(&s, st, it, resp.StatusCode, resp.Header, body)
	e.samples <- s
	return ok
}

// sendTime returns the actual send time of a request and its latency origin: origin (the
// intended time, or negative for the actual send) for any but an iteration's first request
// of a schedule (first). For that one it records the send lateness, and the latency origin
// is the intended time moved on by the generator's own lateness (actual send − the later of
// the intended time and the end of a wait for a free worker): the latency counts the wait
// for a worker, which slow responses caused, and not the generator's own delay (timer
// overshoot, hand-off, rendering), which is its own figure and bounds the run's validity.
func (e *engine) sendTime(origin time.Duration, first *job) (sendAt, from time.Duration) {
	sendAt = time.Since(e.start)
	if first != nil {
		own := max(sendAt-max(first.intended, first.ownFrom), 0)
		e.recordLateness(sendAt-first.intended, own)
		origin = first.intended + own
	}
	if origin < 0 || origin > sendAt {
		origin = sendAt
	}
	return sendAt, origin
}

// judge runs a response's expectations (beyond the status, judged by the caller) and the
// step's captures into s; it returns false when a capture found nothing.
func (e *engine) judge(s *sample, st *estep, it *scenarios.Iteration, code int, header http.Header, body []byte) bool {
	if exp := st.req.Expect; exp != nil && (len(exp.JSON) > 0 || exp.MaxLatency > 0) {
		only := *exp
		only.Status = []int{code} // the status is judged by the caller, as an error
		fails := only.Check(code, header, body, s.latency)
		s.checked = true
		if len(fails) > 0 {
			s.checkFailed = true
			if s.err == "" {
				s.err = "check: " + fails[0]
			}
		}
	}
	if st.flow != nil && len(st.flow.Capture) > 0 {
		if err := st.flow.Apply(it, code, header, body); err != nil {
			s.checked, s.checkFailed = true, true
			if s.err == "" {
				s.err = err.Error()
			}
			return false
		}
	}
	return true
}

// statusExpected reports whether a status is what the request expects (default 2xx/3xx).
func statusExpected(exp *scenarios.Expect, code int) bool {
	if exp == nil || len(exp.Status) == 0 {
		return code >= 200 && code < 400
	}
	for _, s := range exp.Status {
		if s == code {
			return true
		}
	}
	return false
}
