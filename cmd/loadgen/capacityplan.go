package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/sizing"
)

func init() { moreCommands = append(moreCommands, newCapacityPlanCmd) }

type capacityPlanFlags struct {
	rate        float64
	p99         time.Duration
	calibration string
	headroom    float64
	hpaMin      int
	hpaMax      int
	podReady    time.Duration
	// --calibrate: make the calibration with lab runs.
	calibrate    string
	replicas     string
	generatorRPS float64
	genMaxRPS    float64
	genStep      time.Duration
	genLate      time.Duration
	out          string
	academy      string
	timeScale    float64
	maxLateness  time.Duration
	// --render: the Kubernetes manifests with the plan's counts (k8s render's).
	render   string
	scenario string
}

func newCapacityPlanCmd(e *env) *cobra.Command {
	var f capacityPlanFlags
	cmd := &cobra.Command{
		Use:   "plan --rate R --p99 D --calibration FILE",
		Short: "Capacity plan: how many academy replicas and generators for R requests/s at a p99 objective",
		Long: `plan reads a calibration (the generator's rate on one core, the academy's throughput at the
p99 objective for several replica counts, CPU and memory per replica), fits the Universal
Scalability Law X(N) = λN / (1 + σ(N−1) + κN(N−1)) and prints: the fit and its quality;
the replicas, the smallest N with X(N) ≥ R × (1 + headroom), or a refusal with the reason
(past the law's peak, or past the HPA's maximum); the generators (R × (1 + headroom) ÷ r_gen)
and connections (Little's law: R × p99), checked against the ephemeral ports; where a CPU
70 % / memory 80 % HPA settles, with a warning below the replicas needed; and ramp steps
that the HPA's 15 s loop can follow. Exit 0 with a plan, 10 when refused, 2 for bad input.

With --calibrate FILE instead of --calibration, plan makes the calibration: it runs the
scenario FILE (a lab with a capacity: block whose latency is the p99 objective) once per
count of --replicas (default 1,2,3,4,6,8), takes each run's measured capacity as the
throughput at that count, writes calibration.json into --out and plans from it. r_gen
comes from --generator-rps or, without it, is measured first: loadgen's engine in a child
process with GOMAXPROCS=1 sends GET / at constant rates (--generator-step each, doubled from
1000/s up to --generator-max-rps, then bisected) to a net/http server on loopback; r_gen is
the highest rate whose pacing error, (planned − sent + sent more than --generator-late,
default 25ms, late) ÷ planned, stays under 1 %.

With --render DIR it also writes DIR/loadlab.yaml, loadgen k8s render's manifests with the
plan's counts (HPA minimum the replicas needed, maximum --hpa-max; a worker of one CPU per
generator running --scenario FILE; without it only the academy).

  loadgen plan --rate 1000000 --p99 100ms --calibration calibration.json --render k8s/ --scenario s.yaml
  loadgen plan --rate 5000 --p99 100ms --calibrate scenarios/calibrate.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return capacityPlan(cmd.Context(), e, f)
		},
	}
	fl := cmd.Flags()
	fl.Float64Var(&f.rate, "rate", 0, "requests per second to serve (R)")
	fl.DurationVar(&f.p99, "p99", 0, "the p99 latency objective")
	fl.StringVar(&f.calibration, "calibration", "", "the calibration JSON `FILE` (see cmd/loadgen/doc.go, plan)")
	fl.Float64Var(&f.headroom, "headroom", 0.3, "replicas must serve R × (1 + headroom)")
	fl.IntVar(&f.hpaMin, "hpa-min", 2, "the HPA's minReplicas")
	fl.IntVar(&f.hpaMax, "hpa-max", 1000, "the HPA's maxReplicas")
	fl.DurationVar(&f.podReady, "pod-ready", 15*time.Second, "how long a new replica takes to serve")
	fl.StringVar(&f.calibrate, "calibrate", "", "make the calibration: run the lab scenario `FILE` (with a capacity: block) once per replica count")
	fl.StringVar(&f.replicas, "replicas", "1,2,3,4,6,8", "with --calibrate: the replica counts, comma-separated")
	fl.Float64Var(&f.generatorRPS, "generator-rps", 0, "with --calibrate: r_gen, the rate one generator core holds at < 1% pacing error (default: measured)")
	fl.Float64Var(&f.genMaxRPS, "generator-max-rps", 200000, "with --calibrate, measuring r_gen: the highest rate tried")
	fl.DurationVar(&f.genStep, "generator-step", 2*time.Second, "with --calibrate, measuring r_gen: the length of each rate step")
	fl.DurationVar(&f.genLate, "generator-late", loadgen.DefaultMaxLateness, "with --calibrate, measuring r_gen: an iteration sent later than this counts as a pacing error")
	fl.StringVar(&f.out, "out", "", "with --calibrate: output `DIR` (default ./results/calibration-<UTC timestamp>)")
	fl.StringVar(&f.academy, "academy", "", "with --calibrate: the academy binary, as run --academy")
	fl.Float64Var(&f.timeScale, "time-scale", 1, "with --calibrate: as run --time-scale")
	fl.DurationVar(&f.maxLateness, "max-lateness", loadgen.DefaultMaxLateness, "with --calibrate: as run --max-lateness")
	fl.StringVar(&f.render, "render", "", "write the Kubernetes manifests with the plan's counts to `DIR`/loadlab.yaml (as loadgen k8s render)")
	fl.StringVar(&f.scenario, "scenario", "", "with --render: the scenario the coordinator runs; without it only the academy is rendered")
	return cmd
}

func capacityPlan(ctx context.Context, e *env, f capacityPlanFlags) error {
	switch {
	case f.rate <= 0:
		return usageErrorf("--rate must be above 0")
	case f.p99 <= 0:
		return usageErrorf("--p99 must be above 0")
	case (f.calibration == "") == (f.calibrate == ""):
		return usageErrorf("give --calibration FILE (read a calibration) or --calibrate FILE (make one)")
	case f.headroom < 0 || f.hpaMin < 1 || f.hpaMax < f.hpaMin || f.podReady < 0:
		return usageErrorf("want --headroom ≥ 0, 1 ≤ --hpa-min ≤ --hpa-max, --pod-ready ≥ 0")
	}
	if f.calibrate != "" {
		path, err := calibrate(ctx, e, f)
		if err != nil {
			return err
		}
		f.calibration = path
	}
	file, err := os.Open(f.calibration)
	if err != nil {
		return usageErrorf("%w", err)
	}
	defer file.Close()
	c, err := sizing.ReadCalibration(bufio.NewReader(file))
	if err != nil {
		return usageErrorf("%s: %w", f.calibration, err)
	}
	p, err := sizing.Make(c, sizing.Objective{RPS: f.rate, P99: f.p99, Headroom: f.headroom, HPAMin: f.hpaMin, HPAMax: f.hpaMax, PodReady: f.podReady})
	if err != nil {
		return usageErrorf("%w", err)
	}
	if err := writeFlushed(e.stdout, func(w io.Writer) error { return sizing.Write(w, p) }); err != nil {
		return internalErrorf("%w", err)
	}
	if p.Refused != "" {
		return withCode(exitPlanRefused, nil)
	}
	if f.render != "" {
		return renderPlan(ctx, e, p, f)
	}
	return nil
}

// renderPlan writes the manifests of k8s render (loadgen-kube's) with the plan's counts:
// the HPA from the replicas needed (its minimum: it does not see contention) to --hpa-max
// at CPU 70 % and memory 80 %, the pods' requests from the calibration, and one worker of
// one core per generator.
func renderPlan(ctx context.Context, e *env, p *sizing.Plan, f capacityPlanFlags) error {
	minReplicas, workers := max(p.Replicas, f.hpaMin), p.Generators
	if err := os.MkdirAll(f.render, 0o755); err != nil {
		return internalErrorf("--render: %w", err)
	}
	path := filepath.Join(f.render, "loadlab.yaml")
	args := []string{"k8s", "render", "-o", path, // mode 0600: it holds secrets
		"--min-replicas", strconv.Itoa(minReplicas), "--max-replicas", strconv.Itoa(f.hpaMax),
		"--cpu-percent", strconv.Itoa(int(p.Objective.CPUTarget*100 + 0.5)),
		"--memory-percent", strconv.Itoa(int(p.Objective.MemoryTarget*100 + 0.5)),
		"--workers", strconv.Itoa(workers), "--worker-cpu", "1"} // r_gen is one core's rate
	if c := p.Calibration; c.HasHPA() {
		args = append(args, "--academy-cpu", fmt.Sprintf("%.0fm", c.CPURequestMilli), "--academy-memory", fmt.Sprintf("%.0fMi", c.MemoryRequestMB))
	}
	if f.scenario == "" {
		args = append(args, "--part", "academy")
	} else {
		args = append(args, "--scenario", f.scenario)
	}
	code, err := runKube(ctx, e, args...)
	if err != nil {
		return internalErrorf("--render: %w", err)
	}
	if code != 0 {
		return withCode(code, nil) // loadgen-kube has said why
	}
	fmt.Fprintf(e.stdout, "manifests    %s (HPA %d to %d replicas, %d workers of 1 CPU)\n", path, minReplicas, f.hpaMax, workers)
	return nil
}

// p99Objective reads the percentile and bound of a capacity's latency objective ("p(99) < 100ms").
var p99Objective = regexp.MustCompile(`^p\((\d+(?:\.\d+)?)\)\s*<\s*(\S+)$`)

// calibrate runs the lab scenario once per replica count, writes calibration.json and
// returns its path.
func calibrate(ctx context.Context, e *env, f capacityPlanFlags) (string, error) {
	if f.generatorRPS < 0 || f.genMaxRPS <= 0 || f.genStep <= 0 || f.genLate <= 0 {
		return "", usageErrorf("want --generator-rps ≥ 0 (0: measure it), --generator-max-rps, --generator-step and --generator-late above 0")
	}
	var counts []int
	for _, v := range strings.Split(f.replicas, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 {
			return "", usageErrorf("--replicas %q: want replica counts of 1 or more, comma-separated", f.replicas)
		}
		counts = append(counts, n)
	}
	out := f.out
	if out == "" {
		out = filepath.Join("results", "calibration-"+time.Now().UTC().Format("20060102T150405Z"))
	}
	c := sizing.Calibration{GeneratorRPS: f.generatorRPS, GeneratorMethod: "given by plan --generator-rps"}
	if f.generatorRPS == 0 {
		exe, err := os.Executable()
		if err != nil {
			return "", internalErrorf("calibrate: generator: %w", err)
		}
		c.GeneratorRPS, c.GeneratorMethod, c.GeneratorSteps, err = measureGeneratorRate(ctx, exe, f.genMaxRPS, f.genStep, f.genLate, e.stderr)
		if err != nil {
			return "", internalErrorf("calibrate: generator: %w", err)
		}
		fmt.Fprintf(e.stderr, "plan: r_gen %.0f/s: the highest rate one generator core held at < 1%% pacing error\n", c.GeneratorRPS)
	}
	for _, n := range counts {
		dir := filepath.Join(out, fmt.Sprintf("replicas-%d", n))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", internalErrorf("calibrate: %w", err)
		}
		err := runForResult(ctx, e, f.calibrate, runFlags{out: dir, seed: defaultSeed, quiet: true, maxLateness: f.maxLateness,
			report: "json", timeScale: f.timeScale, academy: f.academy, replicas: n})
		if err != nil {
			return "", prefixed(fmt.Sprintf("calibrate: %d replicas", n), err)
		}
		res, err := readResult(filepath.Join(dir, "result.json"))
		if err != nil {
			return "", internalErrorf("calibrate: %d replicas: %w", n, err)
		}
		capRes := res.Capacity
		if capRes == nil {
			return "", usageErrorf("calibrate: %s has no capacity: block to measure the throughput with", f.calibrate)
		}
		if !capRes.Valid {
			return "", withCode(exitInvalidRun, fmt.Errorf("calibrate: %d replicas: the generator could not hold the capacity ramp: %s", n, strings.Join(capRes.Reasons, "; ")))
		}
		latency, _, _ := strings.Cut(capRes.Objective, ",") // "p(99) < 100ms, errors < 1%"
		m := p99Objective.FindStringSubmatch(strings.TrimSpace(latency))
		d, derr := time.ParseDuration(strings.TrimSpace(valueAt(m, 2)))
		if m == nil || m[1] != "99" || derr != nil || d != f.p99 {
			return "", usageErrorf("calibrate: the capacity objective of %s is %q; want p(99) < %s, the plan's objective", f.calibrate, capRes.Objective, f.p99)
		}
		c.P99MS = float64(d) / float64(time.Millisecond)
		state := "saturated"
		if !capRes.Saturated {
			state = "NOT saturated: a lower bound, raise the ramp's to:"
		}
		fmt.Fprintf(e.stderr, "plan: %d replicas: capacity %.0f/s at %s (%s; %s)\n", n, capRes.RPS, capRes.Objective, state, dir)
		c.Points = append(c.Points, sizing.Point{Replicas: n, RPS: capRes.RPS})
	}
	path := filepath.Join(out, "calibration.json")
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return "", internalErrorf("calibrate: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return "", internalErrorf("calibrate: %w", err)
	}
	fmt.Fprintf(e.stderr, "plan: calibration: %s\n", path)
	return path, nil
}

func valueAt(m []string, i int) string {
	if i < len(m) {
		return m[i]
	}
	return ""
}
