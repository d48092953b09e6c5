package lab

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/trendtactics/loadlab/internal/certs"
)

// certValidity is how long a lab's throwaway certificates are valid: far longer than any run.
const certValidity = 7 * 24 * time.Hour

// startTLS makes the lab's throwaway CA and the replicas' certificate for 127.0.0.1 and
// localhost (ECDSA P-256, internal/certs) in a directory of the lab's, which Stop removes
// (and the guardian, if the harness dies), and makes the lab's own client trust that CA.
func (l *Lab) startTLS() error {
	l.tlsDir = filepath.Join(os.TempDir(), "loadlab-tls-"+randomToken()[:12])
	l.guard.Dir(l.tlsDir)
	if err := os.MkdirAll(l.tlsDir, 0o700); err != nil {
		return fmt.Errorf("lab: tls: %w", err)
	}
	f, err := certs.Generate(l.tlsDir, certValidity)
	if err != nil {
		return fmt.Errorf("lab: tls: %w", err)
	}
	l.certs = f
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(f.CAPEM)
	l.client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	l.status("tls: throwaway CA %s, server certificate for 127.0.0.1 and localhost", f.CA)
	return nil
}

// scheme is the replicas' (and the edge's) URL scheme.
func (l *Lab) scheme() string {
	if l.cfg.TLS {
		return "https"
	}
	return "http"
}

// CACert is the PEM certificate of the lab's throwaway CA, which signed the replicas'
// certificate (nil unless Config.TLS): what a client of URL trusts.
func (l *Lab) CACert() []byte { return l.certs.CAPEM }
