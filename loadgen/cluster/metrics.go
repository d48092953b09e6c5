package cluster

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/trendtactics/loadlab/result"
)

// The live metrics of a distributed run. Each worker runs its engine with a registry of
// its own (the engine's loadgen_* metrics, exactly those of `loadgen run`, and its
// process's CPU and memory) and sends a snapshot of it with every interval record and with
// its final figures, when the coordinator serves metrics (startParams.Metrics). The
// coordinator's registry serves
//
//   - the engine's metrics merged over the workers, under their own names and labels:
//     counters and histograms added, gauges of the live workers added (each worker's
//     target rate and in-flight count are its stripe's), so that the load-run dashboard
//     shows one generator;
//   - per-worker series with a worker label (perWorker), and loadgen_worker_lost;
//   - loadgen_cluster_workers{state} and loadgen_cluster_latency_p99_seconds{request}, the
//     merged p99 of the last closed second (from the HDR histograms, exact).
//
// A lost worker's counters stay in the merge (what it sent was sent); its gauges leave
// it. A rejoining worker's new process counts from zero: its earlier incarnations'
// counters are kept as a base, so the merged counters never go down.

// perWorker names the per-worker series of a worker's metrics.
var perWorker = map[string]string{
	"loadgen_iterations_planned_total": "loadgen_worker_iterations_planned_total",
	"loadgen_iterations_sent_total":    "loadgen_worker_iterations_sent_total",
	"loadgen_lateness_seconds":         "loadgen_worker_lateness_seconds",
	"loadgen_in_flight":                "loadgen_worker_in_flight",
	"process_cpu_seconds_total":        "loadgen_worker_cpu_seconds_total",
	"process_resident_memory_bytes":    "loadgen_worker_resident_memory_bytes",
}

// snapshotFamily reports whether a worker sends the family name in its snapshots.
func snapshotFamily(name string) bool {
	_, ok := perWorker[name]
	return ok || strings.HasPrefix(name, "loadgen_")
}

// snapFamily is a metric family of a worker's snapshot, in the form the coordinator adds
// up: the values of dto.MetricFamily without its tree of messages. A worker sends one
// snapshot a second; decoding it from Prometheus' protobuf encoding (a message, and its
// allocations, per histogram bucket) cost the coordinator more than the worker's interval
// record; these arrays of numbers decode with the message at a fraction of that.
type snapFamily struct {
	Name    string         `json:"name"`
	Help    string         `json:"help"`
	Type    dto.MetricType `json:"type"`
	Metrics []snapMetric   `json:"metrics"`
}

// snapMetric is one series of a snapFamily.
type snapMetric struct {
	Labels []string `json:"labels,omitempty"` // name, value, name, value, ...
	// Value is a counter's, gauge's or untyped metric's value, or a histogram's sample sum.
	Value float64 `json:"value"`
	// A histogram's sample count, its buckets' upper bounds and cumulative counts.
	Count      uint64    `json:"count,omitempty"`
	Bounds     []float64 `json:"bounds,omitempty"`
	Cumulative []uint64  `json:"cumulative,omitempty"`
}

// encodeSnapshot gathers g's families that a worker sends.
func encodeSnapshot(g prometheus.Gatherer) ([]snapFamily, error) {
	fams, err := g.Gather()
	if err != nil {
		return nil, err
	}
	var out []snapFamily
	for _, f := range fams {
		if !snapshotFamily(f.GetName()) {
			continue
		}
		sf := snapFamily{Name: f.GetName(), Help: f.GetHelp(), Type: f.GetType(), Metrics: make([]snapMetric, 0, len(f.GetMetric()))}
		for _, mt := range f.GetMetric() {
			var sm snapMetric
			for _, lp := range mt.GetLabel() {
				sm.Labels = append(sm.Labels, lp.GetName(), lp.GetValue())
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				sm.Value = mt.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				sm.Value = mt.GetGauge().GetValue()
			case dto.MetricType_UNTYPED:
				sm.Value = mt.GetUntyped().GetValue()
			case dto.MetricType_HISTOGRAM:
				h := mt.GetHistogram()
				sm.Value, sm.Count = h.GetSampleSum(), h.GetSampleCount()
				for _, b := range h.GetBucket() {
					sm.Bounds, sm.Cumulative = append(sm.Bounds, b.GetUpperBound()), append(sm.Cumulative, b.GetCumulativeCount())
				}
			default:
				continue // the engine has no summaries
			}
			sf.Metrics = append(sf.Metrics, sm)
		}
		out = append(out, sf)
	}
	return out, nil
}

