package httpapi

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendtactics/loadlab/reference-app/academy"
)

// shedInflight is the reason label of requests shed by admission control;
// the queues of the service give theirs (academy.QueueDB, academy.QueueHash).
const shedInflight = "inflight"

type metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	inflight    *prometheus.GaugeVec
	enrollments *prometheus.CounterVec
	limited     *prometheus.CounterVec
	shed        *prometheus.CounterVec
	faults      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "academy_http_requests_total", Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "academy_http_request_duration_seconds", Help: "HTTP request duration by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "academy_http_requests_in_flight", Help: "HTTP requests being served, by route pattern.",
		}, []string{"route"}),
		enrollments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "academy_enrollments_total", Help: "Enrollment requests by result (created, existing, replayed, full, dropped, error).",
		}, []string{"result"}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "academy_rate_limited_total", Help: "Requests refused with 429 by scope (ip, user).",
		}, []string{"scope"}),
		shed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "academy_shed_requests_total", Help: "Requests refused with 503 and Retry-After because a bounded queue stayed full, by reason: inflight (admission control), db (a database connection), hash (a password hashing slot).",
		}, []string{"reason"}),
		faults: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "academy_faults_injected_total", Help: "Requests affected by an /admin/faults fault, by kind (delay, abort, drop-write).",
		}, []string{"kind"}),
	}
	for _, reason := range []string{shedInflight, academy.QueueDB, academy.QueueHash} {
		m.shed.WithLabelValues(reason) // every reason reads 0 until it sheds
	}
	reg.MustRegister(m.requests, m.duration, m.inflight, m.enrollments, m.limited, m.shed, m.faults)
	return m
}
