package cluster

import "time"

// RoundTrip is one clock exchange, NTP-style: the worker sent at T0 (its clock), the
// coordinator received it at T1 and answered at T2 (its clock), the worker received the
// answer at T3 (its clock).
type RoundTrip struct {
	T0, T1, T2, T3 time.Time
}

// Offset is the coordinator's clock minus the worker's as this exchange sees it,
// assuming the way there took as long as the way back.
func (r RoundTrip) Offset() time.Duration {
	return (r.T1.Sub(r.T0) + r.T2.Sub(r.T3)) / 2
}

// Delay is the exchange's time on the network (the round trip less the coordinator's
// time to answer).
func (r RoundTrip) Delay() time.Duration {
	return r.T3.Sub(r.T0) - r.T2.Sub(r.T1)
}

// EstimateOffset estimates a worker's clock offset from round trips as NTP's clock
// filter does: the exchange with the least delay wins, and the true offset lies within
// its Offset ± Delay/2 whatever the asymmetry of the two ways, so Delay/2 is the
// uncertainty. ok is false without a usable exchange (none, or only negative delays,
// which a clock that jumped backwards makes).
func EstimateOffset(rts []RoundTrip) (offset, uncertainty time.Duration, ok bool) {
	best := -1
	for i, r := range rts {
		if r.Delay() < 0 {
			continue
		}
		if best < 0 || r.Delay() < rts[best].Delay() {
			best = i
		}
	}
	if best < 0 {
		return 0, 0, false
	}
	return rts[best].Offset(), rts[best].Delay() / 2, true
}
