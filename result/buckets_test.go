package result_test

import (
	"math/rand/v2"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/trendtactics/loadlab/result"
)

// Buckets of several encodings are the non-empty bars of their merged histogram, with
// the highest value of each bucket, as hdrhistogram's Distribution gives them.
func TestBuckets(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	merged := result.NewHistogram()
	var encs []string
	for range 3 {
		h := result.NewHistogram()
		for range 500 {
			_ = h.RecordValue(1 + rng.Int64N(200000)) // 1 µs to 200 ms: many bucket widths
		}
		merged.Merge(h)
		enc, err := result.EncodeHistogram(h)
		if err != nil {
			t.Fatal(err)
		}
		encs = append(encs, enc)
	}
	// Another geometry is converted.
	other := hdrhistogram.New(1, 10_000_000, 2)
	_ = other.RecordValue(1234)
	enc, err := other.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	encs = append(encs, string(enc))
	merged.Merge(other)

	got, err := result.Buckets(encs)
	if err != nil {
		t.Fatal(err)
	}
	var want []result.Bucket
	for _, bar := range merged.Distribution() {
		if bar.Count > 0 {
			want = append(want, result.Bucket{Value: bar.To, Count: bar.Count})
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d buckets, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("bucket %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if _, err := result.Buckets([]string{"!!"}); err == nil {
		t.Error("a corrupt encoding was accepted")
	}
}
