package academy_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/trendtactics/loadlab/reference-app/academy"
)

func TestReadAfterTokenRoundTripAndForgery(t *testing.T) {
	ra := academy.ParseReadAfter("")
	if ra.Changed() || ra.Need(0) != 0 || ra.Token() != "" {
		t.Fatalf("empty token: %q", ra.Token())
	}
	ra.Advance(1, 0x16B374D848)
	ra.Advance(0, 0x3000)
	ra.Advance(0, 0x2000) // never backwards
	if !ra.Changed() || ra.Token() != "0-3000.1-16b374d848" {
		t.Fatalf("token %q", ra.Token())
	}
	back := academy.ParseReadAfter(ra.Token())
	if back.Need(0) != 0x3000 || back.Need(1) != 0x16B374D848 || back.Changed() {
		t.Fatalf("parsed %q: %d %d", ra.Token(), back.Need(0), back.Need(1))
	}
	// Malformed parts need nothing; nothing panics.
	for _, bad := range []string{"x", "-1-10", "0-zz", "99-10", "0-", "-", "....", "0-ffffffffffffffffff", "1-10.1-20.1-5"} {
		ra := academy.ParseReadAfter(bad)
		if bad == "1-10.1-20.1-5" {
			if ra.Need(1) != 0x20 {
				t.Errorf("%q: need %x, want the largest, 20", bad, ra.Need(1))
			}
			continue
		}
		for s := range 100 {
			if ra.Need(s) != 0 {
				t.Errorf("%q: shard %d needs %x", bad, s, ra.Need(s))
			}
		}
	}
	var none *academy.ReadAfter
	none.Advance(0, 1)
	if none.Need(0) != 0 || none.Changed() || none.Token() != "" {
		t.Fatal("a nil token needs or records something")
	}
}

// ShardOfRegion is hash(region + user_id) % n with FNV-1a, computed here by hand.
func TestShardOfRegionFormula(t *testing.T) {
	id := uuid.MustParse("6f1d3b0a-8a47-4d1e-9a0a-3c5e0b7f2a11")
	for _, region := range []string{"", "eu", "us", "apac"} {
		h := uint64(14695981039346656037)
		for _, b := range append([]byte(region), id[:]...) {
			h ^= uint64(b)
			h *= 1099511628211
		}
		for _, n := range []int{2, 3, 7} {
			if got := academy.ShardOfRegion(region, id, n); got != int(h%uint64(n)) {
				t.Errorf("ShardOfRegion(%q, %s, %d) = %d, want %d", region, id, n, got, h%uint64(n))
			}
		}
	}
	if academy.ShardOfRegion("", id, 5) != academy.ShardOf(id, 5) {
		t.Error("without a region the formula is not ShardOf's")
	}
	if academy.ValidateRegion("eu-west-1") != nil || academy.ValidateRegion("EU") == nil || academy.ValidateRegion("-x") == nil {
		t.Error("ValidateRegion")
	}
}
