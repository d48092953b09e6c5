package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/trendtactics/loadlab/loadgen/pipeline"
	"github.com/trendtactics/loadlab/reports"
	"github.com/trendtactics/loadlab/result"
)

// Exit codes of loadgen (documented in doc.go and in the root help).
const (
	exitPass         = 0   // the run passed; validate: every file is valid
	exitInternal     = 1   // internal error (I/O, the engine failed)
	exitUsage        = 2   // usage error or invalid scenario
	exitThresholds   = 3   // at least one threshold failed
	exitInvalidRun   = 4   // the generator could not hold the schedule: the run is invalid
	exitVerification = 5   // verification of the data after the run failed (thresholds passed)
	exitRegression   = 6   // compare found a regression
	exitInconclusive = 7   // compare with repetitions could not decide
	exitIncomparable = 8   // compare: the runs are INVALID or not comparable
	exitImprovement  = 9   // compare with repetitions: better beyond the allowance, nothing worse
	exitPlanRefused  = 10  // plan: no replica count serves the rate (past the USL peak or the HPA maximum)
	exitInterrupted  = 130 // interrupted by SIGINT or SIGTERM; the result is still written
)

const exitCodesHelp = `Exit codes:
  0    pass (validate: every file is valid)
  1    internal error
  2    usage error or invalid scenario
  3    thresholds failed
  4    invalid run: the generator could not hold the schedule
  5    verification of the data failed (thresholds passed; both failing exits 3)
  6    regression found by compare
  7    compare with repetitions: INCONCLUSIVE (more runs needed)
  8    compare: INVALID (a run invalid or interrupted; scenario, seed or version differ)
  9    compare with repetitions: IMPROVEMENT
  10   plan refused: past the USL peak or the HPA maximum
  130  interrupted (SIGINT/SIGTERM); the result is still written`

// exitError carries an exit code out of a command. A nil err means the problem
// was already reported and the process only has to exit with code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error { return &exitError{code: code, err: err} }

func usageErrorf(format string, args ...any) error {
	return withCode(exitUsage, fmt.Errorf(format, args...))
}

func internalErrorf(format string, args ...any) error {
	return withCode(exitInternal, fmt.Errorf(format, args...))
}

// exitCode reports err on stderr and maps it to an exit code. Errors without a
// code come from cobra itself (unknown flag or command, wrong arguments): usage.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitPass
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "loadgen: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "loadgen: %v\nRun 'loadgen --help' for usage.\n", err)
	return exitUsage
}

// exitFor maps a verdict to the exit code: INTERRUPTED 130, INVALID 4, FAIL 3 when a
// threshold failed (also when the verification failed too), FAIL 5 when only the
// verification failed, PASS 0.
func exitFor(res *result.Result) int {
	switch res.Verdict {
	case reports.Interrupted:
		return exitInterrupted
	case reports.Invalid:
		return exitInvalidRun
	case reports.Fail:
		for _, t := range res.Thresholds {
			if !t.Pass {
				return exitThresholds
			}
		}
		if res.Verification != nil && !res.Verification.Pass {
			return exitVerification
		}
		return exitThresholds
	}
	return exitPass
}

// exitForError maps an error of pipeline.Run (a run without a result) to its exit code.
func exitForError(err error) int {
	var pe *pipeline.Error
	if !errors.As(err, &pe) {
		return exitInternal
	}
	switch pe.Kind {
	case pipeline.Usage:
		return exitUsage
	case pipeline.InvalidRun:
		return exitInvalidRun
	case pipeline.Interrupted:
		return exitInterrupted
	}
	return exitInternal
}

// exitForComparison maps a comparison's verdict to the exit code.
func exitForComparison(verdict string) int {
	switch verdict {
	case reports.Regression:
		return exitRegression
	case reports.Inconclusive:
		return exitInconclusive
	case reports.Invalid:
		return exitIncomparable
	case reports.Improvement:
		return exitImprovement
	}
	return exitPass
}
