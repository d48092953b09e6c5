package result

import (
	"cmp"
	"fmt"
	"math/bits"
	"sync"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// A merge adds the encoded histograms of many sources (a coordinator merges thousands of
// interval records a second) into few: histAcc sums their bucket counts by index, as
// read from the V2 payload, and makes one histogram of the sum at the end. Adding one
// encoding costs its inflate and one addition per non-empty bucket; no histogram of its
// own is built, and none is re-encoded per source. hdrCache decodes each distinct
// encoding once: an interval record carries the same histogram several times (a
// request's latency, its second's timeline point, its window).

// geometryLen is the number of buckets of the result geometry.
var geometryLen = len(NewHistogram().Export().Counts)

// countsPool holds zeroed bucket arrays of the result geometry.
var countsPool = sync.Pool{New: func() any {
	c := make([]int64, geometryLen)
	return &c
}}

// histAcc is a sum of histograms of the result geometry, by bucket index; the zero value
// is empty. Encodings of another geometry are added to a histogram of their own (other).
type histAcc struct {
	counts *[]int64 // nil until the first bucket
	other  *hdrhistogram.Histogram
	err    error // the first corrupt encoding added
}

// addEncoded adds the histogram encoded in enc; a corrupt one is kept as acc's error.
func (a *histAcc) addEncoded(c *hdrCache, enc string) {
	if a.err != nil || enc == "" {
		return
	}
	bs, ok, err := c.buckets(enc)
	switch {
	case err != nil:
		a.err = fmt.Errorf("decode histogram: %w", err)
	case !ok:
		h, err := DecodeHistogram(enc)
		if err != nil {
			a.err = err
			return
		}
		if a.other == nil {
			a.other = NewHistogram()
		}
		a.other.Merge(h)
	default:
		if a.counts == nil {
			a.counts = countsPool.Get().(*[]int64)
		}
		counts := *a.counts
		for _, b := range bs {
			counts[b.idx] += b.count
		}
	}
}

// empty reports whether nothing was added.
func (a *histAcc) empty() bool { return a.counts == nil && a.other == nil }

// into adds the sum to dst (nil: a new histogram) and returns it; acc is empty after.
func (a *histAcc) into(dst *hdrhistogram.Histogram) (*hdrhistogram.Histogram, error) {
	if a.err != nil {
		return dst, a.err
	}
	if a.counts != nil {
		counts := *a.counts
		if dst == nil {
			dst = hdrhistogram.Import(&hdrhistogram.Snapshot{LowestTrackableValue: HistMin, HighestTrackableValue: HistMax,
				SignificantFigures: HistDigits, Counts: counts, IntegerToDoubleConversionRatio: 1})
		} else {
			for i, n := range counts {
				if n != 0 {
					if err := dst.RecordValues(bucketValue(int64(i)), n); err != nil {
						a.err = cmp.Or(a.err, fmt.Errorf("decode histogram: %w", err))
					}
				}
			}
		}
		clear(counts)
		countsPool.Put(a.counts)
		a.counts = nil
	}
	if a.other != nil {
		if dst == nil {
			dst = NewHistogram()
		}
		dst.Merge(a.other)
		a.other = nil
	}
	return dst, a.err
}

// encode returns the encoding of the sum (as EncodeHistogram writes it; empty when nothing
// with a latency was added) and, with hist, the sum as a histogram too; acc is empty
// after. The encoding is made from the summed counts, without copying them out of a
// histogram.
func (a *histAcc) encode(hist bool) (h *hdrhistogram.Histogram, enc string, err error) {
	if a.err != nil || a.other != nil || a.counts == nil {
		if h, err = a.into(nil); err != nil || h == nil {
			return nil, "", err
		}
		if h.TotalCount() > 0 {
			enc = mustEncode(h)
		}
		return h, enc, nil
	}
	counts := *a.counts
	if hist {
		h = hdrhistogram.Import(&hdrhistogram.Snapshot{LowestTrackableValue: HistMin, HighestTrackableValue: HistMax,
			SignificantFigures: HistDigits, Counts: counts, IntegerToDoubleConversionRatio: 1})
	}
	theEncoder.mu.Lock()
	enc = theEncoder.encode(emptyHist, denseBuckets(counts)) // emptyHist: the geometry
	theEncoder.mu.Unlock()
	clear(counts)
	countsPool.Put(a.counts)
	a.counts = nil
	return h, enc, nil
}

// bucketIndex is the index of the bucket of the result geometry that holds value v
// (1 <= v <= HistMax), the inverse of bucketValue: the library's countsIndexFor for unit 1
// and 2048 sub-buckets.
func bucketIndex(v int64) int {
	const halfMag = 10
	bucketIdx := bits.Len64(uint64(v)|(2<<halfMag-1)) - (halfMag + 1)
	return (bucketIdx+1)<<halfMag + int(v>>bucketIdx) - 1<<halfMag
}

// bucketValue is the lowest value of bucket index idx of the result geometry: 2048
// sub-buckets (the smallest power of two >= 2×10^3), unit 1.
func bucketValue(idx int64) int64 {
	const halfMag = 10
	const half = 1 << halfMag
	bucketIdx := (idx >> halfMag) - 1
	sub := idx&(half-1) + half
	if bucketIdx < 0 {
		sub -= half
		bucketIdx = 0
	}
	return sub << bucketIdx
}

// hdrCache decodes encodings for one merge: the last cacheSize distinct encodings' buckets
// are kept, so an encoding seen again is not inflated again.
type hdrCache struct {
	d    decoder
	keys [cacheSize]string
	vals [cacheSize][]bucket
	ok   [cacheSize]bool
	next int
}

const cacheSize = 16

// buckets returns the non-empty buckets of enc (valid until cacheSize other encodings
// were decoded); ok is false for an encoding of another geometry than the result's.
func (c *hdrCache) buckets(enc string) ([]bucket, bool, error) {
	for i := range c.keys {
		if c.keys[i] == enc && c.keys[i] != "" {
			return c.vals[i], c.ok[i], nil
		}
	}
	bs, ok, err := c.d.buckets(enc)
	if err != nil {
		return nil, false, err
	}
	i := c.next
	c.next = (c.next + 1) % cacheSize
	// The decoder's buckets become the entry's; the entry's old slice its next buffer.
	c.keys[i], c.vals[i], c.d.out, c.ok[i] = enc, bs, c.vals[i][:0], ok
	return bs, ok, nil
}
