package result

import (
	"cmp"
	"slices"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Slots of request completions around windows, for recovery times to the 100 ms.
const (
	// SlotWidth is the width of a window's slots.
	SlotWidth = 100 * time.Millisecond
	// RecoveryHorizon is how long after a window's end its slots go on.
	RecoveryHorizon = 30 * time.Second
	// slotLag is how long after its end a slot stays open for completions that reach the
	// recorder late (a sample arrives when its request completes, give or take the
	// recorder's queue); later ones go to the oldest open slot.
	slotLag = 3 * time.Second
)

// slotSeries are the slots of one window: open ones live, closed ones encoded.
type slotSeries struct {
	from, to time.Duration // the slots cover [from, to), offsets from the run start
	open     map[int]*openSlot
	closed   []Slot // in order of closing; sorted by Result
	fresh    int    // closed[fresh:] were closed by the last Tick
	low      int    // slots below low are closed
	free     []*hdrhistogram.Histogram
}

type openSlot struct {
	count, errors uint64
	hist          *hdrhistogram.Histogram
}

func newSlotSeries(w Window) *slotSeries {
	return &slotSeries{from: w.Start, to: w.End + RecoveryHorizon, open: map[int]*openSlot{}}
}

// record counts a sample in the slot of its completion.
func (ss *slotSeries) record(s *Sample) {
	done := s.At
	if !s.NoLatency {
		done += s.Latency
	}
	if done < ss.from || done >= ss.to {
		return
	}
	k := max(int((done-ss.from)/SlotWidth), ss.low)
	o := ss.open[k]
	if o == nil {
		o = &openSlot{}
		ss.open[k] = o
	}
	o.count++
	if s.Out != OutOK {
		o.errors++
	}
	if !s.NoLatency {
		if o.hist == nil {
			o.hist = ss.histogram()
		}
		_ = o.hist.RecordValue(Micros(s.Latency))
	}
}

func (ss *slotSeries) histogram() *hdrhistogram.Histogram {
	if n := len(ss.free); n > 0 {
		h := ss.free[n-1]
		ss.free = ss.free[:n-1]
		return h
	}
	return NewHistogram()
}

// close closes every open slot that ends at or before until, or every one with all.
func (ss *slotSeries) close(until time.Duration, all bool) {
	ss.fresh = len(ss.closed)
	keys := make([]int, 0, len(ss.open))
	for k := range ss.open {
		if all || ss.from+time.Duration(k+1)*SlotWidth <= until {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		ss.closed = append(ss.closed, ss.slot(k))
		if h := ss.open[k].hist; h != nil {
			h.Reset()
			ss.free = append(ss.free, h)
		}
		delete(ss.open, k)
	}
	if all {
		ss.low = int((ss.to - ss.from) / SlotWidth)
	} else if until > ss.from {
		ss.low = max(ss.low, int((until-ss.from)/SlotWidth))
	}
}

func (ss *slotSeries) slot(k int) Slot {
	o := ss.open[k]
	sl := Slot{T: (ss.from + time.Duration(k)*SlotWidth).Seconds(), Count: o.count, Errors: o.errors}
	if o.hist != nil && o.hist.TotalCount() > 0 {
		sl.HDR = mustEncode(o.hist)
	}
	return sl
}

// slots returns the closed slots and, with open, the open ones too, by time.
func (ss *slotSeries) slots(open bool) []Slot {
	out := slices.Clone(ss.closed)
	if open {
		for k := range ss.open {
			out = append(out, ss.slot(k))
		}
	}
	slices.SortFunc(out, func(a, b Slot) int { return cmp.Compare(a.T, b.T) })
	return out
}
