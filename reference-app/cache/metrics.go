package cache

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	requests *prometheus.CounterVec
	degraded prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, backend string) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "academy_cache_requests_total",
			Help:        "Cache operations by operation and result (hit, miss, ok, error, skipped while the breaker is open).",
			ConstLabels: prometheus.Labels{"backend": backend},
		}, []string{"op", "result"}),
		degraded: prometheus.NewGauge(prometheus.GaugeOpts{
			Name:        "academy_cache_degraded",
			Help:        "1 while the cache is failing and requests are served from the database only.",
			ConstLabels: prometheus.Labels{"backend": backend},
		}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.degraded)
	}
	return m
}

func (m *metrics) inc(op, result string) { m.requests.WithLabelValues(op, result).Inc() }
