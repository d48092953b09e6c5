package scenarios

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxCABytes bounds the CA file read at load time (a bundle of a few certificates).
const maxCABytes = 1 << 20

// TargetTLS is how the engine verifies an https target (target.tls): the CA certificates it
// trusts instead of the system's, and the name it checks in the server's certificate.
type TargetTLS struct {
	// CA is the CA certificate file (PEM) as written; relative paths are from the scenario's
	// directory. CAPEM is its content, read and checked when the scenario is loaded.
	CA    string `json:",omitempty"`
	CAPEM []byte `json:"-"`
	// ServerName is the name verified in the server's certificate and sent as SNI
	// (default: the host of the URL).
	ServerName string `json:",omitempty"`
}

// targetTLS reads target.tls.
func (l *loader) targetTLS(n *yaml.Node) *TargetTLS {
	t := &TargetTLS{}
	f, ok := l.mapping(n, "target.tls", "ca", "server-name")
	if !ok {
		return t
	}
	if n := f.get("ca"); n != nil {
		if name, ok := l.str(n, "target.tls.ca"); ok {
			t.CA = name
			t.CAPEM = l.caFile(n, name)
		}
	}
	if n := f.get("server-name"); n != nil {
		if v, ok := l.str(n, "target.tls.server-name"); ok {
			if v == "" || strings.ContainsAny(v, "/: \t") {
				l.errorf(n, "target.tls.server-name", "want a host name, got %q", v)
			}
			t.ServerName = v
		}
	}
	return t
}

// caFile reads and checks a PEM file of CA certificates.
func (l *loader) caFile(n *yaml.Node, name string) []byte {
	full := name
	if !filepath.IsAbs(full) {
		full = filepath.Join(l.dir, name)
	}
	f, err := os.Open(full)
	if err != nil {
		l.errorf(n, "target.tls.ca", "read CA file: %v", err)
		return nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() > maxCABytes {
		l.errorf(n, "target.tls.ca", "CA file %q is not a regular file of at most %d bytes", name, maxCABytes)
		return nil
	}
	data := make([]byte, st.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		l.errorf(n, "target.tls.ca", "read CA file: %v", err)
		return nil
	}
	if err := checkCAPEM(data); err != nil {
		l.errorf(n, "target.tls.ca", "CA file %q: %v", name, err)
		return nil
	}
	return data
}

// checkCAPEM reports why data is not a PEM file of at least one CA certificate.
func checkCAPEM(data []byte) error {
	found := 0
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return fmt.Errorf("bad certificate: %v", err)
		}
		if !c.IsCA {
			return fmt.Errorf("certificate %q is not a CA (give the CA that signed the server's certificate)", c.Subject.CommonName)
		}
		found++
	}
	if found == 0 {
		return fmt.Errorf("no PEM certificate (-----BEGIN CERTIFICATE-----) in it")
	}
	return nil
}

// checkTLS reports target.tls and lab tls: against what they apply to: an https URL, and
// requests whose client can be told which CA to trust (not a browser request: Chromium
// verifies with its own trust store).
func (l *loader) checkTLS(s *Spec, tlsNode, labTLSNode *yaml.Node) {
	if tlsNode != nil && s.Target.TLS != nil {
		switch {
		case l.isLab:
			l.errorf(tlsNode, "target.tls", "a lab target makes and trusts its own CA: write lab: {tls: true} instead")
		case s.Target.Kubernetes == nil && !strings.HasPrefix(s.Target.URL, "https://"):
			l.errorf(tlsNode, "target.tls", "target.tls applies to an https target.url, got %q", s.Target.URL)
		}
	}
	if (tlsNode != nil || labTLSNode != nil) && HasBrowser(s) {
		pos, field, _ := BrowserKindPos(s)
		what := "target.tls.ca"
		if tlsNode == nil {
			what = "target.lab.tls"
		}
		l.errs = append(l.errs, &Error{File: l.file, Line: pos.Line, Column: pos.Column, Field: field,
			Msg: "a browser request cannot trust the CA of " + what + ": headless Chromium verifies certificates with its own trust store; run browser requests against a plain http target or one with a publicly trusted certificate"})
	}
}
