package sizing

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"text/tabwriter"
	"time"
)

// Write prints the plan: the fit and its quality, the replicas (or why none), the
// generators and connections, the HPA's steady state, the ramp and the warnings.
func Write(w io.Writer, p *Plan) error {
	bw := bufio.NewWriter(w)
	o, c, f := p.Objective, p.Calibration, p.Fit
	fmt.Fprintf(bw, "objective    %.0f requests/s at p99 ≤ %s, headroom %.0f%%: replicas must serve %.0f/s\n", o.RPS, o.P99, o.Headroom*100, p.Need)
	fmt.Fprintf(bw, "calibration  %d points at p99 %gms, generator %.0f/s a core\n", len(c.Points), c.P99MS, c.GeneratorRPS)
	fmt.Fprintf(bw, "USL fit      λ %.1f/s  σ %.5f  κ %.3g   R² %.4f  RMSE %.1f/s\n", f.Lambda, f.Sigma, f.Kappa, f.R2, f.RMSE)
	if math.IsInf(p.PeakN, 1) {
		fmt.Fprintf(bw, "peak         none (κ = 0): throughput approaches λ/σ = %.0f/s\n", p.PeakX)
	} else {
		fmt.Fprintf(bw, "peak         %.0f/s at %.0f replicas; more replicas serve less\n", p.PeakX, p.PeakN)
	}
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nreplicas\tmeasured\tUSL\t")
	for _, pt := range c.Points {
		fmt.Fprintf(tw, "%d\t%.0f/s\t%.0f/s\t\n", pt.Replicas, pt.RPS, f.X(float64(pt.Replicas)))
	}
	tw.Flush()
	fmt.Fprintln(bw)
	if p.Refused != "" {
		fmt.Fprintf(bw, "REFUSED      %s\n", p.Refused)
	} else {
		fmt.Fprintf(bw, "replicas     %d (serve %.0f/s at the objective)\n", p.Replicas, p.ReplicaRPS)
	}
	ports := "within"
	if !p.PortsOK {
		ports = "BEYOND"
	}
	fmt.Fprintf(bw, "generators   %d (%.0f/s ÷ %.0f/s a core)\n", p.Generators, p.Need, c.GeneratorRPS)
	fmt.Fprintf(bw, "connections  %d in flight (Little's law: %.0f/s × %s), %d a generator: %s its %d ephemeral ports\n",
		p.Connections, o.RPS, o.P99, p.ConnectionsPerGenerator, ports, o.EphemeralPorts)
	if c.HasHPA() {
		fmt.Fprintf(bw, "HPA          settles at %d replicas (CPU %.0f%%: %d, memory %.0f%%: %d; min %d, max %d)\n",
			p.HPASteady, o.CPUTarget*100, p.HPACPU, o.MemoryTarget*100, p.HPAMemory, o.HPAMin, o.HPAMax)
	}
	if len(p.Ramp) > 0 {
		fmt.Fprintf(bw, "ramp         one step per HPA loop (%s) plus pod start (%s); the HPA may double the replicas (or add 4) each loop:\n", HPALoop, o.PodReady)
		tw = tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  at\treplicas\trate\t")
		for _, s := range p.Ramp {
			fmt.Fprintf(tw, "  %s\t%d\t%.0f/s\t\n", s.At.Round(time.Second), s.Replicas, s.RPS)
		}
		tw.Flush()
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(bw, "warning      %s\n", w)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return nil
}
