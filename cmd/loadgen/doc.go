// Command loadgen runs loadlab scenarios: load tests with chaos drills, judged
// against service-level thresholds.
//
// Usage:
//
//	loadgen run [flags] FILE       run a scenario, print a summary, write result.json
//	loadgen coordinator FILE --listen ADDR --workers N   run it on N workers from other machines
//	loadgen worker [FILE] --coordinator ADDR             send a coordinator's share of the load
//	loadgen validate FILE...       check scenario files, report every problem
//	loadgen chaos render FILE      print a cluster scenario's faults as Chaos Mesh objects (YAML)
//	loadgen chaos cleanup --run ID | --all   delete the Chaos Mesh objects a run left behind
//	loadgen report [flags] RESULT  render a saved result: text, json, junit, md, html
//	loadgen compare BASE NEW       compare results (one or several a side); exit 6 on a regression
//	loadgen gate --ab FILE --base-target URL --new-target URL   run A B A B ... and compare
//	loadgen plan --rate R --p99 D --calibration FILE   replicas and generators for R requests/s
//	                               (--calibrate FILE makes the calibration; --render DIR the manifests)
//	loadgen version                print the versions of loadgen, Go and vegeta
//	loadgen k8s render|apply [flags]   the academy's and the load's Kubernetes manifests
//
// k8s and chaos, and the faults of run on a target.kubernetes, are loadgen-kube's
// (cmd/loadgen-kube): loadgen runs it, from beside its own executable or else from $PATH,
// with the same arguments, and passes on its output and exit code; without it they exit 1
// (run on a cluster with faults: 2) saying how to build it (make build puts both in bin/). The Kubernetes client libraries
// are linked into loadgen-kube only, so the loadgen that sends the load stays small (a
// test, TestLoadgenLinksNoKubernetesClient, checks its imports).
//
// # run
//
// run is package loadgen/pipeline's Run with the flags below: this command parses them,
// prints, writes the reports and maps the outcome to an exit code; the run itself (lab,
// capacity, faults, engine, verification, the finish step) is the library's.
//
//	--out DIR            output directory; default ./results/<scenario>-<UTC timestamp>
//	                     (for example results/enroll-spike-20261125T220441Z). result.json is
//	                     written there (schema loadlab.result/v1, see reports/RESULT.md) and
//	                     its path printed as "result: PATH".
//	--seed N             seed for templates and random picks; default 1, fixed, so two runs
//	                     send the same request sequence. The seed used is in the result.
//	--results FILE       also write each request's result in vegeta's binary (gob) format,
//	                     for `vegeta report` and `vegeta plot`.
//	--metrics-addr ADDR  serve the run's own Prometheus registry (loadgen_* and the Go
//	                     runtime's go_*: heap, goroutines) at http://ADDR/metrics while
//	                     the run lasts; the address (port 0 picks one) is printed on stderr
//	                     as "metrics: http://HOST:PORT/metrics".
//	--dry-run            print the plan: target, executor, stages with durations, rates and
//	                     iterations, the expected request count, the fault timeline and the
//	                     thresholds (and the Chromium and browser pool of browser requests).
//	                     Starts nothing; exits 0 for a valid scenario.
//	--target URL         send the load to URL instead of the scenario's target (no lab is started).
//	--academy PATH       the academy binary the lab starts; default: `academy` next to loadgen
//	                     (make build puts both in bin/), then in PATH.
//	--lab-log FILE       write the lab's child-process output (PostgreSQL, Redis, replicas) to FILE.
//	--no-faults          send the load without injecting the faults; their windows are still measured.
//	--max-lateness D     bound on the generator's own send lateness p99 (default 25ms); above
//	                     it the run is INVALID. Raise it on a busy shared CI machine.
//	--quiet, -q          no progress line and no summary: only "verdict: X" and "result: PATH"
//	                     (X is "no thresholds", with the share of failed requests, for a run
//	                     that judged nothing, as the summary says).
//	--report FORMATS     comma-separated; default json. result.json is always written; the other
//	                     formats go next to it, each path printed as "report: PATH":
//	                     junit (junit.xml), md (summary.md), html (report.html), text (summary.txt).
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
// # Distributed runs: --workers, coordinator, worker
//
// One generator process sends some tens of thousands of requests a second per core; a
// larger load needs several that act as one (package loadgen/cluster). They keep one
// schedule, one set of histograms, one threshold evaluation, one abort and one result:
//
//	loadgen run FILE --workers N      a coordinator and N local worker processes on loopback
//
//	export LOADGEN_TOKEN=$(openssl rand -hex 16)          # the same on every machine
//	loadgen coordinator FILE --listen 0.0.0.0:7070 --workers 4 --target http://svc:8080
//	loadgen worker FILE --coordinator coord-host:7070     # on each of 4 machines (--index i, or
//	                                                      # $JOB_COMPLETION_INDEX, else the next free)
//
// Both forms are one code path: `coordinator` is `run --workers N --listen ADDR`, and the
// local form starts `loadgen worker` processes against its own coordinator with a random
// token. The coordinator does everything `run` does but send: the lab, the faults (their
// timeline starts at the load's start), abortOnFail on the merged figures each second, the
// verification with the workers' write logs, the thresholds and the reports. Workers dial
// the coordinator over HTTP/2 (TLS with --cert and --key; workers verify it with --ca), so
// they need no inbound port. A worker is refused, with the cause printed on both sides,
// for a wrong token, another loadlab version, another scenario file (SHA-256 of its
// bytes; a worker without FILE takes the coordinator's), a duplicate or out-of-range
// index, or a join after the start.
//
// Worker i of N sends global iterations i, i+N, i+2N, ... of the single-process schedule,
// each at its own intended time, with the item and data of that iteration: the merged run
// equals a run in one process (the same planned and sent counts, per request and per
// second), and sequential data stay unique across workers. The load starts at an absolute
// time once every worker has joined and measured its clock offset (five round trips).
// A scenario with capacity: runs its ramp the same way, striped across the workers; the
// coordinator judges saturation on the merged figures second by second, then starts the
// load with the capacity it measured, split as usual. With --results FILE every worker
// streams its per-request results to the coordinator, which writes each request once into
// FILE (vegeta's format), for workers on other machines as for local ones (their results
// cross the network; a lost worker's are kept up to its loss).
//
// What the coordinator reports: the usual summary of the merged figures, and a per-worker
// section (planned, sent, lateness p99, clock offset, ok / INVALID / LOST; `workers` in
// result.json). With many workers, INVALID names the worker: one that could not hold its
// share ("worker 2: 14 of 250 planned iterations were never sent: ..."), one whose clock
// offset is uncertain beyond 10 ms, or one lost (silent for 3 s, or its connection ended;
// its shortfall is reported per second in the timeline and in total). A lost worker does
// not stop the run, and the verification still judges the writes it reported (workers
// stream their write logs with each second's figures); beyond the scenario's budget (load.maxLostWorkers, a count, or
// load.maxLostShare, a share of the load; --max-lost-workers overrides it; default: none
// lost) the run is INVALID, with "N of M workers lost, beyond the budget". A lost
// worker restarted with the same index (loadgen worker --index i) rejoins and resumes at
// the current global iteration, with no burst to catch up. A worker that cannot run the scenario (a data file missing on its machine) says why, and
// the coordinator stops with that cause before the start.
//
// Safety: a worker sends only between the coordinator's start and stop, and stops within
// 2 s of losing its coordinator (1.5 s of silence, or its connection ending). SIGINT or
// SIGTERM on the coordinator stops every worker, rolls back the faults and writes the
// interrupted result. With --metrics-addr the coordinator serves the whole run as one
// generator: the metrics of a run in one process (latency and service-time histograms per
// request, responses, in flight, lateness, target and achieved rate), merged over the
// workers under the same names and labels, so the load-run dashboard works unchanged; and
// per-worker series with a worker label (loadgen_worker_iterations_sent_total,
// loadgen_worker_lateness_seconds, loadgen_worker_cpu_seconds_total,
// loadgen_worker_resident_memory_bytes, loadgen_worker_lost, ...), with
// loadgen_cluster_workers{state}.
//
//	--workers N           the number of workers (run, coordinator)
//	--listen ADDR         wait for workers on ADDR instead of starting local ones
//	--token TOKEN         the shared token (default $LOADGEN_TOKEN); local workers get a random one
//	--cert FILE, --key FILE   serve the workers over TLS
//	--join-timeout D      how long to wait for every worker (default 2m)
//	--max-lost-workers N  how many lost workers the run tolerates (above 0: overrides the
//	                      scenario's load.maxLostWorkers / maxLostShare; default: the scenario's)
//
// A worker may start before its coordinator listens (the pods of a Kubernetes Job start in
// any order): it tries again, with growing pauses up to 2 s, while the coordinator cannot
// be reached (connection refused, its name not resolved yet, a proxy's 502, 503 or 504),
// for its own --join-timeout (default 1m; 0: one try), then exits 1 with "join the
// coordinator at ADDR: not reachable in 1m0s (N tries, the join timeout): <last cause>".
// A refusal (token, version, scenario, index) is final at once.
//
//	--join-timeout D      (worker) keep trying to reach the coordinator for D (default 1m)
//
// worker exits 0 when done (or stopped by its coordinator), 1 when it lost the coordinator,
// 2 for a usage error or a refusal.
//
// The shipped scenarios and drills run with --workers 2 to the verdicts of one process
// (TestShippedWithWorkers, at a tenth of their length; db-outage at a quarter; live-class
// and browse-soak, which cannot be shortened, are left out, and a drill that --workers
// refuses as not possible yet is skipped, naming why).
//
// # The lab and faults
//
// A scenario with target.lab (and no --target) starts a local lab first (package chaos/lab):
// a throwaway PostgreSQL, Redis when cache is redis, the academy replicas, and a fault proxy
// on the edge, database and cache connections; it seeds the data, runs the load against the
// edge, and stops everything again on every exit path. Its faults run on a timeline beside
// the load (package chaos): network.* faults become proxy toxics, process.kill and
// process.pause signals to the lab's children, http.* faults calls to the academy's admin
// fault API. Every start and end is an event in the result; the summary shows each fault's
// window and its recovery time, to the 100 ms (from its end until the rolling p99 and error
// rate of request completions are back within their thresholds and stay there; for a killed
// and restarted process also the time to restart and the recovery after it: see
// scenarios/README.md, "Recovery time"). Faults against a plain URL target are refused unless
// --no-faults is given; a cluster target (target.kubernetes) injects them through Chaos Mesh.
//
// # Faults on a cluster: run, chaos render, chaos cleanup
//
// With target.kubernetes, run sends the load to its url and turns each fault into a Chaos
// Mesh object (package chaos/mesh: NetworkChaos, PodChaos, HTTPChaos, StressChaos,
// TimeChaos, DNSChaos), created through the cluster's API server (its kubeconfig, context,
// or in-cluster service account) at the fault's offset and deleted at its end, and deleted
// on abort, on SIGINT/SIGTERM and on error before run exits. It prints the run's ID on
// stderr ("chaos: run 20261202-040447-a1b2: ..."); every object is labelled with it
// (loadlab.dev/run) and with its fault (loadlab.dev/fault), and carries the fault's
// duration, so that the faults of a loadgen that died expire by themselves. The objects are
// created and deleted by a loadgen-kube child (loadgen-kube chaos serve) that run drives over
// its stdin and stdout (package chaos/remote); when that input ends, because loadgen is done
// or died (even by SIGKILL), the child deletes what is still in place and exits. Only if both
// are killed is chaos cleanup needed.
//
//	loadgen chaos render FILE [--run ID] [--export-workflow WF]
//	                     print the objects as YAML (run ID default "render"), each checked
//	                     by Chaos Mesh's own admission rules; --export-workflow writes the
//	                     timeline as one Chaos Mesh Workflow (Parallel, Serial, Suspend) to WF
//	loadgen chaos cleanup (--run ID | --all) [-n NS] [--kubeconfig F] [--context C]
//	                     delete, by label, the objects of a run (or of every run), in NS
//	                     or in every namespace; prints "deleted KIND NS/NAME" for each, or
//	                     "nothing to delete"
//
// The kubeconfig is --kubeconfig, else $KUBECONFIG, else ~/.kube/config. See
// scenarios/README.md ("Faults on a cluster") and docs/gameday.md.
//
// The first SIGINT or SIGTERM stops the load, rolls back the faults, stops the lab, writes
// the result marked interrupted and exits 130. A second signal rolls back and stops what it
// can at once and exits, without writing the result.
//
// # report
//
// loadgen report RESULT.json renders a result written by run again, with the figures and the
// verdict it recorded (result.ReadJSON refuses another schema or a corrupt histogram):
//
//	--format FORMATS  comma-separated: text (default), json, junit, md, html
//	--out DIR         write each format to its file in DIR (as run --report names them) and print
//	                  "report: PATH" for each; without --out one format goes to stdout.
//
// Exit 0 when written; 2 for a bad format, several formats without --out, or a file that is
// not a loadlab result; 1 when a file cannot be written.
//
// # compare
//
// loadgen compare BASE NEW compares results written by run, request by request (by name) and
// in total. BASE and NEW are each a result file, a directory (every result.json beneath it,
// by path) or a comma-separated list of those.
//
// One result a side: the figures as they are, latency p50, p90, p95, p99 and max, the error
// rate and throughput. It prints one row per request and figure (base, new, change,
// allowance, ✓ or ✗) and a last line "compare: OK (...)" or "compare: REGRESSION (N of M
// figures beyond their allowance)"; exit 0 or 6. Single runs carry no measure of their noise.
//
// Several results on a side (repetitions): p50, p90, p99, the error rate and throughput of
// each request and the total are judged with a 95 % bootstrap interval of the change (runs
// resampled, and 5-second blocks of their per-second histograms within each run; fixed
// seed), a one-sided Mann-Whitney test of the runs' figures against the allowance, and
// Holm's correction over the gated figures. Each figure and the comparison get a verdict:
//
//	PASS          (exit 0) every gated figure's interval lies within its allowance
//	REGRESSION    (exit 6) a figure's interval lies beyond its allowance, and both tests
//	              reject "within the allowance" after Holm's correction
//	INCONCLUSIVE  (exit 7) a figure cannot be decided: fewer than --min-runs runs a side,
//	              fewer than 20 latencies beyond a percentile, or an interval that straddles
//	              the allowance; the output says about how many more runs a side would decide
//	INVALID       (exit 8) a run is INVALID or interrupted, or the runs are of different
//	              scenarios, seeds or loadlab versions (result field loadlab_version)
//	IMPROVEMENT   (exit 9) no figure worse or undecided, one better beyond its allowance
//
// reports/CI.md explains the method and shows its measured false-alarm and detection rates.
//
// loadgen compare --history DIR NEW takes the base from a series of accepted results (every
// result.json beneath DIR, ordered by start, INVALID and interrupted ones left out): the
// change points of the total's gated figures are found by E-Divisive with means (199
// permutations, alpha as --alpha, segments of at least 3 results, seed --boot-seed), listed,
// and the results since the latest one (the last stable segment) are the base runs.
//
//	--allow LIST          METRIC=VALUE,...; unnamed figures keep their default:
//	                      p50 p90 p95 p99 max: N% relative growth, or +D absolute (a Go duration: +20ms)
//	                      errors: +N% percentage points the error rate may grow by (absolute)
//	                      throughput: -N% relative drop
//	                      off: listed, never a regression
//	                      default p50=10%,p90=10%,p95=10%,p99=10%,max=off,errors=+0.1%,throughput=-5%
//	--latency-floor D     latency growth below D is never a regression (default 0: off)
//	--format text|md      stdout as a text table (default) or Markdown
//	--markdown FILE       also append the comparison as Markdown to FILE ($GITHUB_STEP_SUMMARY)
//	--resamples N         bootstrap resamples (default 1000)
//	--boot-seed N         the bootstrap's seed (default 1): same inputs, same output
//	--alpha A             family-wise error rate; intervals at 1-A (default 0.05)
//	--block D             length of the blocks resampled within a run (default 5s)
//	--warmup D            drop D from the start of every run's timeline (default 0)
//	--min-runs N          fewest runs a side for a verdict other than INCONCLUSIVE (default 3)
//	--history DIR         the base is the last stable segment of the results in DIR
//
// Exit 2 for bad flags, a file that is not a loadlab result, or (with repetitions) a result
// without per-second histograms.
//
// # gate
//
// loadgen gate runs the base and the new version alternately, A B A B, --warmup-runs pairs
// first (default 1, not compared), then --runs pairs (-n, default 5), and compares the runs
// as compare does with repetitions: same verdicts, same exit codes, same flags (--allow,
// --latency-floor, --format, --markdown, --resamples, --boot-seed, --alpha, --block,
// --warmup, --min-runs). The runs are named either way:
//
//	--base-cmd CMD --new-cmd CMD   shell commands (sh -c) that write result.json into the
//	                               directory $LOADGEN_OUT; their exit code is ignored
//	--ab FILE --base-target URL --new-target URL
//	                               one scenario against two targets, run in this process
//	                               (--seed and --max-lateness as run's)
//	--out DIR                      where the runs go: base/run-N, new/run-N, warmup/base-N,
//	                               warmup/new-N (default ./results/gate-<UTC timestamp>)
//
// Each run's verdict is printed on stderr as it ends ("gate: new run 2 of 5: PASS (DIR)").
// A command that writes no result stops the gate (exit 1); SIGINT stops the running
// command's process group and exits 130.
//
// # plan
//
// loadgen plan --rate R --p99 D --calibration FILE is a capacity plan: how many academy
// replicas and generators serve R requests a second at a p99 objective (package sizing).
// The calibration is JSON:
//
//	{"generator_rps": 50000,          r_gen: one generator core's rate at < 1 % pacing error
//	 "p99_ms": 100,                   the objective the points were measured at
//	 "points": [{"replicas": 1, "rps": 2505}, ...],   throughput at the objective by count
//	 "cpu_per_request_ms": 0.3,       a replica's CPU time per request
//	 "cpu_request_millicores": 1000, "memory_per_replica_mb": 180, "memory_request_mb": 256}
//
// with at least 3 replica counts (6 or more for a trustworthy fit). It fits the Universal
// Scalability Law X(N) = λN / (1 + σ(N−1) + κN(N−1)) by least squares (Gunther's quadratic
// fit, refined by Levenberg-Marquardt) and prints λ, σ, κ, R², the RMSE and the law's peak;
// the replicas, the smallest N with X(N) ≥ R × (1 + --headroom, default 0.3), or REFUSED
// with the reason past the peak or past --hpa-max (default 1000; exit 10); the generators,
// R × (1 + headroom) ÷ r_gen; the connections by Little's law (R × the p99 objective) and per
// generator, against 28232 ephemeral ports (Linux's 32768-60999); where an HPA on CPU 70 % and
// memory 80 % settles (R × CPU per request ÷ (0.7 × the CPU request); memory per replica
// above 80 % of its request runs the memory rule to the maximum) with a warning when that
// is below the replicas needed (the HPA does not see contention); and the ramp: a step per
// HPA loop (15 s) plus --pod-ready (default 15s), the replicas at most doubled (or +4) a
// step, each step offering what its replicas serve without the headroom. It warns when the
// calibration's p99 differs from the objective, when the plan extrapolates beyond 4× the
// largest calibrated count, and when the fit is poor (R² < 0.9).
//
// The four CPU and memory figures go together or not at all; without them the HPA is not
// predicted. With --calibrate FILE instead of --calibration, plan makes the calibration: it
// runs the lab scenario FILE (scenarios/calibrate.yaml: a capacity ramp of catalog reads
// whose latency objective must be the plan's p99) once per count of --replicas (default
// 1,2,3,4,6,8), the lab's replicas set to that count, takes each run's measured capacity as
// the throughput at that count (stderr says when a ramp ended unsaturated: a lower bound),
// and writes calibration.json and each run's result into --out. --academy, --time-scale and
// --max-lateness are run's. r_gen is --generator-rps when given; otherwise plan measures it
// before the lab runs: each step is a child process of loadgen itself (a hidden
// generator-step command) with GOMAXPROCS=1, running loadgen's engine (the transport auto
// picks) at one constant rate of GET / for --generator-step (default 2s) against a minimal
// net/http server that plan serves on loopback. The pacing error of a step is
// (planned − sent + iterations sent more than --generator-late late by the generator's own
// send lateness, not waiting for a free worker) ÷ planned. --generator-late defaults to
// 25ms, the bound a run's own-lateness p99 is held to (--max-lateness): at 1ms, one core
// without spinning sent about 10 % of iterations late at every rate from 16/s to 1000/s on
// the development machine (timer and hand-off overshoot), which measures the timer, not
// the generator's capacity. The rate doubles from 1000/s (at most
// --generator-max-rps, default 200000) until a step reaches 1 %, halves from 1000/s if even
// that fails, then bisects until the highest passing and lowest failing rates are within
// 10 %; r_gen is the highest passing rate. calibration.json records it with
// "generator_method" (how it was measured, or "given by plan --generator-rps") and
// "generator_steps" ([{"rps", "pacing_error"}] in the order measured). A worked example of 1M requests/s and a real
// lab calibration are in the README.
//
// --render DIR writes DIR/loadlab.yaml (mode 0600: it holds secrets), the manifests of
// `loadgen k8s render` with the plan's counts: the HorizontalPodAutoscaler from the replicas
// needed (its minimum: a CPU rule does not see contention) to --hpa-max at CPU 70 % and
// memory 80 %, the academy's CPU and memory requests from the calibration, and one worker
// of one CPU per generator running --scenario FILE (without --scenario only the academy is
// rendered). A refused plan renders nothing.
//
// # validate
//
// For each valid file: "ok FILE (N requests, M thresholds)" on stdout, where N counts the
// named requests (one per single request, one per flow step). For each invalid file, every
// problem on stderr, one a line: "file:line:column: field: message". Exit 2 if any is invalid.
//
// A scenario with requests of kind browser also needs headless Chromium on this machine
// ($LOADGEN_CHROMIUM, else chromium, chromium-browser, google-chrome, google-chrome-stable or
// headless-shell in PATH): validate and run (--dry-run too) report its absence as a problem
// of the first browser request's kind: field, "kind browser needs headless Chromium", exit 2.
// A run with browser requests starts one Chromium, opens its pool of browser contexts before
// the load and stops it after; the summary's "browser" lines have the pool's start delay,
// the JavaScript errors, failed subresources and the figures (ttfb, dcl, load, fcp, lcp) per
// request (scenarios/README.md, "Request kinds").
//
// # k8s
//
// loadgen k8s render writes what a Kubernetes cluster needs to run loadlab, as one YAML
// stream built from the Kubernetes API types (package deploy/manifests): the academy
// (Deployment with /readyz and /healthz probes and a termination grace longer than its drain,
// Service, autoscaling/v2 HorizontalPodAutoscaler of 10 to 1000 replicas at CPU 70 % and
// memory 80 %, PodDisruptionBudget, ConfigMap, Secret, ServiceMonitor, and PostgreSQL per
// shard and Redis as StatefulSets) and the load (coordinator Job and Service, workers as an
// Indexed Job whose pods take $JOB_COMPLETION_INDEX as their index). loadgen k8s apply sends
// the same objects to the kubeconfig's cluster with server-side apply (--dry-run: validated,
// not stored) and prints each refusal with the server's message (exit 1).
//
//	loadgen k8s render --scenario drill.yaml --workers 8 --image REGISTRY/loadlab:v1 > loadlab.yaml
//	loadgen k8s render --part academy --min-replicas 2 --max-replicas 10 --shards 1
//	loadgen k8s apply --scenario drill.yaml --workers 8 --dry-run
//
// Flags: -n/--namespace, --image, --part academy|load, --scenario FILE, --workers N,
// --worker-cpu, --worker-memory (request = limit), --max-lost-workers, --worker-retries,
// --join-timeout, --min-replicas, --max-replicas, --cpu-percent, --memory-percent,
// --academy-cpu, --academy-memory, --academy-arg FLAG (repeatable), --shards, --db-storage,
// --shutdown-timeout; render -o FILE; apply --kubeconfig, --context, --dry-run. Secrets
// come from $ACADEMY_JWT_SECRET, $ACADEMY_ADMIN_TOKEN, $ACADEMY_DB_PASSWORD and
// $LOADGEN_TOKEN, else are random. The guide, and what was proven against a real API
// server: docs/kubernetes.md.
//
// # Exit codes
//
//	0    pass (validate: every file is valid)
//	1    internal error (I/O, the engine failed)
//	2    usage error or invalid scenario
//	3    thresholds failed
//	4    invalid run: the generator could not hold the schedule
//	5    verification of the data after the run failed (every threshold passed; when both fail: 3)
//	6    regression found by compare
//	7    compare with repetitions: INCONCLUSIVE (more runs needed)
//	8    compare: INVALID (a run invalid or interrupted; scenarios, seeds or versions differ)
//	9    compare with repetitions: IMPROVEMENT
//	10   plan refused: past the USL peak or the HPA maximum
//	130  interrupted by SIGINT or SIGTERM; the result is still written
//
// The version is set at build time: go build -ldflags "-X main.version=v1.0.0" ./cmd/loadgen
package main
