package loadgen_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/scenarios"
)

func TestStagePacerCountsPerStage(t *testing.T) {
	s := time.Second
	tests := []struct {
		name  string
		load  scenarios.Load
		want  []uint64 // per stage
		total uint64
	}{
		{"constant", scenarios.Load{Executor: "constant-arrival-rate", Rate: 100, Duration: 10 * s}, []uint64{1000}, 1000},
		{"constant per minute", scenarios.Load{Executor: "constant-arrival-rate", Rate: 90, TimeUnit: time.Minute, Duration: 20 * s}, []uint64{30}, 30},
		{"ramp up from zero", scenarios.Load{Executor: "ramping-arrival-rate", Stages: []scenarios.Stage{{Duration: 10 * s, Target: 100}}}, []uint64{500}, 500},
		{"ramp down", scenarios.Load{Executor: "ramping-arrival-rate", StartRate: 20, Stages: []scenarios.Stage{{Duration: 3 * s, Target: 10}}}, []uint64{45}, 45},
		{"steps", scenarios.Load{Executor: "ramping-arrival-rate", StartRate: 10, Stages: []scenarios.Stage{
			{Duration: 2 * s, Target: 10}, {Duration: 0, Target: 40}, {Duration: 3 * s, Target: 40}}}, []uint64{20, 0, 120}, 140},
		{"spike", scenarios.Load{Executor: "ramping-arrival-rate", StartRate: 50, Stages: []scenarios.Stage{
			{Duration: 10 * s, Target: 50}, {Duration: s, Target: 500}, {Duration: 5 * s, Target: 500}, {Duration: s, Target: 50}}},
			[]uint64{500, 275, 2500, 275}, 3550},
		{"fractional", scenarios.Load{Executor: "ramping-arrival-rate", Stages: []scenarios.Stage{
			{Duration: 3 * s, Target: 7}, {Duration: s, Target: 7}, {Duration: 1500 * time.Millisecond, Target: 0}}},
			[]uint64{10, 7, 5}, 22}, // H: 10.5, 17.5, 22.75
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := &scenarios.Spec{Load: tt.load, Workload: []*scenarios.Item{{Name: "a", Request: &scenarios.Request{}}}}
			plan := loadgen.Plan(spec)
			var got []uint64
			for _, st := range plan.Stages {
				if st.Duration > 0 {
					got = append(got, st.Iterations)
				}
			}
			var want []uint64
			for i, w := range tt.want {
				if tt.load.Executor != "ramping-arrival-rate" || tt.load.Stages[i].Duration > 0 {
					want = append(want, w)
				}
			}
			if !slices.Equal(got, want) || plan.Iterations != tt.total {
				t.Fatalf("plan per stage = %v total %d, want %v total %d", got, plan.Iterations, want, tt.total)
			}

			// Walk the pacer as the engine does and count the hits in each stage.
			p, err := loadgen.PacerFor(tt.load)
			if err != nil {
				t.Fatal(err)
			}
			counts := make([]uint64, len(plan.Stages))
			var hits uint64
			var elapsed, prev time.Duration
			for {
				wait, stop := p.Pace(elapsed, hits)
				if stop {
					break
				}
				at := elapsed + wait
				if at < prev {
					t.Fatalf("hit %d at %v before the previous one at %v", hits+1, at, prev)
				}
				prev = at
				for i, st := range plan.Stages {
					end := st.Start + st.Duration
					if at > st.Start && at <= end || i == 0 && at == 0 {
						counts[i]++
						break
					}
				}
				elapsed = at
				hits++
			}
			var walked []uint64
			for i, st := range plan.Stages {
				if st.Duration > 0 {
					walked = append(walked, counts[i])
				}
			}
			if hits != tt.total || !slices.Equal(walked, want) {
				t.Fatalf("pacer sent %d hits, per stage %v; want %d, %v", hits, walked, tt.total, want)
			}
			if p.Hits(p.Duration()) != tt.total || p.Hits(0) != 0 {
				t.Fatalf("Hits(end) = %d, Hits(0) = %d", p.Hits(p.Duration()), p.Hits(0))
			}
		})
	}
}

func TestStagePacerConstantSpacing(t *testing.T) {
	p := loadgen.NewStagePacer([]loadgen.RateStage{{Duration: time.Second, From: 100, To: 100}})
	for k := uint64(1); k <= 100; k++ {
		at, ok := p.At(k)
		want := time.Duration(k) * 10 * time.Millisecond
		if !ok || (at-want).Abs() > time.Microsecond {
			t.Fatalf("hit %d at %v, want %v", k, at, want)
		}
	}
	if _, ok := p.At(101); ok {
		t.Fatal("hit 101 planned in a 100-hit schedule")
	}
	// Late callers get a negative wait: the intended time is never rounded to now.
	wait, stop := p.Pace(500*time.Millisecond, 9)
	if stop || wait != -400*time.Millisecond {
		t.Fatalf("Pace(500ms, 9) = %v, %v; want -400ms, false", wait, stop)
	}
	if r := p.Rate(300 * time.Millisecond); r != 100 {
		t.Fatalf("Rate = %v, want 100", r)
	}
}

