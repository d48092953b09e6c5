package loadgen

import (
	"fmt"
	"io"
	"math/bits"
	"math/rand/v2"
	"net/http"
	"sync/atomic"

	"github.com/trendtactics/loadlab/scenarios"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Workload chooses the workload item of each iteration: a weighted choice drawn from a PCG
// seeded with (run seed, iteration number). The choice of iteration n depends only on the
// seed and n, not on the order in which workers run, so equal seeds give equal sequences.
// A Workload is immutable and safe for concurrent use.
type Workload struct {
	spec  *scenarios.Spec
	seed  int64
	items []*scenarios.Item
	cum   []uint64 // cumulative weights
	total uint64
}

// NewWorkload returns the chooser of spec's workload for a run seed.
func NewWorkload(spec *scenarios.Spec, seed int64) *Workload {
	w := &Workload{spec: spec, seed: seed}
	for _, it := range spec.Workload {
		if it == nil || len(stepsOf(it)) == 0 {
			continue
		}
		w.items = append(w.items, it)
	}
	ws := weights(w.items)
	for _, wt := range ws {
		w.total += wt
		w.cum = append(w.cum, w.total)
	}
	return w
}

// weights returns the items' weights; a weight <= 0 counts as 0, unless all are, when
// every item counts as 1 (hand-built specs that leave Weight unset).
func weights(items []*scenarios.Item) []uint64 {
	out := make([]uint64, len(items))
	var total uint64
	for i, it := range items {
		if it.Weight > 0 {
			out[i] = uint64(it.Weight)
			total += out[i]
		}
	}
	if total == 0 {
		for i := range out {
			out[i] = 1
		}
	}
	return out
}

// Pick returns the item of iteration seq, or nil when the workload is empty.
func (w *Workload) Pick(seq uint64) *scenarios.Item {
	if w.total == 0 {
		return nil
	}
	return w.items[w.pickIndex(seq)]
}

// pickIndex returns the index in w.items of iteration seq's item; w.items must not be empty.
func (w *Workload) pickIndex(seq uint64) int {
	var p rand.PCG
	p.Seed(uint64(w.seed), seq)
	r, _ := bits.Mul64(p.Uint64(), w.total) // uniform in [0, total)
	for i, c := range w.cum {
		if r < c {
			return i
		}
	}
	return len(w.items) - 1
}

// Targeter returns a vegeta.Targeter that renders the first request of each iteration's item
// in iteration order, for use with vegeta's own Attacker (flows beyond their first step are not
// expressible as vegeta targets). It is safe for concurrent use.
func (w *Workload) Targeter(baseURL string) vegeta.Targeter {
	var seq atomic.Uint64
	return func(t *vegeta.Target) error {
		n := seq.Add(1) - 1
		item := w.Pick(n)
		if item == nil {
			return vegeta.ErrNoTargets
		}
		req, err := stepsOf(item)[0].req.Build(w.spec.NewIteration(n, w.seed), baseURL)
		if err != nil {
			return fmt.Errorf("build %s: %w", item.Name, err)
		}
		t.Method, t.URL, t.Header = req.Method, req.URL.String(), req.Header.Clone()
		if t.Header == nil {
			t.Header = http.Header{}
		}
		t.Body = nil
		if req.GetBody != nil {
			if b, err := req.GetBody(); err == nil {
				t.Body, err = io.ReadAll(b)
				if err != nil {
					return fmt.Errorf("build %s: read body: %w", item.Name, err)
				}
			}
		}
		return nil
	}
}

// step is one request of an item, with its recorded name.
type step struct {
	name string
	req  *scenarios.Request
	flow *scenarios.Step // nil for a single-request item
}

// stepsOf returns the requests of an item in order.
func stepsOf(it *scenarios.Item) []step {
	if it.Request != nil {
		return []step{{name: it.Name, req: it.Request}}
	}
	out := make([]step, 0, len(it.Flow))
	for i, s := range it.Flow {
		if s == nil || s.Request == nil {
			continue
		}
		name := s.Name
		if name == "" {
			name = fmt.Sprintf("%s/%d", it.Name, i+1) // as the scenarios loader names them
		}
		out = append(out, step{name: name, req: s.Request, flow: s})
	}
	return out
}
