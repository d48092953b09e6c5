package web_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/reference-app/web"
)

// client sees responses as sent: no transparent gzip.
var client = &http.Client{Transport: &http.Transport{DisableCompression: true}}

func TestLandingPageAndAssets(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()

	resp, page := testutil.Get(t, client, srv.URL+"/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /: status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("GET /: Content-Type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("GET /: Cache-Control %q, want no-cache", cc)
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("GET /: no ETag")
	}
	if resp, body := testutil.Get(t, client, srv.URL+"/", "If-None-Match", etag); resp.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Errorf("GET / If-None-Match: status %d, want 304", resp.StatusCode)
	}
	if !bytes.Contains(page, []byte("TrendTactics Academy")) {
		t.Error("page does not name the academy")
	}
	testutil.Golden(t, filepath.Join("testdata", t.Name()+".golden.html"), page)

	links := regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`).FindAllSubmatch(page, -1)
	seen := map[string]bool{}
	for _, l := range links {
		seen[string(l[1])] = true
	}
	want := map[string]string{
		"app.css":  "text/css; charset=utf-8",
		"app.js":   "text/javascript; charset=utf-8",
		"logo.svg": "image/svg+xml",
		"hero.png": "image/png",
	}
	for name, ctype := range want {
		var url string
		for u := range seen {
			if strings.HasPrefix(u, "/static/"+name+"?v=") {
				url = u
			}
		}
		if url == "" {
			t.Errorf("page does not link %s with a version: %v", name, seen)
			continue
		}
		resp, body := testutil.Get(t, client, srv.URL+url)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", url, resp.StatusCode)
			continue
		}
		if got := resp.Header.Get("Content-Type"); got != ctype {
			t.Errorf("%s: Content-Type %q, want %q", url, got, ctype)
		}
		if got := resp.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control %q", url, got)
		}
		onDisk, err := os.ReadFile(filepath.Join("assets", "static", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(body, onDisk) {
			t.Errorf("%s: body differs from assets/static/%s", url, name)
		}
		if resp, _ := testutil.Get(t, client, srv.URL+url, "If-None-Match", resp.Header.Get("ETag")); resp.StatusCode != http.StatusNotModified {
			t.Errorf("%s If-None-Match: status %d, want 304", url, resp.StatusCode)
		}
		// The version is the content's: another build's asset gets another URL.
		if resp, _ := testutil.Get(t, client, srv.URL+"/static/"+name); resp.StatusCode != http.StatusOK {
			t.Errorf("/static/%s without version: status %d", name, resp.StatusCode)
		}
	}

	_, hero := testutil.Get(t, client, srv.URL+"/static/hero.png")
	img, err := png.Decode(bytes.NewReader(hero))
	if err != nil {
		t.Fatalf("hero.png: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 640 || b.Dy() != 240 {
		t.Errorf("hero.png is %v, want 640×240", b)
	}
}

func TestGzip(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	for _, path := range []string{"/", "/static/app.css", "/static/app.js"} {
		plainResp, plain := testutil.Get(t, client, srv.URL+path)
		resp, body := testutil.Get(t, client, srv.URL+path, "Accept-Encoding", "br, gzip")
		if resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("%s: Content-Encoding %q, Vary %q", path, resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"))
			continue
		}
		if resp.Header.Get("ETag") == plainResp.Header.Get("ETag") {
			t.Errorf("%s: gzip and identity share the ETag %s", path, resp.Header.Get("ETag"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("%s: gunzipped body differs (%v)", path, err)
		}
		if resp, _ := testutil.Get(t, client, srv.URL+path, "Accept-Encoding", "gzip;q=0"); resp.Header.Get("Content-Encoding") != "" {
			t.Errorf("%s: gzip;q=0 still got %q", path, resp.Header.Get("Content-Encoding"))
		}
	}
	// A PNG is compressed already.
	if resp, _ := testutil.Get(t, client, srv.URL+"/static/hero.png", "Accept-Encoding", "gzip"); resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("hero.png: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
}

func TestNotFound(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	for _, path := range []string{
		"/static/nope.css", "/static/", "/static", "/static/../web.go", "/static/app.css/x",
		"/static/%2e%2e/web.go", "/nope", "/index.htm", "/assets/static/app.css",
	} {
		resp, body := testutil.Get(t, client, srv.URL+path)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", path, resp.StatusCode)
			continue
		}
		var e struct{ Error struct{ Code string } }
		if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != "not_found" {
			t.Errorf("%s: body %q, want a not_found JSON error", path, body)
		}
		if resp.Header.Get("Cache-Control") == "public, max-age=31536000, immutable" {
			t.Errorf("%s: a 404 must not be cached for a year", path)
		}
	}
	resp, err := client.Post(srv.URL+"/", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: status %d, want 405", resp.StatusCode)
	}
}
