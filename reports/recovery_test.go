package reports_test

import (
	"strings"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/reports"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

func timeline(p99 []float64, errs []uint64) []result.Point {
	tl := make([]result.Point, len(p99))
	for i := range p99 {
		tl[i] = result.Point{T: i, Count: 100, Errors: errs[i], P99: p99[i]}
	}
	return tl
}

func TestRecover(t *testing.T) {
	spec := &scenarios.Spec{
		Thresholds: []*scenarios.Threshold{
			{Metric: "latency", Tags: map[string]string{"window": "steady"}, Aggregation: "p", Percentile: 99, Op: "<", Value: 0.1},
			{Metric: "latency", Tags: map[string]string{"window": "f"}, Aggregation: "p", Percentile: 99, Op: "<", Value: 0.5},
			{Metric: "errors", Aggregation: "rate", Op: "<", Value: 0.01},
		},
		Faults: []*scenarios.Fault{{Name: "f", At: 2 * time.Second, Duration: 2 * time.Second}},
	}
	for _, tc := range []struct {
		name string
		p99  []float64
		errs []uint64
		want float64
	}{
		{"at once", []float64{10, 10, 300, 300, 10, 10, 10, 10}, []uint64{0, 0, 0, 0, 0, 0, 0, 0}, 0},
		{"slow tail", []float64{10, 10, 300, 300, 250, 150, 20, 20, 20}, []uint64{0, 0, 0, 0, 0, 0, 0, 0, 0}, 2},
		{"errors linger", []float64{10, 10, 300, 300, 10, 10, 10, 10, 10}, []uint64{0, 0, 50, 50, 5, 0, 0, 0, 0}, 1},
		{"never", []float64{10, 10, 300, 300, 300, 300, 300}, []uint64{0, 0, 0, 0, 0, 0, 0}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := &result.Result{Timeline: timeline(tc.p99, tc.errs), Faults: []result.FaultResult{{Name: "f", Start: 2, End: 4}}}
			reports.Recover(spec, res)
			if got := res.Faults[0].RecoveryS; got != tc.want {
				t.Errorf("recovery %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRecoverWithoutThresholdsUsesBaseline(t *testing.T) {
	spec := &scenarios.Spec{Faults: []*scenarios.Fault{{Name: "f", At: 2 * time.Second, Duration: time.Second}}}
	res := &result.Result{
		Timeline: timeline([]float64{20, 25, 400, 60, 45, 40, 40}, make([]uint64, 7)),
		Faults:   []result.FaultResult{{Name: "f", Start: 2, End: 3}},
	}
	reports.Recover(spec, res) // limit: 2 × 25 ms
	if got := res.Faults[0].RecoveryS; got != 1 {
		t.Errorf("recovery %v, want 1 (the first second whose rolling p99 is under 50ms)", got)
	}
}

// recorded records 8 s of a request every 10 ms through a result.Recorder with the fault
// window f from 2 s to 4 s: answers take 5 ms, except those that complete before badUntil,
// which take 300 ms (slow) or fail (errors).
func recorded(t *testing.T, badUntil time.Duration, errors bool) *result.Result {
	t.Helper()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := result.NewRecorder(start, []string{"get"}, []result.Window{{Name: "f", Start: 2 * time.Second, End: 4 * time.Second}})
	at := time.Duration(0)
	for sec := range 8 {
		for ; at < time.Duration(sec+1)*time.Second; at += 10 * time.Millisecond {
			s := result.Sample{Code: 200, At: at, Latency: 5 * time.Millisecond}
			switch {
			case at < 2*time.Second:
			case errors && at+s.Latency < badUntil:
				s.Out, s.Code = result.OutStatus, 503
			case !errors && at+300*time.Millisecond < badUntil:
				s.Latency = 300 * time.Millisecond
			}
			s.Service = s.Latency
			r.Record(&s)
		}
		if sec == 7 {
			r.Last()
		}
		r.Tick(start.Add(time.Duration(sec+1)*time.Second), 100, 100, nil, nil, false)
	}
	return r.Result(start.Add(8*time.Second), true)
}

// TestRecoverToTheSlot: recovery is measured from request completions on a 100 ms grid,
// not from whole seconds: a service that is healthy the moment its fault ends reads under
// 100 ms (the per-second timeline said about 1 s, since the second in which the fault ends
// was skipped), and a slow tail or lingering errors read to the 100 ms.
func TestRecoverToTheSlot(t *testing.T) {
	spec := &scenarios.Spec{
		Thresholds: []*scenarios.Threshold{
			{Metric: "latency", Aggregation: "p", Percentile: 99, Op: "<", Value: 0.1},
			{Metric: "errors", Aggregation: "rate", Op: "<", Value: 0.01},
		},
		Faults: []*scenarios.Fault{{Name: "f", At: 2 * time.Second, Duration: 2 * time.Second}},
	}
	for _, tc := range []struct {
		name     string
		badUntil time.Duration
		errors   bool
		from, to float64 // the recovery time lies in [from, to]
	}{
		{"healthy at once", 4 * time.Second, false, 0, 0.1},
		{"slow tail", 5350 * time.Millisecond, false, 1.3, 1.5},
		{"errors linger", 4700 * time.Millisecond, true, 0.6, 0.8},
		{"never", 9 * time.Second, true, -1, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := recorded(t, tc.badUntil, tc.errors)
			res.Faults = []result.FaultResult{{Name: "f", Start: 2, End: 4.003}} // rolled back 3 ms after its planned end
			reports.Recover(spec, res)
			if got := res.Faults[0].RecoveryS; got < tc.from || got > tc.to {
				t.Errorf("recovery %v, want between %v and %v", got, tc.from, tc.to)
			}
		})
	}
}

// TestRecoverAfterRestart: for a restarted process, the recovery is also measured from
// the moment it was ready.
func TestRecoverAfterRestart(t *testing.T) {
	spec := &scenarios.Spec{
		Thresholds: []*scenarios.Threshold{{Metric: "errors", Aggregation: "rate", Op: "<", Value: 0.01}},
		Faults:     []*scenarios.Fault{{Name: "f", At: 2 * time.Second, Duration: 2 * time.Second}},
	}
	res := recorded(t, 3800*time.Millisecond, true)
	res.Faults = []result.FaultResult{{Name: "f", Start: 2, End: 4, ReadyS: 3.5, TimeToRestartS: 1.5}}
	reports.Recover(spec, res)
	f := res.Faults[0]
	if f.RecoveryAfterRestartS < 0.25 || f.RecoveryAfterRestartS > 0.4 || f.RecoveryS > 0.1 {
		t.Errorf("recovery after the restart %v (want 0.3 s: errors until 3.8 s, ready at 3.5 s), after the end %v (want 0)",
			f.RecoveryAfterRestartS, f.RecoveryS)
	}
}

// TestRestartIsReported: a restarted process's time to restart and the clients' recovery
// after it are in the summary and, with the restart events, in the journal.
func TestRestartIsReported(t *testing.T) {
	res := &result.Result{Total: &result.RequestStats{Name: "total"}, Generator: result.Health{Valid: true},
		Faults: []result.FaultResult{{Name: "kill-db", Kind: "process.kill", Target: "database", Start: 15, End: 20, Injected: true,
			ReadyS: 16.5, TimeToRestartS: 1.5, RecoveryAfterRestartS: 0.3, RecoveryS: 0}},
		Events: []result.Event{
			{At: 15, Kind: result.EventFaultStart, Name: "kill-db"},
			{At: 16.2, Kind: result.EventProcessStarted, Name: "kill-db", Detail: "postgres"},
			{At: 16.5, Kind: result.EventProcessReady, Name: "kill-db", Detail: "postgres"},
			{At: 20, Kind: result.EventFaultEnd, Name: "kill-db"},
		}}
	var buf strings.Builder
	if err := reports.WriteText(&buf, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "restarted and ready 1.5s after the kill, recovered 0.3s after it") {
		t.Errorf("summary without the restart:\n%s", buf.String())
	}
	var journal []string
	for _, e := range reports.Journal(res) {
		journal = append(journal, e.Text)
	}
	j := strings.Join(journal, "\n")
	for _, want := range []string{"restarted postgres (kill-db)", "postgres ready again (kill-db), 1.5s after the kill; clients recovered 0.3s after"} {
		if !strings.Contains(j, want) {
			t.Errorf("journal without %q:\n%s", want, j)
		}
	}
}
