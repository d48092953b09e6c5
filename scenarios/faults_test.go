package scenarios_test

import (
	"testing"
	"time"

	"github.com/trendtactics/loadlab/scenarios"
)

func TestFaultParams(t *testing.T) {
	spec, err := scenarios.LoadFile("testdata/local-faults.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*scenarios.Fault{}
	for _, f := range spec.Faults {
		byName[f.Name] = f
	}
	if d := byName["delay"].ParamDuration("latency"); d != 100*time.Millisecond {
		t.Errorf("latency %s", d)
	}
	if d := byName["delay"].ParamDuration("jitter"); d != 0 || byName["delay"].Params["jitter"] != "0s" {
		t.Errorf("default jitter %s", d)
	}
	if n := byName["bw"].ParamBytes("rate"); n != 64<<10 {
		t.Errorf("rate %d", n)
	}
	if n := byName["limit"].ParamBytes("bytes"); n != 10000 {
		t.Errorf("bytes %d", n)
	}
	if f := byName["abort"].ParamFraction("percent"); f != 0.5 || byName["abort"].Params["percent"] != "50%" {
		t.Errorf("percent %v %q", f, byName["abort"].Params["percent"])
	}
	if n := byName["abort"].ParamInt("status"); n != 503 {
		t.Errorf("default abort status %d", n)
	}
	if r := byName["http-delay"].Params["route"]; r != "/v1/courses" {
		t.Errorf("route from target %q", r)
	}
	if m := byName["kill"].Mode; m != "one" {
		t.Errorf("process.kill default mode %q", m)
	}
	if m := byName["delay"].Mode; m != "all" {
		t.Errorf("network.delay default mode %q", m)
	}
	kinds := scenarios.FaultKinds()
	if lag := kinds["database.replica-lag"]; !lag.Local || lag.Kubernetes {
		t.Errorf("database.replica-lag: %+v, want the lab's only", lag)
	}
	if len(kinds) != 20 || kinds["http.drop-write"].Kubernetes || kinds["stress.memory"].Local || !kinds["network.delay"].Local || kinds["network.loss"].Local || kinds["network.reset"].Kubernetes {
		t.Errorf("fault kinds %v", kinds)
	}
}
