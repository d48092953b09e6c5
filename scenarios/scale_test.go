package scenarios_test

import (
	"testing"
	"time"

	"github.com/trendtactics/loadlab/scenarios"
)

// TestScaled is cmd/loadgen's TestScaleSpec, ported with Spec.Scaled.
func TestScaled(t *testing.T) {
	spec, err := scenarios.LoadFile("drills/db-outage.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := spec.Scaled(0.1)
	fault := func(sp *scenarios.Spec, name string) *scenarios.Fault {
		for _, f := range sp.Faults {
			if f.Name == name {
				return f
			}
		}
		t.Fatalf("db-outage has no fault %s", name)
		return nil
	}
	kill := fault(s, "kill-db")
	if s.Load.Duration != 6*time.Second || kill.At != 1500*time.Millisecond ||
		kill.Duration != 500*time.Millisecond || kill.Params["restart-after"] != "500ms" {
		t.Fatalf("scaled: load %s, fault at %s for %s, restart-after %s", s.Load.Duration, kill.At, kill.Duration, kill.Params["restart-after"])
	}
	if spec.Load.Duration != 60*time.Second || fault(spec, "kill-db").Params["restart-after"] != "5s" {
		t.Fatal("Scaled changed the original")
	}
	if s.Load.Rate != spec.Load.Rate || fault(s, "far-db").Params["latency"] != "50ms" {
		t.Fatal("Scaled changed a rate or a fault's magnitude")
	}
	if w := s.Windows[0]; w.Name != "settled" || w.At != 3*time.Second || w.Duration != 3*time.Second {
		t.Fatalf("scaled window %s at %s for %s, want settled at 3s for 3s", w.Name, w.At, w.Duration)
	}
	if w := spec.Windows[0]; w.At != 30*time.Second || w.Duration != 30*time.Second {
		t.Fatal("Scaled changed the original's window")
	}
	if spec.Scaled(1) != spec {
		t.Fatal("scale 1 copied the spec")
	}
}

// TestScaledSchedule covers what db-outage.yaml does not: stages, the capacity ramp and
// its floor of 3s, cooldown, delayAbortEval, the 1ms floor, zero durations and magnitudes.
func TestScaledSchedule(t *testing.T) {
	doc := `version: 1
name: scaled
target: {lab: {}}
workload: [{name: a, request: {url: /, timeout: 2s, expect: {latency: 1s}}}]
capacity: {from: 5, to: 50, duration: 20s, latency: "p(99) < 250ms", cooldown: 5s}
load:
  executor: ramping-arrival-rate
  startRate: 1x capacity
  stages: [{duration: 10s, target: 2x capacity}, {duration: 4ms, target: 30}]
faults:
  - {name: slow, kind: network.delay, target: database, at: 0s, duration: 10s, params: {latency: 50ms}}
thresholds:
  latency{window:slow}: [{threshold: "p(99) < 500ms", abortOnFail: true, delayAbortEval: 2s}]
  latency: ["p(99) < 100ms"]
`
	spec, err := scenarios.LoadBytes("scaled.yaml", []byte(doc), "")
	if err != nil {
		t.Fatal(err)
	}
	s := spec.Scaled(0.1)
	if got := []time.Duration{s.Load.Stages[0].Duration, s.Load.Stages[1].Duration}; got[0] != time.Second || got[1] != time.Millisecond {
		t.Errorf("stages %v, want [1s 1ms] (at least 1ms)", got)
	}
	if st := s.Load.Stages[0]; st.Target != 2 || !st.OfCapacity || s.Load.StartRate != 1 || !s.Load.StartRateOfCapacity {
		t.Errorf("rates changed: start %v, stage %+v", s.Load.StartRate, st)
	}
	if c := s.Capacity; c.Duration != 3*time.Second || c.Cooldown != 500*time.Millisecond || c.Latency != 250*time.Millisecond || c.From != 5 || c.To != 50 {
		t.Errorf("capacity %+v: want a 3s ramp (the floor), 500ms cooldown, objective and rates as written", c)
	}
	if f := s.Faults[0]; f.At != 0 || f.Duration != time.Second || f.Params["latency"] != "50ms" {
		t.Errorf("fault at %s for %s, latency %s: want at 0 for 1s, latency as written", f.At, f.Duration, f.Params["latency"])
	}
	if th := s.Thresholds; th[0].DelayAbortEval != 200*time.Millisecond || th[0].Value != spec.Thresholds[0].Value || th[1].DelayAbortEval != 0 {
		t.Errorf("thresholds: delayAbortEval %s and %s, value %v", th[0].DelayAbortEval, th[1].DelayAbortEval, th[0].Value)
	}
	if r := s.Workload[0].Request; r.Timeout != 2*time.Second || r.Expect.MaxLatency != time.Second {
		t.Errorf("request timeout %s, expect latency %s: time-outs and latencies are magnitudes", r.Timeout, r.Expect.MaxLatency)
	}
	if spec.Capacity.Duration != 20*time.Second || spec.Load.Stages[0].Duration != 10*time.Second ||
		spec.Faults[0].Duration != 10*time.Second || spec.Thresholds[0].DelayAbortEval != 2*time.Second {
		t.Error("Scaled changed the original")
	}
	if l := spec.Scaled(10); l.Load.Stages[0].Duration != 100*time.Second || l.Capacity.Duration != 200*time.Second {
		t.Errorf("scale 10: stage %s, ramp %s", l.Load.Stages[0].Duration, l.Capacity.Duration)
	}
}