// checkSnapshot checks the shape of a worker's snapshot.
func checkSnapshot(fams []snapFamily) error {
	for _, f := range fams {
		for _, m := range f.Metrics {
			if len(m.Labels)%2 != 0 || len(m.Bounds) != len(m.Cumulative) {
				return fmt.Errorf("a bad metrics snapshot: family %q: %d label names and values, %d bucket bounds and %d counts",
					f.Name, len(m.Labels), len(m.Bounds), len(m.Cumulative))
			}
		}
	}
	return nil
}

// workerMetrics is one worker's last snapshot.
type workerMetrics struct {
	sess *session
	cur  []snapFamily
	base []snapFamily // counters and histograms of its earlier incarnations
	lost bool         // its gauges no longer count
}

// metrics are a coordinator's live metrics. Safe for concurrent use.
type metrics struct {
	mu      sync.Mutex
	ws      []workerMetrics
	descs   map[string]*prometheus.Desc // of the series served, made by the first scrape
	workers *prometheus.GaugeVec        // {state}: live, done, lost
	p99     *prometheus.GaugeVec        // {request}: merged, the last closed second
}

func newMetrics(workers int) *metrics {
	return &metrics{
		ws:    make([]workerMetrics, workers),
		descs: map[string]*prometheus.Desc{},
		workers: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "loadgen_cluster_workers",
			Help: "Workers of the run by state: live, done, lost."}, []string{"state"}),
		p99: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "loadgen_cluster_latency_p99_seconds",
			Help: "p99 latency of the last closed second, merged over the workers (request total: all)."}, []string{"request"}),
	}
}

// register registers m's collectors on reg.
func (m *metrics) register(reg prometheus.Registerer) error {
	var errs []error
	for _, c := range []prometheus.Collector{m, m.workers, m.p99} {
		errs = append(errs, reg.Register(c))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("register the coordinator's metrics: %w", err)
	}
	return nil
}

// update takes worker i's snapshot from session s. A new session of the index (a rejoin)
// keeps the counters of the one before as the worker's base.
func (m *metrics) update(i int, s *session, fams []snapFamily) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := &m.ws[i]
	if w.sess != nil && w.sess != s {
		w.base = append(w.base, w.cur...)
	}
	w.sess, w.cur, w.lost = s, fams, false
}

// lose marks worker i lost: its gauges leave the merge.
func (m *metrics) lose(i int) {
	m.mu.Lock()
	m.ws[i].lost = true
	m.mu.Unlock()
}

// Describe sends nothing: the families are the workers' (an unchecked collector).
func (m *metrics) Describe(chan<- *prometheus.Desc) {}

// Collect sends the workers' metrics merged, and the per-worker series.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	defer m.mu.Unlock()
	merged, each := sums{}, sums{}
	for i, w := range m.ws {
		worker := strconv.Itoa(i)
		for k, fams := range [][]snapFamily{w.base, w.cur} {
			gauges := k == 1 && !w.lost
			for i := range fams {
				f := &fams[i]
				if f.Type == dto.MetricType_GAUGE && !gauges {
					continue
				}
				if strings.HasPrefix(f.Name, "loadgen_") {
					merged.add(m.descs, f.Name, f, "")
				}
				if name, ok := perWorker[f.Name]; ok {
					each.add(m.descs, name, f, worker)
				}
			}
		}
		lost := 0.0
		if w.lost {
			lost = 1
		}
		ch <- prometheus.MustNewConstMetric(lostDesc, prometheus.GaugeValue, lost, worker)
	}
	merged.collect(ch)
	each.collect(ch)
}

