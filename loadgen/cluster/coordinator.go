package cluster

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// Config is a coordinator's setting.
type Config struct {
	// Workers is how many workers the run needs; the load starts when all have joined.
	Workers int
	// Token is the shared secret every worker must present.
	Token string
	// Version is loadlab's version; a worker of another version is refused.
	Version string
	// Scenario is the scenario file as read, and Path its path: workers must have the same
	// bytes (ScenarioHash), or take them from the coordinator.
	Scenario []byte
	Path     string
	// TimeScale is the --time-scale the scenario runs with (1 when zero).
	TimeScale float64
	// MaxClockUncertainty overrides DefaultMaxClockUncertainty.
	MaxClockUncertainty time.Duration
	// StartDelay overrides DefaultStartDelay.
	StartDelay time.Duration
	// JoinTimeout bounds the wait for the workers to join (0: until the context ends).
	JoinTimeout time.Duration
	// Status receives one line per join, refusal, loss and the start; nil for none.
	Status io.Writer
	// MaxLost is how many workers may be lost before the run is invalid, MaxLostShare
	// which share of the load (lost workers over Workers, 0 to 1); when both are zero, the
	// scenario's load.maxLostWorkers or load.maxLostShare is the budget (default: none
	// lost). A lost worker within the budget is still reported, with its shortfall.
	MaxLost      int
	MaxLostShare float64
}

// lostBudget is how many workers of a run may be lost before it is invalid.
type lostBudget struct {
	n     int
	share float64 // of the workers, when above 0
}

// budget is cfg's budget of lost workers when set, else the scenario's.
func (c *Coordinator) budget(ld scenarios.Load) lostBudget {
	if c.cfg.MaxLost > 0 || c.cfg.MaxLostShare > 0 {
		return lostBudget{n: c.cfg.MaxLost, share: c.cfg.MaxLostShare}
	}
	return lostBudget{n: ld.MaxLostWorkers, share: ld.MaxLostShare}
}

// allows reports whether lost workers of workers are within the budget.
func (b lostBudget) allows(lost, workers int) bool {
	if b.share > 0 {
		return float64(lost) <= b.share*float64(workers)+1e-9
	}
	return lost <= b.n
}

func (b lostBudget) String() string {
	if b.share > 0 {
		return fmt.Sprintf("%g%% of the load", 100*b.share)
	}
	return fmt.Sprintf("%d lost", b.n)
}

// Coordinator runs one scenario on Workers workers: it admits them (ServeHTTP), sets the
// start (Ready), merges what they measure and stops them (Run). It is a
// pipeline.Generator, so the lab, the faults, the verification and the finish step are
// those of a run in one process. A Coordinator serves one run.
type Coordinator struct {
	cfg  Config
	hash string

	mu       sync.Mutex
	sessions []*session // by worker index; nil until that index joined
	started  bool
	failed   error               // a worker that cannot run the scenario, before the start
	start    time.Time           // the load's start, once started
	params   *startParams        // the start sent to the workers, once started
	pacer    *loadgen.StagePacer // the schedule (nil for the closed model), once started
	met      *metrics            // the workers' live metrics (served when Run has a registry)
	phase    int                 // the starts sent (a capacity ramp, then the load)
	results  *resultsSink        // the per-request results file of the phase started last; nil: none

	changed chan struct{} // a session joined, reported its clock or left (cap 1)
	inbox   chan note     // from the sessions to Run
	over    chan struct{} // closed when Run has returned: notes are no longer read
	overMu  sync.Once
}

// session is one worker's stream.
type session struct {
	index    int
	addr     string
	out      *sender
	lastSeen atomic.Int64 // unix nanoseconds of its last message
	clock    *clockReport // guarded by Coordinator.mu
	end      context.CancelFunc
	done     bool // its final arrived (guarded by Coordinator.mu)
	lost     bool // it was lost after the start (guarded by Coordinator.mu)
	rejoin   bool // it took the index of a lost worker after the start
	resMu    sync.Mutex
	results  *io.PipeWriter // its per-request results, to the coordinator's file; nil until some arrive
	resEnded bool           // its results stream was closed
}

type noteKind int

