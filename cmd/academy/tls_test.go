package main

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/internal/certs"
	"github.com/trendtactics/loadlab/internal/testutil/pgtest"
)

// selfSigned writes a throwaway CA and a certificate for 127.0.0.1 it signs (internal/certs)
// and returns the certificate's and key's paths and a pool that trusts the CA.
func selfSigned(t *testing.T) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	f, err := certs.Generate(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	if !roots.AppendCertsFromPEM(f.CAPEM) {
		t.Fatal("no CA certificate in " + f.CA)
	}
	return f.Cert, f.Key, roots
}

// TestServeTLS: with --tls-cert and --tls-key the academy serves HTTPS, TLS
// 1.3 only, HTTP/2 by ALPN (HTTP/1.1 still offered), with HSTS.
func TestServeTLS(t *testing.T) {
	pgtest.NeedPostgres(t)
	certFile, keyFile, roots := selfSigned(t)
	line, stop, stderr := start(t, "serve", "--addr", "127.0.0.1:0", "--seed-users", "2", "--seed-courses", "1",
		"--tls-cert", certFile, "--tls-key", keyFile)
	defer func() {
		if code := stop(); code != 0 {
			t.Errorf("exit code %d: %s", code, stderr)
		}
	}()
	base, ok := strings.CutPrefix(line, "listening on ")
	if !ok || !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("first line %q, want listening on https://127.0.0.1:PORT", line)
	}
	client := func(cfg *tls.Config, h2 bool) *http.Client {
		cfg.RootCAs = roots
		tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: h2}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	for _, c := range []struct {
		name  string
		h2    bool
		proto string
	}{{"h2", true, "HTTP/2.0"}, {"http1", false, "HTTP/1.1"}} {
		resp, err := client(&tls.Config{}, c.h2).Get(base + "/v1/courses/course-1")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"slug":"course-1"`) {
			t.Fatalf("%s: %d %s", c.name, resp.StatusCode, body)
		}
		if resp.TLS == nil || resp.TLS.Version != tls.VersionTLS13 {
			t.Fatalf("%s: TLS state %+v, want TLS 1.3", c.name, resp.TLS)
		}
		if resp.Proto != c.proto {
			t.Errorf("%s: protocol %s, want %s", c.name, resp.Proto, c.proto)
		}
		if hsts := resp.Header.Get("Strict-Transport-Security"); !strings.Contains(hsts, "max-age=") {
			t.Errorf("%s: Strict-Transport-Security %q", c.name, hsts)
		}
	}
	// A client that cannot speak TLS 1.3 is refused in the handshake.
	if _, err := client(&tls.Config{MaxVersion: tls.VersionTLS12}, true).Get(base + "/healthz"); err == nil {
		t.Fatal("a TLS 1.2 client was served")
	}
	// A client that does not trust the certificate is refused.
	if _, err := http.Get(base + "/healthz"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: %v", err)
	}
}

// TestServeTLSFlags: bad --tls-* (and --require-mfa) flags are usage errors.
func TestServeTLSFlags(t *testing.T) {
	certFile, keyFile, _ := selfSigned(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-cert", certFile}, "--tls-cert and --tls-key go together"},
		{[]string{"--tls-key", keyFile}, "--tls-cert and --tls-key go together"},
		{[]string{"--tls-cert", keyFile, "--tls-key", certFile}, "load --tls-cert"},
		{[]string{"--tls-cert", certFile + ".missing", "--tls-key", keyFile}, "no such file"},
		{[]string{"--require-mfa", "instructor,root"}, `--require-mfa "root": unknown role`},
	} {
		var stderr strings.Builder
		args := append([]string{"serve", "--addr", "127.0.0.1:0"}, c.args...)
		code := run(t.Context(), args, strings.NewReader(""), io.Discard, &stderr, func(string) string { return "" })
		if code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", c.args, code, stderr.String(), c.want)
		}
	}
}
