package result

// WorkerStats is one worker of a distributed run (Result.Workers): its share of the
// schedule and how well it held it. The run's figures are the exact merge of every
// worker's; this says who sent them.
type WorkerStats struct {
	Index int    `json:"index"`
	Addr  string `json:"addr,omitempty"` // where it connected from
	// Planned and Sent are its iterations: its stripe's share of the schedule (up to the
	// run's end) and what it sent.
	Planned uint64 `json:"planned"`
	Sent    uint64 `json:"sent"`
	// LatenessP99MS and GeneratorLatenessP99MS are its send lateness (Health).
	LatenessP99MS          float64 `json:"lateness_p99_ms"`
	GeneratorLatenessP99MS float64 `json:"generator_lateness_p99_ms"`
	// ClockOffsetMS is its clock's offset from the coordinator's (coordinator − worker),
	// ClockUncertaintyMS the bound on that estimate's error (half the best round trip).
	ClockOffsetMS      float64 `json:"clock_offset_ms"`
	ClockUncertaintyMS float64 `json:"clock_uncertainty_ms"`
	// Lost is true when it went silent (or its connection ended) before it finished;
	// LostAtS is when, seconds since the run start.
	Lost    bool    `json:"lost,omitempty"`
	LostAtS float64 `json:"lost_at_s,omitempty"`
	// RejoinedAtS is when a lost worker restarted with its index resumed, at the run's
	// current iteration (0: it did not).
	RejoinedAtS float64 `json:"rejoined_at_s,omitempty"`
	// Valid is false when it did not hold its share of the schedule, was lost, or its
	// clock was too uncertain; Reasons says why.
	Valid   bool     `json:"valid"`
	Reasons []string `json:"reasons,omitempty"`
}
