package result

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram geometry: microseconds, 1 µs to 1 h, 3 significant digits. Every histogram of
// a result has it, so any two merge exactly.
const (
	HistMin    = 1
	HistMax    = int64(time.Hour / time.Microsecond)
	HistDigits = 3
)

// NewHistogram returns an empty histogram of the result geometry.
func NewHistogram() *hdrhistogram.Histogram { return hdrhistogram.New(HistMin, HistMax, HistDigits) }

// Micros converts a duration to a histogram value, clamped to the histogram's range.
func Micros(d time.Duration) int64 {
	us := int64(d / time.Microsecond)
	return min(max(us, HistMin), HistMax)
}

// EncodeHistogram encodes h as DecodeHistogram reads it: hdrhistogram's V2 compressed
// encoding, base64 (the form of the *_hdr fields of a result), byte for byte as h.Encode
// writes it. Unlike h.Encode, which builds a compressor of about 700 KB and a slice per
// bucket each time, it reuses one compressor and its buffers, and it reads a histogram of
// the result geometry without copying its 23,552 counts (h.Export copies them: 184 KB of
// garbage per call, and the recorder encodes every second's histograms). It is safe for
// concurrent use.
func EncodeHistogram(h *hdrhistogram.Histogram) (string, error) {
	theEncoder.mu.Lock()
	defer theEncoder.mu.Unlock()
	e := &theEncoder.encoder
	if !resultGeometry(h) {
		return e.encode(h, denseBuckets(h.Export().Counts)), nil
	}
	if e.sparse == nil {
		e.sparse = hdrhistogram.NewPacked(HistMin, HistMax, HistDigits)
	}
	e.sparse.Reset()
	e.sparse.MergeFrom(h) // the populated buckets only; no allocation once e.sparse has grown
	return e.encode(h, func(yield func(int, int64) bool) {
		for v, c := range e.sparse.ForEachBucket {
			if !yield(bucketIndex(v), c) {
				return
			}
		}
	}), nil
}

// theEncoder is the one reusable state of every encoding in the process: a compressor
// costs about 700 KB whatever its level, so there is one, not one per goroutine or per
// garbage collection (as a sync.Pool would keep). Encoding is rare (a few a second in a
// run) and short.
var theEncoder struct {
	mu sync.Mutex
	encoder
}

// resultGeometry reports whether h has the result geometry (NewHistogram's).
func resultGeometry(h *hdrhistogram.Histogram) bool {
	return h.LowestTrackableValue() == HistMin && h.HighestTrackableValue() == HistMax && h.SignificantFigures() == HistDigits
}

// denseBuckets yields the index and count of every non-empty bucket of counts, in order.
func denseBuckets(counts []int64) func(yield func(int, int64) bool) {
	return func(yield func(int, int64) bool) {
		for i, c := range counts {
			if c != 0 && !yield(i, c) {
				return
			}
		}
	}
}

// encoder is the state of an encoding: the uncompressed header and payload, the
// compressor and its output, and a sparse histogram to read a dense one's buckets into.
type encoder struct {
	raw    []byte
	zbuf   bytes.Buffer
	z      *zlib.Writer
	out    []byte
	sparse *hdrhistogram.PackedHistogram
}

// The cookies of hdrhistogram's V2 encoding (hdr_encoding.go).
const (
	v2Cookie           = 0x1c849303 | 0x10
	v2CompressedCookie = 0x1c849304 | 0x10
	v2HeaderSize       = 40
)

// encode writes the V2 encoding of h, whose non-empty buckets (index, count) buckets
// yields in ascending index order. The conversion ratio written is 1: a result's
// histograms record plain microseconds.
func (e *encoder) encode(h *hdrhistogram.Histogram, buckets func(yield func(int, int64) bool)) string {
	raw := append(e.raw[:0], make([]byte, v2HeaderSize)...)
	// Counts as ZigZag LEB128 varints, up to the last non-empty bucket (at least one, as
	// h.Encode writes up to the maximum's bucket); a run of more than one zero is written
	// as -(run length), a single zero as 0.
	zeros := func(n int) {
		switch {
		case n == 1:
			raw = append(raw, 0)
		case n > 1:
			raw = binary.AppendUvarint(raw, zigzag(-int64(n)))
		}
	}
	next := 0 // the index after the last bucket written
	for i, c := range buckets {
		zeros(i - next)
		raw = binary.AppendUvarint(raw, zigzag(c))
		next = i + 1
	}
	if next == 0 { // empty: the single bucket of a maximum of 0
		zeros(1)
	}
	binary.BigEndian.PutUint32(raw[0:], v2Cookie)
	binary.BigEndian.PutUint32(raw[4:], uint32(len(raw)-v2HeaderSize))
	binary.BigEndian.PutUint32(raw[8:], 0) // normalizing index offset
	binary.BigEndian.PutUint32(raw[12:], uint32(int32(h.SignificantFigures())))
	binary.BigEndian.PutUint64(raw[16:], uint64(h.LowestTrackableValue()))
	binary.BigEndian.PutUint64(raw[24:], uint64(h.HighestTrackableValue()))
	binary.BigEndian.PutUint64(raw[32:], math.Float64bits(1))
	e.raw = raw

	if e.z == nil {
		e.z, _ = zlib.NewWriterLevel(&e.zbuf, zlib.BestCompression) // a valid level: no error
	}
	e.zbuf.Reset()
	e.z.Reset(&e.zbuf)
	_, _ = e.z.Write(raw) // writes to a bytes.Buffer do not fail
	_ = e.z.Close()
	out := binary.BigEndian.AppendUint32(e.out[:0], v2CompressedCookie)
	out = binary.BigEndian.AppendUint32(out, uint32(e.zbuf.Len()))
	out = append(out, e.zbuf.Bytes()...)
	e.out = out
	return base64.StdEncoding.EncodeToString(out)
}

func zigzag(c int64) uint64 { return uint64(c<<1) ^ uint64(c>>63) }

// mustEncode encodes a histogram of the result geometry; V2 encoding of a valid histogram
// does not fail.
func mustEncode(h *hdrhistogram.Histogram) string {
	s, err := EncodeHistogram(h)
	if err != nil {
		panic(err)
	}
	return s
}

// DecodeHistogram decodes a histogram encoded by EncodeHistogram. A corrupt encoding is
// an error, never a panic: results are user input.
func DecodeHistogram(s string) (h *hdrhistogram.Histogram, err error) {
	defer func() {
		if r := recover(); r != nil {
			h, err = nil, fmt.Errorf("decode histogram: corrupt histogram: %v", r)
		}
	}()
	h, err = hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("decode histogram: %w", err)
	}
	return h, nil
}

// Summarize returns a histogram's distribution in milliseconds.
func Summarize(h *hdrhistogram.Histogram) Summary {
	if h == nil || h.TotalCount() == 0 {
		return Summary{}
	}
	v := h.ValueAtPercentiles([]float64{50, 90, 95, 99, 99.9})
	mean := h.Mean() / 1000
	if math.IsNaN(mean) {
		mean = 0
	}
	return Summary{
		Min:  MS(h.Min()),
		Mean: mean,
		P50:  MS(v[50]),
		P90:  MS(v[90]),
		P95:  MS(v[95]),
		P99:  MS(v[99]),
		P999: MS(v[99.9]),
		Max:  MS(h.Max()),
	}
}

// MS converts a histogram value (microseconds) to milliseconds.
func MS(us int64) float64 { return float64(us) / 1000 }
