package reports

import (
	"fmt"
	"sync"
	"time"

	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// Aborter evaluates the abortOnFail thresholds of a spec on the engine's live
// snapshots. Its methods are safe for concurrent use.
type Aborter struct {
	spec *scenarios.Spec

	mu    sync.Mutex
	fired int // index into spec.Thresholds of the threshold that stopped the run, -1 if none
	at    result.ThresholdResult
}

// NewAborter returns an Aborter for the abortOnFail thresholds of spec.
func NewAborter(spec *scenarios.Spec) *Aborter {
	return &Aborter{spec: spec, fired: -1}
}

// Every evaluates each abortOnFail threshold whose delayAbortEval has passed
// against snap, and asks the engine to stop at the first that fails on real data
// (a selection with no data yet, such as a window that has not begun, never
// stops the run). It has the signature of loadgen.Options.Every.
func (a *Aborter) Every(elapsed time.Duration, snap *result.Result) (stop bool, reason string) {
	if a == nil || snap == nil {
		return false, ""
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fired >= 0 {
		return true, a.reason()
	}
	run := runSeconds(snap, elapsed)
	for i, th := range a.spec.Thresholds {
		if !th.AbortOnFail || elapsed < th.DelayAbortEval {
			continue
		}
		tr := evaluate(th, snap, run)
		if tr.Pass || tr.Unit == UnitNoData {
			continue
		}
		a.fired, a.at = i, tr
		return true, a.reason()
	}
	return false, ""
}

func (a *Aborter) reason() string {
	return fmt.Sprintf("threshold %s %s failed (measured %s)", a.at.Metric, a.at.Source, FormatMeasured(a.at))
}

// Mark marks, in results (as returned by Evaluate for the same spec), the threshold
// that stopped the run: Aborted, failed, with the value measured when it fired.
func (a *Aborter) Mark(results []result.ThresholdResult) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fired < 0 || a.fired >= len(results) {
		return
	}
	tr := a.at
	tr.Aborted = true
	tr.Pass = false
	results[a.fired] = tr
}
