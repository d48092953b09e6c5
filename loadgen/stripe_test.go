package loadgen_test

import (
	"testing"
	"time"

	"github.com/trendtactics/loadlab/loadgen"
)

// TestStripeShares: the stripes of any count own every global iteration exactly once,
// and their shares of any prefix (a second's planned count, the total) add up to it.
func TestStripeShares(t *testing.T) {
	for _, count := range []int{1, 2, 3, 4, 7} {
		for n := uint64(0); n < 50; n++ {
			var sum uint64
			for i := range count {
				s := loadgen.Stripe{Index: i, Count: count}
				var own uint64
				for g := range n {
					if s.Owns(g) {
						own++
					}
				}
				if got := s.Share(n); got != own {
					t.Fatalf("stripe %d/%d: Share(%d) = %d, owns %d", i, count, n, got, own)
				}
				sum += own
			}
			if sum != n {
				t.Fatalf("%d stripes own %d of %d iterations", count, sum, n)
			}
		}
	}
}

// TestStripePlanAddsUp: per second of a ramp, the stripes' planned counts add up to the
// single-process plan.
func TestStripePlanAddsUp(t *testing.T) {
	p := loadgen.NewStagePacer([]loadgen.RateStage{{Duration: 5 * time.Second, From: 3, To: 97}, {Duration: 2 * time.Second, From: 500, To: 500}})
	for sec := range 7 {
		from, to := p.Hits(time.Duration(sec)*time.Second), p.Hits(time.Duration(sec+1)*time.Second)
		var sum uint64
		for i := range 4 {
			s := loadgen.Stripe{Index: i, Count: 4}
			sum += s.Share(to) - s.Share(from)
		}
		if sum != to-from {
			t.Errorf("second %d: stripes plan %d, one process %d", sec, sum, to-from)
		}
	}
}

func TestStripeValidate(t *testing.T) {
	for _, s := range []loadgen.Stripe{{Index: 0, Count: 0}, {Index: 0, Count: 1}, {Index: 3, Count: 4}} {
		if err := s.Validate(); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
	for _, s := range []loadgen.Stripe{{Index: 1, Count: 0}, {Index: 4, Count: 4}, {Index: -1, Count: 2}, {Index: 0, Count: -1}} {
		if s.Validate() == nil {
			t.Errorf("%+v: valid", s)
		}
	}
}

// TestStripedPacer: the striped pacers of a ramp fire, together, every hit of the
// schedule at its own time, each hit once.
func TestStripedPacer(t *testing.T) {
	p := loadgen.NewStagePacer([]loadgen.RateStage{{Duration: 3 * time.Second, From: 5, To: 60}, {Duration: time.Second, From: 200, To: 200}})
	const n = 3
	seen := map[time.Duration]int{}
	var total uint64
	for i := range n {
		s := p.Striped(loadgen.Stripe{Index: i, Count: n})
		total += s.Total()
		for k := uint64(1); ; k++ {
			at, ok := s.At(k)
			if !ok {
				if k-1 != s.Total() {
					t.Errorf("stripe %d: %d hits, Total %d", i, k-1, s.Total())
				}
				break
			}
			want, _ := p.At(uint64(i) + (k-1)*n + 1)
			if at != want {
				t.Fatalf("stripe %d hit %d at %s, want the schedule's hit %d at %s", i, k, at, uint64(i)+(k-1)*n+1, want)
			}
			seen[at]++
		}
		if got, want := s.Hits(2*time.Second), (loadgen.Stripe{Index: i, Count: n}).Share(p.Hits(2*time.Second)); got != want {
			t.Errorf("stripe %d: Hits(2s) = %d, want %d", i, got, want)
		}
	}
	if total != p.Total() {
		t.Errorf("stripes plan %d hits, the schedule %d", total, p.Total())
	}
	var hits int
	for _, c := range seen {
		hits += c
	}
	if uint64(hits) != p.Total() {
		t.Errorf("stripes fired %d hits, the schedule has %d", hits, p.Total())
	}
}

// TestStripeFrom: a stripe from global iteration From owns and counts only its iterations
// from there, and its pacer fires them at their own times.
func TestStripeFrom(t *testing.T) {
	p := loadgen.NewStagePacer([]loadgen.RateStage{{Duration: 2 * time.Second, From: 50, To: 50}})
	for _, s := range []loadgen.Stripe{{Index: 1, Count: 3, From: 40}, {Index: 2, Count: 3, From: 40}, {Index: 0, Count: 3, From: 41}, {From: 7}} {
		var owned []uint64
		for g := range uint64(100) {
			if s.Owns(g) {
				owned = append(owned, g)
			}
		}
		for n := range uint64(101) {
			var want uint64
			for _, g := range owned {
				if g < n {
					want++
				}
			}
			if got := s.Share(n); got != want {
				t.Fatalf("%+v: Share(%d) = %d, want %d", s, n, got, want)
			}
		}
		sp := p.Striped(s)
		if sp.Total() != uint64(len(owned)) {
			t.Errorf("%+v: Total %d, want %d", s, sp.Total(), len(owned))
		}
		for k, g := range owned {
			at, _ := sp.At(uint64(k) + 1)
			want, _ := p.At(g + 1)
			if at != want {
				t.Fatalf("%+v: hit %d at %s, want global %d's %s", s, k+1, at, g, want)
			}
		}
	}
}