const (
	noteInterval noteKind = iota + 1
	noteDone
	noteLost
	noteRejoin
)

// note is news of a session for Run.
type note struct {
	index int
	s     *session // the session it is about (noteLost, noteRejoin)
	kind  noteKind
	iv    *result.Result
	ws    []result.Write // an interval's writes
	fin   *final
	why   string
	at    time.Time
}

// NewCoordinator returns the coordinator of a run with cfg.
func NewCoordinator(cfg Config) (*Coordinator, error) {
	if cfg.Workers < 1 {
		return nil, fmt.Errorf("coordinator: want at least one worker, got %d", cfg.Workers)
	}
	if cfg.Token == "" {
		return nil, errors.New("coordinator: no token: workers must authenticate")
	}
	if cfg.TimeScale <= 0 {
		cfg.TimeScale = 1
	}
	if cfg.MaxClockUncertainty <= 0 {
		cfg.MaxClockUncertainty = DefaultMaxClockUncertainty
	}
	if cfg.StartDelay <= 0 {
		cfg.StartDelay = DefaultStartDelay
	}
	return &Coordinator{
		cfg:      cfg,
		hash:     ScenarioHash(cfg.Scenario),
		sessions: make([]*session, cfg.Workers),
		met:      newMetrics(cfg.Workers),
		changed:  make(chan struct{}, 1),
		inbox:    make(chan note, 4096),
		over:     make(chan struct{}),
	}, nil
}

func (c *Coordinator) logf(format string, args ...any) {
	if c.cfg.Status != nil {
		fmt.Fprintf(c.cfg.Status, "cluster: "+format+"\n", args...)
	}
}

func (c *Coordinator) signal() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// deliver hands a note to Run; it drops it once Run has returned.
func (c *Coordinator) deliver(n note) {
	select {
	case c.inbox <- n:
	case <-c.over:
	}
}

