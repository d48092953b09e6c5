// Package scenarios holds the scenario file of loadlab: its schema (version 1),
// strict loading with file:line:column errors and did-you-mean hints, validation of
// every field and unit, and the run-time pieces the engine calls thousands of
// times per second: templates ({{ user.email }}, {{ uuid }}), request building,
// captures and response checks.
//
// Load (or LoadBytes) returns a Spec only when the whole file is valid; otherwise
// it returns Errors, every problem at once, sorted by position. A Spec is read-only
// after loading and safe for concurrent use; each iteration of the workload gets its
// own Iteration from Spec.NewIteration, used by one goroutine at a time.
//
// The package imports no other loadlab package: loadgen, chaos, reports and cmd
// exchange its types. The shipped scenarios (*.yaml) live next to it, and
// README.md documents the file format.
package scenarios
