package loadgen

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the live Prometheus metrics of a run. Labels are bounded: request takes the
// workload's request names, status the HTTP codes seen plus "error" and "timeout".
type metrics struct {
	targetRate   prometheus.Gauge
	achievedRate prometheus.Gauge
	planned      prometheus.Counter
	sent         prometheus.Counter
	responses    *prometheus.CounterVec
	checkFails   *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	service      *prometheus.HistogramVec
	inFlight     prometheus.Gauge
	lateness     prometheus.Histogram
}

// latencyBuckets run from 1 ms to about 60 s.
var latencyBuckets = prometheus.ExponentialBucketsRange(0.001, 60, 24)

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{}
	var errs []error
	m.targetRate = register(reg, &errs, prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "loadgen_target_rate", Help: "Planned iterations per second at this moment of the schedule."}))
	m.achievedRate = register(reg, &errs, prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "loadgen_achieved_rate", Help: "Iterations sent in the last second."}))
	m.planned = register(reg, &errs, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "loadgen_iterations_planned_total", Help: "Iterations whose intended send time has passed."}))
	m.sent = register(reg, &errs, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "loadgen_iterations_sent_total", Help: "Iterations handed to a worker."}))
	m.responses = register(reg, &errs, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "loadgen_responses_total", Help: "Requests completed, by request name and status (HTTP code, error, timeout)."},
		[]string{"request", "status"}))
	m.checkFails = register(reg, &errs, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "loadgen_check_failures_total", Help: "Responses that failed an expectation or capture."},
		[]string{"request"}))
	m.duration = register(reg, &errs, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "loadgen_request_duration_seconds", Help: "Latency from the intended send time (corrected for coordinated omission).",
		Buckets: latencyBuckets}, []string{"request"}))
	m.service = register(reg, &errs, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "loadgen_service_time_seconds", Help: "Latency from the actual send time.",
		Buckets: latencyBuckets}, []string{"request"}))
	m.inFlight = register(reg, &errs, prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "loadgen_in_flight", Help: "Iterations in flight."}))
	m.lateness = register(reg, &errs, prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "loadgen_lateness_seconds", Help: "How late iterations were handed to a worker after their intended time.",
		Buckets: prometheus.ExponentialBucketsRange(0.0001, 10, 16)}))
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	return m, nil
}

// register registers c, or returns the collector already registered under its name
// (a second run on the same registry continues the same series).
func register[C prometheus.Collector](reg prometheus.Registerer, errs *[]error, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if old, ok := are.ExistingCollector.(C); ok {
				return old
			}
		}
		*errs = append(*errs, err)
	}
	return c
}

// observe records one response; called by the recorder goroutine.
func (m *metrics) observe(name, status string, s *sample) {
	m.responses.WithLabelValues(name, status).Inc()
	if !s.noLatency { // a dropped WebSocket connection: an error, not a latency
		m.duration.WithLabelValues(name).Observe(s.latency.Seconds())
		m.service.WithLabelValues(name).Observe(s.service.Seconds())
	}
	if s.checkFailed {
		m.checkFails.WithLabelValues(name).Inc()
	}
}

// tick updates the rate gauges and counters once per second.
func (m *metrics) tick(e *engine, elapsed time.Duration, planned, sent uint64) {
	if e.pacer != nil {
		m.targetRate.Set(e.pacer.Rate(elapsed))
	}
	m.achievedRate.Set(float64(sent))
	m.planned.Add(float64(planned))
	m.sent.Add(float64(sent))
}
