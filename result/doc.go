// Package result is loadlab's result model: the versioned schema of a run's result
// (loadlab.result/v1, documented in reports/RESULT.md) and everything that makes results
// of many sources one.
//
//   - Result and its parts (RequestStats, WindowStats, Point, Health, Event, FaultResult,
//     VerificationResult, ...), and the write log (Write, WriteLog) that the verification
//     reads. Written and read as JSON by WriteJSON and ReadJSON.
//   - The HDR histogram codec: every latency histogram has one geometry (1 µs to 1 h, 3
//     significant digits; NewHistogram) and one encoding (hdrhistogram V2 compressed,
//     base64; EncodeHistogram, DecodeHistogram), so any two merge exactly; AddEncoded adds
//     an encoded histogram to a live one without decoding it (what Merge does with sources
//     read from JSON).
//   - Recorder: the accumulation of a run's samples, second by second. Each closed second
//     is added to the run's figures by the same merge that joins results, and can be taken
//     out as an interval record: a Result of that one second.
//   - Merge: results of several workers, or interval records of one or more sources, merged
//     into one: counts summed, percentiles from the merged histograms, never averaged.
//     Merging a run's intervals gives back the run exactly; merging two sources gives what
//     one source recording both would have measured (merge_test.go proves both).
//
// What judges a result (thresholds, verdicts, recovery times) is package reports; what
// finishes a run is package loadgen/pipeline. This package imports no other of loadlab.
package result
