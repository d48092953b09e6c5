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
// Its log says when it stopped the load, and no iteration due after that moment is sent
// (TestWorkerStopsWithoutCoordinator checks both at the target, for a coordinator killed
// and for one frozen with its connection open).
//
// # Channel
//
// One HTTP/2 stream per worker (net/http's HTTP/2; without TLS by prior knowledge, with TLS
// when the coordinator has a certificate): POST /v1/join, whose request body carries the
// worker's messages, a CBOR sequence (application/cbor-seq, fxamacker/cbor; struct fields
// named by their JSON tags), and whose response body the coordinator's, one JSON object
// per line (protocol.go). The worker's side is CBOR because its interval records are most
// of the coordinator's work: CBOR decodes them about three times faster than JSON (floats
// and lengths are binary), and a worker whose stream is of another type is refused (415).
// The join's headers carry the shared token (Authorization: Bearer), the
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
// Result of one second with its histograms encoded, result.EncodeHistograms) with the writes
// it recorded since the one before (its write log, result.WriteLog.Since), and at the end
// its health (with the lateness histograms), the rest of its write log and its
// transports; its final partial second is its last interval. The coordinator's write log,
// which the verification reads, so holds a lost worker's writes up to its last interval;
// the iterations it had due from the start of its last reported second until the loss
// count as unrecorded writes (result.WriteLog.Unrecorded: an upper bound; one for the
// closed model), so that the claims they may have made are not judged unexpected, while an
// acknowledged write it reported and the state lacks is still lost. The coordinator
// evaluates the merged figures second by second (opts.Every: abortOnFail, the capacity
// judge), each second once every live worker's interval of it has arrived, or evalWait
// (2 s) after its end: the evaluator sees exactly the seconds up to the one it judges, as
// in one process, however late the records arrive. A worker that did not hold its share of the
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
// # Capacity and the results file
//
// A scenario with capacity: runs in two phases on the same streams: the coordinator
// starts the capacity ramp (startParams.Ramp: each worker runs its stripe of
// loadgen.CapacityRampSpec of its scenario, with the ramp's own seed), judges saturation on
// the merged figures second by second (loadgen.MeasureCapacityWith, the judge of a run in
// one process), stops the workers at the knee, rests for the cooldown, and starts the load
// with the capacity it measured (startParams.CapacityRPS: every worker resolves the
// scenario's relative rates and thresholds with it, Spec.WithCapacity), split as usual.
// After the ramp a worker's done message leaves its stream open for the next start.
//
// With a results file (run --results FILE), each worker streams its per-request results
// in vegeta's format to the coordinator (msgResults, the engine's 64 kB writes), and the
// coordinator writes every request once into the one file. Each worker's stream is a gob
// stream of its own, which cannot be concatenated to another's, so the coordinator decodes
// every result and encodes it again into the file: about 1 µs of the coordinator's CPU
// and 7 allocations per request (BenchmarkResultsSink, CPU time on the shared 2-core Xeon:
// a million requests a second would need a core for the file), and the bytes of every
// request cross the network. This holds for workers on other machines as for local ones;
// a lost worker's results up to its loss are kept.
//
// # Cost
//
// The coordinator's work is per worker-second: decode one interval message and merge it.
// result.Merge sums the encoded histograms of its sources bucket by bucket (each distinct
// encoding inflated once), and builds and encodes each merged histogram once. A worker
// leaves out of its records what the merge derives again (toWire: summaries, rates, empty
// histograms, the run's copy of the timeline). BenchmarkWorkerSecond (1000 workers, 2
// request names and a fault window with its recovery slots, 1000 requests per
// worker-second; the ops in a run's order: the 1000 workers' records of one second, merged,
// then the next second's), measured in one sitting on the shared 2-core Xeon (load average
// 6–8), before and after toWire: 0.374 M instructions per worker-second against 0.588 M
// (valgrind --tool=callgrind, GODEBUG=asyncpreemptoff=1); CPU time (user+sys of a run of
// 30,001 ops less one of 1, three runs each) 0.037–0.041 ms against 0.074–0.078 ms, so
// 1000 workers take about 4 % of one core; 5.5 kB on the wire against 8.5 kB; 15.5 kB
// allocated against 16.6 kB. (Earlier figures of 0.10–0.11 ms took the seconds of the run
// in turn, ten seconds per merge: its timeline's merged points were made ten times over.)
// What is left (pprof): the CBOR decode of the record (about 30 %), inflating the
// histograms (about 18 %), and summing them.
//
// Serving /metrics adds each worker's registry snapshot to its worker-second, and a scrape
// that adds up all the workers' last snapshots (the load-run dashboard's Prometheus
// scrapes loadgen every second). BenchmarkMetricsSnapshot (2 request names, a scrape after
// every 1000 ops), same sitting: with the snapshot as arrays of numbers in the CBOR
// stream (snapFamily) and the series' descriptions made once, 0.455 M instructions and
// 0.048–0.052 ms per worker-second, against 0.742 M and 0.085–0.093 ms with Prometheus'
// protobuf snapshot (a message per histogram bucket) and a description per series and
// scrape; 2.8 kB on the wire either way; 15 kB allocated against 36 kB. With /metrics
// scraped every second, 1000 workers then take about 9 % of one core (about 17 % before).
//
// # Metrics
//
// With a registry (pipeline.Config.Registry, served by run --metrics-addr), the coordinator
// serves the run as one generator (metrics.go). It asks the workers for their live
// metrics (startParams.Metrics): each runs its engine with a registry of its own, with its
// process's CPU and memory, and sends a snapshot of it (its families' values: snapFamily)
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
package cluster
