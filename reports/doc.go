// Package reports turns a run's measurements into answers: it evaluates the scenario's
// thresholds against a result.Result, decides the verdict, sets the faults' recovery
// times, and renders the result for people and CI systems. The result model itself (the
// schema types, the JSON codec result.WriteJSON/ReadJSON, the HDR codec and Merge) lives
// in package result; RESULT.md documents the schema.
//
// Writers (all func(io.Writer, *result.Result) error; Formats lists them with their file
// names, ParseFormats reads a list such as "json,junit,md,html"):
//
//	result.WriteJSON  result.json   the versioned schema (package result; listed in Formats)
//	WriteText         summary.txt   the terminal summary
//	WriteJUnit        junit.xml     JUnit XML in the Jenkins/Ant layout: one test suite per scenario;
//	                                a test case per threshold (the failure message gives the measured
//	                                value against the threshold), per request's checks, per fault
//	                                (an error when not injected), per verification check, and for the
//	                                run itself (an error when INVALID or INTERRUPTED)
//	WriteMarkdown     summary.md    a CI job summary: verdict, thresholds, requests, browser figures
//	                                (browser requests), windows, faults, verification, generator,
//	                                game-day journal
//	WriteHTML         report.html   one self-contained page: charts of latency percentiles, planned
//	                                against sent iterations, sent requests against responses, and
//	                                errors over time with fault windows shaded, and every table;
//	                                uPlot (assets/, MIT) and the data inlined, nothing fetched;
//	                                values escaped by html/template
//
// Each writer renders from the result itself, through shared helpers that compute a
// figure or a phrase from it (verdictSummary, windowSpan, statusList, ...); none reads
// another writer's output. A run that passed without thresholds or a verification judged
// nothing: its verdict stays PASS (k6's convention, exit 0), but every writer says "no
// thresholds" instead, with the share of requests that failed.
//
// Compare compares a base result with a new one per request name and in total (p50, p90,
// p95, p99, max, error rate, throughput) against Allowances (DefaultAllowances,
// ParseAllowances); WriteComparison and WriteComparisonMarkdown print the differences.
// `loadgen compare` exits 6 when a figure regressed beyond its allowance. CI.md shows the
// CI wiring (GitHub Actions, GitLab CI).
//
// CompareRepeated compares several base runs with several new runs: per request and figure
// (p50, p90, p99, error rate, throughput) a bootstrap interval of the change over runs and
// 5-second blocks of their per-second histograms, a Mann-Whitney test of the runs' figures
// against the allowance and Holm's correction, and a verdict (Pass, Regression,
// Inconclusive with the runs that would decide, Invalid, Improvement); WriteRepeated and
// WriteRepeatedMarkdown print it. AnalyzeHistory finds the change points of a series of
// accepted results (E-Divisive means) and takes the last stable segment as the baseline;
// WriteHistory prints them. The statistics are in internal/stats; CI.md gives the method
// and its measured false-alarm and detection rates.
//
// Evaluation reads the HdrHistograms of the result (the live ones, or the
// encoded copies of a result read back from JSON), so a result file can be
// re-evaluated later with exactly the numbers the run measured.
//
// Metrics, aggregations and tags are those of scenarios.Metrics (k6 syntax, parsed and
// checked by package scenarios); Evaluate measures every pair the loader accepts:
//
//	latency, service_time,  p(N) avg min max med   from the intended send time (CO-corrected),
//	admitted_latency                               the actual send, or without the sheds; in ms
//	errors, checks,         rate count             errors/count, passed/checks,
//	availability, shed                             (count − 5xx − transport errors)/count, shed/count
//	throughput, goodput     rate count             responses or good answers per second of the
//	                                               selection's duration (rps), or their count
//	uptime, drops           rate count             ok/probes, drops/opened (run-wide)
//	connections             max                    the most WebSocket connections at once (run-wide)
//	memory{process:P}       growth max             the worst growth (ratio) or resident size (bytes)
//	browser_ttfb, _dcl,     p(N) avg min max med   Navigation Timing and paint figures of browser
//	_load, _fcp, _lcp                              requests from the intended start, in ms; {request:NAME}
//	                                               or all browser requests together
//
// The count of a rate metric is always the numerator of its rate.
//
// Tags select what a threshold looks at: {request:NAME} the stats of one
// request name, {window:NAME} the stats inside a named time window (a fault's
// name, or "steady": the run outside every fault window); both together select
// the request inside the window.
//
// No data: a threshold whose selection is empty (no such request or window,
// no responses, no checks) fails. Its ThresholdResult has Measured 0 and
// Unit "no data" (JSON cannot carry NaN), and the text summary prints
// "no data". An empty selection never passes silently.
//
// Live evaluation: an Aborter evaluates only the abortOnFail thresholds, after
// each one's delayAbortEval, from the engine's periodic snapshots (its Every
// method fits loadgen.Options.Every). A threshold that stops the run is then
// marked Aborted (and failed) in the final result by Aborter.Mark.
package reports
