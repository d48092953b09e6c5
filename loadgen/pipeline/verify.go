package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/trendtactics/loadlab/chaos/verify"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// readyTimeout bounds the wait for the service to answer /readyz 200 after the load,
// before the state is read back.
const readyTimeout = 60 * time.Second

// verifyRun runs the scenario's verify: checks after the load, once the faults have been
// rolled back: it waits (bounded) for the service's /readyz, then reads the state from
// databaseURL and compares it with the recorded writes. An interrupted run is not
// verified (nil).
// caPEM, when set, is the CA the service's https certificate is verified against (a lab's).
func verifyRun(ctx context.Context, spec *scenarios.Spec, res *result.Result, base string, caPEM []byte, databaseURL string, log *result.WriteLog) *result.VerificationResult {
	if len(spec.Verify) == 0 || res.Interrupted || ctx.Err() != nil {
		return nil
	}
	ready, err := verify.WaitReadyTLS(ctx, base, caPEM, readyTimeout)
	in := verify.Input{Checks: spec.Verify, Since: res.Start}
	if log != nil {
		in.Writes, in.Unrecorded = log.Writes(), log.Dropped()
	}
	v := verify.Check(ctx, databaseURL, in)
	v.ReadyAfterS = ready.Seconds()
	if err != nil && v.Error == "" {
		v.Error = fmt.Sprintf("after the load: %v", err)
		v.Pass = false
	}
	return v
}
