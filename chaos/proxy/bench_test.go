package proxy_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/chaos/proxy"
)

// The benchmarks compare an HTTP request to a real net/http server, direct and through the
// proxy, over keep-alive connections:
//
//	go test -run '^$' -bench . -benchtime 20000x ./chaos/proxy/
//
// BenchmarkDirect and BenchmarkProxied run requests from many goroutines and report the CPU
// time of the whole process (client, proxy and server) per request as cpu-ns/op;
// BenchmarkAddedLatency sends one request at a time and reports the latency percentiles.

func BenchmarkDirect(b *testing.B)  { benchParallel(b, false) }
func BenchmarkProxied(b *testing.B) { benchParallel(b, true) }

// BenchmarkProxiedToxicPath measures the toxic path: a bandwidth toxic too wide to slow
// anything down sends every chunk of both directions through the writer goroutines.
func BenchmarkProxiedToxicPath(b *testing.B) {
	benchParallel(b, true, proxy.ToxicSpec{Kind: proxy.KindBandwidth, Rate: 1 << 40, Direction: proxy.Both})
}

// BenchmarkAddedLatency alternates requests direct and through the proxy, one at a time, so
// that both see the same noise from the rest of the machine, and reports the percentiles of
// each and what the proxy adds at p50 and p99.
func BenchmarkAddedLatency(b *testing.B) {
	direct, directURL := benchTarget(b, false)
	proxied, proxiedURL := benchTarget(b, true)
	var d, p []time.Duration
	measure := func(c *http.Client, url string, into *[]time.Duration) {
		start := time.Now()
		if _, err := get(c, url); err != nil {
			b.Fatal(err)
		}
		*into = append(*into, time.Since(start))
	}
	b.ResetTimer()
	for i := range b.N {
		if i%2 == 0 {
			measure(direct, directURL, &d)
			measure(proxied, proxiedURL, &p)
		} else {
			measure(proxied, proxiedURL, &p)
			measure(direct, directURL, &d)
		}
	}
	b.StopTimer()
	dp50, dp99 := percentiles(d)
	pp50, pp99 := percentiles(p)
	b.ReportMetric(dp50, "direct-p50-µs")
	b.ReportMetric(dp99, "direct-p99-µs")
	b.ReportMetric(pp50, "proxied-p50-µs")
	b.ReportMetric(pp99, "proxied-p99-µs")
	b.ReportMetric(pp50-dp50, "added-p50-µs")
	b.ReportMetric(pp99-dp99, "added-p99-µs")
}

func percentiles(lat []time.Duration) (p50, p99 float64) {
	slices.Sort(lat)
	q := func(f float64) float64 { return float64(lat[int(f*float64(len(lat)-1))]) / 1e3 }
	return q(0.50), q(0.99)
}

// benchTarget starts the server, and the proxy in front of it if proxied, and returns a
// keep-alive client and the URL to request.
func benchTarget(b *testing.B, proxied bool, toxics ...proxy.ToxicSpec) (*http.Client, string) {
	body := strings.Repeat("x", 512)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, body)
	}))
	b.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	if proxied {
		p, err := proxy.New("bench", "", []string{addr})
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = p.Close() })
		addr = p.Addr()
		for _, t := range toxics {
			if _, err := p.AddToxic(t); err != nil {
				b.Fatal(err)
			}
		}
	}
	tr := &http.Transport{MaxIdleConns: 100, MaxIdleConnsPerHost: 100}
	b.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr}
	url := "http://" + addr + "/"
	for range 20 { // warm up the connections
		if _, err := get(client, url); err != nil {
			b.Fatal(err)
		}
	}
	return client, url
}

func benchParallel(b *testing.B, proxied bool, toxics ...proxy.ToxicSpec) {
	client, url := benchTarget(b, proxied, toxics...)
	b.SetParallelism(4)
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := get(client, url); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime returns the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
