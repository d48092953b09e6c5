package cluster

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// WorkerConfig is a worker's setting.
type WorkerConfig struct {
	// Coordinator is the coordinator's address: host:port (HTTP/2 without TLS) or an
	// http:// or https:// URL.
	Coordinator string
	// Token is the shared secret; Version is loadlab's version.
	Token, Version string
	// Index is the worker's index (Kubernetes' JOB_COMPLETION_INDEX); -1 lets the
	// coordinator assign the next free one.
	Index int
	// Scenario is the worker's own copy of the scenario file (its hash must match the
	// coordinator's) and Path its path; nil runs the coordinator's copy.
	Scenario []byte
	Path     string
	// TLS is the client configuration for an https:// coordinator (its CA); nil: the system's.
	TLS *tls.Config
	// Log receives the worker's status lines; nil for none.
	Log io.Writer
	// Now is the worker's clock (nil: time.Now); tests inject a skewed or jumpy one.
	Now func() time.Time
	// JoinTimeout is how long the worker keeps trying to reach a coordinator that does not
	// answer yet (not listening, or a proxy's 502, 503 or 504); 0: one try. A refusal is
	// final at once.
	JoinTimeout time.Duration
	// Silence is how long the worker hears nothing from its coordinator before it stops
	// its load; 0: CoordinatorSilence. Tests whose coordinator shares a starved machine
	// (a test process under -race at load average 20) set it longer.
	Silence time.Duration
}

// inMsg is a coordinator message with its time of arrival (the worker's clock).
type inMsg struct {
	m  message
	at time.Time
}

// errLost: the coordinator is gone; the load was stopped.
var errLost = errors.New("lost the coordinator")

// RunWorker joins the coordinator and runs its share of the load: it waits for the start,
// sends an interval record every second and its final figures at the end, and obeys only
// the coordinator. When the coordinator's stream ends or is silent for CoordinatorSilence,
// it stops the load at once and returns an error wrapping errLost. A refused join is a
// *RefusedError naming the cause. Cancelling ctx stops the load; the figures until then
// still go to the coordinator.
func RunWorker(ctx context.Context, cfg WorkerConfig) error {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	logf := func(format string, args ...any) {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, "worker: "+format+"\n", args...)
		}
	}
	base := cfg.Coordinator
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	base = strings.TrimRight(base, "/")
	var protos http.Protocols
	if strings.HasPrefix(base, "https://") {
		protos.SetHTTP2(true)
	} else {
		protos.SetUnencryptedHTTP2(true)
	}
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 10 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext, Protocols: &protos, TLSClientConfig: cfg.TLS, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()

	// The stream outlives ctx: an interrupted worker still sends its figures.
	streamCtx, endStream := context.WithCancel(context.WithoutCancel(ctx))
	defer endStream()
	resp, pw, err := join(ctx, streamCtx, cfg, base, &http.Client{Transport: tr}, logf)
	if err != nil {
		return err
	}
	defer pw.Close()
	defer resp.Body.Close()
	out := newWorkerSender(pw)
	out.start()
	defer out.close()

	in := make(chan inMsg, 64)
	readErr := make(chan error, 1)
	go func() { // ends when the stream ends: the coordinator closed it, or endStream above
		defer close(in)
		dec := json.NewDecoder(resp.Body)
		for {
			var m message
			if err := dec.Decode(&m); err != nil {
				readErr <- err
				return
			}
			in <- inMsg{m: m, at: now()}
		}
	}()
	// next returns the coordinator's next message other than a heartbeat; it fails when
	// the stream ends or stays silent for CoordinatorSilence.
	quiet := cmp.Or(cfg.Silence, CoordinatorSilence)
	silence := time.NewTimer(quiet)
	defer silence.Stop()
	lastContact := time.Now() // of the last message (the process clock: the log's times are real)
	next := func(stop <-chan struct{}) (inMsg, error) {
		for {
			select {
			case im, ok := <-in:
				if !ok {
					err := <-readErr
					if errors.Is(err, io.EOF) {
						err = errors.New("the coordinator closed the stream")
					}
					return inMsg{}, fmt.Errorf("%w: %v", errLost, err)
				}
				silence.Reset(quiet)
				lastContact = time.Now()
				if im.m.Type == msgHeartbeat {
					continue
				}
				return im, nil
			case <-silence.C:
				return inMsg{}, fmt.Errorf("%w: silent for %s since its last message at %s", errLost, quiet, stamp(lastContact))
			case <-stop:
				return inMsg{}, nil
			}
		}
	}

	hbDone := make(chan struct{})
	defer close(hbDone)
	go func() { // ends when RunWorker returns
		t := time.NewTicker(Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-hbDone:
				return
			case <-t.C:
				_ = out.send(&message{Type: msgHeartbeat})
			}
		}
	}()

	im, err := next(nil)
	if err != nil {
		return err
	}
	if im.m.Type != msgWelcome || im.m.Welcome == nil {
		return fmt.Errorf("the coordinator's first message is %q, not a welcome", im.m.Type)
	}
	wel := im.m.Welcome
	logf("joined %s as worker %d of %d", cfg.Coordinator, wel.Index, wel.Count)
	// fail tells the coordinator why this worker cannot run, ends its side of the stream
	// and waits (bounded) until the coordinator has read it and closed the other.
	fail := func(err error) error {
		_ = out.send(&message{Type: msgError, Reason: err.Error()})
		pw.Close()
		t := time.NewTimer(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case _, ok := <-in:
				if ok {
					continue
				}
			case <-t.C:
			}
			return err
		}
	}
	spec, err := workerSpec(cfg, wel)
	if err != nil {
		return fail(err)
	}

	var rts []RoundTrip
	for range clockRounds {
		t0 := now()
		if err := out.send(&message{Type: msgPing, T0: t0}); err != nil {
			return fmt.Errorf("%w: %v", errLost, err)
		}
		im, err := next(nil)
		if err != nil {
			return err
		}
		if im.m.Type != msgPong {
			return fmt.Errorf("the coordinator answered a ping with %q", im.m.Type)
		}
		rts = append(rts, RoundTrip{T0: t0, T1: im.m.T1, T2: im.m.T2, T3: im.at})
	}
	offset, unc, ok := EstimateOffset(rts)
	if !ok {
		unc = time.Hour // no usable exchange: as uncertain as can be
	}
	if err := out.send(&message{Type: msgClock, Clock: &clockReport{Offset: offset, Uncertainty: unc}}); err != nil {
		return fmt.Errorf("%w: %v", errLost, err)
	}

	for {
		ramp, err := runPhase(ctx, phaseEnv{out: out, pw: pw, next: next, endStream: endStream, fail: fail, logf: logf,
			spec: spec, wel: wel, offset: offset, now: now})
		if err != nil || !ramp {
			return err
		}
	}
}

