package cluster

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/scenarios"
)

// BenchmarkMetricsSnapshot is what the live metrics add to a worker-second (an op) when
// the coordinator serves /metrics and is scraped every second (the load-run dashboard's
// Prometheus scrapes loadgen so): decode the snapshot a worker sends with its interval (the
// engine's registry after a run of two request names, and its process's CPU and memory)
// and take it, and after every 1000 ops a scrape that adds up the 1000 workers' last
// snapshots. SetBytes is the snapshot's size on the wire (MB/s: the wire's rate).
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
	wire, err := cborEnc.Marshal(snap)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	const workers = 1000
	m := newMetrics(workers)
	scraper := prometheus.NewRegistry()
	if err := m.register(scraper); err != nil {
		b.Fatal(err)
	}
	sessions := make([]*session, workers)
	for i := range sessions {
		sessions[i] = &session{index: i}
	}
	for i := 0; b.Loop(); i++ {
		var fams []snapFamily
		if err := cborDec.Unmarshal(wire, &fams); err != nil {
			b.Fatal(err)
		}
		if err := checkSnapshot(fams); err != nil {
			b.Fatal(err)
		}
		m.update(i%workers, sessions[i%workers], fams)
		if i%workers == workers-1 {
			if _, err := scraper.Gather(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