// ServeHTTP serves JoinPath: it admits a worker or refuses it with the cause, then
// carries its stream until the worker has finished, is lost, or the request ends.
func (c *Coordinator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != JoinPath {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed: POST to join", http.StatusMethodNotAllowed)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	s, status, cause := c.admit(r, w, cancel)
	if s == nil {
		c.logf("refused a worker from %s: %s", r.RemoteAddr, cause)
		http.Error(w, cause, status)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	s.out.start()
	defer s.out.close() // no write to w after the handler returns
	s.lastSeen.Store(time.Now().UnixNano())
	c.signal()
	_ = s.out.send(&message{Type: msgWelcome, Welcome: &welcome{
		Index: s.index, Count: c.cfg.Workers, Path: c.cfg.Path, Scenario: c.cfg.Scenario, TimeScale: c.cfg.TimeScale}})

	readDone := make(chan error, 1)
	go func() { readDone <- c.read(s, r.Body) }() // ends when the stream ends (the handler's return ends it)
	hb := time.NewTicker(Heartbeat)
	defer hb.Stop()
	var err error
loop:
	for {
		select {
		case err = <-readDone:
			break loop
		case <-ctx.Done():
			err = errors.New("the coordinator ended the stream")
			break loop
		case <-hb.C:
			_ = s.out.send(&message{Type: msgHeartbeat})
		}
	}
	c.leave(s, err)
}

// admit checks a join's token, version, scenario and index; it returns the new session,
// or the HTTP status and the cause of a refusal.
func (c *Coordinator) admit(r *http.Request, w http.ResponseWriter, end context.CancelFunc) (*session, int, string) {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if subtle.ConstantTimeCompare([]byte(tok), []byte(c.cfg.Token)) != 1 {
		return nil, http.StatusUnauthorized, "wrong token (LOADGEN_TOKEN differs from the coordinator's)"
	}
	if v := r.Header.Get(headerVersion); v != c.cfg.Version {
		return nil, http.StatusConflict, fmt.Sprintf("version mismatch: worker is loadlab %q, coordinator %q", v, c.cfg.Version)
	}
	if ct := r.Header.Get("Content-Type"); ct != workerContentType {
		return nil, http.StatusUnsupportedMediaType, fmt.Sprintf("the worker's stream is %q, this coordinator reads %q", ct, workerContentType)
	}
	if h := r.Header.Get(headerHash); h != "" && h != c.hash {
		return nil, http.StatusConflict, fmt.Sprintf("scenario hash mismatch: worker's scenario file is %.12s…, the coordinator's %.12s… (%s)", h, c.hash, c.cfg.Path)
	}
	index := -1
	if v := r.Header.Get(headerIndex); v != "" {
		var err error
		if index, err = strconv.Atoi(v); err != nil || index < 0 {
			return nil, http.StatusBadRequest, fmt.Sprintf("bad worker index %q", v)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if index >= c.cfg.Workers {
		return nil, http.StatusConflict, fmt.Sprintf("worker index %d out of range: the run has %d workers (0 to %d)", index, c.cfg.Workers, c.cfg.Workers-1)
	}
	if c.started {
		if index < 0 || c.sessions[index] == nil || !c.sessions[index].lost {
			return nil, http.StatusConflict, "the run has started: only a lost worker can join it again, with its index"
		}
		s := &session{index: index, addr: r.RemoteAddr, out: newSender(w), end: end, rejoin: true}
		c.sessions[index] = s
		return s, 0, ""
	}
	if index < 0 {
		index = slices.Index(c.sessions, nil)
		if index < 0 {
			return nil, http.StatusConflict, fmt.Sprintf("all %d workers have joined", c.cfg.Workers)
		}
	}
	if c.sessions[index] != nil {
		return nil, http.StatusConflict, fmt.Sprintf("duplicate worker index %d: a worker from %s has it", index, c.sessions[index].addr)
	}
	s := &session{index: index, addr: r.RemoteAddr, out: newSender(w), end: end}
	c.sessions[index] = s
	return s, 0, ""
}

// read reads a session's messages until the stream ends or the worker says it is done.
func (c *Coordinator) read(s *session, body io.Reader) error {
	dec := cborDec.NewDecoder(body)
	for {
		var m message
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("the worker closed its stream")
			}
			return fmt.Errorf("connection lost: %w", err)
		}
		now := time.Now()
		s.lastSeen.Store(now.UnixNano())
		switch m.Type {
		case msgPing:
			_ = s.out.send(&message{Type: msgPong, T0: m.T0, T1: now, T2: time.Now()})
		case msgClock:
			if m.Clock == nil {
				return errors.New("a clock message without its report")
			}
			c.mu.Lock()
			s.clock = m.Clock
			c.mu.Unlock()
			c.logf("worker %d joined from %s (clock offset %+.3fms ±%.3fms)", s.index, s.addr, ms(m.Clock.Offset), ms(m.Clock.Uncertainty))
			if s.rejoin {
				c.resume(s)
			}
			c.signal()
		case msgInterval:
			if err := checkInterval(m.Interval); err != nil {
				return fmt.Errorf("a bad interval record: %w", err)
			}
			fromWire(m.Interval)
			if err := c.takeMetrics(s, m.Metrics); err != nil {
				return err
			}
			c.deliver(note{index: s.index, kind: noteInterval, iv: m.Interval, ws: m.Writes, at: now})
		case msgResults:
			if err := c.addResults(s, m.Results); err != nil {
				return err
			}
		case msgError:
			err := fmt.Errorf("worker %d cannot run the scenario: %s", s.index, m.Reason)
			c.mu.Lock()
			if !c.started && c.failed == nil {
				c.failed = err
			}
			c.mu.Unlock()
			return err
		case msgDone:
			if m.Final == nil {
				return errors.New("a done message without its final figures")
			}
			if err := c.takeMetrics(s, m.Final.Metrics); err != nil {
				return err
			}
			c.closeResults(s, false)
			c.mu.Lock()
			ramp := c.params != nil && c.params.Ramp
			s.done = !ramp // after a capacity ramp, the stream goes on to the load
			c.mu.Unlock()
			c.deliver(note{index: s.index, kind: noteDone, fin: m.Final, at: now})
			if !ramp {
				_ = s.out.send(&message{Type: msgBye})
				return nil
			}
		}
	}
}

// takeMetrics takes a worker's metrics snapshot, if it sent one, from its current session.
func (c *Coordinator) takeMetrics(s *session, fams []snapFamily) error {
	if len(fams) == 0 {
		return nil
	}
	if err := checkSnapshot(fams); err != nil {
		return err
	}
	c.mu.Lock()
	current := c.sessions[s.index] == s
	c.mu.Unlock()
	if current {
		c.met.update(s.index, s, fams)
	}
	return nil
}

// leave ends a session: before the start its index is free again; after it, a session
// that did not finish is lost.
func (c *Coordinator) leave(s *session, err error) {
	c.closeResults(s, true)
	c.mu.Lock()
	started, done := c.started, s.done
	if !started {
		c.sessions[s.index] = nil
	} else if !done {
		s.lost = true
	}
	c.mu.Unlock()
	switch {
	case done:
	case !started:
		c.logf("worker %d (%s) left before the start: %v", s.index, s.addr, err)
		c.signal()
	default:
		c.deliver(note{index: s.index, s: s, kind: noteLost, why: err.Error(), at: time.Now()})
	}
}

// resume sends a rejoining worker the start: the run's start time, and the first global
// iteration it may fire, the one due StartDelay from now: it resumes at the current
// iteration instead of catching up.
func (c *Coordinator) resume(s *session) {
	c.mu.Lock()
	p, pacer, start := *c.params, c.pacer, c.start
	c.mu.Unlock()
	at := time.Now().Add(c.cfg.StartDelay)
	if pacer != nil {
		p.From = pacer.Hits(at.Sub(start))
	}
	_ = s.out.send(&message{Type: msgStart, Start: &p})
	c.logf("worker %d rejoined from %s: it resumes at %.1fs, at global iteration %d", s.index, s.addr, at.Sub(start).Seconds(), p.From)
	c.deliver(note{index: s.index, s: s, kind: noteRejoin, at: at})
}

// Ready waits until every worker has joined and reported its clock, then sends each the
// start: an absolute time (StartDelay from now, on the coordinator's clock) and the run's
// parameters from opts. It returns that start time.
func (c *Coordinator) Ready(ctx context.Context, spec *scenarios.Spec, opts loadgen.Options) (time.Time, error) {
	var timeout <-chan time.Time
	if c.cfg.JoinTimeout > 0 {
		t := time.NewTimer(c.cfg.JoinTimeout)
		defer t.Stop()
		timeout = t.C
	}
	c.logf("waiting for %d workers", c.cfg.Workers)
	for {
		c.mu.Lock()
		var missing []string
		for i, s := range c.sessions {
			if s == nil || s.clock == nil {
				missing = append(missing, strconv.Itoa(i))
			}
		}
		if len(missing) == 0 {
			c.started = true
		}
		failed := c.failed
		c.mu.Unlock()
		if failed != nil {
			c.stopAll("another worker cannot run the scenario", 0)
			return time.Time{}, failed
		}
		if len(missing) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			c.stopAll("the coordinator was interrupted before the start", 0)
			return time.Time{}, ctx.Err()
		case <-timeout:
			c.stopAll("the workers did not all join in time", 0)
			return time.Time{}, fmt.Errorf("%d of %d workers joined within %s (missing: %s)",
				c.cfg.Workers-len(missing), c.cfg.Workers, c.cfg.JoinTimeout, strings.Join(missing, ", "))
		case <-c.changed:
		}
	}
	delay := c.cfg.StartDelay
	if scenarios.HasBrowser(spec) { // each worker starts Chromium and opens its pool first
		delay = max(delay, BrowserStartDelay)
	}
	start := time.Now().Add(delay)
	p := &startParams{At: start, BaseURL: opts.BaseURL, Seed: opts.Seed, MaxLateness: opts.MaxLateness,
		Transport: opts.Transport, CACerts: opts.CACerts, Windows: opts.Windows, Writes: opts.Writes != nil, Metrics: opts.Registry != nil,
		Ramp: opts.CapacityRamp, CapacityRPS: opts.CapacityRPS}
	pacer, _ := loadgen.PacerFor(spec.Load) // nil for the closed model
	var sink *resultsSink
	if opts.Results != nil {
		p.Results = true
		sink = &resultsSink{enc: vegeta.NewEncoder(opts.Results)}
	}
	c.mu.Lock()
	c.results = sink
	c.phase++
	p.Phase = c.phase
	c.start, c.params, c.pacer = start, p, pacer
	c.mu.Unlock()
	for _, s := range c.live() {
		_ = s.out.send(&message{Type: msgStart, Start: p})
	}
	c.logf("all %d workers joined; the load starts at %s", c.cfg.Workers, start.Format("15:04:05.000"))
	return start, nil
}

// live returns the sessions that joined and have not finished.
func (c *Coordinator) live() []*session {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*session
	for _, s := range c.sessions {
		if s != nil && !s.done {
			out = append(out, s)
		}
	}
	return out
}

// stopAll tells every live worker to stop its load: that of the phase started last, or,
// before the start of a phase (Ready), to give up. A send does not wait for a worker that
// does not read (a full stream): each ends when written or when its stream ends.
func (c *Coordinator) stopAll(reason string, phase int) {
	for _, s := range c.live() {
		go func() { _ = s.out.send(&message{Type: msgStop, Reason: reason, Phase: phase}) }()
	}
}

// resultsSink writes the workers' per-request results into the one results file: each
// worker's stream (a vegeta gob stream of its own, which cannot be concatenated to
// another) is decoded and every result encoded again into the file's stream.
type resultsSink struct {
	mu  sync.Mutex
	enc vegeta.Encoder
	err error // the first write error
	wg  sync.WaitGroup
}

// addResults passes the next bytes of s's results stream to the sink.
func (c *Coordinator) addResults(s *session, b []byte) error {
	s.resMu.Lock()
	w := s.results
	if w == nil && !s.resEnded {
		c.mu.Lock()
		sink := c.results
		c.mu.Unlock()
		if sink == nil {
			s.resMu.Unlock()
			return errors.New("results the coordinator did not ask for")
		}
		pr, pw := io.Pipe()
		s.results, w = pw, pw
		sink.wg.Add(1)
		go sink.copy(pr, s.index, c.logf) // ends when s.results is closed
	}
	s.resMu.Unlock()
	if w != nil {
		_, _ = w.Write(b) // fails only once the stream was closed or the sink gave up on it
	}
	return nil
}

// closeResults ends s's results stream: its phase's last result was sent (a later phase
// may start another), or, with last, the session ends.
func (c *Coordinator) closeResults(s *session, last bool) {
	s.resMu.Lock()
	w := s.results
	s.results, s.resEnded = nil, last
	s.resMu.Unlock()
	if w != nil {
		w.Close()
	}
}

// copy decodes one worker's stream into the file until it ends; a stream cut short (a
// lost worker) keeps the results it completed.
func (k *resultsSink) copy(r *io.PipeReader, index int, logf func(string, ...any)) {
	defer k.wg.Done()
	dec := vegeta.NewDecoder(r)
	for {
		var res vegeta.Result
		if err := dec.Decode(&res); err != nil {
			if !errors.Is(err, io.EOF) {
				logf("worker %d: its results stream ends with %v", index, err)
			}
			r.CloseWithError(err)
			return
		}
		k.mu.Lock()
		if k.err == nil {
			k.err = k.enc.Encode(&res)
		}
		k.mu.Unlock()
	}
}

// wait waits up to d for every worker's results stream to be written; it returns the
// first write error.
func (k *resultsSink) wait(d time.Duration) error {
	if k == nil {
		return nil
	}
	done := make(chan struct{})
	go func() { k.wg.Wait(); close(done) }() // ends when every stream has ended
	select {
	case <-done:
	case <-time.After(d):
		return fmt.Errorf("write results: the workers' results did not all arrive within %s", d)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.err != nil {
		return fmt.Errorf("write results: %w", k.err)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// checkInterval checks an interval record's schema.
func checkInterval(iv *result.Result) error {
	switch {
	case iv == nil:
		return errors.New("an interval message without its record")
	case iv.Schema != result.Schema:
		return fmt.Errorf("schema %q, want %q", iv.Schema, result.Schema)
	}
	return nil
}
