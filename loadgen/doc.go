// Package loadgen is loadlab's load engine: it turns a scenario's load and workload into
// HTTP traffic against a target and measures it truthfully. Its figures are package
// result's types; running a whole scenario (lab, faults, verification, verdict) is package
// loadgen/pipeline.
//
// It is built on vegeta's library: the schedule is a vegeta.Pacer (StagePacer), raw results
// are vegeta Results written with vegeta.NewEncoder (so `vegeta report` and `vegeta plot`
// read --results files), and the HTTP transport uses vegeta's settings. Vegeta's
// Attacker is not used, because it neither tells a worker when its hit was due nor bounds
// its workers usefully; Run has its own scheduling loop instead.
//
// # Schedule
//
// Stages become a StagePacer: the rate ramps linearly between stage targets (k6's
// ramping-arrival-rate); constant-arrival-rate is one flat stage. With H(t) the integral of the
// rate, iteration k (1-based) is due at the t where H(t) = k, so a stage plans exactly
// floor(H(end)) − floor(H(start)) iterations (Plan reports them). Which workload item an
// iteration runs is a weighted choice drawn from a PCG seeded with (seed, iteration number):
// the same seed gives the same sequence of items, and the scenarios runtime renders the same
// URLs for the same (seed, iteration).
//
// # Timing model (open model, as wrk2)
//
// A pool of workers bounded by load.maxInFlight (default 1000) runs the schedule with no
// dispatching goroutine: an idle worker claims the next iteration k, asks the pacer for its
// intended time, sleeps until then and sends it, so an iteration costs one wake-up and no
// hand-off. When the last idle worker starts an iteration, the pool grows by one, so that a
// worker always waits for the next iteration's time. When all maxInFlight workers are busy,
// the next iteration waits for the first worker that gets free: it is sent late, and its
// latency still counts from the intended time, so a stalled target cannot hide behind a
// generator that waited too ("coordinated omission").
//
//   - latency (CO-corrected): from the intended time to the end of the response body, for the
//     first request of an iteration, less the generator's own send lateness (see Generator
//     health): the service time plus any wait for a free worker, which slow responses cause. Later steps of a flow are sent when the previous step
//     completed; their latency counts from their actual send (the flow's own pacing is the
//     user's think time, not a schedule).
//   - service time: from the actual send to the end of the response body, for every request.
//
// Both go into HdrHistograms (microseconds, 1 µs to 1 h, 3 significant digits; package
// result's geometry) per request name and in total, and per time window (Options.Windows, by
// the request's latency origin; "steady" is outside all windows). Workers send compact
// samples over a channel to one recorder goroutine that owns a result.Recorder: samples go
// into the second being filled, and each second, when it closes, is added to the run's
// figures by the same exact merge that joins the results of several workers (result.Merge),
// becomes a timeline Point (by completion time, with the second's histogram encoded), and,
// with Options.Intervals, is handed out as an interval record. Memory is bounded by the
// number of request names and windows, plus one Point per second and name, never by the
// request count. The recorder does not wake up for each sample: it takes the queued ones
// every 5 ms (recordEvery) and at each second's end. A recorder running late (a process
// starved of CPU) closes every second it missed, each with its planned iterations, so the
// timeline's planned counts add up to the run's. Nothing on the hot path takes a lock
// except the send-lateness histograms.
//
// Flows: one iteration is one user journey with its own cookie jar and captured values.
// A transport error, a timeout, or a capture that finds nothing ends the iteration; its
// remaining steps count as skipped, not as latency samples. Redirects are not followed: each
// request is measured on its own.
//
// constant-vus is the closed model: VUs goroutines run iterations back to back; latency is
// measured from the actual send, and there is no schedule to hold.
//
// # Transports
//
// Each request name is sent by one of two HTTP clients (Transports, the scenario's
// transport:, Options.Transport): fasthttp's (fast.go: one HostClient per scheme and host, at
// most maxInFlight connections, LIFO reuse, dialled and verified as net/http's transport,
// closed at once when the run is stopped) for plain HTTP/1.1 requests, and net/http for the
// rest (page, video and websocket kinds, CONNECT, and under auto https:// URLs, which may speak
// HTTP/2, and URLs whose scheme is rendered). A flow iteration's cookie jar serves both. A
// browser request is sent by headless Chromium (browser.go): its figures are reported under
// the transport nethttp, and it shares no cookies with the jar.
//
// Every client but Chromium uses one TLS configuration (tls.go): TLS 1.2 at least, the
// target's certificate verified against the system's CAs, or against the scenario's
// target.tls.ca and Options.CACerts (a lab's throwaway CA) alone when either is given, with
// target.tls.server-name as the name checked and sent.
//
// # Errors and checks
//
// A transport error, a timeout (the request's timeout, else the spec default, else 10 s) or a
// status not in expect.status (default any 2xx/3xx) is an error; statuses are recorded by code,
// "error" or "timeout". JSON and latency expectations and missing captures are check failures.
//
// # Generator health
//
// The engine records each iteration's send lateness (actual send of its first request −
// intended time), and the part of it that is the generator's own: actual send − max(intended
// time, the end of the last wait for a free worker: when a worker got free for an iteration
// that came due while every worker was busy). A run is INVALID (Health.Valid false, with
// Reasons) when:
//   - planned iterations were never sent: dispatching stops DispatchGrace (1 s) after the
//     schedule's end, and what was due but not sent is dropped; or
//   - the p99 of the generator's own lateness exceeds Options.MaxLateness (default
//     DefaultMaxLateness, 25 ms): the generator itself (CPU, scheduling) was too slow, and
//     every latency it measured would include its own delay; or
//   - with browser requests (browser.go), the pool of browser contexts could not start
//     navigations on schedule: the p99 of its start delay (intended start → start of the
//     iteration's first navigation) exceeds BrowserStartBound (1 s), or an iteration found
//     no free context within its request's timeout.
//
// Lateness while the pool was full, including that of the backlog sent right after a worker
// got free, is the target's doing (requests take longer than maxInFlight/rate): it is not held
// against the run, and it is part of the latency, which tells what users would have seen. The
// generator's own lateness (timer overshoot, scheduling, rendering) is not part of the
// latency: it is its own figure, and its p99 bounds the run's validity. An OS timer wakes up
// to a millisecond late, so a worker sleeps until the timers' recent overshoot before the
// intended time and yields in a loop for the rest (tens of microseconds per iteration; when
// iterations are due less than sixteen overshoots apart, waits are plain sleeps, so the
// workers never spin more than a sixteenth of the time). What delay remains is the generator's own
// lateness.
//
// A process that idles between its sends wakes the Go runtime's monitor thread (sysmon) from
// its deep sleep at nearly every send: at 5000/s that was most of the process's context
// switches and up to half its CPU. While a schedule that reaches 1000/s runs, one goroutine
// stays in a system call (a 5 ms sleep, renewed), so that one processor is never idle and
// the monitor polls every 10 ms instead; GOMAXPROCS is one higher meanwhile, so the load keeps
// its processors (monitor_linux.go).
//
// # Stopping
//
// Cancelling Run's context interrupts the run: scheduling stops, in-flight requests are
// cancelled and not counted (Health.Cancelled), and the partial result has Interrupted set.
// Options.Every returning stop does the same and records the reason (Result.StopReason and an
// "abort" event). Every goroutine Run starts has ended when Run returns.
//
// # Live metrics
//
// With Options.Registry: loadgen_target_rate, loadgen_achieved_rate,
// loadgen_iterations_planned_total, loadgen_iterations_sent_total,
// loadgen_responses_total{request,status}, loadgen_check_failures_total{request},
// loadgen_request_duration_seconds{request} (CO-corrected), loadgen_service_time_seconds{request},
// loadgen_in_flight, loadgen_lateness_seconds.
package loadgen
