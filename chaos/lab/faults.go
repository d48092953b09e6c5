package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/trendtactics/loadlab/chaos"
	"github.com/trendtactics/loadlab/chaos/proxy"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

var _ chaos.Resolver = (*Lab)(nil)

// Resolve turns a scenario fault into an injector on this lab.
func (l *Lab) Resolve(f *scenarios.Fault) (chaos.Injector, error) {
	family, _, _ := strings.Cut(f.Kind, ".")
	switch family {
	case "network":
		return l.networkFault(f)
	case "process":
		return l.processFault(f)
	case "http":
		return l.httpFault(f)
	case "database":
		return l.databaseFault(f)
	}
	return nil, fmt.Errorf("fault kind %s has no local equivalent in the lab", f.Kind)
}

// ---- network faults: proxy toxics ----

type toxicFault struct {
	p    *proxy.Proxy
	spec proxy.ToxicSpec
	id   string
}

func (t *toxicFault) Inject(ctx context.Context) error {
	id, err := t.p.AddToxic(t.spec)
	t.id = id
	return err
}

func (t *toxicFault) Rollback(ctx context.Context) error {
	if t.id == "" {
		return nil
	}
	err := t.p.RemoveToxic(t.id)
	t.id = ""
	return err
}

func (l *Lab) networkFault(f *scenarios.Fault) (chaos.Injector, error) {
	var p *proxy.Proxy
	switch f.Target {
	case "edge", "app":
		p = l.edge
	case "database":
		p = l.dbProxy
	case "cache":
		p = l.cacheProxy
		if len(l.redisNodes) > 0 {
			return nil, errors.New("network faults cannot target a redis-cluster cache (its clients follow the nodes' own addresses, not a proxy's); kill or pause a node with process.kill or process.pause")
		}
		if p == nil {
			return nil, errors.New("target cache needs `cache: redis` in the lab")
		}
	default:
		return nil, fmt.Errorf("network faults target edge, database or cache, not %q", f.Target)
	}
	spec := proxy.ToxicSpec{Name: f.Name, Toxicity: f.Toxicity, Direction: proxy.Direction(f.Params["direction"])}
	var err error
	switch f.Kind {
	case scenarios.FaultNetworkDelay:
		spec.Kind = proxy.KindLatency
		spec.Latency, err = durationParam(f, "latency", true)
		if err == nil {
			spec.Jitter, err = durationParam(f, "jitter", false)
		}
	case scenarios.FaultNetworkBandwidth:
		spec.Kind = proxy.KindBandwidth
		spec.Rate, err = byteParam(f, "rate")
	case scenarios.FaultNetworkDown:
		spec.Kind = proxy.KindDown
	case scenarios.FaultNetworkReset:
		spec.Kind = proxy.KindReset
		spec.Timeout, err = durationParam(f, "after", false)
	case scenarios.FaultNetworkTimeout:
		spec.Kind = proxy.KindTimeout
		spec.Timeout, err = durationParam(f, "timeout", false)
	case scenarios.FaultNetworkSlowClose:
		spec.Kind = proxy.KindSlowClose
		spec.Delay, err = durationParam(f, "delay", true)
	case scenarios.FaultNetworkLimitData:
		spec.Kind = proxy.KindLimitData
		spec.Bytes, err = byteParam(f, "bytes")
	default:
		return nil, fmt.Errorf("fault kind %s has no local equivalent; run it against Kubernetes with Chaos Mesh", f.Kind)
	}
	if err != nil {
		return nil, err
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	return &toxicFault{p: p, spec: spec}, nil
}

// ---- process faults: signals to children ----

type processFault struct {
	l            *Lab
	kill         bool
	procs        []*process
	restartAfter time.Duration

	mu       sync.Mutex
	restarts sync.WaitGroup
	done     chan struct{}
	report   func(kind, detail string) // nil: no events
}

var _ chaos.EventReporter = (*processFault)(nil)

// ReportEvents implements chaos.EventReporter: a kill's restart is reported as
// process.started (the process runs again) and process.ready (it passed its readiness
// check: PostgreSQL accepts connections, the academy listens, Redis is ready), each with
// the process's name as detail.
func (p *processFault) ReportEvents(report func(kind, detail string)) { p.report = report }

func (p *processFault) event(kind, detail string) {
	if p.report != nil {
		p.report(kind, detail)
	}
}

func (p *processFault) Inject(ctx context.Context) error {
	p.done = make(chan struct{})
	for _, pr := range p.procs {
		if !p.kill {
			if err := pr.pause(); err != nil {
				return err
			}
			continue
		}
		// restart-after counts from the kill, not from the moment its processes are gone.
		killed := time.Now()
		pr.kill()
		p.restarts.Add(1)
		// The restart goroutine ends after restarting the process, or at Rollback.
		go func() {
			defer p.restarts.Done()
			t := time.NewTimer(p.restartAfter - time.Since(killed))
			defer t.Stop()
			select {
			case <-t.C:
			case <-p.done:
			}
			p.restart(context.WithoutCancel(ctx), pr)
		}()
	}
	return nil
}

func (p *processFault) restart(ctx context.Context, pr *process) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pr.running() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := pr.start(ctx, func() { p.event(result.EventProcessStarted, pr.name) }); err != nil {
		fmt.Fprintf(p.l.cfg.Log, "lab: restart %s: %v\n", pr.name, err)
		return
	}
	p.event(result.EventProcessReady, pr.name)
}

