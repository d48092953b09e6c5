package result

import (
	"math/rand/v2"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// EncodeHistogram writes what the library's encoder writes, byte for byte: empty, one
// value, values at both ends of the range, dense and sparse, and a decoded histogram.
func TestEncodeHistogramAsLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := map[string]*hdrhistogram.Histogram{"empty": NewHistogram()}
	one := NewHistogram()
	_ = one.RecordValue(1234)
	cases["one"] = one
	ends := NewHistogram()
	_ = ends.RecordValue(HistMin)
	_ = ends.RecordValue(HistMax)
	_ = ends.RecordValues(5000, 1<<40)
	cases["ends"] = ends
	dense := NewHistogram()
	for range 100000 {
		_ = dense.RecordValue(1000 + rng.Int64N(20000))
	}
	cases["dense"] = dense
	sparse := NewHistogram()
	for range 50 {
		_ = sparse.RecordValue(rng.Int64N(HistMax))
	}
	cases["sparse"] = sparse
	other := hdrhistogram.New(1, 1000, 2)
	_ = other.RecordValue(7)
	cases["other geometry"] = other
	for name, h := range cases {
		want, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second time with a reused encoder
			got, err := EncodeHistogram(h)
			if err != nil || got != string(want) {
				t.Fatalf("%s: EncodeHistogram differs from the library's encoding (err %v)", name, err)
			}
		}
		d, err := DecodeHistogram(string(want))
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := EncodeHistogram(d); got != string(want) {
			t.Errorf("%s: a decoded histogram encodes differently", name)
		}
	}
}
