package loadgen_test

import (
	"bytes"
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/trendtactics/loadlab/internal/certs"
	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/scenarios"
)

// tlsServer serves h over TLS 1.3 with a certificate of a new throwaway CA, whose files it
// returns. Every TLS connection's server name is recorded in names.
func tlsServer(t *testing.T, h http.Handler) (*httptest.Server, certs.Files, *sync.Map) {
	t.Helper()
	files, err := certs.Generate(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(files.Cert, files.Key)
	if err != nil {
		t.Fatal(err)
	}
	names := &sync.Map{}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13,
		GetConfigForClient: func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
			names.Store(hi.ServerName, true)
			return nil, nil
		}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the wrong-CA runs' handshake failures
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, files, names
}

// tlsSpec loads a scenario whose target.tls trusts the CA file ca (copied beside it).
func tlsSpec(t *testing.T, url string, ca []byte, body string) *scenarios.Spec {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca, 0o600); err != nil {
		t.Fatal(err)
	}
	src := "version: 1\nname: tls\ntarget: {url: \"" + url + "\", tls: {ca: ca.pem, server-name: localhost}}\n" + body
	spec, err := scenarios.LoadBytes(filepath.Join(dir, "tls.yaml"), []byte(src), dir)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return spec
}

// A scenario's target.tls.ca is what every client trusts: plain requests on both transports,
// pages (net/http) and WebSockets reach a server whose certificate only that CA signed, with
// target.tls.server-name sent as SNI; with another CA every request fails with x509's error.
func TestTargetTLSTrustsItsCA(t *testing.T) {
	room := &chatRoom{conns: map[*websocket.Conn]*sync.Mutex{}}
	mux := http.NewServeMux()
	mux.Handle("/ws", room)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || r.TLS.Version != tls.VersionTLS13 {
			http.Error(w, "want TLS 1.3", http.StatusBadRequest)
		}
	})
	srv, files, names := tlsServer(t, mux)
	const body = `workload:
  - {name: plain, request: {url: /}}
  - {name: landing, request: {kind: page, url: /}}
  - {name: chat, request: {kind: websocket, url: "/ws?ticket=t", interval: 100ms, hold: 300ms}}
load: {executor: constant-arrival-rate, rate: 30, duration: 1s}
`
	spec := tlsSpec(t, srv.URL, files.CAPEM, body)
	for _, tr := range []string{scenarios.TransportNetHTTP, scenarios.TransportAuto} {
		res := run(t, spec, loadgen.Options{Transport: tr})
		for _, name := range []string{"plain", "landing", "chat"} {
			if st := stats(t, res, name); st.Count == 0 || st.Errors != 0 {
				t.Errorf("%s: %s: %d answers, %d errors %v; want answers and no error", tr, name, st.Count, st.Errors, st.Statuses)
			}
		}
		if ws := res.WebSocket; ws == nil || ws.Opened == 0 || ws.ConnectFailures != 0 || ws.Delivered != ws.Sent {
			t.Errorf("%s: websocket stats %+v, want connections opened, none failed, every message delivered", tr, res.WebSocket)
		}
	}
	plain := *spec
	plain.Workload = spec.Workload[:1]
	if tr := stats(t, run(t, &plain, loadgen.Options{Transport: scenarios.TransportFast}), "plain"); tr.Transport != "fast" || tr.Count != 30 || tr.Errors != 0 {
		t.Errorf("fast transport over TLS: sent by %q, %d answers, %d errors, want fast, 30, 0", tr.Transport, tr.Count, tr.Errors)
	}
	names.Range(func(k, _ any) bool {
		if k != "localhost" {
			t.Errorf("a client sent SNI %q, want target.tls.server-name localhost", k)
		}
		return true
	})

	// Another CA: the same scenario fails every request, with x509's reason in the results.
	other, err := certs.Generate(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	wrong := tlsSpec(t, srv.URL, other.CAPEM, body)
	for _, tr := range []string{scenarios.TransportNetHTTP, scenarios.TransportFast} {
		var buf bytes.Buffer
		single := *wrong
		single.Workload = wrong.Workload[:1]
		res := run(t, &single, loadgen.Options{Transport: tr, Results: &buf})
		if st := stats(t, res, "plain"); st.Count != 30 || st.Errors != 30 || st.Statuses["error"] != 30 {
			t.Errorf("%s: wrong CA: %d answers, %d errors %v; want 30 transport errors", tr, st.Count, st.Errors, st.Statuses)
		}
		dec := vegeta.NewDecoder(&buf)
		n := 0
		for r := (vegeta.Result{}); dec.Decode(&r) == nil; n++ {
			if !strings.Contains(r.Error, "x509: certificate signed by unknown authority") {
				t.Errorf("%s: wrong CA: error %q, want x509's unknown authority", tr, r.Error)
				break
			}
		}
		if n != 30 {
			t.Errorf("%s: %d results recorded, want 30", tr, n)
		}
	}
}

// Options.CACerts (a lab's CA) is trusted without target.tls, and the system's CAs are
// not used then: a target of the same scenario without it fails.
func TestOptionsCACerts(t *testing.T) {
	srv, files, _ := tlsServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	spec := load(t, srv.URL, `workload:
  - {name: plain, request: {url: /}}
load: {executor: constant-arrival-rate, rate: 10, duration: 500ms}
`)
	if st := stats(t, run(t, spec, loadgen.Options{CACerts: files.CAPEM}), "plain"); st.Count != 5 || st.Errors != 0 {
		t.Errorf("trusted by Options.CACerts: %d answers %d errors, want 5 and 0", st.Count, st.Errors)
	}
	if st := stats(t, run(t, spec, loadgen.Options{}), "plain"); st.Count != 5 || st.Errors != 5 {
		t.Errorf("without it: %d answers %d errors, want 5 failures", st.Count, st.Errors)
	}
}
