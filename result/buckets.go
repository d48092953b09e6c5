package result

import (
	"slices"
)

// Bucket is one non-empty bucket of a latency histogram: the highest value it stands for
// (µs, as hdrhistogram's ValueAtQuantile answers) and its count.
type Bucket struct {
	Value, Count int64
}

// Buckets sums the histograms encoded in encs (as EncodeHistogram writes them, the *_hdr
// fields) and returns the non-empty buckets, by value: the compact form of a few seconds of
// latencies that the comparison's bootstrap resamples. Like AddEncoded it reads the
// buckets from the encoding without building a histogram (an encoding of another geometry
// is decoded the slow way). A corrupt encoding is an error.
func Buckets(encs []string) ([]Bucket, error) {
	sum := map[int64]int64{}
	d := decoders.Get().(*decoder)
	defer decoders.Put(d)
	for _, enc := range encs {
		bs, ok, err := d.buckets(enc)
		if err != nil {
			return nil, err
		}
		if !ok { // another geometry: convert it to the result's first
			h, err := DecodeHistogram(enc)
			if err != nil {
				return nil, err
			}
			conv := NewHistogram()
			conv.Merge(h)
			if bs, _, err = d.buckets(mustEncode(conv)); err != nil {
				return nil, err
			}
		}
		for _, b := range bs {
			sum[bucketValue(b.idx)] += b.count
		}
	}
	out := make([]Bucket, 0, len(sum))
	for lowest, c := range sum {
		out = append(out, Bucket{Value: highestEquivalent(lowest), Count: c})
	}
	slices.SortFunc(out, func(a, b Bucket) int { return int(a.Value - b.Value) })
	return out, nil
}

// highestEquivalent is the highest value in the bucket whose lowest value is v, in the
// result geometry: buckets of 2048 sub-buckets, each 1 µs wide up to 2048 µs, then
// doubling in width with every doubling of the value.
func highestEquivalent(v int64) int64 {
	width := int64(1)
	for lim := int64(2048); v >= lim; lim <<= 1 {
		width <<= 1
	}
	return v + width - 1
}