func (p *processFault) Rollback(ctx context.Context) error {
	if p.done == nil {
		return nil
	}
	if !p.kill {
		var errs []error
		for _, pr := range p.procs {
			errs = append(errs, pr.signal(syscall.SIGCONT))
		}
		return errors.Join(errs...)
	}
	close(p.done)
	p.restarts.Wait()
	for _, pr := range p.procs {
		if !pr.running() {
			return fmt.Errorf("%s did not restart", pr.name)
		}
	}
	return nil
}

func (l *Lab) processFault(f *scenarios.Fault) (chaos.Injector, error) {
	pf := &processFault{l: l}
	switch f.Kind {
	case scenarios.FaultProcessKill:
		pf.kill = true
		d, err := durationParam(f, "restart-after", false)
		if err != nil {
			return nil, err
		}
		pf.restartAfter = d
	case scenarios.FaultProcessPause:
	default:
		return nil, fmt.Errorf("unknown process fault %s", f.Kind)
	}
	switch f.Target {
	case "app", "edge":
		l.mu.Lock()
		reps := l.replicas
		l.mu.Unlock()
		n, err := replicaCount(f, len(reps))
		if err != nil {
			return nil, err
		}
		for _, r := range reps[:n] {
			pf.procs = append(pf.procs, r.process)
		}
	case "database":
		pf.procs = []*process{l.db}
	case "cache":
		if len(l.redisNodes) > 0 { // a Redis Cluster: mode chooses the nodes (one by default)
			n, err := replicaCount(f, len(l.redisNodes))
			if err != nil {
				return nil, err
			}
			pf.procs = l.redisNodes[:n]
			break
		}
		if l.redis == nil {
			return nil, errors.New("target cache needs `cache: redis` or `cache: redis-cluster` in the lab")
		}
		pf.procs = []*process{l.redis}
	default:
		return nil, fmt.Errorf("process faults target app, database or cache, not %q", f.Target)
	}
	return pf, nil
}

