package main

import (
	"bufio"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

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

  loadgen plan --rate 1000000 --p99 100ms --calibration calibration.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return capacityPlan(e, f)
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
	return cmd
}

func capacityPlan(e *env, f capacityPlanFlags) error {
	switch {
	case f.rate <= 0:
		return usageErrorf("--rate must be above 0")
	case f.p99 <= 0:
		return usageErrorf("--p99 must be above 0")
	case f.calibration == "":
		return usageErrorf("--calibration FILE is required (this build reads calibrations; it does not make them)")
	case f.headroom < 0 || f.hpaMin < 1 || f.hpaMax < f.hpaMin || f.podReady < 0:
		return usageErrorf("want --headroom ≥ 0, 1 ≤ --hpa-min ≤ --hpa-max, --pod-ready ≥ 0")
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
	return nil
}