// join opens the worker's stream to the coordinator at base: the request, whose body
// (written through pw) carries the worker's messages, and the coordinator's response.
// A coordinator that cannot be reached (not listening yet, its name not resolved yet, a
// proxy in front of it answering 502, 503 or 504) is tried again, with a growing pause, for
// cfg.JoinTimeout; its refusal is not. The stream lives in streamCtx; ctx ends the tries.
func join(ctx, streamCtx context.Context, cfg WorkerConfig, base string, client *http.Client, logf func(string, ...any)) (*http.Response, *io.PipeWriter, error) {
	try := func() (*http.Response, *io.PipeWriter, error) {
		pr, pw := io.Pipe()
		req, err := http.NewRequestWithContext(streamCtx, http.MethodPost, base+JoinPath, pr)
		if err != nil {
			pw.Close()
			return nil, nil, fmt.Errorf("join the coordinator: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+cfg.Token)
		req.Header.Set(headerVersion, cfg.Version)
		req.Header.Set("Content-Type", workerContentType)
		if cfg.Scenario != nil {
			req.Header.Set(headerHash, ScenarioHash(cfg.Scenario))
		}
		if cfg.Index >= 0 {
			req.Header.Set(headerIndex, strconv.Itoa(cfg.Index))
		}
		resp, err := client.Do(req)
		if err != nil {
			pw.Close()
			return nil, nil, err
		}
		return resp, pw, nil
	}
	if _, err := http.NewRequest(http.MethodPost, base+JoinPath, nil); err != nil {
		return nil, nil, fmt.Errorf("join the coordinator: %w", err) // not worth another try
	}
	deadline := time.Now().Add(cfg.JoinTimeout)
	pause := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		resp, pw, err := try()
		if err == nil && resp.StatusCode == http.StatusOK {
			return resp, pw, nil
		}
		if err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			pw.Close()
			cause := strings.TrimSpace(string(b))
			switch resp.StatusCode {
			case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
				err = fmt.Errorf("%s: %.200s", resp.Status, cause) // a proxy's: the coordinator is not there yet
			default:
				return nil, nil, &RefusedError{Status: resp.StatusCode, Cause: cause}
			}
		}
		left := time.Until(deadline)
		switch {
		case cfg.JoinTimeout <= 0:
			return nil, nil, fmt.Errorf("join the coordinator at %s: %w", cfg.Coordinator, err)
		case left <= 0:
			return nil, nil, fmt.Errorf("join the coordinator at %s: not reachable in %s (%d tries, the join timeout): %w",
				cfg.Coordinator, cfg.JoinTimeout, attempt, err)
		case attempt == 1:
			logf("the coordinator at %s is not reachable (%v): trying again for up to %s", cfg.Coordinator, err, cfg.JoinTimeout)
		}
		t := time.NewTimer(min(pause, left))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, nil, fmt.Errorf("join the coordinator at %s: %w (after %d tries: %v)", cfg.Coordinator, ctx.Err(), attempt, err)
		}
		pause = min(2*pause, 2*time.Second)
	}
}

