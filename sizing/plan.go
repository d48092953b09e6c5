package sizing

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/trendtactics/loadlab/internal/stats"
)

// Calibration is what was measured (a JSON file; see cmd/loadgen/doc.go, "plan").
type Calibration struct {
	// GeneratorRPS is r_gen: the rate one generator core held with under 1 % pacing error.
	GeneratorRPS float64 `json:"generator_rps"`
	// GeneratorMethod says how r_gen was found (measured by plan --calibrate, or given);
	// GeneratorSteps are the measurement's steps, in the order measured.
	GeneratorMethod string     `json:"generator_method,omitempty"`
	GeneratorSteps  []RateStep `json:"generator_steps,omitempty"`
	// P99MS is the objective the throughputs were measured at.
	P99MS float64 `json:"p99_ms"`
	// Points are the academy's throughput at the objective by replica count.
	Points []Point `json:"points"`
	// CPUPerRequestMS is the CPU time a replica spends per request (ms); CPURequestMilli
	// and MemoryRequestMB the pod's requests; MemoryPerReplicaMB its resident memory
	// under load. They predict the HPA's steady state.
	CPUPerRequestMS    float64 `json:"cpu_per_request_ms,omitempty"`
	CPURequestMilli    float64 `json:"cpu_request_millicores,omitempty"`
	MemoryPerReplicaMB float64 `json:"memory_per_replica_mb,omitempty"`
	MemoryRequestMB    float64 `json:"memory_request_mb,omitempty"`
}

// HasHPA reports whether the calibration has the CPU and memory figures the HPA's steady
// state is predicted from (all four, or none: a calibration made by plan --calibrate
// measures throughput only).
func (c *Calibration) HasHPA() bool {
	return c.CPUPerRequestMS > 0 && c.CPURequestMilli > 0 && c.MemoryPerReplicaMB > 0 && c.MemoryRequestMB > 0
}

// Point is one calibration measurement.
type Point struct {
	Replicas int     `json:"replicas"`
	RPS      float64 `json:"rps"`
}

// ReadCalibration reads a calibration file and checks it.
func ReadCalibration(r io.Reader) (*Calibration, error) {
	var c Calibration
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("read calibration: %w", err)
	}
	var errs []error
	if c.GeneratorRPS <= 0 {
		errs = append(errs, errors.New("generator_rps: want the rate one generator core holds, above 0"))
	}
	if c.P99MS <= 0 {
		errs = append(errs, errors.New("p99_ms: want the objective the points were measured at, above 0"))
	}
	counts := map[int]bool{}
	for i, p := range c.Points {
		if p.Replicas < 1 || p.RPS <= 0 {
			errs = append(errs, fmt.Errorf("points[%d]: want replicas ≥ 1 and rps > 0", i))
		}
		counts[p.Replicas] = true
	}
	if len(counts) < 3 {
		errs = append(errs, fmt.Errorf("points: want throughputs at 3 or more replica counts (6 or more for a trustworthy fit), got %d", len(counts)))
	}
	if c.HasHPA() || c.CPUPerRequestMS != 0 || c.CPURequestMilli != 0 || c.MemoryPerReplicaMB != 0 || c.MemoryRequestMB != 0 {
		for _, f := range []struct {
			name string
			v    float64
		}{{"cpu_per_request_ms", c.CPUPerRequestMS}, {"cpu_request_millicores", c.CPURequestMilli}, {"memory_per_replica_mb", c.MemoryPerReplicaMB}, {"memory_request_mb", c.MemoryRequestMB}} {
			if f.v <= 0 {
				errs = append(errs, fmt.Errorf("%s: want a value above 0 (the four CPU and memory figures go together, or none)", f.name))
			}
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("calibration: %w", errors.Join(errs...))
	}
	return &c, nil
}

// Objective is what the plan is for.
type Objective struct {
	RPS      float64       // R: the rate to serve
	P99      time.Duration // the latency objective
	Headroom float64       // replicas must serve R × (1 + Headroom); default 0.3
	// HPAMax is the HPA's maxReplicas (default 1000), HPAMin its minReplicas (default 2);
	// CPUTarget and MemoryTarget its utilization targets (default 0.70 and 0.80).
	HPAMax, HPAMin          int
	CPUTarget, MemoryTarget float64
	// PodReady is how long a new replica takes to serve (default 15s); EphemeralPorts the
	// generator host's usable source ports per destination (default 28232: Linux's
	// 32768-60999).
	PodReady       time.Duration
	EphemeralPorts int
}

