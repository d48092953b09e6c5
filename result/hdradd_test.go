package result_test

import (
	"math/rand/v2"
	"testing"

	"github.com/trendtactics/loadlab/result"
)

// TestAddEncoded: adding an encoded histogram gives what merging the decoded one gives,
// bucket for bucket, for histograms from empty to every magnitude of the geometry.
func TestAddEncoded(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n, spread := range []int64{0, 1, 10, 1000, 100_000, result.HistMax} {
		src, dst, want := result.NewHistogram(), result.NewHistogram(), result.NewHistogram()
		for range 500 {
			_ = dst.RecordValue(1 + rng.Int64N(1000))
		}
		want.Merge(dst)
		for range n * 300 {
			_ = src.RecordValues(result.HistMin+rng.Int64N(spread+1)%result.HistMax, 1+rng.Int64N(3))
		}
		enc, err := result.EncodeHistogram(src)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := result.DecodeHistogram(enc)
		if err != nil {
			t.Fatal(err)
		}
		want.Merge(dec)
		if err := result.AddEncoded(dst, enc); err != nil {
			t.Fatalf("spread %d: %v", spread, err)
		}
		if !dst.Equals(want) {
			t.Errorf("spread %d: total %d max %d min %d, want %d %d %d", spread, dst.TotalCount(), dst.Max(), dst.Min(), want.TotalCount(), want.Max(), want.Min())
		}
	}
}

func TestAddEncodedCorrupt(t *testing.T) {
	h := result.NewHistogram()
	_ = h.RecordValue(42)
	enc, _ := result.EncodeHistogram(h)
	for _, bad := range []string{"", "HIST", "not base64!", enc[:len(enc)-4], "AAAAAAAA"} {
		dst := result.NewHistogram()
		if err := result.AddEncoded(dst, bad); err == nil || dst.TotalCount() != 0 {
			t.Errorf("%q: err %v, total %d; want an error and nothing added", bad, err, dst.TotalCount())
		}
	}
}

func BenchmarkAddEncoded(b *testing.B) {
	src := result.NewHistogram()
	for i := range 1000 {
		_ = src.RecordValue(int64(1000 + i*37%20000))
	}
	enc, _ := result.EncodeHistogram(src)
	b.Run("decode+merge", func(b *testing.B) {
		dst := result.NewHistogram()
		for b.Loop() {
			h, _ := result.DecodeHistogram(enc)
			dst.Merge(h)
		}
	})
	b.Run("AddEncoded", func(b *testing.B) {
		dst := result.NewHistogram()
		b.ReportAllocs()
		for b.Loop() {
			_ = result.AddEncoded(dst, enc)
		}
	})
}
