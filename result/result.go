package result

import (
	"slices"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Schema names the version of the JSON result layout (documented in reports/RESULT.md).
const Schema = "loadlab.result/v1"

// Result is everything a run measured. It is written as JSON by the CLI and read back by
// `loadgen report` and `loadgen compare`. Durations in JSON are milliseconds (float64).
type Result struct {
	Schema   string `json:"schema"`
	Scenario string `json:"scenario"`
	Path     string `json:"path,omitempty"`
	Seed     int64  `json:"seed"`
	// Version is the loadlab version that ran it (loadgen version); comparisons refuse
	// runs of different versions. Empty in results written before it was recorded.
	Version     string    `json:"loadlab_version,omitempty"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	DurationMS  float64   `json:"duration_ms"`
	Interrupted bool      `json:"interrupted"`
	// Verdict is PASS, FAIL, INVALID or INTERRUPTED, set by whoever evaluates the thresholds.
	Verdict string `json:"verdict"`

	Total    *RequestStats   `json:"total"`
	Requests []*RequestStats `json:"requests"` // one per request or flow-step name, sorted by name

	// Windows holds the stats inside each named time window (a fault's name, "steady").
	Windows []*WindowStats `json:"windows,omitempty"`

	Timeline   []Point           `json:"timeline"` // per second, all requests
	Generator  Health            `json:"generator"`
	Thresholds []ThresholdResult `json:"thresholds"`
	Events     []Event           `json:"events,omitempty"` // fault start/end and other timestamped events
	// Faults are the scenario's faults as they ran, with their recovery times.
	Faults []FaultResult `json:"faults,omitempty"`
	// WebSocket holds the connection figures of websocket requests (nil without any).
	WebSocket *WebSocketStats `json:"websocket,omitempty"`
	// Browser holds the figures of browser requests (nil without any); see BrowserStats.
	Browser *BrowserStats `json:"browser,omitempty"`
	// Uptime is the result of the spec's uptime probe (nil without probe:); the uptime
	// threshold metric is Uptime.Rate.
	Uptime *UptimeStats `json:"uptime,omitempty"`
	// Capacity is the capacity measured before the load (nil when the scenario has no
	// capacity: block); the load's rates written relative to it were resolved with its RPS.
	Capacity *CapacityResult `json:"capacity,omitempty"`
	// Memory is the resident memory of the processes watched during the run (when the
	// scenario has memory thresholds), sampled once a second.
	Memory []ProcessMemory `json:"memory,omitempty"`
	// StopReason says why the load stopped before its end (Options.Every asked to stop).
	StopReason string `json:"stop_reason,omitempty"`
	// Verification is what the data looked like after the run (the scenario's verify: list);
	// nil when the scenario verifies nothing or the run was interrupted.
	Verification *VerificationResult `json:"verification,omitempty"`
	// Workers are the workers of a distributed run (loadgen/cluster), by index; nil for a
	// run in one process.
	Workers []WorkerStats `json:"workers,omitempty"`
}

// VerificationResult is the check of the data after the run, as Jepsen's set checker.
type VerificationResult struct {
	Pass bool `json:"pass"`
	// Source is where the state was read: "database" or "api".
	Source string `json:"source"`
	// Error, when set, says why the state could not be read; the verification then fails.
	Error string `json:"error,omitempty"`
	// ReadyAfterS is how long after the load the service answered /readyz 200 again.
	ReadyAfterS float64 `json:"ready_after_s"`
	// Writes counts the recorded writes by outcome.
	Writes WriteCounts         `json:"writes"`
	Checks []VerificationCheck `json:"checks"`
}

// WriteCounts counts recorded writes by outcome.
type WriteCounts struct {
	Total   int `json:"total"`
	OK      int `json:"ok"`
	Failed  int `json:"failed"`
	Unknown int `json:"unknown"`
	// Unrecorded writes exceeded the write log's bound: not checked.
	Unrecorded uint64 `json:"unrecorded,omitempty"`
	// Reads are the recorded read-backs (requests marked read:), not counted above.
	Reads int `json:"reads,omitempty"`
}

// VerificationCheck is one named verification (enrollments-durable, seats-never-oversold,
// progress-monotonic) with its counts.
type VerificationCheck struct {
	Name string `json:"name"`
	Pass bool   `json:"pass"`
	// Set checker counts (enrollments-durable): lost = acknowledged and missing; unexpected =
	// present but never attempted; recovered = unknown outcome and present; duplicated = more
	// than one row for a user and course, or one idempotency key applied twice.
	Lost       int `json:"lost"`
	Unexpected int `json:"unexpected"`
	Recovered  int `json:"recovered"`
	Duplicated int `json:"duplicated"`
	// Stale counts the read-backs (reads-see-own-writes) that missed their author's write
	// acknowledged before they were sent.
	Stale int `json:"stale,omitempty"`
	// Present is how many attempted (user, course) pairs were found enrolled after the run.
	Present int `json:"present"`
	// Violations counts invariant breaches (courses over capacity, counters out of step, ...).
	Violations int `json:"violations"`
	// Checked is how many items the check looked at (writes, courses, progress rows).
	Checked int    `json:"checked"`
	Detail  string `json:"detail,omitempty"`
	// Samples are up to five offending keys or rows, for a person to look up.
	Samples []string `json:"samples,omitempty"`
}

// RequestStats are the figures of one request name (or of all requests, for Total).
type RequestStats struct {
	Name          string `json:"name"`
	Count         uint64 `json:"count"`  // responses and failures recorded
	Errors        uint64 `json:"errors"` // transport errors plus unexpected statuses
	Checks        uint64 `json:"checks"`
	CheckFailures uint64 `json:"check_failures"`
	Skipped       uint64 `json:"skipped,omitempty"` // flow steps not sent: an earlier step failed
	// Shed counts the answers by which the service refused work to protect itself (429,
	// 503), expected or not; Good counts the expected answers that were not sheds: the
	// goodput is Good per second.
	Shed     uint64            `json:"shed,omitempty"`
	Good     uint64            `json:"good"`
	Statuses map[string]uint64 `json:"statuses"` // "200", "503", "error" (no response)
	// Rate and the summaries are derived from the counts and histograms: a worker of a
	// distributed run leaves them out of its interval records (their CBOR omits them when
	// zero), and the coordinator's merge computes them again.
	Rate        float64 `json:"rate" cbor:"rate,omitzero"`                 // responses per second over the run
	Latency     Summary `json:"latency" cbor:"latency,omitzero"`           // from the intended send time (CO-corrected)
	ServiceTime Summary `json:"service_time" cbor:"service_time,omitzero"` // from the actual send time
	// Admitted is the latency of the admitted requests (all but the sheds); nil when
	// nothing was shed, in which case it equals Latency.
	Admitted *Summary `json:"admitted,omitempty"`
	Timeline []Point  `json:"timeline,omitempty"`
	// Transport is the HTTP client that sent this request name: "fast" (fasthttp) or
	// "nethttp"; empty for the total and in windows.
	Transport string `json:"transport,omitempty"`

	// LatencyHist and ServiceHist are the live histograms (microseconds); the JSON carries
	// them encoded (hdrhistogram V2, base64) in LatencyHDR and ServiceHDR so results can be re-evaluated.
	LatencyHist  *hdrhistogram.Histogram `json:"-"`
	ServiceHist  *hdrhistogram.Histogram `json:"-"`
	AdmittedHist *hdrhistogram.Histogram `json:"-"` // nil when nothing was shed
	LatencyHDR   string                  `json:"latency_hdr,omitempty"`
	ServiceHDR   string                  `json:"service_time_hdr,omitempty"`
	AdmittedHDR  string                  `json:"admitted_hdr,omitempty"`
}

// WindowStats are per-request figures restricted to a time window.
type WindowStats struct {
	Name     string          `json:"name"`
	Start    float64         `json:"start_s"` // offset from the run start, seconds
	End      float64         `json:"end_s"`
	Total    *RequestStats   `json:"total"`
	Requests []*RequestStats `json:"requests"`
	// Slots are the window's request completions (all requests) in SlotWidth slots, from
	// the window's start to RecoveryHorizon after its end (fault and marker windows; not
	// steady), each with its latency histogram: what recovery times are measured from.
	// Empty slots are left out.
	Slots []Slot `json:"slots,omitempty"`
}

// Slot is SlotWidth of request completions.
type Slot struct {
	T      float64 `json:"t_s"` // the slot's start, seconds since the run start
	Count  uint64  `json:"count"`
	Errors uint64  `json:"errors"`
	// HDR is the slot's latency histogram (encoded as the *_hdr fields); empty when no
	// completion in it had a latency.
	HDR string `json:"hdr,omitempty"`
}

// Summary is a latency distribution in milliseconds.
type Summary struct {
	Min  float64 `json:"min_ms"`
	Mean float64 `json:"mean_ms"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P95  float64 `json:"p95_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p999_ms"`
	Max  float64 `json:"max_ms"`
}

// Point is one second of the timeline.
type Point struct {
	T       int     `json:"t"` // seconds since the run start
	Planned uint64  `json:"planned"`
	Sent    uint64  `json:"sent"`
	Count   uint64  `json:"count"`
	Errors  uint64  `json:"errors"`
	P50     float64 `json:"p50_ms"`
	P90     float64 `json:"p90_ms"`
	P99     float64 `json:"p99_ms"`
	Max     float64 `json:"max_ms"`
	// HDR is the second's latency histogram (encoded as the *_hdr fields), so timelines
	// merge exactly; empty when the second recorded no latency.
	HDR string `json:"hdr,omitempty"`
}

// Health is how well the generator held its schedule.
type Health struct {
	Planned       uint64   `json:"planned"`
	Sent          uint64   `json:"sent"`
	Completed     uint64   `json:"completed"`
	MaxInFlight   int      `json:"max_in_flight"`
	InFlightLimit int      `json:"in_flight_limit"`
	LatenessP99MS float64  `json:"lateness_p99_ms"`
	LatenessMaxMS float64  `json:"lateness_max_ms"`
	Valid         bool     `json:"valid"`
	Reasons       []string `json:"reasons,omitempty"` // why the run is invalid

	// Dropped iterations were planned but never sent (Planned − Sent).
	Dropped uint64 `json:"dropped,omitempty"`
	// Cancelled requests were in flight when the run was interrupted or aborted; they are
	// not counted in any latency or error figure.
	Cancelled uint64 `json:"cancelled,omitempty"`
	// PoolFull counts iterations that waited for a free worker (in-flight limit reached).
	PoolFull uint64 `json:"pool_full,omitempty"`
	// GeneratorLatenessP99MS is the p99 of the send lateness the generator alone is
	// responsible for: lateness accrued while it was not waiting for a free worker.
	GeneratorLatenessP99MS float64 `json:"generator_lateness_p99_ms"`
	// LatenessBound is the bound on GeneratorLatenessP99MS above which the run is invalid.
	LatenessBound float64 `json:"lateness_bound_ms"`
	// LatenessHDR and GeneratorLatenessHDR are the send-lateness histograms behind
	// LatenessP99MS and GeneratorLatenessP99MS, so the health of several generators
	// merges exactly; empty for a closed model.
	LatenessHDR          string `json:"lateness_hdr,omitempty"`
	GeneratorLatenessHDR string `json:"generator_lateness_hdr,omitempty"`
}

// ThresholdResult is one evaluated threshold expression.
type ThresholdResult struct {
	Metric   string  `json:"metric"` // with tags, as written: latency{request:enroll}
	Source   string  `json:"source"` // p(99) < 250ms
	Measured float64 `json:"measured"`
	Unit     string  `json:"unit"` // ms, ratio, count, rps
	Pass     bool    `json:"pass"`
	Aborted  bool    `json:"aborted,omitempty"`
}

// Event is a timestamped happening in the run (fault start and end, abort).
type Event struct {
	At     float64 `json:"at_s"` // seconds since the run start
	Kind   string  `json:"kind"` // fault.start, fault.end, abort, ...
	Name   string  `json:"name"`
	Detail string  `json:"detail,omitempty"`
}

// FaultResult is one fault of the run: when it was active and how long clients took to recover.
type FaultResult struct {
	Name   string  `json:"name"`
	Kind   string  `json:"kind"`
	Target string  `json:"target"`
	Start  float64 `json:"start_s"` // when it took effect, seconds since the run start (planned start if it never did)
	End    float64 `json:"end_s"`   // when it was rolled back
	// Injected is false when the fault was not injected (an error, or a run without faults).
	Injected bool   `json:"injected"`
	Error    string `json:"error,omitempty"`
	// ReadyS, for a process.kill fault with restart-after, is when the restarted process
	// answered its readiness check (seconds since the run start; 0: no restart seen), and
	// TimeToRestartS the time from the kill to then. RecoveryAfterRestartS is the time from
	// ReadyS until clients were served within bounds again (-1: not before the run ended).
	ReadyS                float64 `json:"ready_s,omitempty"`
	TimeToRestartS        float64 `json:"time_to_restart_s,omitempty"`
	RecoveryAfterRestartS float64 `json:"recovery_after_restart_s,omitempty"`
	// RecoveryS is the time from the fault's end until the rolling p99 latency and error
	// rate were back within their thresholds; -1 means not recovered before the run ended.
	RecoveryS float64 `json:"recovery_s"`
}

// ProcessMemory is the resident memory (RSS) of one process over the run.
type ProcessMemory struct {
	Name    string      `json:"name"` // loadgen, academy-1, academy-2, postgres, redis
	Samples []MemSample `json:"samples"`
}

// MemSample is one reading of a process's resident memory.
type MemSample struct {
	T   float64 `json:"t_s"` // seconds since the run start
	RSS int64   `json:"rss_bytes"`
}

// Growth is how much the resident memory grew over the second half of the run, as a
// fraction: (late − early) / early, where early is the median of the samples in the tenth
// of the run that ends at its middle and late the median of the last tenth. The first
// half is warm-up: a Go heap settles in steps (its GC target grows with the live heap and
// the pool of connections), which is not a leak; a leak grows with the requests served and
// shows in any half. ok is false with too few samples (under 10).
func (p ProcessMemory) Growth() (growth float64, early, late int64, ok bool) {
	n := len(p.Samples)
	if n < 10 {
		return 0, 0, 0, false
	}
	from, to := p.Samples[0].T, p.Samples[n-1].T
	span := to - from
	pick := func(a, b float64) []int64 {
		var v []int64
		for _, s := range p.Samples {
			if s.T >= from+a*span && s.T <= from+b*span {
				v = append(v, s.RSS)
			}
		}
		return v
	}
	e, l := median(pick(0.4, 0.5)), median(pick(0.9, 1))
	if e <= 0 || l <= 0 {
		return 0, 0, 0, false
	}
	return float64(l-e) / float64(e), e, l, true
}

// Max is the highest resident memory sampled.
func (p ProcessMemory) Max() int64 {
	var m int64
	for _, s := range p.Samples {
		m = max(m, s.RSS)
	}
	return m
}

func median(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	v = append([]int64(nil), v...)
	slices.Sort(v)
	return v[len(v)/2]
}

// CapacityResult is the capacity measured before the load (scenarios.Capacity).
type CapacityResult struct {
	// RPS is the capacity: the highest goodput (expected, not shed, answers per second)
	// averaged over three consecutive seconds that each kept the objective.
	RPS float64 `json:"rps"`
	// Saturated is true when the ramp found the knee: three seconds in a row were not all
	// served within the objective (see CapacitySecond) after RPS was reached. False means the ramp ended first and RPS is
	// only a lower bound: what is offered as "2x capacity" may not overload the service.
	Saturated bool    `json:"saturated"`
	Objective string  `json:"objective"`
	FromRPS   float64 `json:"from_rps"`
	ToRPS     float64 `json:"to_rps"`
	// RampS is how long the ramp was planned to last; StoppedS when it ended (early when
	// Saturated).
	RampS    float64 `json:"ramp_s"`
	StoppedS float64 `json:"stopped_s"`
	// At is the second (of the ramp) that ended the best three.
	At float64 `json:"at_s"`
	// Valid is false when the generator could not hold the ramp's schedule; Reasons says why.
	Valid   bool     `json:"valid"`
	Reasons []string `json:"reasons,omitempty"`
	// Seconds are the ramp's seconds as judged.
	Seconds []CapacitySecond `json:"seconds"`
}

// CapacitySecond is one second of the capacity ramp.
type CapacitySecond struct {
	T       int     `json:"t"`
	Planned uint64  `json:"planned"`
	Answers uint64  `json:"answers"`
	Good    uint64  `json:"good"`
	Shed    uint64  `json:"shed"`
	Errors  uint64  `json:"errors"`
	PMS     float64 `json:"p_ms"` // the objective's percentile of the admitted latency
	// Kept: the admitted requests kept the latency objective and errors (answers neither
	// good nor shed) stayed within the bound. Only kept seconds count for the capacity.
	Kept bool `json:"kept"`
	// Saturated: not everything offered was served within the objective (latency missed,
	// or errors and sheds beyond the bound). Three in a row end the ramp.
	Saturated bool `json:"saturated"`
}

// UptimeStats are the results of the spec's uptime probe (Result.Uptime): one GET of
// probe.url every probe.interval beside the load, not counted in the load's stats. A probe
// succeeds with a 2xx or 3xx status within probe.timeout. Rate is OK / Probes (1 when no
// probe completed).
type UptimeStats struct {
	URL        string  `json:"url"`
	IntervalMS float64 `json:"interval_ms"`
	Probes     uint64  `json:"probes"` // completed (cancelled ones at the end of a run are not counted)
	OK         uint64  `json:"ok"`
	Failed     uint64  `json:"failed"`
	Rate       float64 `json:"rate"` // share of probes that succeeded: the uptime thresholds judge this
	// LongestOutageS is the longest run of consecutive failed probes, in seconds (count × interval).
	LongestOutageS float64 `json:"longest_outage_s"`
	// FirstFailureS is when the first failed probe was sent, seconds since the run start (-1: none).
	FirstFailureS float64 `json:"first_failure_s"`
}

// WebSocketStats are the connection figures of a run's websocket requests (Result.WebSocket).
// Delivery latencies and errors are in the request's RequestStats, under its name.
type WebSocketStats struct {
	Opened          uint64 `json:"opened"`           // handshakes that succeeded
	ConnectFailures uint64 `json:"connect_failures"` // handshakes that failed (also errors of the request)
	Open            int64  `json:"open"`             // connections open now (0 at the end of a run)
	Peak            int64  `json:"peak"`             // most connections open at once
	Drops           uint64 `json:"drops"`            // closed by the server or the network before their hold ended
	Sent            uint64 `json:"sent"`             // chat messages sent
	Delivered       uint64 `json:"delivered"`        // chat messages whose echo came back
	Lost            uint64 `json:"lost"`             // chat messages without an echo (dropped connection, or none within the wait)
}

// Window is a named span of the run, as offsets from the run start.
type Window struct {
	Name       string
	Start, End time.Duration
}

// SteadyWindow names the window outside all given windows.
const SteadyWindow = "steady"

// WithSteady returns windows with a window SteadyWindow after them, unless they have one:
// the windows whose figures a run keeps.
func WithSteady(windows []Window) []Window {
	out := slices.Clone(windows)
	if !slices.ContainsFunc(out, func(w Window) bool { return w.Name == SteadyWindow }) {
		out = append(out, Window{Name: SteadyWindow})
	}
	return out
}

// AppendWindowsAt appends to dst the indexes in windows (as WithSteady returns them) of the
// windows that a sample whose intended start is at falls in: every other window whose span
// holds at, else the steady window.
func AppendWindowsAt(dst []int, windows []Window, at time.Duration) []int {
	n := len(dst)
	for i, w := range windows {
		if w.Name != SteadyWindow && at >= w.Start && at < w.End {
			dst = append(dst, i)
		}
	}
	if len(dst) == n {
		if i := slices.IndexFunc(windows, func(w Window) bool { return w.Name == SteadyWindow }); i >= 0 {
			dst = append(dst, i)
		}
	}
	return dst
}

// Event kinds (Event.Kind).
const (
	EventAbort      = "abort"       // abortOnFail stopped the load
	EventFaultStart = "fault.start" // a fault took effect
	EventFaultEnd   = "fault.end"   // a fault was rolled back
	EventFaultError = "fault.error" // a fault could not be injected or rolled back
	// EventProcessStarted and EventProcessReady mark a process.kill fault's restart: the
	// killed process was started again, and it answered its readiness check. Name is the
	// fault's; Detail names the process.
	EventProcessStarted = "process.started"
	EventProcessReady   = "process.ready"
	// EventReplicaBehind is reported by database.replica-lag as it ends, per read replica:
	// Detail says how far behind its paused replay had fallen ("replica 1: 81920 bytes of
	// WAL received and not replayed").
	EventReplicaBehind = "replica.behind"
)
