package cluster

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/scenarios"
)

// BenchmarkMetricsSnapshot is what the live metrics add to a worker-second (an op) when
// the coordinator serves /metrics: decode the snapshot a worker sends with its interval
// (the engine's registry after a run of two request names, and its process's CPU and
// memory) and take it. B/op counts the snapshot's bytes on the wire (base64 in the JSON
// message: SetBytes).
func BenchmarkMetricsSnapshot(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	spec, err := scenarios.LoadBytes("bench.yaml", []byte(`version: 1
name: bench
target: {url: "http://127.0.0.1:1"}
workload:
  - {name: catalog, request: {url: /a}}
  - {name: enroll, request: {url: /b}}
load: {executor: constant-arrival-rate, rate: 200, duration: 1s}
`), ".")
	if err != nil {
		b.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if _, err := loadgen.Run(context.Background(), spec, loadgen.Options{BaseURL: srv.URL, Registry: reg}); err != nil {
		b.Fatal(err)
	}
	snap, err := encodeSnapshot(reg)
	if err != nil {
		b.Fatal(err)
	}
	wire, _ := json.Marshal(snap)
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	m := newMetrics(1000)
	s := &session{}
	for i := 0; b.Loop(); i++ {
		fams, err := decodeSnapshot(snap)
		if err != nil {
			b.Fatal(err)
		}
		m.update(i%1000, s, fams)
	}
}
