package chaos

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// Injector starts one fault and takes it back. Inject and Rollback are called from one
// goroutine, in that order; Rollback is called once for every Inject that was attempted
// (even one that failed half-way), so it must undo whatever part took effect.
type Injector interface {
	Inject(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// EventReporter is implemented by an Injector that has more to say than its start and
// end, such as the restart of a killed process. NewTimeline calls ReportEvents once, before
// Run, with a function that records an event of the given kind and detail, named for the
// fault, at the moment it is called; that function is safe for concurrent use, also after
// Rollback (a restart may finish later).
type EventReporter interface {
	ReportEvents(report func(kind, detail string))
}

// Resolver turns a scenario fault into an Injector for one kind of target.
type Resolver interface {
	Resolve(f *scenarios.Fault) (Injector, error)
}

// Event is a timestamped fault transition.
type Event struct {
	At     time.Duration // since the run start
	Kind   string        // result.EventFaultStart, EventFaultEnd, EventFaultError, or one an EventReporter reports
	Fault  string
	Detail string
}

// Timeline runs faults on a schedule.
type Timeline struct {
	items  []item
	active *prometheus.GaugeVec

	mu     sync.Mutex
	start  time.Time
	events []Event
	live   map[string]Injector // started and not yet rolled back
}

type item struct {
	fault *scenarios.Fault
	inj   Injector
}

// NewTimeline resolves every fault of the spec. reg may be nil; otherwise the gauge
// loadgen_fault_active{fault,kind,target} is registered on it (1 while the fault is active).
func NewTimeline(faults []*scenarios.Fault, r Resolver, reg prometheus.Registerer) (*Timeline, error) {
	t := &Timeline{live: map[string]Injector{}}
	var errs []error
	for _, f := range faults {
		inj, err := r.Resolve(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("fault %q: %w", f.Name, err))
			continue
		}
		t.items = append(t.items, item{f, inj})
		if r, ok := inj.(EventReporter); ok {
			name := f.Name
			r.ReportEvents(func(kind, detail string) { t.recordAt(time.Since(t.startTime()), kind, name, detail) })
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortStableFunc(t.items, func(a, b item) int { return int(a.fault.At - b.fault.At) })
	if reg != nil {
		t.active = prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "loadgen_fault_active",
			Help: "1 while a scenario fault is active.",
		}, []string{"fault", "kind", "target"})
		if err := reg.Register(t.active); err != nil {
			return nil, fmt.Errorf("register fault gauge: %w", err)
		}
		for _, it := range t.items {
			t.active.WithLabelValues(it.fault.Name, it.fault.Kind, it.fault.Target).Set(0)
		}
	}
	return t, nil
}

// Run starts each fault at start+At and rolls it back at start+At+Duration. It returns when
// every fault has ended or ctx is done; either way nothing it started is left active.
// The first injection error is returned after rollback; the other faults still run. An
// injection that ctx's end cuts short is rolled back too, and is no error of Run's (its
// fault.error event says that the run stopped).
func (t *Timeline) Run(ctx context.Context, start time.Time) error {
	t.mu.Lock()
	t.start = start
	t.mu.Unlock()
	var wg sync.WaitGroup
	errc := make(chan error, len(t.items))
	for _, it := range t.items {
		wg.Add(1)
		// Each fault's goroutine ends when its fault has been rolled back or ctx is done.
		go func() {
			defer wg.Done()
			if err := t.runOne(ctx, start, it); err != nil {
				errc <- err
			}
		}()
	}
	wg.Wait()
	close(errc)
	rbErr := t.Rollback(context.WithoutCancel(ctx))
	var errs []error
	for err := range errc {
		errs = append(errs, err)
	}
	return errors.Join(append(errs, rbErr)...)
}

func (t *Timeline) runOne(ctx context.Context, start time.Time, it item) error {
	f := it.fault
	if !sleepUntil(ctx, start.Add(f.At)) {
		return nil
	}
	t.mu.Lock()
	t.live[f.Name] = it.inj
	t.mu.Unlock()
	// The fault takes effect as its injection begins (a kill is immediate; waiting for the
	// processes to be gone takes longer): the start event carries that time.
	began := time.Since(start)
	err := it.inj.Inject(ctx)
	if err != nil {
		// A failed injection is rolled back: it may have taken effect. When the run stopped
		// while it was under way (an API server may have created the object, and its answer
		// been cut off by the stop), the stop is no failure of the injection.
		stopped := ctx.Err() != nil
		detail := err.Error()
		if stopped {
			detail = "the run stopped while it was being injected: " + detail
		}
		t.record(start, result.EventFaultError, f.Name, detail)
		rbErr := t.rollbackOne(context.WithoutCancel(ctx), start, f.Name)
		if stopped {
			return rbErr
		}
		return fmt.Errorf("inject fault %q: %w", f.Name, err)
	}
	t.recordAt(began, result.EventFaultStart, f.Name, describe(f))
	t.setActive(f, 1)
	sleepUntil(ctx, start.Add(f.At+f.Duration))
	return t.rollbackOne(context.WithoutCancel(ctx), start, f.Name)
}

// rollbackOne rolls back one live fault, once; ends are recorded as fault.end.
func (t *Timeline) rollbackOne(ctx context.Context, start time.Time, name string) error {
	t.mu.Lock()
	inj, ok := t.live[name]
	delete(t.live, name)
	t.mu.Unlock()
	if !ok {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	err := inj.Rollback(rctx)
	for _, it := range t.items {
		if it.fault.Name == name {
			t.setActive(it.fault, 0)
		}
	}
	if err != nil {
		t.record(start, result.EventFaultError, name, "rollback: "+err.Error())
		return fmt.Errorf("roll back fault %q: %w", name, err)
	}
	t.record(start, result.EventFaultEnd, name, "")
	return nil
}

// Rollback takes back every fault that is still active. It is safe to call at any time,
// more than once, and concurrently with Run.
func (t *Timeline) Rollback(ctx context.Context) error {
	t.mu.Lock()
	names := make([]string, 0, len(t.live))
	for n := range t.live {
		names = append(names, n)
	}
	t.mu.Unlock()
	slices.Sort(names)
	var errs []error
	for _, n := range names {
		errs = append(errs, t.rollbackOne(ctx, t.startTime(), n))
	}
	return errors.Join(errs...)
}

// Events returns the events so far, in time order.
func (t *Timeline) Events() []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	ev := slices.Clone(t.events)
	slices.SortStableFunc(ev, func(a, b Event) int { return int(a.At - b.At) })
	return ev
}

func (t *Timeline) record(start time.Time, kind, fault, detail string) {
	t.mu.Lock()
	if t.start.IsZero() {
		t.start = start
	}
	t.mu.Unlock()
	t.recordAt(time.Since(start), kind, fault, detail)
}

func (t *Timeline) recordAt(at time.Duration, kind, fault, detail string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.events = append(t.events, Event{At: at, Kind: kind, Fault: fault, Detail: detail})
}

func (t *Timeline) startTime() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.start.IsZero() {
		return time.Now()
	}
	return t.start
}

func (t *Timeline) setActive(f *scenarios.Fault, v float64) {
	if t.active != nil {
		t.active.WithLabelValues(f.Name, f.Kind, f.Target).Set(v)
	}
}

func describe(f *scenarios.Fault) string {
	s := f.Kind + " on " + f.Target
	keys := make([]string, 0, len(f.Params))
	for k := range f.Params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s += " " + k + "=" + f.Params[k]
	}
	return s
}

// sleepUntil waits until t or ctx is done; it reports whether t was reached.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
