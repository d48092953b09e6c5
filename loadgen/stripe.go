package loadgen

import (
	"context"
	"fmt"
	"time"
)

// Stripe is one worker's share of a schedule split among Count workers, as k6's
// execution-segment striping: global iteration g (0, 1, 2, ... in the order of the
// single-process schedule) belongs to worker g mod Count, keeps its intended time
// (the run's start + the pacer's offset of g) and chooses its workload item and data by
// g. The workers together fire exactly the iterations one process would fire, at the
// same times, with the same items and data (a sequential pool stays globally unique),
// and their planned counts per second add up to the single-process plan.
//
// The closed model (constant-vus) has no schedule to split: worker i runs
// Share(vus) of the VUs, and its k-th iteration is global iteration k×Count + Index,
// so iteration numbers (and the data chosen by them) stay globally unique.
//
// From, when above zero, starts the stripe at global iteration From: the iterations
// before it are not its to fire (a worker that rejoins a run resumes at the current
// iteration instead of catching up). Its planned counts are those from From on.
//
// The zero Stripe (Count 0 or 1) is the whole schedule.
type Stripe struct {
	Index, Count int
	From         uint64
}

// Split reports whether s is a proper part of a schedule (Count above one).
func (s Stripe) Split() bool { return s.Count > 1 }

// Validate reports a stripe that names no worker of its count.
func (s Stripe) Validate() error {
	if s.Count < 0 || s.Index < 0 || (s.Count > 0 && s.Index >= s.Count) || (s.Count == 0 && s.Index != 0) {
		return fmt.Errorf("stripe %d of %d: want 0 <= index < count", s.Index, s.Count)
	}
	return nil
}

// Owns reports whether global iteration g is this stripe's.
func (s Stripe) Owns(g uint64) bool {
	return g >= s.From && (!s.Split() || g%uint64(s.Count) == uint64(s.Index))
}

// Share returns how many of the global iterations 0 .. n-1 are this stripe's.
func (s Stripe) Share(n uint64) uint64 {
	if n <= s.From {
		return 0
	}
	return s.upTo(n) - s.upTo(s.From)
}

// upTo counts the iterations below n of the stripe's residue, From aside.
func (s Stripe) upTo(n uint64) uint64 {
	if !s.Split() {
		return n
	}
	i, c := uint64(s.Index), uint64(s.Count)
	if n <= i {
		return 0
	}
	return (n-i-1)/c + 1
}

// first is the stripe's first global iteration, stride the step to its next.
func (s Stripe) first() uint64 {
	if !s.Split() {
		return s.From
	}
	i, c := uint64(s.Index), uint64(s.Count)
	if s.From <= i {
		return i
	}
	return i + (s.From-i+c-1)/c*c // the first of its residue at or after From
}

func (s Stripe) stride() uint64 {
	if !s.Split() {
		return 1
	}
	return uint64(s.Count)
}

// global is the global iteration number of the stripe's k-th iteration (0-based).
func (s Stripe) global(k uint64) uint64 { return k*s.stride() + s.first() }

// startAt waits until at and returns it as the run's start, with the process's monotonic
// clock reading (at may come from another process, without one); a zero at is now. When
// ctx ends first it returns at anyway: the run then stops at once.
func startAt(ctx context.Context, at time.Time) time.Time {
	if at.IsZero() {
		return time.Now()
	}
	if d := time.Until(at); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	now := time.Now()
	return now.Add(at.Sub(now))
}