func (o Objective) withDefaults() Objective {
	if o.Headroom == 0 {
		o.Headroom = 0.3
	}
	if o.HPAMax == 0 {
		o.HPAMax = 1000
	}
	if o.HPAMin == 0 {
		o.HPAMin = 2
	}
	if o.CPUTarget == 0 {
		o.CPUTarget = 0.70
	}
	if o.MemoryTarget == 0 {
		o.MemoryTarget = 0.80
	}
	if o.PodReady == 0 {
		o.PodReady = 15 * time.Second
	}
	if o.EphemeralPorts == 0 {
		o.EphemeralPorts = 28232
	}
	return o
}

// HPALoop is the HorizontalPodAutoscaler's sync period (kube-controller-manager's
// --horizontal-pod-autoscaler-sync-period default).
const HPALoop = 15 * time.Second

// Plan is the answer.
type Plan struct {
	Objective   Objective
	Calibration *Calibration
	Fit         stats.USL
	PeakN       float64 // the law's best replica count, and its throughput
	PeakX       float64
	Need        float64 // R × (1 + headroom)
	// Refused says why no replica count serves the rate; the figures below are then zero.
	Refused  string
	Replicas int
	// ReplicaRPS is X(Replicas): what they serve at the objective.
	ReplicaRPS float64
	// Generators are cores at r_gen; Connections the requests in flight at R by Little's
	// law (R × the p99 objective, an upper bound of the mean), and per generator.
	Generators, Connections, ConnectionsPerGenerator int
	// PortsOK is false when one generator needs more connections than ephemeral ports.
	PortsOK bool
	// HPA: the replicas the CPU and memory rules settle at under R, the larger of the two,
	// and whether that is below the replicas needed (it does not see contention).
	HPACPU, HPAMemory, HPASteady int
	HPABelowNeed                 bool
	Ramp                         []Step
	Warnings                     []string
}

// Step is one step of the ramp: from At, offer RPS, which Replicas serve.
type Step struct {
	At       time.Duration
	Replicas int
	RPS      float64
}

