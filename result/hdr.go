package result

import (
	"fmt"
	"math"
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
// encoding, base64 (the form of the *_hdr fields of a result).
func EncodeHistogram(h *hdrhistogram.Histogram) (string, error) {
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("encode histogram: %w", err)
	}
	return string(b), nil
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