func TestPlanRequestsAndExecutors(t *testing.T) {
	get := &scenarios.Request{URL: scenarios.MustTemplate("/")}
	spec := &scenarios.Spec{
		Load: scenarios.Load{Executor: "constant-arrival-rate", Rate: 10, Duration: 4 * time.Second},
		Workload: []*scenarios.Item{
			{Name: "one", Weight: 3, Request: get},
			{Name: "flow", Weight: 1, Flow: []*scenarios.Step{{Request: get}, {Request: get}, {Request: get}}},
		},
	}
	p := loadgen.Plan(spec)
	if p.Iterations != 40 || p.StepsPerIt != 1.5 || p.Requests != 60 || p.Duration != 4*time.Second || p.MaxInFlight != 1000 {
		t.Fatalf("plan = %+v", p)
	}
	spec.Load = scenarios.Load{Executor: "constant-vus", VUs: 5, Duration: time.Second}
	if p := loadgen.Plan(spec); p.VUs != 5 || p.Iterations != 0 || p.Duration != time.Second {
		t.Fatalf("constant-vus plan = %+v", p)
	}
	if _, err := loadgen.PacerFor(scenarios.Load{Executor: "bogus"}); err == nil {
		t.Fatal("unknown executor accepted")
	}
}

// TestStagePacerMatchesConstantPacer: for a whole-number rate the constant stage plans the
// same hits as vegeta's ConstantPacer.
func TestStagePacerMatchesConstantPacer(t *testing.T) {
	for _, rate := range []int{1, 7, 100, 2500} {
		d := 3 * time.Second
		vp := vegeta.ConstantPacer{Freq: rate, Per: time.Second}
		sp := loadgen.NewStagePacer([]loadgen.RateStage{{Duration: d, From: float64(rate), To: float64(rate)}})
		var elapsed time.Duration
		var hits uint64
		for {
			wait, _ := vp.Pace(elapsed, hits)
			if elapsed+wait > d {
				break
			}
			elapsed += wait
			hits++
			if at, ok := sp.At(hits); !ok || (at-elapsed).Abs() > time.Microsecond {
				t.Fatalf("rate %d: hit %d at %v, vegeta at %v", rate, hits, at, elapsed)
			}
		}
		if hits != sp.Total() {
			t.Fatalf("rate %d: vegeta plans %d hits in %v, StagePacer %d", rate, hits, d, sp.Total())
		}
	}
}

// TestStagePacerDrivesVegetaAttacker: the pacer and the workload's targeter plug into vegeta's
// own Attacker.
func TestStagePacerDrivesVegetaAttacker(t *testing.T) {
	srv := serve(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	spec := &scenarios.Spec{Load: scenarios.Load{Executor: "ramping-arrival-rate", Stages: []scenarios.Stage{
		{Duration: 500 * time.Millisecond, Target: 200}, {Duration: 500 * time.Millisecond, Target: 0}}},
		Workload: []*scenarios.Item{get("a", "/a"), get("b", "/b")}}
	p, err := loadgen.PacerFor(spec.Load)
	if err != nil {
		t.Fatal(err)
	}
	atk := vegeta.NewAttacker()
	var n, ok uint64
	for res := range atk.Attack(loadgen.NewWorkload(spec, 1).Targeter(srv.URL), p, 0, "ramp") {
		n++
		if res.Code == 200 {
			ok++
		}
	}
	if n != p.Total() || n != 100 || ok != n {
		t.Fatalf("vegeta sent %d (%d ok), pacer planned %d", n, ok, p.Total())
	}
}

func TestStagePacerPeakRate(t *testing.T) {
	p := loadgen.NewStagePacer([]loadgen.RateStage{
		{Duration: time.Second, From: 10, To: 300},
		{Duration: time.Second, From: 300, To: 50},
		{Duration: time.Second, From: 0, To: 0},
	})
	if r := p.PeakRate(); r != 300 {
		t.Errorf("PeakRate = %v, want 300", r)
	}
	if r := p.Striped(loadgen.Stripe{Index: 1, Count: 3}).PeakRate(); r != 100 {
		t.Errorf("PeakRate of a third = %v, want 100", r)
	}
	if r := loadgen.NewStagePacer(nil).PeakRate(); r != 0 {
		t.Errorf("PeakRate of no stage = %v, want 0", r)
	}
}