// Make computes the plan.
func Make(c *Calibration, o Objective) (*Plan, error) {
	o = o.withDefaults()
	if o.RPS <= 0 {
		return nil, errors.New("plan: the rate must be above 0")
	}
	if o.P99 <= 0 {
		return nil, errors.New("plan: the p99 objective must be above 0")
	}
	var n, x []float64
	for _, p := range c.Points {
		n, x = append(n, float64(p.Replicas)), append(x, p.RPS)
	}
	fit, err := stats.FitUSL(n, x)
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	p := &Plan{Objective: o, Calibration: c, Fit: fit, Need: o.RPS * (1 + o.Headroom)}
	p.PeakN, p.PeakX = fit.Peak()
	objMS := float64(o.P99) / float64(time.Millisecond)
	if math.Abs(objMS-c.P99MS) > 1e-9 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("the calibration was measured at p99 %gms, the objective is %gms: its throughputs may not hold", c.P99MS, objMS))
	}
	if len(c.Points) < 6 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%d calibration points: the fit of σ and κ is loose below 6 counts", len(c.Points)))
	}
	if fit.R2 < 0.9 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("the law fits the calibration poorly (R² %.3f): measure again, or more counts", fit.R2))
	}
	// Replicas: the smallest N with X(N) ≥ need, below the peak and the HPA's maximum.
	switch {
	case p.Need > p.PeakX && math.IsInf(p.PeakN, 1):
		p.Refused = fmt.Sprintf("past the USL limit: without coherency cost (κ 0) the throughput only approaches λ/σ = %.0f/s however many replicas (σ %.4g); %.0f/s with %.0f%% headroom cannot be reached by adding replicas: remove the contention first",
			p.PeakX, fit.Sigma, p.Need, o.Headroom*100)
	case p.Need > p.PeakX:
		p.Refused = fmt.Sprintf("past the USL peak: the most any replica count serves is %.0f/s, at %s replicas (σ %.4g, κ %.3g); %.0f/s with %.0f%% headroom cannot be reached by adding replicas: remove the contention first",
			p.PeakX, peakCount(p.PeakN), fit.Sigma, fit.Kappa, p.Need, o.Headroom*100)
	default:
		limit := o.HPAMax
		if !math.IsInf(p.PeakN, 1) {
			limit = min(limit, int(math.Ceil(p.PeakN)))
		}
		for r := 1; r <= limit; r++ {
			if fit.X(float64(r)) >= p.Need {
				p.Replicas = r
				break
			}
		}
		if p.Replicas == 0 {
			if float64(o.HPAMax) < p.PeakN {
				p.Refused = fmt.Sprintf("past the HPA maximum: %d replicas serve %.0f/s, below the %.0f/s needed", o.HPAMax, fit.X(float64(o.HPAMax)), p.Need)
			} else {
				p.Refused = fmt.Sprintf("past the USL peak: %.0f/s needed, at most %.0f/s at %s replicas", p.Need, p.PeakX, peakCount(p.PeakN))
			}
		}
	}
	// Generators and connections do not depend on the replicas.
	p.Generators = int(math.Ceil(p.Need / c.GeneratorRPS))
	p.Connections = int(math.Ceil(o.RPS * objMS / 1000))
	p.ConnectionsPerGenerator = int(math.Ceil(float64(p.Connections) / float64(p.Generators)))
	p.PortsOK = p.ConnectionsPerGenerator <= o.EphemeralPorts
	if !p.PortsOK {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%d connections per generator exceed its %d ephemeral ports to one destination: use %d generators, or several target addresses",
			p.ConnectionsPerGenerator, o.EphemeralPorts, int(math.Ceil(float64(p.Connections)/float64(o.EphemeralPorts)))))
	}
	if !c.HasHPA() {
		p.Warnings = append(p.Warnings, "the HPA's steady state is not predicted: the calibration has no CPU and memory figures")
		return p.finish(fit, o, c), nil
	}
	// The HPA: desired = ceil(total usage / (target × request)) for each resource.
	cpuCores := o.RPS * c.CPUPerRequestMS / 1000
	p.HPACPU = int(math.Ceil(cpuCores * 1000 / (o.CPUTarget * c.CPURequestMilli)))
	p.HPAMemory = 0
	if c.MemoryPerReplicaMB/c.MemoryRequestMB > o.MemoryTarget {
		// Memory per replica does not fall with more replicas: the rule asks for ever more.
		p.HPAMemory = o.HPAMax
		p.Warnings = append(p.Warnings, fmt.Sprintf("memory per replica (%gMB) is above %.0f%% of its request (%gMB): the memory rule scales to the maximum; raise the request",
			c.MemoryPerReplicaMB, o.MemoryTarget*100, c.MemoryRequestMB))
	}
	p.HPASteady = min(max(p.HPACPU, p.HPAMemory, o.HPAMin), o.HPAMax)
	if p.Replicas > 0 && p.HPASteady < p.Replicas {
		p.HPABelowNeed = true
		p.Warnings = append(p.Warnings, fmt.Sprintf("the HPA settles at %d replicas under CPU %.0f%% / memory %.0f%%, below the %d needed: it does not see the contention (σ, κ); set minReplicas to %d or lower the CPU target to %.0f%%",
			p.HPASteady, o.CPUTarget*100, o.MemoryTarget*100, p.Replicas, p.Replicas, 100*o.CPUTarget*float64(p.HPASteady)/float64(p.Replicas)))
	}
	return p.finish(fit, o, c), nil
}

// finish adds the extrapolation warning and the ramp of a plan with replicas.
func (p *Plan) finish(fit stats.USL, o Objective, c *Calibration) *Plan {
	if p.Replicas > 0 {
		most := 0
		for _, pt := range c.Points {
			most = max(most, pt.Replicas)
		}
		if p.Replicas > 4*most {
			p.Warnings = append(p.Warnings, fmt.Sprintf("the plan extrapolates from at most %d calibrated replicas to %d: calibrate nearer (κ shows only at many replicas)", most, p.Replicas))
		}
		p.ReplicaRPS = fit.X(float64(p.Replicas))
		p.Ramp = ramp(fit, o, p.Replicas)
	}
	return p
}

func peakCount(n float64) string {
	if math.IsInf(n, 1) {
		return "unbounded"
	}
	return fmt.Sprintf("%.0f", n)
}

// ramp raises the rate in steps the HPA can follow: each HPA loop it may at most double
// the replicas (or add 4: the default scale-up policy), and a new replica serves after
// PodReady. Each step offers what the replicas of the step before serve without headroom
// eaten: X(replicas)/(1+headroom), so the latency objective holds while the HPA catches up.
func ramp(fit stats.USL, o Objective, target int) []Step {
	step := HPALoop + o.PodReady
	var out []Step
	r := min(o.HPAMin, target)
	for at := time.Duration(0); ; at += step {
		rps := min(fit.X(float64(r))/(1+o.Headroom), o.RPS)
		out = append(out, Step{At: at, Replicas: r, RPS: rps})
		if r >= target && rps >= o.RPS {
			return out
		}
		r = min(max(2*r, r+4), target)
	}
}
