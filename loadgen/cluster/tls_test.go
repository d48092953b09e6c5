package cluster_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/internal/certs"
	"github.com/trendtactics/loadlab/loadgen/cluster"
	"github.com/trendtactics/loadlab/loadgen/pipeline"
	"github.com/trendtactics/loadlab/reports"
)

// selfSigned returns a certificate for 127.0.0.1 signed by a throwaway CA
// (internal/certs) and a pool that trusts the CA.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	f, err := certs.Generate(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(f.CAPEM) {
		t.Fatal("no CA certificate in " + f.CA)
	}
	return cert, pool
}

// TestTLS: with a certificate the channel is HTTP/2 over TLS; a worker that does not
// trust the certificate does not join.
func TestTLS(t *testing.T) {
	tg := newTarget(t)
	path := scenario(t, 20, "1s")
	spec, data := loadSpec(t, path)
	c, err := cluster.NewCoordinator(cluster.Config{Workers: 1, Token: "tok", Version: testVersion, Scenario: data, Path: path, JoinTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cert, pool := selfSigned(t)
	ln, err := cluster.ListenLocal()
	if err != nil {
		t.Fatal(err)
	}
	srv := cluster.NewServer(c, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	srv.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	go srv.ServeTLS(ln, "", "")               // ends at srv.Close
	defer srv.Close()
	url := "https://" + ln.Addr().String()
	cfg := cluster.WorkerConfig{Coordinator: url, Token: "tok", Version: testVersion, Index: 0, Scenario: data, Path: path}

	var uerr x509.UnknownAuthorityError
	if err := cluster.RunWorker(context.Background(), cfg); !errors.As(err, &uerr) {
		t.Errorf("a worker without the CA: %v; want an unknown authority", err)
	}

	cfg.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	werr := make(chan error, 1)
	go func() { werr <- cluster.RunWorker(ctx, cfg) }()
	res, err := pipeline.Run(ctx, spec, pipeline.Config{BaseURL: tg.URL, Seed: 7, MaxLateness: time.Second, Generator: c})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-werr; err != nil {
		t.Errorf("worker: %v", err)
	}
	if res.Verdict != reports.Pass || res.Generator.Sent != 20 {
		t.Errorf("verdict %s, sent %d; want PASS, 20", res.Verdict, res.Generator.Sent)
	}
}
