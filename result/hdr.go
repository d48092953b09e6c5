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
// writes it. Unlike h.Encode, which builds a compressor of about a megabyte and a slice per
// bucket each time, it reuses its compressor and buffers (the recorder encodes every
// second's histograms). It is safe for concurrent use.
func EncodeHistogram(h *hdrhistogram.Histogram) (string, error) {
	enc := encoders.Get().(*encoder)
	defer encoders.Put(enc)
	return enc.encode(h, h.Export().Counts), nil
}

// encoders are the reusable state of EncodeHistogram (a pool: no state outlives a call).
var encoders = sync.Pool{New: func() any {
	e := &encoder{}
	e.z, _ = zlib.NewWriterLevel(&e.zbuf, zlib.BestCompression) // a valid level: no error
	return e
}}

// encoder is the state of one encoding: the uncompressed header and payload, the
// compressor and its output.
type encoder struct {
	raw  []byte
	zbuf bytes.Buffer
	z    *zlib.Writer
	out  []byte
}

// The cookies of hdrhistogram's V2 encoding (hdr_encoding.go).
const (
	v2Cookie           = 0x1c849303 | 0x10
	v2CompressedCookie = 0x1c849304 | 0x10
	v2HeaderSize       = 40
)

// encode writes the V2 encoding of h, whose bucket counts are given. The conversion ratio
// written is 1: a result's histograms record plain microseconds.
func (e *encoder) encode(h *hdrhistogram.Histogram, counts []int64) string {
	limit := 1 // the buckets up to the maximum's (as h.Encode: countsIndexFor(Max()) + 1)
	for i := len(counts) - 1; i > 0; i-- {
		if counts[i] != 0 {
			limit = i + 1
			break
		}
	}
	raw := append(e.raw[:0], make([]byte, v2HeaderSize)...)
	// Counts as ZigZag LEB128 varints; a run of more than one zero is written as -(run length).
	for i := 0; i < limit; {
		c := counts[i]
		i++
		if c == 0 {
			zeros := int64(1)
			for i < limit && counts[i] == 0 {
				zeros++
				i++
			}
			if zeros > 1 {
				c = -zeros
			}
		}
		raw = binary.AppendUvarint(raw, uint64(c<<1)^uint64(c>>63))
	}
	binary.BigEndian.PutUint32(raw[0:], v2Cookie)
	binary.BigEndian.PutUint32(raw[4:], uint32(len(raw)-v2HeaderSize))
	binary.BigEndian.PutUint32(raw[8:], 0) // normalizing index offset
	binary.BigEndian.PutUint32(raw[12:], uint32(int32(h.SignificantFigures())))
	binary.BigEndian.PutUint64(raw[16:], uint64(h.LowestTrackableValue()))
	binary.BigEndian.PutUint64(raw[24:], uint64(h.HighestTrackableValue()))
	binary.BigEndian.PutUint64(raw[32:], math.Float64bits(1))
	e.raw = raw

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
