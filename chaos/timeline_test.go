package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendtactics/loadlab/chaos"
	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// recorder is an Injector that notes when it was injected and rolled back.
type recorder struct {
	mu               sync.Mutex
	injected, rolled int
	failInject       error
	injectAt, rollAt time.Time
}

func (r *recorder) Inject(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.injected++
	r.injectAt = time.Now()
	return r.failInject
}

func (r *recorder) Rollback(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rolled++
	r.rollAt = time.Now()
	return nil
}

type resolver map[string]*recorder

func (m resolver) Resolve(f *scenarios.Fault) (chaos.Injector, error) {
	r, ok := m[f.Name]
	if !ok {
		return nil, errors.New("no injector")
	}
	return r, nil
}

func fault(name string, at, d time.Duration) *scenarios.Fault {
	return &scenarios.Fault{Name: name, Kind: "network.delay", Target: "database", At: at, Duration: d,
		Params: map[string]string{"latency": "50ms"}}
}

// TestTimelineSchedule runs in a synctest bubble: its clock is fake and moves only when every
// goroutine of the test waits, so the times below are exact however busy the machine is.
func TestTimelineSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := &recorder{}, &recorder{}
		reg := prometheus.NewRegistry()
		tl, err := chaos.NewTimeline([]*scenarios.Fault{fault("b", 400*time.Millisecond, 100*time.Millisecond), fault("a", 50*time.Millisecond, 300*time.Millisecond)},
			resolver{"a": a, "b": b}, reg)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		done := make(chan error)
		go func() { done <- tl.Run(context.Background(), start) }()
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		if got := gauge(t, reg, "a"); got != 1 {
			t.Errorf("fault a active gauge = %v during its window, want 1", got)
		}
		if got := gauge(t, reg, "b"); got != 0 {
			t.Errorf("fault b active gauge = %v before its window, want 0", got)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		for name, r := range map[string]*recorder{"a": a, "b": b} {
			if r.injected != 1 || r.rolled != 1 {
				t.Errorf("%s: injected %d rolled back %d times, want 1 and 1", name, r.injected, r.rolled)
			}
		}
		for _, c := range []struct {
			what string
			got  time.Time
			want time.Duration
		}{
			{"a injected", a.injectAt, 50 * time.Millisecond},
			{"a rolled back", a.rollAt, 350 * time.Millisecond},
			{"b injected", b.injectAt, 400 * time.Millisecond},
			{"b rolled back", b.rollAt, 500 * time.Millisecond},
		} {
			if got := c.got.Sub(start); got != c.want {
				t.Errorf("%s after %v, want %v", c.what, got, c.want)
			}
		}
		var got []string
		for _, e := range tl.Events() {
			got = append(got, fmt.Sprintf("%s:%s@%v", e.Fault, e.Kind, e.At))
		}
		want := []string{"a:fault.start@50ms", "a:fault.end@350ms", "b:fault.start@400ms", "b:fault.end@500ms"}
		if !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
		if got := gauge(t, reg, "a"); got != 0 {
			t.Errorf("fault a active gauge = %v after the run, want 0", got)
		}
	})
}

// gauge reads loadgen_fault_active of a fault.
func gauge(t *testing.T, reg *prometheus.Registry, fault string) float64 {
	t.Helper()
	return testutil.Value(t, reg, "loadgen_fault_active", prometheus.Labels{"fault": fault})
}

// TestTimelineCancelRollsBack runs in a synctest bubble, so the fault due at 0 has surely
// been injected when the context is cancelled 50ms later.
func TestTimelineCancelRollsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &recorder{}
		tl, err := chaos.NewTimeline([]*scenarios.Fault{fault("a", 0, time.Hour), fault("later", time.Hour, time.Minute)},
			resolver{"a": a, "later": &recorder{}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- tl.Run(ctx, time.Now()) }()
		time.Sleep(50 * time.Millisecond)
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
		if a.injected != 1 || a.rolled != 1 {
			t.Fatalf("injected %d, rolled back %d: want the active fault rolled back once", a.injected, a.rolled)
		}
		if err := tl.Rollback(context.Background()); err != nil || a.rolled != 1 {
			t.Fatalf("second Rollback: err %v, rolled %d times; want idempotent", err, a.rolled)
		}
	})
}

func TestTimelineInjectErrorStillRollsBack(t *testing.T) {
	bad := &recorder{failInject: errors.New("proxy gone")}
	good := &recorder{}
	tl, err := chaos.NewTimeline([]*scenarios.Fault{fault("bad", 0, 50*time.Millisecond), fault("good", 0, 50*time.Millisecond)},
		resolver{"bad": bad, "good": good}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = tl.Run(context.Background(), time.Now())
	if err == nil {
		t.Fatal("Run returned nil for a failed injection")
	}
	if bad.rolled != 1 {
		t.Errorf("half-applied fault rolled back %d times, want 1", bad.rolled)
	}
	if good.injected != 1 || good.rolled != 1 {
		t.Errorf("other fault injected %d rolled %d, want 1 and 1", good.injected, good.rolled)
	}
}

func TestNewTimelineReportsEveryUnresolvable(t *testing.T) {
	_, err := chaos.NewTimeline([]*scenarios.Fault{fault("x", 0, time.Second), fault("y", 0, time.Second)}, resolver{}, nil)
	if err == nil || !strings.Contains(err.Error(), `fault "x"`) || !strings.Contains(err.Error(), `fault "y"`) {
		t.Fatalf("err = %v, want both faults named", err)
	}
}

// stalledInjector's injection lasts until its context ends, then fails with an error that does
// not wrap the context's (as client-go's "unexpected error when reading response body" does
// when a create's answer is cut off), after the object may have been created.
type stalledInjector struct {
	began  chan struct{}
	rolled atomic.Int32
}

func (s *stalledInjector) Inject(ctx context.Context) error {
	close(s.began)
	<-ctx.Done()
	return errors.New("unexpected error when reading response body. Please retry")
}

func (s *stalledInjector) Rollback(context.Context) error {
	s.rolled.Add(1)
	return nil
}

type stalledResolver struct{ inj *stalledInjector }

func (r stalledResolver) Resolve(*scenarios.Fault) (chaos.Injector, error) { return r.inj, nil }

// TestStopDuringInjection stops a run while a fault is being injected: the fault is rolled
// back (it may have taken effect), the result says why it did not run, and Run reports no
// error, as for any fault a stop cut short (CI saw Run fail with the cut-off create's error).
func TestStopDuringInjection(t *testing.T) {
	inj := &stalledInjector{began: make(chan struct{})}
	tl, err := chaos.NewTimeline([]*scenarios.Fault{fault("long", 0, time.Minute)}, stalledResolver{inj}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- tl.Run(ctx, time.Now()) }() // ends once cancelled below
	<-inj.began
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil: the stop cut the injection short", err)
	}
	if n := inj.rolled.Load(); n != 1 {
		t.Errorf("rolled back %d times, want 1", n)
	}
	var stopped bool
	for _, e := range tl.Events() {
		stopped = stopped || e.Kind == result.EventFaultError && strings.Contains(e.Detail, "stopped while it was being injected")
	}
	if !stopped {
		t.Errorf("events %+v: want a fault.error saying the run stopped during the injection", tl.Events())
	}
}
