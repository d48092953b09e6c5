package proxy

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are one proxy's children of the shared metric vectors.
type metrics struct {
	conns      prometheus.Counter
	active     prometheus.Gauge
	dialErrors prometheus.Counter
	toxics     prometheus.Gauge
	bytesUp    prometheus.Counter
	bytesDown  prometheus.Counter
}

// newMetrics registers the proxy metric vectors on reg (reusing vectors another proxy already
// registered there) and returns the children labelled with the proxy name. A nil reg gives
// working but unexported metrics.
func newMetrics(reg prometheus.Registerer, name string) (metrics, error) {
	conns := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "loadlab_proxy_connections_total",
		Help: "Client connections accepted by the fault proxy.",
	}, []string{"proxy"})
	active := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "loadlab_proxy_active_connections",
		Help: "Client connections the fault proxy is currently serving.",
	}, []string{"proxy"})
	dialErrors := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "loadlab_proxy_dial_errors_total",
		Help: "Failed attempts of the fault proxy to connect to an upstream.",
	}, []string{"proxy"})
	toxics := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "loadlab_proxy_active_toxics",
		Help: "Toxics currently active on the fault proxy.",
	}, []string{"proxy"})
	bytes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "loadlab_proxy_bytes_total",
		Help: "Bytes forwarded by the fault proxy, by direction (upstream: client to server).",
	}, []string{"proxy", "direction"})
	if reg != nil {
		var err error
		if conns, err = register(reg, conns); err != nil {
			return metrics{}, err
		}
		if active, err = register(reg, active); err != nil {
			return metrics{}, err
		}
		if dialErrors, err = register(reg, dialErrors); err != nil {
			return metrics{}, err
		}
		if toxics, err = register(reg, toxics); err != nil {
			return metrics{}, err
		}
		if bytes, err = register(reg, bytes); err != nil {
			return metrics{}, err
		}
	}
	return metrics{
		conns:      conns.WithLabelValues(name),
		active:     active.WithLabelValues(name),
		dialErrors: dialErrors.WithLabelValues(name),
		toxics:     toxics.WithLabelValues(name),
		bytesUp:    bytes.WithLabelValues(name, string(Upstream)),
		bytesDown:  bytes.WithLabelValues(name, string(Downstream)),
	}, nil
}

// register registers c on reg, or returns the equal collector registered there before.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, fmt.Errorf("register proxy metrics: %w", err)
}
