package httpapi_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/trendtactics/loadlab/reference-app/academy"
	"github.com/trendtactics/loadlab/reference-app/httpapi"
)

// BenchmarkTLS compares the academy's GET /v1/courses/course-1 (cached) over
// plain HTTP/1.1 and over TLS 1.3 (HTTP/2 and HTTP/1.1), on kept-alive
// connections ("request") and with a new connection, hence a new handshake,
// per request ("handshake"), through one client in one run: the figures are
// ratios of ns/op to the plain rows.
func BenchmarkTLS(b *testing.B) {
	_, h := newEnv(b, envOptions{seed: academy.SeedSpec{Users: 1, Courses: 5, Seed: 42}, plain: true,
		opts: httpapi.Options{DisableRateLimit: true, MaxInFlight: -1}})
	plain := httptest.NewServer(h)
	defer plain.Close()
	secure := httptest.NewUnstartedServer(h)
	secure.EnableHTTP2 = true
	secure.TLS = &tls.Config{MinVersion: tls.VersionTLS13}
	secure.StartTLS()
	defer secure.Close()
	roots := secure.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs

	for _, c := range []struct {
		name      string
		url       string
		h2, fresh bool
	}{
		{"plain-http1/request", plain.URL, false, false},
		{"tls13-http1/request", secure.URL, false, false},
		{"tls13-h2/request", secure.URL, true, false},
		{"plain-http1/handshake", plain.URL, false, true},
		{"tls13-http1/handshake", secure.URL, false, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: c.h2, DisableKeepAlives: c.fresh}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			for b.Loop() {
				resp, err := client.Get(c.url + "/v1/courses/course-1")
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || (c.url == secure.URL) != (resp.TLS != nil && resp.TLS.Version == tls.VersionTLS13) || resp.ProtoMajor != map[bool]int{true: 2, false: 1}[c.h2] {
					b.Fatalf("status %d, proto %s, tls %v", resp.StatusCode, resp.Proto, resp.TLS != nil)
				}
			}
		})
	}
}
