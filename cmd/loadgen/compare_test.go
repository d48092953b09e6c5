package main

import (
	"bufio"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/trendtactics/loadlab/reports"
	"github.com/trendtactics/loadlab/result"
)

// synthruns DIR N MS SEED [key=value...] writes N results of 20 seconds at rate= (100)
// responses a second to DIR/runK/result.json, latencies log-normal around MS ms (σ 0.3), run k's
// median moved by a run-to-run factor drawn from SEED (±3 %). Keys: scenario=, seed=,
// verdict=, errors= (per second), version=, rate=, start= (run k starts
// k×10 minutes later).
func cmdSynthRuns(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 4 {
		ts.Fatalf("usage: synthruns DIR N MS SEED [key=value...]")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	median, err := strconv.ParseFloat(args[2], 64)
	ts.Check(err)
	seed, err := strconv.ParseUint(args[3], 10, 64)
	ts.Check(err)
	kv := map[string]string{"scenario": "synth", "seed": "1", "verdict": reports.Pass, "errors": "0", "version": version, "rate": "100", "start": "2026-12-01T10:00:00Z"}
	for _, a := range args[4:] {
		k, v, ok := cut(a)
		if !ok {
			ts.Fatalf("synthruns: %q is not key=value", a)
		}
		kv[k] = v
	}
	errsPerSec, err := strconv.ParseUint(kv["errors"], 10, 64)
	ts.Check(err)
	runSeed, err := strconv.ParseInt(kv["seed"], 10, 64)
	ts.Check(err)
	rate, err := strconv.ParseUint(kv["rate"], 10, 64)
	ts.Check(err)
	start, err := time.Parse(time.RFC3339, kv["start"])
	ts.Check(err)
	rng := rand.New(rand.NewPCG(seed, 0))
	for k := range n {
		factor := 1 + 0.06*(rng.Float64()-0.5)
		var pts []result.Point
		total := result.NewHistogram()
		for s := range 20 {
			h := result.NewHistogram()
			for range rate {
				ms := median * factor * math.Exp(0.3*rng.NormFloat64())
				_ = h.RecordValue(int64(ms * 1000))
			}
			total.Merge(h)
			enc, err := result.EncodeHistogram(h)
			ts.Check(err)
			pts = append(pts, result.Point{T: s, Planned: rate, Sent: rate, Count: rate, Errors: errsPerSec, HDR: enc})
		}
		st := &result.RequestStats{Name: "home", Count: 20 * rate, Errors: 20 * errsPerSec, Rate: float64(rate), Statuses: map[string]uint64{"200": 20 * (rate - errsPerSec)},
			Latency: result.Summarize(total), LatencyHist: total, Timeline: pts}
		tot := *st
		tot.Name = "total"
		res := &result.Result{Scenario: kv["scenario"], Seed: runSeed, Start: start.Add(time.Duration(k) * 10 * time.Minute), Verdict: kv["verdict"], Version: kv["version"], DurationMS: 20000,
			Total: &tot, Requests: []*result.RequestStats{st}, Timeline: pts}
		dir := filepath.Join(ts.MkAbs(args[0]), "run"+strconv.Itoa(k+1))
		ts.Check(os.MkdirAll(dir, 0o755))
		f, err := os.Create(filepath.Join(dir, "result.json"))
		ts.Check(err)
		bw := bufio.NewWriter(f)
		ts.Check(result.WriteJSON(bw, res))
		ts.Check(bw.Flush())
		ts.Check(f.Close())
	}
}

func cut(s string) (k, v string, ok bool) {
	for i := range len(s) {
		if s[i] == '=' {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}