// replicaCount applies a fault's mode (one, all, fixed, percent) to n replicas.
func replicaCount(f *scenarios.Fault, n int) (int, error) {
	switch f.Mode {
	case "", "one":
		return 1, nil
	case "all":
		return n, nil
	case "fixed":
		k, err := strconv.Atoi(f.Value)
		if err != nil || k < 1 {
			return 0, fmt.Errorf("mode fixed needs a whole number of replicas in value, not %q", f.Value)
		}
		return min(k, n), nil
	case "percent":
		v, err := strconv.ParseFloat(strings.TrimSuffix(f.Value, "%"), 64)
		if err != nil || v <= 0 || v > 100 {
			return 0, fmt.Errorf("mode percent needs a value in (0, 100], not %q", f.Value)
		}
		return max(1, int(float64(n)*v/100)), nil
	}
	return 0, fmt.Errorf("unknown mode %q (one, all, fixed, percent)", f.Mode)
}

// ---- HTTP faults: the academy's admin fault API on every replica ----

type httpFault struct {
	l    *Lab
	body []byte
	ids  map[string]string // replica address → fault id
}

func (h *httpFault) Inject(ctx context.Context) error {
	h.ids = map[string]string{}
	for _, addr := range h.l.replicaAddrs() {
		var out struct {
			ID string `json:"id"`
		}
		if err := h.l.admin(ctx, addr, http.MethodPost, "/admin/faults", h.body, &out); err != nil {
			return err
		}
		h.ids[addr] = out.ID
	}
	return nil
}

func (h *httpFault) Rollback(ctx context.Context) error {
	var errs []error
	for addr, id := range h.ids {
		errs = append(errs, h.l.admin(ctx, addr, http.MethodDelete, "/admin/faults/"+id, nil, nil))
	}
	h.ids = nil
	return errors.Join(errs...)
}

func (l *Lab) httpFault(f *scenarios.Fault) (chaos.Injector, error) {
	route := f.Params["route"]
	if route == "" && strings.HasPrefix(f.Target, "/") {
		route = f.Target
	}
	req := map[string]any{"route": route, "method": f.Params["method"]}
	if p := f.Params["percent"]; p != "" {
		v, err := strconv.ParseFloat(strings.TrimSuffix(p, "%"), 64)
		if err != nil {
			return nil, fmt.Errorf("params.percent: %q is not a percentage", p)
		}
		req["percent"] = v
	} else if f.Toxicity > 0 && f.Toxicity < 1 {
		req["percent"] = f.Toxicity * 100
	}
	switch f.Kind {
	case scenarios.FaultHTTPAbort, scenarios.FaultHTTPStatus:
		code, err := strconv.Atoi(f.Params["status"])
		if err != nil || code < 400 || code > 599 {
			if f.Kind == scenarios.FaultHTTPAbort && f.Params["status"] == "" {
				code = 503
			} else {
				return nil, fmt.Errorf("params.status: %q is not an HTTP error status", f.Params["status"])
			}
		}
		req["abort_status"] = code
	case scenarios.FaultHTTPDropWrite:
		// The academy's test-only fault (the lab allows it): enrollments answered 201, not stored.
		req["kind"] = "drop-write"
		if route == "" {
			req["route"] = "/v1/courses/{course}/enrollments"
		}
	case scenarios.FaultHTTPDelay:
		d, err := durationParam(f, "delay", true)
		if err != nil {
			return nil, err
		}
		req["delay"] = d.String()
	default:
		return nil, fmt.Errorf("unknown http fault %s", f.Kind)
	}
	body, _ := json.Marshal(req)
	return &httpFault{l: l, body: body}, nil
}

// ---- parameters ----

func durationParam(f *scenarios.Fault, name string, required bool) (time.Duration, error) {
	v, ok := f.Params[name]
	if !ok || v == "" {
		if required {
			return 0, fmt.Errorf("params.%s is required for %s", name, f.Kind)
		}
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("params.%s: %q is not a duration", name, v)
	}
	return d, nil
}

// byteParam reads a byte size or rate ("64kb", "1MiB", "256kb/s") from a fault's params.
func byteParam(f *scenarios.Fault, name string) (int64, error) {
	n, err := scenarios.ParseByteRate(f.Params[name])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("params.%s: %q is not a positive byte size or rate", name, f.Params[name])
	}
	return n, nil
}
