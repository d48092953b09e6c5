// Package sizing answers "how many generators and academy replicas for R requests a
// second at a p99 objective": a capacity plan from calibration measurements.
//
// The calibration holds the generator's rate on one core (r_gen, at under 1 % pacing
// error) and the academy's throughput at the p99 objective for several replica counts.
// Plan fits the Universal Scalability Law to those (internal/stats.FitUSL), takes the
// smallest replica count whose throughput covers the rate with headroom, refuses past the
// law's peak or the HPA's maximum, sizes generators and their connections (Little's law,
// checked against ephemeral ports), predicts where a CPU/memory HPA settles, and lays out
// a ramp that the HPA's 15 s loop can follow. cmd/loadgen's `plan` prints it.
package sizing
