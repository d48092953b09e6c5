package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/internal/testutil/pgtest"
)

// selfSigned writes a throwaway certificate for 127.0.0.1 and its key as PEM
// files and returns their paths and the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "academy test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}

// TestServeTLS: with --tls-cert and --tls-key the academy serves HTTPS, TLS
// 1.3 only, HTTP/2 by ALPN (HTTP/1.1 still offered), with HSTS.
func TestServeTLS(t *testing.T) {
	pgtest.NeedPostgres(t)
	certFile, keyFile, cert := selfSigned(t)
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
	roots := x509.NewCertPool()
	roots.AddCert(cert)
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
