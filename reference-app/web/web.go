package web

//go:generate go run gen_hero.go

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/trendtactics/loadlab/reference-app/httperr"
)

//go:embed assets/index.html assets/static
var assets embed.FS

const (
	immutable = "public, max-age=31536000, immutable"
	// revalidate makes browsers and caches ask every time; the ETag makes the
	// answer a small 304 when nothing changed.
	revalidate = "no-cache"
)

// file is one response body, ready to serve.
type file struct {
	body, gz    []byte // gz is nil when compression does not pay
	contentType string
	etag        string // quoted, of body; the gzip variant appends "-gz"
}

type handler struct {
	index  file
	static map[string]file
}

// contentType returns the media type of a file extension, fixed here rather
// than taken from the system's MIME tables so that every host answers alike.
func contentType(ext string) string {
	switch ext {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".html":
		return "text/html; charset=utf-8"
	}
	return "application/octet-stream"
}

// Handler returns the handler of the landing page (GET /) and its assets
// (GET /static/{name}). Everything is embedded in the binary and prepared
// once, here; the handler is safe for concurrent use.
func Handler() http.Handler {
	h := &handler{static: map[string]file{}}
	names, err := fs.Glob(assets, "assets/static/*")
	if err != nil {
		panic(err) // the pattern is a constant
	}
	version := map[string]string{}
	for _, name := range names {
		body, err := assets.ReadFile(name)
		if err != nil {
			panic(err) // embedded files are always readable
		}
		base := path.Base(name)
		f := prepare(body, contentType(path.Ext(base)))
		h.static[base] = f
		version[base] = f.etag[1:9]
	}
	page, err := assets.ReadFile("assets/index.html")
	if err != nil {
		panic(err)
	}
	// Asset URLs carry a content hash, so that a new build's assets are new
	// URLs and a year of immutable caching never serves a stale file.
	tmpl := template.Must(template.New("index").Funcs(template.FuncMap{
		"asset": func(name string) (string, error) {
			v, ok := version[name]
			if !ok {
				return "", fs.ErrNotExist
			}
			return "/static/" + name + "?v=" + v, nil
		},
	}).Parse(string(page)))
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, nil); err != nil {
		panic(err) // the embedded template names only embedded assets; the tests render it
	}
	h.index = prepare(buf.Bytes(), contentType(".html"))
	return h
}

func prepare(body []byte, contentType string) file {
	sum := sha256.Sum256(body)
	f := file{body: body, contentType: contentType, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	if strings.HasPrefix(contentType, "text/") || contentType == "image/svg+xml" {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		zw.Write(body)
		zw.Close()
		if b.Len() < len(body)*9/10 {
			f.gz = b.Bytes()
		}
	}
	return f
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var f file
	var cache string
	switch p := r.URL.Path; {
	case p == "/" || p == "/index.html":
		f, cache = h.index, revalidate
	case strings.HasPrefix(p, "/static/"):
		var ok bool
		if f, ok = h.static[strings.TrimPrefix(p, "/static/")]; !ok {
			writeError(w, http.StatusNotFound, "not_found", "no such asset")
			return
		}
		cache = immutable
	default:
		writeError(w, http.StatusNotFound, "not_found", "no such page")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use GET or HEAD")
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", f.contentType)
	hd.Set("Cache-Control", cache)
	hd.Set("X-Content-Type-Options", "nosniff")
	body, etag := f.body, f.etag
	if f.gz != nil {
		hd.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, etag = f.gz, strings.TrimSuffix(f.etag, `"`)+`-gz"`
			hd.Set("Content-Encoding", "gzip")
		}
	}
	hd.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(coding) != "gzip" {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

// writeError writes the academy's JSON error shape.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	httperr.Write(w, status, code, msg)
}
