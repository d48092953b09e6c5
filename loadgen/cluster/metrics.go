package cluster

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendtactics/loadlab/result"
)

// metrics are the coordinator's live metrics of the whole run, from the workers' interval
// records: the engine's counters (loadgen_iterations_*_total, loadgen_responses_total)
// with a worker label, so that a sum over it is the one generator, and the merged
// figures of the last closed second.
type metrics struct {
	planned, sent *prometheus.CounterVec // {worker}
	responses     *prometheus.CounterVec // {request, status, worker}
	workers       *prometheus.GaugeVec   // {state}: live, done, lost
	p99           *prometheus.GaugeVec   // {request}: merged, the last closed second
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		planned: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loadgen_iterations_planned_total",
			Help: "Iterations whose intended send time has passed, by worker."}, []string{"worker"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loadgen_iterations_sent_total",
			Help: "Iterations sent, by worker."}, []string{"worker"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loadgen_responses_total",
			Help: "Requests completed, by request name, status (HTTP code, error, timeout) and worker."}, []string{"request", "status", "worker"}),
		workers: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "loadgen_cluster_workers",
			Help: "Workers of the run by state: live, done, lost."}, []string{"state"}),
		p99: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "loadgen_cluster_latency_p99_seconds",
			Help: "p99 latency of the last closed second, merged over the workers (request total: all)."}, []string{"request"}),
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.planned, m.sent, m.responses, m.workers, m.p99} {
		errs = append(errs, reg.Register(c))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("register the coordinator's metrics: %w", err)
	}
	return m, nil
}

// interval counts worker i's interval record.
func (m *metrics) interval(i int, iv *result.Result) {
	if m == nil {
		return
	}
	w := strconv.Itoa(i)
	m.planned.WithLabelValues(w).Add(float64(iv.Generator.Planned))
	m.sent.WithLabelValues(w).Add(float64(iv.Generator.Sent))
	for _, rq := range iv.Requests {
		for status, n := range rq.Statuses {
			m.responses.WithLabelValues(rq.Name, status, w).Add(float64(n))
		}
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