var lostDesc = prometheus.NewDesc("loadgen_worker_lost", "1 when the worker was lost (silent 3 s, or its connection ended), 0 otherwise.", []string{"worker"}, nil)

// sum is one merged series.
type sum struct {
	desc    *prometheus.Desc
	typ     dto.MetricType
	values  []string
	v       float64
	count   uint64
	buckets map[float64]uint64 // cumulative, as in the snapshots
}

// sums are merged series by name and label values.
type sums map[string]*sum

// add adds family f's metrics to the series of name; a worker label is added when
// worker is set. descs keeps the series' descriptions by name and label names (those of
// the per-worker series differ only in the worker label's value).
func (s sums) add(descs map[string]*prometheus.Desc, name string, f *snapFamily, worker string) {
	for _, mt := range f.Metrics {
		var labels, values []string
		for i := 0; i+1 < len(mt.Labels); i += 2 {
			labels, values = append(labels, mt.Labels[i]), append(values, mt.Labels[i+1])
		}
		if worker != "" {
			labels, values = append(labels, "worker"), append(values, worker)
		}
		key := name + "\xff" + strings.Join(values, "\xff")
		x := s[key]
		if x == nil {
			dkey := name + "\xff" + strings.Join(labels, "\xff")
			desc := descs[dkey]
			if desc == nil {
				help := f.Help
				if worker != "" {
					help = strings.TrimSuffix(help, ".") + ", by worker."
				}
				desc = prometheus.NewDesc(name, help, labels, nil)
				descs[dkey] = desc
			}
			x = &sum{desc: desc, typ: f.Type, values: values}
			s[key] = x
		}
		x.v += mt.Value
		if f.Type == dto.MetricType_HISTOGRAM {
			x.count += mt.Count
			if x.buckets == nil {
				x.buckets = map[float64]uint64{}
			}
			for i, b := range mt.Bounds {
				x.buckets[b] += mt.Cumulative[i]
			}
		}
	}
}

// collect sends the series in a stable order.
func (s sums) collect(ch chan<- prometheus.Metric) {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		x := s[k]
		var (
			m   prometheus.Metric
			err error
		)
		switch x.typ {
		case dto.MetricType_COUNTER:
			m, err = prometheus.NewConstMetric(x.desc, prometheus.CounterValue, x.v, x.values...)
		case dto.MetricType_GAUGE:
			m, err = prometheus.NewConstMetric(x.desc, prometheus.GaugeValue, x.v, x.values...)
		case dto.MetricType_UNTYPED:
			m, err = prometheus.NewConstMetric(x.desc, prometheus.UntypedValue, x.v, x.values...)
		case dto.MetricType_HISTOGRAM:
			m, err = prometheus.NewConstHistogram(x.desc, x.count, x.v, x.buckets, x.values...)
		default:
			continue // the engine has no summaries
		}
		if err != nil {
			m = prometheus.NewInvalidMetric(x.desc, err)
		}
		ch <- m
	}
}

// second sets the merged figures of the last closed second and the workers' states.
func (m *metrics) second(cum *result.Result, ws []*workerState) {
	if m == nil {
		return
	}
	var live, done, lost float64
	for _, st := range ws {
		switch {
		case st.stats.Lost:
			lost++
		case st.over:
			done++
		default:
			live++
		}
	}
	m.workers.WithLabelValues("live").Set(live)
	m.workers.WithLabelValues("done").Set(done)
	m.workers.WithLabelValues("lost").Set(lost)
	if cum == nil {
		return
	}
	last := func(tl []result.Point) (float64, bool) {
		if len(tl) == 0 {
			return 0, false
		}
		return tl[len(tl)-1].P99 / 1000, true
	}
	if v, ok := last(cum.Timeline); ok {
		m.p99.WithLabelValues("total").Set(v)
	}
	for _, rq := range cum.Requests {
		if v, ok := last(rq.Timeline); ok {
			m.p99.WithLabelValues(rq.Name).Set(v)
		}
	}
}
