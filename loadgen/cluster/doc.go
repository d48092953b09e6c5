// Package cluster runs one scenario on many load generators that act as one: a
// coordinator and N workers (issue 13; DESIGN.md, "Beyond one machine").
//
// # Roles
//
// The Coordinator is a pipeline.Generator: `loadgen run` (package loadgen/pipeline) starts
// the lab, runs the fault timeline, the verification and the finish step exactly as for a
// run in one process; only the engine step is the workers'. The coordinator admits the
// workers, sets the start, merges their measurements exactly (result.Merge), evaluates
// abortOnFail on the merged figures once a second and tells the workers to stop, and
// returns one Result with a per-worker section (Result.Workers).
//
// A worker (RunWorker) dials its coordinator, so workers need no inbound port. It obeys
// only its coordinator: it sends load only between the coordinator's start and its stop,
// and stops at once when the coordinator's stream ends or stays silent for
// CoordinatorSilence (1.5 s; with the engine's stop, nothing is sent 2 s after the loss).
//
// # Channel
//
// One HTTP/2 stream per worker (net/http's HTTP/2; without TLS by prior knowledge, with TLS
// when the coordinator has a certificate): POST /v1/join, whose request body carries the
// worker's messages and whose response body the coordinator's, one JSON object per line
// (protocol.go). The join's headers carry the shared token (Authorization: Bearer), the
// loadlab version, the SHA-256 of the worker's scenario file and its index; a wrong token
// (401), another version, another scenario, a duplicate or out-of-range index, or a join
// after the start (409) is refused before the stream opens, with the cause in the body:
// the worker's error and the coordinator's status line both name it. A worker without a
// scenario file takes the coordinator's.
//
// # Schedule and start
//
// Worker i of N runs the engine with loadgen.Options.Stripe{i, N}: it fires exactly the
// global iterations g with g mod N == i, each at the single-process schedule's time, with
// the item and data of g, so sequential data stay globally unique and the planned counts
// per second add up to the single-process plan. The start is a barrier: once every worker
// has joined and estimated its clock offset (five NTP-style round trips on the stream,
// the least-delay one wins: EstimateOffset), the coordinator sends an absolute start time
// (DefaultStartDelay ahead, on its clock; BrowserStartDelay for a scenario with browser
// requests, whose workers start Chromium first); each worker converts it to its own clock. An
// offset uncertainty (half the best round trip) beyond DefaultMaxClockUncertainty makes
// the run INVALID, naming the worker.
//
// # Measurements and failures
//
// Each worker streams its interval record every second (loadgen.Options.Intervals: a
// Result of one second with its histograms, written by result.WriteJSON) with the writes
// it recorded since the one before (its write log, result.WriteLog.Since), and at the end
// its health (with the lateness histograms), the rest of its write log and its
// transports; its final partial second is its last interval. The coordinator's write log,
// which the verification reads, so holds a lost worker's writes up to its last interval;
// the iterations it had due from the start of its last reported second until the loss
// count as unrecorded writes (result.WriteLog.Unrecorded: an upper bound; one for the
// closed model), so that the claims they may have made are not judged unexpected, while an
// acknowledged write it reported and the state lacks is still lost. A worker that did not hold its share of the
// schedule makes the run INVALID with its reasons, prefixed "worker i:". A worker silent
// for WorkerSilence (3 s), or whose stream ends before its final figures, is lost: the run
// goes on, its shortfall (its stripe's planned iterations against what it sent, per
// second in the timeline and in total) is reported, and beyond the budget of lost workers
// the run is INVALID naming it. The budget is Config.MaxLost or Config.MaxLostShare when
// set (--max-lost-workers), else the scenario's load.maxLostWorkers (a count) or
// load.maxLostShare (lost workers over N, as a share of the load: each worker has 1/N of
// the schedule); default none. A worker that cannot run the scenario says why (an error
// message) and the coordinator fails before the start with that cause. Cancelling the coordinator's context (Ctrl-C, SIGTERM) stops
// every worker; the pipeline rolls back the faults.
//
// # Cost
//
// The coordinator's work is per worker-second: decode one interval message and merge it
// (its histograms added from their encodings, result.AddEncoded). BenchmarkWorkerSecond
// (1000 workers, 2 request names and a fault window, 1000 requests per worker-second):
// about 0.25 ms of CPU and 7.7 kB on the wire per worker-second on a 2-core Xeon, so 1000
// workers take about a quarter of one core. Serving /metrics adds a snapshot of the
// worker's registry to each worker-second (BenchmarkMetricsSnapshot, 2 request names):
// about 3.8 kB on the wire and a fifth of the merge's CPU (0.2 ms against 1.0 ms for
// BenchmarkWorkerSecond in the same run, on a 2-core machine shared with other builds).
//
// # Metrics
//
// With a registry (pipeline.Config.Registry, served by run --metrics-addr), the coordinator
// serves the run as one generator (metrics.go). It asks the workers for their live
// metrics (startParams.Metrics): each runs its engine with a registry of its own, with its
// process's CPU and memory, and sends a snapshot of it (Prometheus' delimited protobuf)
// with every interval record, taken after the engine's metrics counted that second, and
// with its final figures. The coordinator serves the engine's families under the names
// and labels of `loadgen run` (loadgen_request_duration_seconds{request},
// loadgen_service_time_seconds, loadgen_responses_total, loadgen_in_flight,
// loadgen_lateness_seconds, loadgen_target_rate, ...): counters and histograms added over
// the workers, gauges over the live ones; so the load-run dashboard shows one generator,
// and at the end the counters equal the result's. Per-worker series carry a worker label:
// loadgen_worker_iterations_{planned,sent}_total, loadgen_worker_lateness_seconds,
// loadgen_worker_in_flight, loadgen_worker_cpu_seconds_total,
// loadgen_worker_resident_memory_bytes and loadgen_worker_lost (1 once lost). A lost
// worker's counters stay in the merge and its gauges leave it; a rejoined worker's
// counters continue from its earlier process's. Also loadgen_cluster_workers{state} and
// loadgen_cluster_latency_p99_seconds{request}, the merged p99 (HDR) of the last closed
// second. Without a registry the workers send no snapshots, and the coordinator's cost per
// worker-second is the merge's alone.
//
// A lost worker restarted with its index joins again (the only join after the start): it
// gets the run's start and the first global iteration due StartDelay from now
// (loadgen.Stripe.From), so it resumes at the current iteration without catching up; the
// iterations due while it was away are its shortfall; the writes of both its processes
// are in the write log.
//
// Not yet: capacity: ramps across workers.
package cluster
