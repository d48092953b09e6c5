package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/trendtactics/loadlab/reports"
)

// labTLSScenario runs a lab whose replicas serve HTTPS with the lab's throwaway CA: the
// load goes through the edge proxy (TLS passed through as TCP), an http.* fault reaches
// the replicas' admin API over HTTPS, and the verification waits for /readyz over HTTPS.
const labTLSScenario = `version: 1
name: lab-tls
target:
  lab: {replicas: 2, tls: true, seed: {users: 20, courses: 5, seed: 1}}
defaults: {timeout: 2s}
workload:
  - name: catalog
    request: {method: GET, url: "/v1/courses?limit=5"}
load: {executor: constant-arrival-rate, rate: 20, duration: 5s}
faults:
  - {name: status, kind: http.status, target: app, at: 1s, duration: 2s, params: {route: /v1/courses, status: 500}}
thresholds:
  errors{window:status}: ["rate > 90%"]
  errors{window:steady}: ["rate < 5%"]
verify: [seats-never-oversold]
`

// TestLabTLS runs a scenario in a lab with tls: true: every request outside the fault is
// answered over HTTPS (none fails on the certificate), the fault's window fails as it
// should, the verification passes, and the throwaway CA's directory is gone afterwards.
func TestLabTLS(t *testing.T) {
	loadgenBin, academyBin := binaries(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "lab-tls.yaml")
	if err := os.WriteFile(file, []byte(labTLSScenario), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	output, err := exec.Command(loadgenBin, "run", file, "--out", out, "--academy", academyBin,
		"--lab-log", filepath.Join(out, "lab.log"), "--max-lateness", "2s").CombinedOutput()
	if err != nil {
		t.Fatalf("loadgen run: %v\n%s", err, output)
	}
	if !regexp.MustCompile(`lab: ready in \S+ at https://127\.0\.0\.1:\d+`).Match(output) {
		t.Errorf("the lab's URL is not https:\n%s", output)
	}
	b, err := os.ReadFile(filepath.Join(out, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Verdict string `json:"verdict"`
		Total   struct {
			Count    uint64            `json:"count"`
			Errors   uint64            `json:"errors"`
			Statuses map[string]uint64 `json:"statuses"`
		} `json:"total"`
		Faults []struct {
			Injected bool `json:"injected"`
		} `json:"faults"`
		Verification *struct {
			Pass bool `json:"pass"`
		} `json:"verification"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	tot := res.Total
	if res.Verdict != reports.Pass || tot.Count != 100 || tot.Statuses["error"] != 0 || tot.Statuses["200"] == 0 ||
		tot.Statuses["200"]+tot.Statuses["500"] != tot.Count || tot.Errors != tot.Statuses["500"] {
		t.Errorf("verdict %s, %d answers, %d errors, statuses %v; want PASS, 100 answers, only the fault's 500s failing\n%s",
			res.Verdict, tot.Count, tot.Errors, tot.Statuses, output)
	}
	if len(res.Faults) != 1 || !res.Faults[0].Injected || res.Verification == nil || !res.Verification.Pass {
		t.Errorf("faults %+v, verification %+v: want the fault injected over HTTPS and the verification passed", res.Faults, res.Verification)
	}
	m := regexp.MustCompile(`tls: throwaway CA (\S+)/ca\.pem`).FindSubmatch(output)
	if m == nil {
		t.Fatalf("no CA in the lab's status:\n%s", output)
	}
	if _, err := os.Stat(string(m[1])); err == nil || !strings.Contains(string(m[1]), "loadlab-tls-") {
		t.Errorf("the lab's TLS directory %s was left behind (%v)", m[1], err)
	}
	assertNothingLeft(t, filepath.Join(out, "lab.log"))
}

// The dry run of a lab with tls: true says so, and that auto sends its requests by net/http
// (the edge is https, which may speak HTTP/2), as the run does.
func TestLabTLSPlan(t *testing.T) {
	file := filepath.Join(t.TempDir(), "lab-tls.yaml")
	if err := os.WriteFile(file, []byte(labTLSScenario), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI("run", file, "--dry-run")
	if code != 0 || !strings.Contains(stdout, "https with a throwaway CA") ||
		!strings.Contains(stdout, "transport auto: nethttp for catalog (https: HTTP/2 where offered)") {
		t.Errorf("exit %d, plan:\n%s%s", code, stdout, stderr)
	}
}
