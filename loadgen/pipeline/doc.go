// Package pipeline runs a scenario end to end, as a library: the lab when the target is
// one, the capacity ramp when the scenario asks for it, the engine with its fault timeline
// and abort rails beside it, the memory watch, the verification of the data after the load,
// and the finish step that judges what was measured. `loadgen run` is this package plus
// flags, printing and exit codes; a coordinator of many workers ends in the same Finish
// with the merged measurements (package result merges them exactly).
//
// Run's order, each step's input the previous step's output:
//
//  1. start the lab (target.lab without a URL override); stopped on every exit path
//  2. measure the capacity (capacity:), then resolve the rates written relative to it
//  3. with a Generator (a coordinator of workers), wait until it is ready and take its
//     start time; start the fault timeline (faults:, unless NoFaults) and the memory
//     watch at the load's start
//  4. run the engine (loadgen.Run, or the Generator: the same engine in every worker,
//     merged) with the Aborter's live evaluation of abortOnFail
//  5. stop the faults (everything injected is rolled back) and the memory watch
//  6. verify the data (verify:) once the service is ready again
//  7. Finish: capacity validity, fault events and results, recovery times, thresholds,
//     the abort mark, the verification, the verdict
//
// Finish is a pure function of (spec, Measured): no process, socket or clock, so every
// verdict the pipeline can reach is table-tested (finish_test.go).
//
// Dependencies: scenarios ← result ← (loadgen, chaos, reports) ← pipeline ← cmd/loadgen.
package pipeline
