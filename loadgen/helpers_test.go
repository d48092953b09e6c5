package loadgen_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// get returns a GET request item.
func get(name, url string) *scenarios.Item {
	return &scenarios.Item{Name: name, Weight: 1, Request: &scenarios.Request{Method: "GET", URL: scenarios.MustTemplate(url)}}
}

// constant returns a spec sending rate iterations per second for d.
func constant(rate float64, d time.Duration, maxInFlight int, items ...*scenarios.Item) *scenarios.Spec {
	return &scenarios.Spec{
		Version:  1,
		Name:     "test",
		Load:     scenarios.Load{Executor: "constant-arrival-rate", Rate: rate, TimeUnit: time.Second, Duration: d, MaxInFlight: maxInFlight},
		Workload: items,
	}
}

// serve starts a loopback server for the test.
func serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// run runs a spec against srv, failing the test on an error. Unless opts name a
// transport, it is the one a "transport=NAME" element of the test's name names (see
// TestTruthOnNetHTTP), else the spec's.
func run(t testing.TB, spec *scenarios.Spec, opts loadgen.Options) *result.Result {
	t.Helper()
	if opts.Transport == "" {
		opts.Transport = transportOf(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := loadgen.Run(ctx, spec, opts)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return res
}

// settleGoroutines waits until the goroutine count is at most n, reporting the final count.
func settleGoroutines(n int) int {
	deadline := time.Now().Add(3 * time.Second)
	for {
		g := runtime.NumGoroutine()
		if g <= n || time.Now().After(deadline) {
			return g
		}
		time.Sleep(20 * time.Millisecond)
	}
}
