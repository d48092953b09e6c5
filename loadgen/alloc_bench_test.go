package loadgen_test

import (
	"bufio"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/scenarios"
)

// BenchmarkRequestCost sends b.N iterations at 5,000/s (open model) to a loopback server in
// this process that answers every request with an empty 200 and allocates nothing per request,
// once per transport, and reports the generator's heap allocations and bytes per request and
// the CPU per request (the server's included).
func BenchmarkRequestCost(b *testing.B) {
	srv := rawServer(b)
	for _, tr := range []string{scenarios.TransportNetHTTP, scenarios.TransportFast} {
		b.Run(tr, func(b *testing.B) {
			const rate = 5000
			d := time.Duration(float64(max(b.N, 1000)) / rate * float64(time.Second))
			spec := constant(rate, d, 0, get("x", "/"))
			var m0, m1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m0)
			cpu0 := cpuTime()
			b.ResetTimer()
			res := run(b, spec, loadgen.Options{BaseURL: srv, Transport: tr})
			b.StopTimer()
			cpu := cpuTime() - cpu0
			runtime.ReadMemStats(&m1)
			n := float64(max(res.Total.Count, 1))
			b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/n, "allocs/req")
			b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/n, "B/req")
			b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/req")
			b.ReportMetric(res.Generator.GeneratorLatenessP99MS, "own-lateness-p99-ms")
		})
	}
}

// rawServer serves HTTP/1.1 keep-alive GETs without a body on loopback with an empty 200,
// reading requests up to their blank line, with no allocation per request; it returns the
// base URL. It ends with the benchmark.
func rawServer(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() { // ends when the listener is closed
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { // ends when the client closes the connection
				defer c.Close()
				r := bufio.NewReader(c)
				resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
				for {
					line, err := r.ReadSlice('\n')
					if err != nil {
						return
					}
					if len(line) <= 2 { // the blank line ends a request
						if _, err := c.Write(resp); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}
