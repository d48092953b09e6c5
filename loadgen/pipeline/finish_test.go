package pipeline_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/chaos"
	"github.com/trendtactics/loadlab/loadgen/pipeline"
	"github.com/trendtactics/loadlab/reports"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

const scenario = `version: 1
name: finish
target: {url: "http://127.0.0.1:1"}
workload:
  - name: catalog
    request: {method: GET, url: /v1/courses}
load: {executor: constant-arrival-rate, rate: 10, duration: 10s}
faults:
  - {name: slow-db, kind: network.delay, target: database, at: 2s, duration: 3s, params: {latency: 50ms}}
  - {name: late, kind: network.down, target: cache, at: 9s, duration: 1s}
thresholds:
  latency{window:steady}: ["p(99) < 100ms"]
  errors: [{threshold: "rate < 10%", abortOnFail: true}]
verify: [seats-never-oversold]
`

func spec(t *testing.T) *scenarios.Spec {
	t.Helper()
	s, err := scenarios.LoadBytes("finish.yaml", []byte(scenario), ".")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// measured records a 10-second run of the catalog request: 10 answers a second taking
// lat, 400ms during seconds 2-4 (the slow-db fault), errs of them failed every second.
func measured(lat time.Duration, errs int) *result.Result {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := result.NewRecorder(start, []string{"catalog"}, []result.Window{{Name: "slow-db", Start: 2 * time.Second, End: 5 * time.Second}})
	for sec := range 10 {
		for i := range 10 {
			s := result.Sample{Code: 200, At: time.Duration(sec)*time.Second + time.Duration(i)*100*time.Millisecond, Latency: lat}
			if sec >= 2 && sec < 5 {
				s.Latency = 400 * time.Millisecond
			}
			if i < errs {
				s.Out, s.Code = result.OutStatus, 500
			}
			s.Service = s.Latency
			r.Record(&s)
		}
		r.Tick(start.Add(time.Duration(sec+1)*time.Second), 10, 10, nil, nil, false)
	}
	res := r.Result(start.Add(10*time.Second), true)
	res.Scenario, res.Seed = "finish", 1
	res.Generator = result.Health{Planned: 100, Sent: 100, Completed: 100, Valid: true}
	return res
}

func TestFinish(t *testing.T) {
	faultEvents := []chaos.Event{
		{At: 2 * time.Second, Kind: result.EventFaultStart, Fault: "slow-db", Detail: "network.delay on database latency=50ms"},
		{At: 5 * time.Second, Kind: result.EventFaultEnd, Fault: "slow-db"},
	}
	interrupted := measured(20*time.Millisecond, 0)
	interrupted.Interrupted = true
	invalid := measured(20*time.Millisecond, 0)
	invalid.Generator.Valid, invalid.Generator.Reasons = false, []string{"5 of 100 planned iterations were never sent"}

	for _, tc := range []struct {
		name    string
		m       pipeline.Measured
		verdict string
		check   func(t *testing.T, res *result.Result)
	}{
		{name: "every threshold holds", m: pipeline.Measured{Result: measured(20*time.Millisecond, 0)}, verdict: reports.Pass,
			check: func(t *testing.T, res *result.Result) {
				if len(res.Thresholds) != 2 || !res.Thresholds[0].Pass || res.Thresholds[0].Measured > 21 || res.Faults != nil {
					t.Errorf("thresholds %+v, faults %+v", res.Thresholds, res.Faults)
				}
				if res.Path != "finish.yaml" {
					t.Errorf("path %q, want the scenario's", res.Path)
				}
			}},
		{name: "a latency threshold fails", m: pipeline.Measured{Result: measured(150*time.Millisecond, 0)}, verdict: reports.Fail,
			check: func(t *testing.T, res *result.Result) {
				if res.Thresholds[0].Pass || !res.Thresholds[1].Pass {
					t.Errorf("thresholds %+v", res.Thresholds)
				}
			}},
		{name: "an invalid generator is never PASS", m: pipeline.Measured{Result: invalid}, verdict: reports.Invalid},
		{name: "interrupted", m: pipeline.Measured{Result: interrupted}, verdict: reports.Interrupted},
		{name: "a capacity ramp the generator did not hold", verdict: reports.Invalid,
			m: pipeline.Measured{Result: measured(20*time.Millisecond, 0), Capacity: &result.CapacityResult{RPS: 50, Valid: false, Reasons: []string{"dropped 7"}}},
			check: func(t *testing.T, res *result.Result) {
				if res.Capacity == nil || res.Generator.Valid || len(res.Generator.Reasons) != 1 || res.Generator.Reasons[0] != "capacity measurement: dropped 7" {
					t.Errorf("capacity %+v, generator %+v", res.Capacity, res.Generator)
				}
			}},
		{name: "a held capacity ramp", verdict: reports.Pass,
			m: pipeline.Measured{Result: measured(20*time.Millisecond, 0), Capacity: &result.CapacityResult{RPS: 50, Valid: true}}},
		{name: "faults: events, windows and recovery", verdict: reports.Pass,
			m: pipeline.Measured{Result: measured(20*time.Millisecond, 0), FaultsRan: true, FaultEvents: faultEvents},
			check: func(t *testing.T, res *result.Result) {
				if len(res.Faults) != 2 || len(res.Events) != 2 || res.Events[0].Kind != result.EventFaultStart {
					t.Fatalf("faults %+v, events %+v", res.Faults, res.Events)
				}
				slow, late := res.Faults[0], res.Faults[1]
				// The last requests sent in the fault take 400 ms: completions are slow until
				// about 5.3 s, and recovery is measured from completions to the 100 ms.
				if !slow.Injected || slow.Start != 2 || slow.End != 5 || slow.RecoveryS < 0.3 || slow.RecoveryS > 0.5 {
					t.Errorf("slow-db: %+v; want injected 2s-5s, recovered 0.4 s after", slow)
				}
				if late.Injected || late.Error != "not reached before the run ended" || late.RecoveryS != -1 {
					t.Errorf("late: %+v", late)
				}
			}},
		{name: "faults that never healed", verdict: reports.Fail,
			m: pipeline.Measured{Result: measured(150*time.Millisecond, 0), FaultsRan: true, FaultEvents: faultEvents},
			check: func(t *testing.T, res *result.Result) {
				if res.Faults[0].RecoveryS != -1 {
					t.Errorf("slow-db recovered after %gs; the latency never came back under 100ms", res.Faults[0].RecoveryS)
				}
			}},
		{name: "the verification failed", verdict: reports.Fail,
			m: pipeline.Measured{Result: measured(20*time.Millisecond, 0), Verification: &result.VerificationResult{Pass: false}},
			check: func(t *testing.T, res *result.Result) {
				for _, th := range res.Thresholds {
					if !th.Pass {
						t.Errorf("threshold %s failed; only the verification should", th.Metric)
					}
				}
			}},
		{name: "the verification held", verdict: reports.Pass,
			m: pipeline.Measured{Result: measured(20*time.Millisecond, 0), Verification: &result.VerificationResult{Pass: true}}},
		{name: "memory series are kept", verdict: reports.Pass,
			m: pipeline.Measured{Result: measured(20*time.Millisecond, 0), Memory: []result.ProcessMemory{{Name: "loadgen"}}},
			check: func(t *testing.T, res *result.Result) {
				if len(res.Memory) != 1 {
					t.Errorf("memory %+v", res.Memory)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := json.Marshal(tc.m.Result)
			res := pipeline.Finish(spec(t), tc.m)
			if res.Verdict != tc.verdict {
				t.Errorf("verdict %s, want %s (thresholds %+v)", res.Verdict, tc.verdict, res.Thresholds)
			}
			if after, _ := json.Marshal(tc.m.Result); string(after) != string(before) {
				t.Errorf("Finish modified its input")
			}
			if tc.check != nil {
				tc.check(t, res)
			}
		})
	}
}

// TestFinishMarksTheAbort: the threshold that stopped the run live is marked aborted,
// with the value it had when it fired, even when the whole run's value passes.
func TestFinishMarksTheAbort(t *testing.T) {
	s := spec(t)
	a := reports.NewAborter(s)
	live := measured(20*time.Millisecond, 5) // half the answers failed in the first seconds
	if stop, why := a.Every(3*time.Second, live); !stop || !strings.Contains(why, "errors") {
		t.Fatalf("the aborter did not fire on 50%% errors: %v %q", stop, why)
	}
	res := pipeline.Finish(s, pipeline.Measured{Result: measured(20*time.Millisecond, 0), Aborter: a})
	if res.Verdict != reports.Fail {
		t.Errorf("verdict %s, want FAIL", res.Verdict)
	}
	th := res.Thresholds[1]
	if !th.Aborted || th.Pass || th.Measured != 0.5 {
		t.Errorf("errors threshold %+v; want aborted, failed, measured 0.5", th)
	}
}
