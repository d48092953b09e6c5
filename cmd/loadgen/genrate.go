package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"time"

	"github.com/spf13/cobra"

	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
	"github.com/trendtactics/loadlab/sizing"
)

// The generator calibration of plan --calibrate (r_gen): each step is a child process of
// this binary (the hidden command generator-step) with GOMAXPROCS=1, running loadgen's
// engine at one constant rate against a minimal net/http server that the parent serves on
// loopback; sizing.FindGeneratorRate steps the rate.

func init() { moreCommands = append(moreCommands, newGeneratorStepCmd) }

// genStep is what one generator-step child prints: the pacing error is
// (planned − sent + sent more than --late late by the generator's own lateness) ÷ planned.
type genStep struct {
	Planned     uint64  `json:"planned"`
	Sent        uint64  `json:"sent"`
	Late        uint64  `json:"late"`
	PacingError float64 `json:"pacing_error"`
}

func newGeneratorStepCmd(e *env) *cobra.Command {
	var (
		url      string
		rate     float64
		duration time.Duration
		late     time.Duration
	)
	cmd := &cobra.Command{
		Use:    "generator-step --url URL --rate R --duration D",
		Short:  "One step of plan's generator calibration (internal; run with GOMAXPROCS=1)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := generatorStep(cmd.Context(), url, rate, duration, late)
			if err != nil {
				return err
			}
			return json.NewEncoder(e.stdout).Encode(s)
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "the target base URL")
	cmd.Flags().Float64Var(&rate, "rate", 0, "requests per second")
	cmd.Flags().DurationVar(&duration, "duration", 2*time.Second, "the step's length")
	cmd.Flags().DurationVar(&late, "late", loadgen.DefaultMaxLateness, "an iteration sent later than this (the generator's own lateness) counts as a pacing error")
	return cmd
}

// generatorStep runs loadgen's engine (the transport auto picks) at rate against url.
func generatorStep(ctx context.Context, url string, rate float64, duration, late time.Duration) (*genStep, error) {
	if url == "" || rate <= 0 || duration <= 0 || late <= 0 {
		return nil, usageErrorf("generator-step: want --url, --rate > 0, --duration > 0 and --late > 0")
	}
	y := fmt.Sprintf(`version: 1
name: generator-rate
target: {url: %q}
workload:
  - name: get
    request: {method: GET, url: /}
load: {executor: constant-arrival-rate, rate: %g, duration: %s}
`, url, rate, duration)
	spec, err := scenarios.LoadBytes("generator-rate.yaml", []byte(y), ".")
	if err != nil {
		return nil, internalErrorf("generator-step: %w", err)
	}
	res, err := loadgen.Run(ctx, spec, loadgen.Options{MaxLateness: time.Hour})
	if err != nil {
		return nil, internalErrorf("generator-step: %w", err)
	}
	g := res.Generator
	h, err := result.DecodeHistogram(g.GeneratorLatenessHDR)
	if err != nil {
		return nil, internalErrorf("generator-step: lateness: %w", err)
	}
	s := &genStep{Planned: g.Planned, Sent: g.Sent}
	for _, b := range h.Distribution() {
		if b.From > result.Micros(late) {
			s.Late += uint64(b.Count)
		}
	}
	if s.Planned > 0 {
		s.PacingError = float64(s.Planned-min(s.Sent, s.Planned)+s.Late) / float64(s.Planned)
	}
	return s, nil
}

// measureGeneratorRate measures r_gen: the highest rate at which a generator-step child of
// exe (this binary), on one core, keeps its pacing error under 1 %, searched from 1000/s up
// to maxRPS with steps of step each, against a net/http server on loopback.
func measureGeneratorRate(ctx context.Context, exe string, maxRPS float64, step, late time.Duration, log io.Writer) (rgen float64, method string, steps []sizing.RateStep, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }() // ends when srv.Close below closes ln
	defer srv.Close()
	url := "http://" + ln.Addr().String()
	measure := func(rps float64) (float64, error) {
		cmd := exec.CommandContext(ctx, exe, "generator-step", "--url", url, "--rate", fmt.Sprintf("%g", rps), "--duration", step.String(), "--late", late.String())
		cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return 0, fmt.Errorf("%w: %s", err, bytes.TrimSpace(stderr.Bytes()))
		}
		var s genStep
		if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
			return 0, fmt.Errorf("generator-step output %q: %w", stdout.Bytes(), err)
		}
		fmt.Fprintf(log, "plan: generator at %.0f/s on one core: pacing error %.2f%% (%d planned, %d sent, %d more than %s late)\n",
			rps, 100*s.PacingError, s.Planned, s.Sent, s.Late, late)
		return s.PacingError, nil
	}
	start := min(1000, maxRPS)
	rgen, steps, err = sizing.FindGeneratorRate(measure, start, maxRPS)
	if err != nil {
		return 0, "", steps, err
	}
	method = fmt.Sprintf("measured by plan --calibrate: loadgen's engine (transport auto) in a child with GOMAXPROCS=1, "+
		"GET / at a constant rate for %s a step against a net/http server on loopback, the rate doubled from %.0f/s (at most %.0f/s) then bisected; "+
		"r_gen is the highest rate whose pacing error (planned − sent + sent more than %s late by the generator's own lateness, ÷ planned) was under 1%%", step, start, maxRPS, late)
	return rgen, method, steps, nil
}
