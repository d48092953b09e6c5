package loadgen

import (
	"crypto/tls"
	"crypto/x509"
	"errors"

	"github.com/trendtactics/loadlab/scenarios"
)

// clientTLS is the TLS configuration of every client of a run (net/http, fast, websocket,
// video, the probe): TLS 1.2 at least, the target's certificate verified against the
// system's CAs, or, when the scenario's target.tls.ca or Options.CACerts (the lab's
// throwaway CA) gives some, against those alone; target.tls.server-name, when set, is the
// name checked and sent as SNI.
func clientTLS(spec *scenarios.Spec, opts Options) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	var pems [][]byte
	if t := spec.Target.TLS; t != nil {
		cfg.ServerName = t.ServerName
		if len(t.CAPEM) > 0 {
			pems = append(pems, t.CAPEM)
		}
	}
	if len(opts.CACerts) > 0 {
		pems = append(pems, opts.CACerts)
	}
	if len(pems) > 0 {
		cfg.RootCAs = x509.NewCertPool()
		for _, p := range pems {
			if !cfg.RootCAs.AppendCertsFromPEM(p) {
				return nil, errors.New("tls: no CA certificate in the PEM given to trust")
			}
		}
	}
	return cfg, nil
}