// phaseEnv is what runPhase needs of RunWorker's stream.
type phaseEnv struct {
	out       *sender
	pw        *io.PipeWriter
	next      func(stop <-chan struct{}) (inMsg, error)
	endStream context.CancelFunc
	fail      func(error) error
	logf      func(string, ...any)
	spec      *scenarios.Spec
	wel       *welcome
	offset    time.Duration
	now       func() time.Time
}

// runPhase waits for the coordinator's start and runs what it starts: the capacity ramp
// (ramp is true: another start follows) or the load. It returns once the coordinator has
// the final figures (after the load, once it said bye).
func runPhase(ctx context.Context, e phaseEnv) (ramp bool, err error) {
	out, next, logf := e.out, e.next, e.logf
	var im inMsg
	for {
		im, err = next(ctx.Done())
		switch {
		case err != nil:
			return false, err
		case ctx.Err() != nil:
			return false, ctx.Err()
		case im.m.Type == msgStop && im.m.Phase != 0:
			continue // a late stop of the ramp before
		case im.m.Type == msgStop:
			logf("stopped before the start: %s", im.m.Reason)
			return false, nil
		case im.m.Type != msgStart || im.m.Start == nil:
			return false, fmt.Errorf("the coordinator sent %q, not the start", im.m.Type)
		}
		break
	}
	p := im.m.Start
	spec := e.spec
	switch {
	case p.Ramp:
		if spec.Capacity == nil {
			return false, e.fail(errors.New("the coordinator starts a capacity ramp, and the scenario has no capacity: block"))
		}
		c := spec.Capacity
		spec = loadgen.CapacityRampSpec(spec)
		logf("capacity ramp: %g → %g/s over %s", c.From, c.To, c.Duration)
	case p.CapacityRPS > 0:
		spec = spec.WithCapacity(p.CapacityRPS)
	}
	// The start is on the coordinator's clock: on ours it is offset earlier. The engine
	// runs on the process clock, which an injected Now may differ from.
	shift := e.offset - time.Now().Sub(e.now())
	opts := loadgen.Options{
		BaseURL:     p.BaseURL,
		Seed:        p.Seed,
		Windows:     p.Windows,
		MaxLateness: p.MaxLateness,
		Transport:   p.Transport,
		CACerts:     p.CACerts,
		Stripe:      loadgen.Stripe{Index: e.wel.Index, Count: e.wel.Count, From: p.From},
		StartAt:     p.At.Add(-shift),
	}
	if p.Writes {
		opts.Writes = &result.WriteLog{}
	}
	var reg *prometheus.Registry // the engine's live metrics and the process's, for the coordinator
	if p.Metrics {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		opts.Registry = reg
	}
	if p.Results {
		opts.Results = resultsWriter{out}
	}
	logf("the load starts at %s", stamp(opts.StartAt))
	lost := make(chan struct{})
	queue := make(chan *message, 16)
	opts.Intervals = func(iv *result.Result) {
		iv.Start, iv.End = iv.Start.Add(shift), iv.End.Add(shift)
		if err := toWire(iv); err != nil {
			return // encoding a valid record does not fail
		}
		select {
		case queue <- &message{Type: msgInterval, Interval: iv}:
		case <-lost:
		}
	}
	sendDone := make(chan error, 1)
	streamed := 0 // writes sent with the intervals (read after sendDone)
	go func() {   // ends when queue is closed, after the engine returned
		var err error
		for m := range queue {
			if opts.Writes != nil {
				m.Writes = opts.Writes.Since(streamed)
				streamed += len(m.Writes)
			}
			if reg != nil {
				m.Metrics, _ = encodeSnapshot(reg) // gathering the engine's metrics does not fail
			}
			if err == nil {
				err = out.send(m)
			}
		}
		sendDone <- err
	}()

	runCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	type outcome struct {
		res *result.Result
		err error
	}
	ran := make(chan outcome, 1)
	go func() { // ends when the engine's run is over (stopLoad ends it early)
		res, err := loadgen.Run(runCtx, spec, opts)
		ran <- outcome{res, err}
	}()
	var lostErr error
	var o outcome
	msgs := make(chan error, 1)
	watchStop, watchExited := make(chan struct{}), make(chan struct{})
	go func() { // ends at the coordinator's loss, or when watchStop closes
		defer close(watchExited)
		for {
			im, err := next(watchStop)
			if err != nil {
				msgs <- err
				return
			}
			if im.m.Type == msgStop && (im.m.Phase == 0 || im.m.Phase == p.Phase) {
				logf("stop: %s", im.m.Reason)
				stopLoad()
			}
			if im.m.Type == "" {
				return // watchStop
			}
		}
	}()
	select {
	case lostErr = <-msgs:
		close(lost)
		stopLoad()
		// No iteration due after this moment is sent (TestWorkerStopsWithoutCoordinator).
		logf("%v: stopped the load at %s", lostErr, stamp(time.Now()))
		e.endStream() // a send blocked on a coordinator that does not read ends too
		e.pw.Close()
		o = <-ran
	case o = <-ran:
	}
	close(watchStop)
	<-watchExited
	close(queue)
	qerr := <-sendDone
	if lostErr != nil {
		return false, lostErr
	}
	if o.err != nil && o.res == nil {
		return false, e.fail(fmt.Errorf("run: %w", o.err))
	}
	if qerr != nil {
		return false, fmt.Errorf("%w: %v", errLost, qerr)
	}
	fin := &final{Health: o.res.Generator, WebSocket: o.res.WebSocket, Uptime: o.res.Uptime, Browser: o.res.Browser, Transports: map[string]string{}}
	for _, rq := range o.res.Requests {
		if rq.Transport != "" {
			fin.Transports[rq.Name] = rq.Transport
		}
	}
	if opts.Writes != nil {
		fin.Writes, fin.WritesDropped = opts.Writes.Since(streamed), opts.Writes.Dropped()
	}
	if reg != nil {
		fin.Metrics, _ = encodeSnapshot(reg)
	}
	if err := out.send(&message{Type: msgDone, Final: fin}); err != nil {
		return false, fmt.Errorf("%w: %v", errLost, err)
	}
	if p.Ramp {
		logf("capacity ramp done: sent %d of %d planned iterations", fin.Health.Sent, fin.Health.Planned)
		return true, nil // the load's start follows
	}
	for {
		im, err := next(nil)
		if err != nil {
			return false, err
		}
		if im.m.Type == msgBye {
			logf("done: sent %d of %d planned iterations", fin.Health.Sent, fin.Health.Planned)
			return false, nil
		}
	}
}

// stamp is t as the worker's log writes it: UTC, to the nanosecond.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// resultsWriter streams the engine's per-request results file to the coordinator: each
// write (the engine's buffer, 64 kB) is one message.
type resultsWriter struct{ out *sender }

func (w resultsWriter) Write(p []byte) (int, error) {
	if err := w.out.send(&message{Type: msgResults, Results: p}); err != nil {
		return 0, fmt.Errorf("send results to the coordinator: %w", err)
	}
	return len(p), nil
}

// workerSpec loads the scenario the worker runs: its own copy, or the coordinator's.
func workerSpec(cfg WorkerConfig, wel *welcome) (*scenarios.Spec, error) {
	data, path, dir := cfg.Scenario, cfg.Path, filepath.Dir(cfg.Path)
	if data == nil {
		data, path, dir = wel.Scenario, wel.Path, "."
	}
	spec, err := scenarios.LoadBytes(path, data, dir)
	if err != nil {
		return nil, fmt.Errorf("load the scenario: %w", err)
	}
	if wel.TimeScale > 0 && wel.TimeScale != 1 {
		spec = spec.Scaled(wel.TimeScale)
	}
	return spec, nil
}
