// Package reports turns a run's measurements into answers: it evaluates the
// scenario's thresholds against a loadgen.Result, decides the verdict, and
// writes the result as JSON (the versioned schema documented in RESULT.md), as a
// text summary for the terminal, and as reports for people and CI systems.
//
// Writers (all func(io.Writer, *loadgen.Result) error; Formats lists them with their
// file names, ParseFormats reads a list such as "json,junit,md,html"):
//
//	WriteJSON      result.json   the versioned schema; ReadJSON reads it back
//	WriteText      summary.txt   the terminal summary
//	WriteJUnit     junit.xml     JUnit XML in the Jenkins/Ant layout: one test suite per scenario;
//	                             a test case per threshold (the failure message gives the measured
//	                             value against the threshold), per request's checks, per fault
//	                             (an error when not injected) and for the run itself (an error when
//	                             INVALID or INTERRUPTED); a verification section will add its own
//	WriteMarkdown  summary.md    a CI job summary: verdict, thresholds, requests, faults, generator
//	WriteHTML      report.html   one self-contained page: charts of latency percentiles, planned
//	                             against achieved throughput and errors over time with fault windows
//	                             shaded, and every table; uPlot (assets/, MIT) and the data inlined,
//	                             nothing fetched; values escaped by html/template
//
// Compare compares a base result with a new one per request name and in total (p50, p90,
// p95, p99, max, error rate, throughput) against Allowances (DefaultAllowances,
// ParseAllowances); WriteComparison and WriteComparisonMarkdown print the differences.
// `loadgen compare` exits 6 when a figure regressed beyond its allowance. CI.md shows the
// CI wiring (GitHub Actions, GitLab CI).
//
// Evaluation reads the HdrHistograms of the result (the live ones, or the
// encoded copies of a result read back from JSON), so a result file can be
// re-evaluated later with exactly the numbers the run measured.
//
// Metrics and aggregations (k6 syntax, parsed by package scenarios):
//
//	latency        p(N) avg min max med count   from the intended send time (CO-corrected), reported in ms
//	service_time   p(N) avg min max med count   from the actual send time, reported in ms
//	errors         rate (errors/count) count (errors)
//	checks         rate (passed/total checks) count (passed checks)
//	throughput     rate (responses/s over the selection's duration) count (responses)
//	availability   rate (answered without a 5xx or a transport error / count) count (such responses)
//
// The count of a rate metric is always the numerator of its rate.
//
// Tags select what a threshold looks at: {request:NAME} the stats of one
// request name, {window:NAME} the stats inside a named time window (a fault's
// name, or "steady"); both together select the request inside the window.
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
