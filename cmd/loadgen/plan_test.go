package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trendtactics/loadlab/sizing"
)

// TestPlanCalibrate makes a real calibration: scenarios/calibrate.yaml in a lab of 1, 2
// and 3 academy replicas (the ramp halved by --time-scale), then plans from it. It
// judges the mechanism (three measured points, a fit, a plan or a refusal with its
// reason), not the machine's figures: the scenario's objective is loosened to p(99) < 1s.
// At 100 ms, one stall of a shared machine in the ramp's first seconds, before a replica
// saturates at a few thousand requests a second, left no three seconds in a row kept
// (CI: "2 replicas: capacity: no three seconds in a row kept the objective").
func TestPlanCalibrate(t *testing.T) {
	loadgenBin, academyBin := binaries(t)
	out := t.TempDir()
	spec, err := os.ReadFile("../../scenarios/calibrate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const shipped = `latency: "p(99) < 100ms"`
	if !strings.Contains(string(spec), shipped) {
		t.Fatalf("scenarios/calibrate.yaml has no %s", shipped)
	}
	scenario := filepath.Join(t.TempDir(), "calibrate.yaml")
	if err := os.WriteFile(scenario, []byte(strings.Replace(string(spec), shipped, `latency: "p(99) < 1s"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(loadgenBin, "plan", "--rate", "2000", "--p99", "1s", "--calibrate", scenario,
		"--replicas", "1,2,3", "--generator-rps", "4000", "--time-scale", "0.5", "--max-lateness", "2s",
		"--academy", academyBin, "--out", out)
	output, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != exitPass && code != exitPlanRefused {
		t.Fatalf("exit %d\n%s", code, output)
	}
	data, err := os.ReadFile(filepath.Join(out, "calibration.json"))
	if err != nil {
		t.Fatalf("%v\n%s", err, output)
	}
	var c sizing.Calibration
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	if c.GeneratorRPS != 4000 || c.GeneratorMethod != "given by plan --generator-rps" || c.P99MS != 1000 || len(c.Points) != 3 {
		t.Fatalf("calibration %+v\n%s", c, output)
	}
	for i, p := range c.Points {
		if p.Replicas != i+1 || p.RPS <= 0 {
			t.Errorf("point %d: %+v", i, p)
		}
		if _, err := os.Stat(filepath.Join(out, "replicas-"+string(rune('1'+i)), "result.json")); err != nil {
			t.Error(err)
		}
	}
	for _, want := range []string{"plan: 1 replicas: capacity ", "at p(99) < 1s", "plan: 3 replicas: capacity ", "USL fit      λ ", "generators   "} {
		if !strings.Contains(string(output), want) {
			t.Errorf("no %q in\n%s", want, output)
		}
	}
	if code == exitPlanRefused && !strings.Contains(string(output), "REFUSED      past the") {
		t.Errorf("refused without its reason:\n%s", output)
	}
}
