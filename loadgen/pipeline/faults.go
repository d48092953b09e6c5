package pipeline

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendtactics/loadlab/chaos"
	"github.com/trendtactics/loadlab/scenarios"
)

// faultRun runs a scenario's fault timeline beside the load.
type faultRun struct {
	tl     *chaos.Timeline
	cancel context.CancelFunc
	done   chan struct{}
	err    error
	once   sync.Once
}

// startFaults resolves the faults and starts their timeline from start, the load's start.
func startFaults(ctx context.Context, spec *scenarios.Spec, r chaos.Resolver, reg *prometheus.Registry, start time.Time) (*faultRun, error) {
	var rr prometheus.Registerer
	if reg != nil {
		rr = reg
	}
	tl, err := chaos.NewTimeline(spec.Faults, r, rr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	fr := &faultRun{tl: tl, cancel: cancel, done: make(chan struct{})}
	go func() { // ends when every fault has ended or stop cancels the timeline
		defer close(fr.done)
		fr.err = tl.Run(ctx, start)
	}()
	return fr, nil
}

// stop ends the timeline and rolls back whatever is still active. Safe to call more than
// once and concurrently (the emergency exit calls it too).
func (fr *faultRun) stop() error {
	fr.once.Do(func() {
		fr.cancel()
		<-fr.done
	})
	return fr.err
}
