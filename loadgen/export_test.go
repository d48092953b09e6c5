package loadgen

import "time"

// SetSlowDispatch makes the scheduling loop sleep d before every dispatch, to simulate a
// generator that is starved of CPU.
func SetSlowDispatch(o *Options, d time.Duration) { o.slowDispatch = d }
