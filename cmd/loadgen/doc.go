// Command loadgen runs loadlab scenarios: load tests with chaos drills, judged
// against service-level thresholds.
//
// Usage:
//
//	loadgen run [flags] FILE       run a scenario, print a summary, write result.json
//	loadgen validate FILE...       check scenario files, report every problem
//	loadgen version                print the versions of loadgen, Go and vegeta
//
// # run
//
//	--out DIR            output directory; default ./results/<scenario>-<UTC timestamp>
//	                     (for example results/enroll-spike-20261125T220441Z). result.json is
//	                     written there (schema loadlab.result/v1, see reports/RESULT.md) and
//	                     its path printed as "result: PATH".
//	--seed N             seed for templates and random picks; default 1, fixed, so two runs
//	                     send the same request sequence. The seed used is in the result.
//	--results FILE       also write each request's result in vegeta's binary (gob) format,
//	                     for `vegeta report` and `vegeta plot`.
//	--metrics-addr ADDR  serve the run's own Prometheus registry at http://ADDR/metrics while
//	                     the run lasts; the address (port 0 picks one) is printed on stderr
//	                     as "metrics: http://HOST:PORT/metrics".
//	--dry-run            print the plan: target, executor, stages with durations, rates and
//	                     iterations, the expected request count, the fault timeline and the
//	                     thresholds. Starts nothing; exits 0 for a valid scenario.
//	--target URL         send the load to URL instead of the scenario's target.url. A scenario
//	                     with target.lab needs --target for now (the local lab comes later).
//	--max-lateness D     bound on the generator's own send lateness p99 (default 25ms); above
//	                     it the run is INVALID. Raise it on a busy shared CI machine.
//	--quiet, -q          no progress line and no summary: only "verdict: X" and "result: PATH".
//
// The summary (stdout) has per-request counts, rates, errors and latency and service-time
// percentiles, every threshold with its measured value and ✓/✗, the generator's health
// (planned versus sent, send lateness, in-flight peak), and the verdict line. Progress
// goes to stderr: a live line on a terminal, plain lines otherwise (and when CI is set).
//
// The verdict, in order of precedence: INTERRUPTED after SIGINT or SIGTERM; INVALID when the
// generator could not hold the schedule (never PASS); FAIL when a threshold failed (an
// abortOnFail threshold stops the run early and is marked as the cause); else PASS.
//
// Faults are not injected yet (the chaos timeline comes with the lab issue): a scenario with
// faults gets a warning on stderr, and its fault windows are still measured, so windowed
// thresholds ({window:NAME}, {window:steady}) already work.
//
// The first SIGINT or SIGTERM stops the load, writes the result marked interrupted and
// exits 130. A second signal exits at once, without writing the result.
//
// # validate
//
// For each valid file: "ok FILE (N requests, M thresholds)" on stdout, where N counts the
// named requests (one per single request, one per flow step). For each invalid file, every
// problem on stderr, one a line: "file:line:column: field: message". Exit 2 if any is invalid.
//
// # Exit codes
//
//	0    pass (validate: every file is valid)
//	1    internal error (I/O, the engine failed)
//	2    usage error or invalid scenario
//	3    thresholds failed
//	4    invalid run: the generator could not hold the schedule
//	5    verification failed (reserved for the verification issue)
//	6    regression found by compare (reserved)
//	130  interrupted by SIGINT or SIGTERM; the result is still written
//
// The version is set at build time: go build -ldflags "-X main.version=v1.0.0" ./cmd/loadgen
package main
