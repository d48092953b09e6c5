// Package reports turns a run's measurements into answers: it evaluates the
// scenario's thresholds against a loadgen.Result, decides the verdict, and
// writes the result as JSON (the versioned schema documented in RESULT.md)
// and as a text summary for the terminal.
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
